"""Fixtures for client tests: the client, loaded through MLflow's entry point, against a real emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator import Timing
from tests.helpers import FAST, Cloud, Registry, serve_cloud


@pytest.fixture
def idle_cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Cloud]:
    """An emulator whose services never leave NEW."""
    yield from serve_cloud(tmp_path_factory, registry, timing=Timing(new_delay=3600, tick=0.1))


@pytest.fixture(scope="module")
def deployed(cloud: Cloud) -> dict[str, Any]:
    """One running deployment of the catalog model, shared by the tests that only read or call it."""
    from mlflow.deployments import get_deploy_client

    return get_deploy_client("tcdeploy").create_deployment(
        "iris-main", f"models:/{cloud.registry.model_name}/1", config={**FAST, "instance_type": "TI.S.MEDIUM.POST"}
    )
