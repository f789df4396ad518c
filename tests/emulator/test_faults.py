"""Fault injection, set at start and at run time, as the SDK sees it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mlflow_tcdeploy_plugin.emulator import Faults
from mlflow_tcdeploy_plugin.emulator.faults import FaultRule
from tests.helpers import data, sdk_client, start_emulator

SPECS = ("GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"})


def _outcome(client: Any, action: str = SPECS[0], params: dict[str, Any] = SPECS[1]) -> str:
    try:
        client.call_json(action, params)
    except TencentCloudSDKException as exc:
        return str(exc.code)
    return "ok"


def test_throttle_the_next_two_calls_of_one_action(emulator: Any, wedata: Any) -> None:
    emulator.set_faults({"actions": {"GetBillingSpecs": {"throttle_rate": 1.0, "times": 2}}})
    outcomes = [_outcome(wedata) for _ in range(3)]
    assert outcomes == ["RequestLimitExceeded", "RequestLimitExceeded", "ok"]
    assert _outcome(wedata, "ListMLModelServiceGroups", {}) == "ok"
    codes = [r["code"] for r in emulator.request_log()]
    assert codes == ["RequestLimitExceeded", "RequestLimitExceeded", "Success", "Success"]


def test_http_5xx_and_dropped_connections(emulator: Any, wedata: Any) -> None:
    emulator.set_faults({"error_rate": 1.0, "times": 1})
    assert _outcome(wedata) == "ServerNetworkError"
    assert _outcome(wedata) == "ok"
    emulator.set_faults({"drop_rate": 1.0, "times": 1})
    assert _outcome(wedata) == "ClientNetworkError"
    assert _outcome(wedata) == "ok"
    codes = [r["code"] for r in emulator.request_log()]
    assert codes == ["(HTTP 502)", "Success", "(dropped connection)", "Success"]


def test_latency_is_added(emulator: Any, wedata: Any) -> None:
    emulator.set_faults({"actions": {"GetBillingSpecs": {"latency": 0.4}}})
    started = time.monotonic()
    assert _outcome(wedata) == "ok"
    assert time.monotonic() - started >= 0.4


def test_rates_at_start_are_seeded(tmp_path: Path) -> None:
    def throttled(seed: int) -> list[str]:
        emu = start_emulator(
            tmp_path / f"seed{seed}-{time.monotonic_ns()}", faults=Faults(FaultRule(throttle_rate=0.5)), fault_seed=seed
        )
        try:
            client = sdk_client(emu)
            return [_outcome(client) for _ in range(30)]
        finally:
            emu.stop()

    first, again = throttled(3), throttled(3)
    assert first == again
    assert 5 <= first.count("RequestLimitExceeded") <= 25
    assert set(first) == {"ok", "RequestLimitExceeded"}


def test_bad_fault_settings_are_refused(emulator: Any) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        emulator.set_faults({"throttle_rate": 2})
    assert err.value.code == 400
    with pytest.raises(urllib.error.HTTPError):
        emulator.set_faults({"explode": True})
    assert data(sdk_client(emulator), *SPECS)["SpecInfos"]


def test_a_lost_answer_means_the_work_was_done(emulator: Any, wedata: Any) -> None:
    emulator.set_faults({"actions": {"CreateMLModelServices": {"lose_rate": 1.0, "times": 1}}})
    params = {
        "ServiceName": "lost",
        "ServiceAction": "STOP",
        "Services": [{"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": "models:/m-0123456789/1"}}],
    }
    assert _outcome(wedata, "CreateMLModelServices", params) == "ClientNetworkError"
    rows = data(wedata, "ListMLModelServiceGroups", {})["Rows"]
    assert [r["ServiceGroupName"] for r in rows] == ["lost"]
