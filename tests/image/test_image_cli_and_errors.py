"""`tcdeploy build` and `mlflow deployments run-local` as users run them, every failure the image builder reports,
and registry credentials that never show."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.emulator.replicas import free_port
from mlflow_tcdeploy_plugin.releases import history
from tests.helpers import Cloud, GateEnv, Registry, register_model, watch_secret
from tests.image.helpers import Docker, builds_and_pushes

pytestmark = pytest.mark.replicas

REGISTRY_PASSWORD = watch_secret("Rg7pWq2zNs5vKd8x")
watch_secret(base64.b64encode(REGISTRY_PASSWORD.encode()).decode())  # the form ImageSecret carries


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlflow_tcdeploy_plugin.cli", "build", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
    )


def _build_args(docker_engine: Docker, repository: str | None = None) -> list[str]:
    options = docker_engine.options()
    return [
        "--image-repository",
        repository or options["image_repository"],
        "--ca-bundle",
        options["ca_bundle"],
        "--pip-index-url",
        options["pip_index_url"],
    ]


def test_tcdeploy_build_exit_codes(
    cloud: Cloud,
    image_model: Registry,
    docker_engine: Docker,
    first: dict[str, Any],
    gate_env: GateEnv,
    gate_models: dict[str, Any],
) -> None:
    uri = f"models:/{image_model.model_name}/1"
    done = _cli(uri, *_build_args(docker_engine), "--format", "json", env={**cloud.env, **gate_env.env})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert (
        result["reference"].startswith(docker_engine.repository + "@sha256:") and result["scan"]["status"] == "passed"
    )
    text = _cli(uri, *_build_args(docker_engine), env={**cloud.env, **gate_env.env})
    assert text.returncode == 0 and text.stdout.strip() == result["reference"]

    since = time.time()
    # Resolved from the tests' package index (gate_env), where the old PyYAML it pins ships a wheel.
    local_index = _build_args(docker_engine)[:4]
    refused = _cli(f"models:/{gate_models['critical'].model_name}/1", *local_index, env=gate_env.env)
    assert refused.returncode == 1 and "CVE-2020-14343" in refused.stderr
    assert builds_and_pushes(docker_engine.events(since, time.time())) == (0, 0)  # refused before any build

    broken = _cli(uri, *_build_args(docker_engine, "127.0.0.1:5999/nowhere"), env={**cloud.env, **gate_env.env})
    assert broken.returncode == 2 and "127.0.0.1:5999 is unreachable" in broken.stderr


def test_tcdeploy_build_can_scan_the_image(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, first: dict[str, Any], gate_env: GateEnv
) -> None:
    uri = f"models:/{image_model.model_name}/1"
    done = _cli(uri, *_build_args(docker_engine), "--scan-image", "--format", "json", env={**cloud.env, **gate_env.env})
    assert done.returncode == 0, done.stderr[-2000:]
    scan = json.loads(done.stdout)["image_scan"]
    assert scan is not None and scan["status"] == "passed" and scan["trivy_version"] == "0.59.1"
    assert json.loads(Path(scan["report_path"]).read_text())["source"].startswith(docker_engine.repository)
    assert any(r.startswith("image ") for r in gate_env.trivy_runs())


def _read_until(stream: Any, needle: str, timeout: float) -> str:
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stream:
            seen.append(line)
            if needle in line:
                break
        done.set()  # the needle, or the end of the output (the command ended without it)

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(timeout) or needle not in "".join(seen):
        pytest.fail(f"no {needle!r} within {timeout}s; output so far:\n{''.join(seen)[-3000:]}")
    return "".join(seen)


def test_run_local_serves_until_ctrl_c(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, first: dict[str, Any]
) -> None:
    port = free_port()
    config = [f"-C{k}={v}" for k, v in {**docker_engine.options(), "port": port}.items()]
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "mlflow", "deployments", "run-local", "-t", "tcdeploy", "--name", "local-iris"),
            *("-m", f"models:/{image_model.model_name}/1", *config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **cloud.env, "PYTHONFAULTHANDLER": "1"},
        # As from a terminal: a shell's background job (a CI script run with `&`) starts with SIGINT ignored, which
        # its children inherit, and Python then raises no KeyboardInterrupt on it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        output = _read_until(process.stdout, "Serving ", 600)
        assert f"http://127.0.0.1:{port}/invocations" in output
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps({"inputs": image_model.features}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.loads(answer.read())["predictions"] == image_model.expected
        process.send_signal(signal.SIGINT)
        # Drained while it stops: the container's log keeps coming, and a full pipe would block its last lines.
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: every thread's stack, to see where it hangs
            pytest.fail(f"run-local did not stop on Ctrl-C:\n{process.communicate(timeout=30)[0][-6000:]}")
    finally:
        process.kill()
    assert docker_engine.client.containers.list(all=True, filters={"name": "tcdeploy-local-local-iris"}) == []


class _DenyingRegistry(BaseHTTPRequestHandler):
    """A registry that answers lookups but refuses every upload, as one without push rights does."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, errors: list[dict[str, str]] | None = None) -> None:
        body = json.dumps({"errors": errors or []}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/v2/":
            self._answer(200)
        else:
            self._answer(404, [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}])

    def do_HEAD(self) -> None:
        self._answer(404)

    def do_POST(self) -> None:
        self._answer(403, [{"code": "DENIED", "message": "requested access to the resource is denied"}])

    do_PUT = do_PATCH = do_POST


@pytest.fixture
def denying_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DenyingRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _refused(cloud: Cloud, model: Registry, config: dict[str, Any], name: str = "img-refused") -> MlflowException:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient().create_deployment(name, f"models:/{model.model_name}/1", config=config)
    assert "CreateMLModelServices" not in cloud.actions()  # nothing is deployed
    return exc.value


def test_no_engine(cloud: Cloud, image_model: Registry, docker_engine: Docker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/no-docker-engine-here.sock")
    error = _refused(cloud, image_model, docker_engine.options())
    assert error.error_code == "TEMPORARILY_UNAVAILABLE" and "unix:///tmp/no-docker-engine-here.sock" in error.message


def test_registry_unreachable(cloud: Cloud, image_model: Registry, docker_engine: Docker) -> None:
    since = time.time()
    error = _refused(cloud, image_model, docker_engine.options(image_repository="127.0.0.1:5999/nowhere"))
    assert error.error_code == "TEMPORARILY_UNAVAILABLE" and "127.0.0.1:5999 is unreachable" in error.message
    assert builds_and_pushes(docker_engine.events(since, time.time())) == (0, 0)


def test_push_denied(cloud: Cloud, image_model: Registry, docker_engine: Docker, denying_registry: str) -> None:
    error = _refused(cloud, image_model, docker_engine.options(image_repository=f"{denying_registry}/iris"))
    assert error.error_code == "PERMISSION_DENIED" and f"docker login {denying_registry}" in error.message
    assert "registry_username and registry_password" in error.message


def test_base_image_that_cannot_be_pulled(cloud: Cloud, image_model: Registry, docker_engine: Docker) -> None:
    error = _refused(cloud, image_model, docker_engine.options(base_image="python:3.8-slim"))
    assert error.error_code == "RESOURCE_DOES_NOT_EXIST" and "python:3.8-slim cannot be pulled" in error.message


def test_a_failed_build_shows_its_last_lines_and_log(
    cloud: Cloud, image_model: Registry, docker_engine: Docker
) -> None:
    import sklearn

    broken = register_model(
        image_model.tracking_uri,
        "needs_a_missing_package",
        [f"scikit-learn=={sklearn.__version__}", "tcdeploy-no-such-package==1.0"],
    )
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient().create_deployment(
            "img-broken", f"models:/{broken.model_name}/1", config=docker_engine.options(scan="off")
        )
    message = exc.value.message
    assert exc.value.error_code == "INTERNAL_ERROR" and "Building " in message and "failed at step" in message
    assert "tcdeploy-no-such-package" in message and "Last 20 lines of the build:" in message
    log = message.rsplit("Full log: ", 1)[1].strip()
    assert log.endswith("build-env.log") and "tcdeploy-no-such-package" in Path(log).read_text()
    assert "CreateMLModelServices" not in cloud.actions()
    release = history.show(history.list_releases("tcdeploy-releases", broken.model_name)[0]["id"])
    assert (release["status"], release["stage"]) == ("failed", "build") and "failed at step" in release["reason"]
    assert [s["stage"] for s in release["stages"]] == ["resolve", "gate", "build"]
    assert "evidence/build/build-env.log" in release["artifacts"]


def test_registry_credentials_go_to_the_service_and_nowhere_else(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, caplog: pytest.LogCaptureFixture
) -> None:
    config = docker_engine.options(
        image_tag="with-credentials", registry_username="robot", registry_password=REGISTRY_PASSWORD, wait="false"
    )
    with caplog.at_level("DEBUG"):
        created = TcDeploymentClient().create_deployment(
            "img-credentials", f"models:/{image_model.model_name}/1", config=config
        )
    assert created["image"]["built"] == [created["image"]["tag"]] and created["image"]["pushed"]
    sent = [r for r in cloud.requests() if r["action"] == "CreateMLModelServices"][-1]["params"]
    assert sent["Services"][0]["ImageInfo"]["ImageSecret"] == "******"  # sent, and masked in the request log
    labels = json.dumps(docker_engine.labels(created["image"]["tag"]))
    build_logs = "".join(p.read_text() for p in docker_engine.build_dir.rglob("*") if p.is_file())
    shown = json.dumps(created) + labels + build_logs + caplog.text
    assert REGISTRY_PASSWORD not in shown
    TcDeploymentClient().delete_endpoint("img-credentials")


def test_a_base_image_without_what_the_profile_needs_is_refused_before_the_build(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, tmp_path: Path
) -> None:
    """A base image without what the lean Dockerfile runs (here: no useradd) is named as such before anything is
    built; the default base passes the same check; the mlflow profile takes python:<version> bases only."""
    from mlflow_tcdeploy_plugin.image.builder import ImageOptions, base_needs, plan
    from mlflow_tcdeploy_plugin.image.engine import Engine

    default = plan(Path(_downloaded(image_model, tmp_path)), ImageOptions(repository="r"))[0]
    assert Engine(docker_engine.client).run_check(default.base_image, base_needs(default, None)) == ""
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "Dockerfile").write_text(f"FROM {default.base_image}\nRUN rm /usr/sbin/useradd\n")
    base = f"tcdeploy-tests-no-useradd:{docker_engine.repository.rsplit('/', 2)[1]}"
    docker_engine.client.images.build(path=str(tmp_path / "base"), tag=base, rm=True)
    try:
        since = time.time()
        uri = f"models:/{image_model.model_name}/1"
        refused = _cli(uri, *_build_args(docker_engine), "--scan", "off", "--base-image", base, env=cloud.env)
        assert refused.returncode == 2, refused.stderr[-2000:]
        assert f"base_image {base} cannot serve this model with image_profile=lean: no useradd" in refused.stderr
        assert builds_and_pushes(docker_engine.events(since, time.time())) == (0, 0)
        profile = ("--image-profile", "mlflow", "--base-image", base)
        full = _cli(uri, *_build_args(docker_engine), "--scan", "off", *profile, env=cloud.env)
        assert full.returncode == 2 and "image_profile=mlflow builds MLflow's own serving image" in full.stderr
    finally:
        docker_engine.client.images.remove(base, force=True)


def _downloaded(model: Registry, where: Path) -> str:
    from mlflow.artifacts import download_artifacts

    return download_artifacts(artifact_uri=f"models:/{model.model_name}/1", dst_path=str(where / "model"))
