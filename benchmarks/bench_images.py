"""Image builds: tcdeploy's two-image builder against `mlflow models build-docker` of the same model, same engine.

Run from the repository (needs a Docker engine at DOCKER_HOST, e.g. after
`eval "$(tools/docker-engine.sh .venv/bin/python)"`):
    .venv/bin/python -m benchmarks.bench_images

Three cases, each built by both tools in the same run: the first build, the unchanged model again, and a new
version of the model with the same requirements. Both start cold: MLflow's images (and the layers only they used) are
removed before tcdeploy's first build, and tcdeploy's repository is new to the engine. Both use the same base image:
for the run, `python:<version>-slim` is pointed at a variant that trusts this machine's extra CA certificates
(MLflow's Dockerfile has no CA option, and pip inside the build goes through a TLS-intercepting proxy here); the
tag is restored at the end. Each case is one build per tool (a cold build takes minutes), so the table shows one
measurement, not a median.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker

from mlflow_tcdeploy_plugin.image import Builder, ImageOptions, Provenance
from tests.conftest import register_model

EXTRA_CA = Path("/usr/local/share/ca-certificates")


def _trusting_base(client: Any, base: str, work: Path) -> str | None:
    """Point ``base`` at a variant that trusts the machine's extra CAs; return the image ID to restore, if any."""
    original = client.images.get(base).id
    certificates = sorted(EXTRA_CA.glob("*.crt")) if EXTRA_CA.is_dir() else []
    if not certificates:
        return None
    context = work / "trusting-base"
    context.mkdir()
    for path in certificates:
        (context / path.name).write_bytes(path.read_bytes())
    (context / "Dockerfile").write_text(
        f"FROM {original}\nCOPY *.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates\n"
        "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt "
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt\n"
    )
    client.images.build(path=str(context), tag=base, rm=True)
    return str(original)


@contextmanager
def workspace(prefix: str) -> Iterator[tuple[Any, str, Path, str]]:
    """A Docker client, a run id, a scratch folder and a tracking URI in it; meanwhile this Python's slim base image
    trusts the machine's extra CAs."""
    client = docker.from_env(timeout=900)
    base = f"python:{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}-slim"
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(tmp)
        restore = _trusting_base(client, base, work)
        try:
            yield client, uuid.uuid4().hex[:8], work, f"sqlite:///{work / 'mlflow.db'}"
        finally:
            if restore:
                client.images.get(restore).tag(base)


def _mlflow_build(uri: str, tag: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "mlflow", "models", "build-docker", "-m", uri, "-n", tag, "--env-manager", "local"],
        check=True,
        env=env,
        capture_output=True,
    )
    return time.monotonic() - started


def _ours(builder: Builder, uri: str, name: str) -> tuple[float, list[str]]:
    started = time.monotonic()
    built = builder.build(uri, Provenance(model_uri=uri, title=name))
    return time.monotonic() - started, built.built


def main() -> int:
    import mlflow

    with workspace("bench-images-") as (client, run, work, tracking):
        name = f"bench_iris_{run}"
        first = register_model(tracking, name)
        second = register_model(tracking, name, seed=8)  # new weights, the same requirements
        env = {**os.environ, "MLFLOW_TRACKING_URI": tracking}
        client.images.prune(filters={"dangling": True})  # no layer of an earlier run may serve a first build
        rows: list[tuple[str, float, float, str]] = []
        try:
            mlflow_tag = f"bench-mlflow-{run}"
            timings = [
                _mlflow_build(first.model_path, mlflow_tag, env),
                _mlflow_build(first.model_path, mlflow_tag, env),
                _mlflow_build(second.model_path, mlflow_tag, env),
            ]
            # Its layers too (its earlier builds left them under dangling images): tcdeploy starts cold as well.
            client.images.remove(mlflow_tag, force=True)
            client.images.prune(filters={"dangling": True})
            mlflow.set_tracking_uri(tracking)
            builder = Builder(ImageOptions(repository=f"tcdeploy-bench-{run}/iris", push=False), work / "builds")
            ours = [
                _ours(builder, first.model_path, name),
                _ours(builder, first.model_path, name),
                _ours(builder, second.model_path, name),
            ]
            cases = ("first build", "the unchanged model again", "a new version, same requirements")
            for case, theirs, (seconds, built) in zip(cases, timings, ours, strict=True):
                what = ", ".join(b.rsplit(":", 1)[1].split("-")[0] for b in built) or "nothing"
                rows.append((case, theirs, seconds, what))
        finally:
            for image in client.images.list(name=f"tcdeploy-bench-{run}/iris"):
                client.images.remove(image.id, force=True)
    print(f"{'case':<34} {'mlflow build-docker':>20} {'tcdeploy':>10} {'ratio':>7}  tcdeploy built")
    for case, theirs, seconds, what in rows:
        print(f"{case:<34} {theirs:>19.1f}s {seconds:>9.1f}s {seconds / theirs:>7.2f}  {what}")
    print(json.dumps([dict(zip(("case", "mlflow_s", "tcdeploy_s", "built"), r, strict=True)) for r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
