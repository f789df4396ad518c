"""Fixtures and helpers shared by the emulator's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mlflow_tcdeploy_plugin.emulator import Timing
from tests.conftest import sdk_client, start_emulator

MODEL = {"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": "models:/m-0123456789abcdef/1"}}
"""One version's members, enough for a service that never needs to run."""


def error_code(client: Any, action: str, params: dict[str, Any]) -> str:
    """The code of the error the emulator answers ``action`` with (the call must fail)."""
    with pytest.raises(TencentCloudSDKException) as err:
        client.call_json(action, params)
    return str(err.value.code)


@pytest.fixture
def idle(tmp_path: Path) -> Iterator[Any]:
    """An SDK client of an emulator whose services stay NEW: no replica is ever started."""
    emu = start_emulator(tmp_path / "idle", timing=Timing(new_delay=3600))
    yield sdk_client(emu)
    emu.stop()
