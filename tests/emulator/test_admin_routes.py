"""``POST /_emulator/reset`` and ``POST /_emulator/seed`` over real HTTP, checked through the signed API."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mlflow_tcdeploy_plugin.emulator import Faults, Timing
from tests.emulator.helpers import MODEL, error_code
from tests.helpers import Registry, data, sdk_client, start_emulator, wait_status


def _post(emu: Any, route: str, body: Any) -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{emu.url}/_emulator/{route}", data=raw, timeout=30)


@pytest.fixture
def idle_emulator(tmp_path: Path) -> Iterator[Any]:
    """An emulator whose new services stay NEW (no replica starts unless a seed asks for one)."""
    emu = start_emulator(tmp_path / "idle", timing=Timing(new_delay=3600, tick=0.1))
    yield emu
    emu.stop()


def test_seeded_groups_are_served_by_both_apis(idle_emulator: Any) -> None:
    body = {
        "groups": [
            {
                "name": "seeded",
                "description": "from a seed",
                "authorization": True,
                "tokens": [{"name": "ci", "value": "0123456789abcde"}],
                "versions": [
                    {"status": "Stopped", "service": dict(MODEL)},
                    {"status": "CREATE_FAILED", "reason": "the image was not found", "service": dict(MODEL)},
                ],
            }
        ]
    }
    answer = _post(idle_emulator, "seed", body)
    assert answer.status_code == 200, answer.text
    created = answer.json()["groups"][0]
    group_id, (stopped_id, failed_id) = created["ServiceGroupId"], created["ServiceIds"]

    wedata = sdk_client(idle_emulator)
    listed = data(wedata, "ListMLModelServiceGroups", {})
    assert [g["ServiceGroupName"] for g in listed["Rows"]] == ["seeded"]
    group = data(wedata, "GetMLModelServiceGroup", {"ServiceGroupId": group_id})
    assert (group["Description"], group["ServiceCount"], group["LatestVersion"]) == ("from a seed", 2, "2")
    stopped = data(wedata, "GetMLModelService", {"ServiceId": stopped_id})
    assert (stopped["Status"], stopped["Replicas"], stopped["InstanceType"]) == ("Stopped", 0, "TI.S.MEDIUM.POST")
    failed = data(wedata, "GetMLModelService", {"ServiceId": failed_id})
    assert (failed["Status"], failed["WorkloadStatus"]["Reason"]) == ("CREATE_FAILED", "the image was not found")
    call_info = data(wedata, "GetModelServiceCallInfo", {"ServiceGroupId": group_id})["ServiceCallInfo"]
    assert (call_info["AuthorizationEnable"], call_info["AuthToken"]) == (True, "0123456789abcde")

    tione = sdk_client(idle_emulator, "tione")
    ti_group = tione.call_json("DescribeModelServiceGroup", {"ServiceGroupId": created["TiOneServiceGroupId"]})
    services = ti_group["Response"]["ServiceGroup"]["Services"]
    assert [s["ServiceId"] for s in services] == created["TiOneServiceIds"]
    assert [s["Status"] for s in services] == ["Stopped", "CREATE_FAILED"]


def test_reset_drops_state_request_log_and_faults(idle_emulator: Any) -> None:
    wedata = sdk_client(idle_emulator)
    group = data(wedata, "CreateMLModelServices", {"ServiceName": "before", "Services": [dict(MODEL)]})
    idle_emulator.set_faults({"actions": {"GetBillingSpecs": {"throttle_rate": 1.0}}})
    assert idle_emulator.request_log()

    answer = _post(idle_emulator, "reset", {})
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert idle_emulator.request_log() == []
    assert requests.get(f"{idle_emulator.url}/_emulator/faults", timeout=30).json() == Faults().to_dict()
    assert data(wedata, "ListMLModelServiceGroups", {})["TotalCount"] == 0
    assert error_code(wedata, "GetMLModelServiceGroup", {"ServiceGroupId": group["ServiceGroupId"]}) == (
        "ResourceNotFound"
    )
    assert data(wedata, "GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"})["SpecInfos"]
    # The name is free again.
    data(wedata, "CreateMLModelServices", {"ServiceName": "before", "Services": [dict(MODEL)]})


@pytest.mark.replicas
def test_a_seeded_service_serves_until_reset_stops_its_replica(serving_emulator: Any, registry: Registry) -> None:
    service = {"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": registry.model_path}}
    created = serving_emulator.seed(
        {"groups": [{"name": "served", "versions": [{"status": "CREATING", "service": service}]}]}
    )
    service_id = created["groups"][0]["ServiceIds"][0]
    wedata = sdk_client(serving_emulator)
    running = wait_status(wedata, service_id, {"RUNNING"})
    pid = int(running["PodInfos"][0]["ContainerInfos"][0]["ContainerId"].removeprefix("pid://"))
    answer = data(
        wedata,
        "ModelServiceInterfaceCallTest",
        {"ServiceId": service_id, "RelativeUrl": "/invocations", "CurlData": json.dumps({"inputs": registry.features})},
    )
    assert json.loads(json.loads(answer["CurlResponseRaw"])["body"])["predictions"] == registry.expected

    serving_emulator.reset()
    with pytest.raises(ProcessLookupError):  # stopped and reaped before the reset answered
        os.kill(pid, 0)
    assert data(wedata, "ListMLModelServiceGroups", {})["TotalCount"] == 0
    assert error_code(wedata, "GetMLModelService", {"ServiceId": service_id}) == "ResourceNotFound"


_GOOD_GROUP = {"name": "good", "versions": [{"service": MODEL}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        ([], "the body must be a JSON object"),
        ({"groups": []}, "groups must be a non-empty list"),
        ({"groups": [_GOOD_GROUP], "tokens": []}, "unknown member tokens"),
        ({"groups": [{"versions": [{"service": MODEL}]}]}, "groups.0.name must be 1 to 60"),
        ({"groups": [_GOOD_GROUP, _GOOD_GROUP]}, "the name 'good' is given twice"),
        ({"groups": [{"name": "g", "versions": []}]}, "groups.0.versions must be a non-empty list"),
        ({"groups": [{"name": "g", "authorization": "yes", "versions": [{"service": MODEL}]}]}, "true or false"),
        ({"groups": [{"name": "g", "versions": [{"status": "Running", "service": MODEL}]}]}, "status must be one of"),
        ({"groups": [{"name": "g", "versions": [{"service": {"Replicas": "2"}}]}]}, "service.Replicas is wrong"),
        (
            {"groups": [{"name": "g", "versions": [{"service": {"MlModelInfo": MODEL["MlModelInfo"]}}]}]},
            "groups.0.versions.0.service.InstanceType",
        ),
        (
            {"groups": [{"name": "g", "tokens": [{"name": "a"}, {"name": "a"}], "versions": [{"service": MODEL}]}]},
            "groups.0.tokens.1.name",
        ),
    ],
)
def test_a_bad_seed_is_refused_whole(idle_emulator: Any, body: Any, message: str) -> None:
    answer = _post(idle_emulator, "seed", body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert data(sdk_client(idle_emulator), "ListMLModelServiceGroups", {})["TotalCount"] == 0


def test_a_seed_cannot_take_an_existing_name(idle_emulator: Any) -> None:
    assert _post(idle_emulator, "seed", {"groups": [_GOOD_GROUP]}).status_code == 200
    again = _post(idle_emulator, "seed", {"groups": [_GOOD_GROUP]})
    assert again.status_code == 400 and "already exists" in again.json()["error"]


def test_the_scaling_clock_and_metric_routes(idle_emulator: Any) -> None:
    first = idle_emulator.advance_clock(0)
    later = idle_emulator.advance_clock(3600)
    assert first.endswith("+08:00") and later > first  # China Standard Time, an hour on
    for body, status in [
        ({"advance": -1}, 400),
        ({}, 400),
        (b"{x", 400),
        (b'{"advance": NaN}', 400),
        ({"advance": 1e12}, 400),
    ]:
        assert _post(idle_emulator, "clock", body).status_code == status
    assert _post(
        idle_emulator, "metrics", {"service_id": "ms-00000000-1", "name": "cpu-util", "value": 80}
    ).status_code == (404)
    assert _post(idle_emulator, "metrics", {"name": "cpu-util"}).status_code == 400
    bad_name = {"service_id": "ms-00000000-1", "name": "cpu", "value": 80}
    assert _post(idle_emulator, "metrics", bad_name).status_code == 400
