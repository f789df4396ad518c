"""Fixtures for client tests: the client, loaded through MLflow's entry point, against a real emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator import Timing
from tests.conftest import Registry, start_emulator

FAST = {"poll_interval": "0.1"}


@dataclass
class Cloud:
    emulator: Any
    registry: Registry
    env: dict[str, str]

    def requests(self) -> list[dict[str, Any]]:
        return self.emulator.request_log()

    def actions(self) -> list[str]:
        return [r["action"] for r in self.requests()]


def _cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry, **overrides: Any) -> Iterator[Cloud]:
    emu = start_emulator(tmp_path_factory.mktemp("cloud"), registry.tracking_uri, **overrides)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in emu.env().items():
            mp.setenv(name, value)
        yield Cloud(emu, registry, emu.env())
    emu.stop()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Cloud]:
    """An emulator serving the test registry; the client's environment points at it."""
    yield from _cloud(tmp_path_factory, registry)


@pytest.fixture
def idle_cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Cloud]:
    """An emulator whose services never leave NEW."""
    yield from _cloud(tmp_path_factory, registry, timing=Timing(new_delay=3600, tick=0.1))


@pytest.fixture
def client(cloud: Cloud) -> Any:
    from mlflow.deployments import get_deploy_client

    cloud.emulator.set_faults({})
    return get_deploy_client("tcdeploy")


@pytest.fixture(scope="module")
def deployed(cloud: Cloud) -> dict[str, Any]:
    """One running deployment of the catalog model, shared by the tests that only read or call it."""
    from mlflow.deployments import get_deploy_client

    return get_deploy_client("tcdeploy").create_deployment(
        "iris-main", f"models:/{cloud.registry.model_name}/1", config={**FAST, "instance_type": "TI.S.MEDIUM.POST"}
    )
