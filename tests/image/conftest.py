"""Fixtures for image tests: a real Docker engine (DOCKER_HOST), the local registry on 127.0.0.1:5000 and the
emulator of the client tests. `./build.sh test` starts the engine and registry (tools/docker-engine.sh); without
them these tests skip, and under CI they fail."""

from __future__ import annotations

import os
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST, Cloud, Registry, register_model, serve_cloud
from tests.image.helpers import EXTRA_CA, REGISTRY, SYSTEM_CA, Docker, unavailable
from tests.scan.conftest import gate_models  # noqa: F401  (models with known requirements, for gate refusals)


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    try:
        import docker

        engine = docker.from_env(timeout=600)
        engine.ping()
    except Exception as exc:
        unavailable(f"no Docker engine at {os.environ.get('DOCKER_HOST') or 'the default socket'} ({exc})")
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
    except OSError as exc:
        unavailable(f"no registry at {REGISTRY} ({exc})")
    root = tmp_path_factory.mktemp("images")
    session = uuid.uuid4().hex[:10]
    # The system's CAs, the machine's extra ones (an intercepting proxy's), and this session's mark: the bundle
    # is copied in the environment image's first step, so its first build here is a real first build.
    parts = [SYSTEM_CA.read_text()] if SYSTEM_CA.is_file() else []
    parts += [p.read_text() for p in sorted(EXTRA_CA.glob("*.crt"))] if EXTRA_CA.is_dir() else []
    bundle = root / "ca-bundle.pem"
    bundle.write_text("\n".join(parts) + f"\n# tcdeploy test session {session}\n")
    repository = f"{REGISTRY}/tcdeploy-tests-{session}/iris"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TCDEPLOY_BUILD_DIR", str(root / "builds"))
        yield Docker(engine, repository, str(bundle), root / "builds")
    # This session's images are of no use to the next one (its CA bundle differs): free the engine's disk.
    for image in engine.images.list(name=repository):
        engine.images.remove(image.id, force=True)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry, docker_engine: Docker) -> Iterator[Cloud]:
    """One emulator for every image test (its IMAGE services run on the engine)."""
    yield from serve_cloud(tmp_path_factory, registry)


@pytest.fixture(scope="session")
def image_model(registry: Registry) -> Registry:
    """The image tests' own registered model (they add versions to it)."""
    return register_model(registry.tracking_uri, "image_iris")


@pytest.fixture(scope="session")
def scanning(trivy_bin: str, trivy_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The dependency gate for every image test: the real trivy with the offline test DB."""
    root = tmp_path_factory.mktemp("image-gate")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "TCDEPLOY_TRIVY_BIN": trivy_bin,
            "TCDEPLOY_TRIVY_CACHE_DIR": str(trivy_db),
            "TCDEPLOY_TRIVY_OFFLINE": "true",
            "TCDEPLOY_SCAN_CACHE_DIR": str(root / "cache"),
            "TCDEPLOY_SCAN_REPORT_DIR": str(root / "reports"),
        }.items():
            mp.setenv(name, value)
        yield trivy_db


@pytest.fixture(scope="session")
def first(cloud: Cloud, docker_engine: Docker, image_model: Registry, scanning: Path) -> dict[str, Any]:
    """The session's first image deployment of the test model: scanned (scan=required), both images built (the
    environment cold: this session's CA bundle is new to the engine) and pushed, then run by the emulator.
    ``sent``: its create request."""
    from mlflow_tcdeploy_plugin import TcDeploymentClient

    deployment = TcDeploymentClient().create_deployment(
        "img-iris", f"models:/{image_model.model_name}/1", config={**FAST, **docker_engine.options(scan="required")}
    )
    (deployment["sent"],) = [  # what went to the cloud, kept before other tests clear the request log
        r["params"]
        for r in cloud.requests()
        if r["action"] == "CreateMLModelServices" and r["params"].get("ServiceName") == "img-iris"
    ]
    return deployment
