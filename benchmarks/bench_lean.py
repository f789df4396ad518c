"""Lean images: tcdeploy's lean profile against `mlflow models build-docker` (size, first build) and against its own
`mlflow` profile (container start to the first `/ping` 200), one model, one engine, one base image, one run.

Run from the repository (needs a Docker engine at DOCKER_HOST, e.g. after
`eval "$(tools/docker-engine.sh .venv/bin/python)"`):
    .venv/bin/python -m benchmarks.bench_lean [--starts N]

Every build starts cold (dangling layers pruned first; each tcdeploy profile in a repository new to the engine). The
model is logged with full MLflow in its requirements, as `log_model` writes them. Starts are medians of N (default
5), the two profiles' containers started in turn. Each image's layers are listed with the step that made them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests

from mlflow_tcdeploy_plugin.image import Builder, ImageOptions, Provenance
from tests.conftest import register_model

from .bench_images import _mlflow_build, workspace

MB = 1e6


def _layers(client: Any, reference: str) -> list[tuple[float, str]]:
    """(MB, the step) of each layer that adds bytes, oldest first."""
    steps = reversed(client.images.get(reference).history())
    return [(s["Size"] / MB, " ".join(s["CreatedBy"].split())[-110:]) for s in steps if s["Size"]]


def _first_ping(client: Any, reference: str) -> float:
    """Seconds from the container's start to the first 200 of /ping."""
    container = client.containers.create(reference, ports={"8080/tcp": ("127.0.0.1", None)})
    try:
        started = time.monotonic()
        container.start()
        container.reload()
        url = f"http://127.0.0.1:{container.ports['8080/tcp'][0]['HostPort']}/ping"
        while time.monotonic() - started < 300:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    return time.monotonic() - started
            except requests.ConnectionError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{reference} did not answer /ping in 300 s")
    finally:
        container.remove(force=True)


def _ours(model_path: str, name: str, repository: str, profile: str, work: Path) -> tuple[float, str]:
    builder = Builder(ImageOptions(repository=repository, push=False, profile=profile), work / f"builds-{profile}")
    started = time.monotonic()
    built = builder.build(model_path, Provenance(model_uri=model_path, title=name))
    return time.monotonic() - started, built.tagged


def _print_layers(client: Any, images: dict[str, str]) -> None:
    for what, reference in images.items():
        layers = _layers(client, reference)
        print(f"\n{what}: {client.images.get(reference).attrs['Size'] / MB:.0f} MB")
        for size, step in layers:
            print(f"  {size:>8.1f} MB  {step}")


def main() -> int:
    import mlflow
    import sklearn

    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=5)
    starts = parser.parse_args().starts
    with workspace("bench-lean-") as (client, run, work, tracking):
        name = f"bench_lean_{run}"
        requirements = [f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"]
        model = register_model(tracking, name, requirements)
        images: dict[str, str] = {}
        try:
            client.images.prune(filters={"dangling": True})
            theirs_tag = f"bench-mlflow-{run}"
            theirs_s = _mlflow_build(model.model_path, theirs_tag, {**os.environ, "MLFLOW_TRACKING_URI": tracking})
            images["mlflow models build-docker"] = theirs_tag
            mlflow.set_tracking_uri(tracking)
            built: dict[str, tuple[float, str]] = {}
            for profile in ("lean", "mlflow"):
                client.images.prune(filters={"dangling": True})
                repository = f"tcdeploy-bench-{profile}-{run}/iris"
                built[profile] = _ours(model.model_path, name, repository, profile, work)
                images[f"tcdeploy image_profile={profile}"] = built[profile][1]
            samples: dict[str, list[float]] = {"lean": [], "mlflow": []}
            for _ in range(starts):
                for profile in samples:
                    samples[profile].append(_first_ping(client, built[profile][1]))
            sizes = {what: client.images.get(ref).attrs["Size"] / MB for what, ref in images.items()}
            _report(sizes, theirs_s, built, samples, starts)
            _print_layers(client, images)
        finally:
            for reference in images.values():
                client.images.remove(reference, force=True)
            client.images.prune(filters={"dangling": True})
    return 0


def _report(
    sizes: dict[str, float],
    theirs_s: float,
    built: dict[str, tuple[float, str]],
    samples: dict[str, list[float]],
    starts: int,
) -> None:
    lean_size, theirs_size = sizes["tcdeploy image_profile=lean"], sizes["mlflow models build-docker"]
    start = {p: statistics.median(v) for p, v in samples.items()}
    rows = [
        (
            "image size (environment + model)",
            f"{lean_size:.0f} MB",
            f"{theirs_size:.0f} MB (build-docker)",
            lean_size / theirs_size,
            "<= 0.5",
        ),
        (
            "first build, cold",
            f"{built['lean'][0]:.1f} s",
            f"{theirs_s:.1f} s (build-docker)",
            built["lean"][0] / theirs_s,
            "<= 0.8",
        ),
        (
            f"container start -> first /ping 200 (median of {starts})",
            f"{start['lean']:.2f} s",
            f"{start['mlflow']:.2f} s (mlflow profile)",
            start["lean"] / start["mlflow"],
            "<= 0.8",
        ),
        (
            "mlflow profile: size, first build",
            f"{sizes['tcdeploy image_profile=mlflow']:.0f} MB",
            f"{built['mlflow'][0]:.1f} s",
            None,
            "",
        ),
    ]
    print(f"{'figure':<52} {'lean':>10} {'baseline':>32} {'ratio':>6}  target")
    for figure, ours, baseline, ratio, target in rows:
        shown = f"{ratio:.2f}" if ratio is not None else ""
        met = "" if ratio is None else ("met" if ratio <= float(target.split()[1]) else "MISSED")
        print(f"{figure:<52} {ours:>10} {baseline:>32} {shown:>6}  {target} {met}")
    print(
        json.dumps(
            {
                "sizes_mb": sizes,
                "build_s": {"build-docker": theirs_s, **{p: b[0] for p, b in built.items()}},
                "first_ping_s": samples,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
