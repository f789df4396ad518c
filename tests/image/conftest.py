"""Fixtures for image tests: the emulator of the client tests over the real Docker engine (``docker_engine``, in
the root conftest: the release pages' build shares it), the image tests' own model and gate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST, Cloud, Registry, register_model, serve_cloud
from tests.image.helpers import Docker
from tests.scan.conftest import gate_models  # noqa: F401  (models with known requirements, for gate refusals)


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
