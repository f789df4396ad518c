"""TI-ONE's online-service actions, driven with the SDK's CommonClient as a TI-ONE user would.

The services here run an image that does not exist, so they end in CREATE_FAILED (or stay CREATING in the idle
emulator): what is checked is the API's shapes, IDs, validation and state, not serving (tests/tione does that).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator import Timing
from tests.emulator.helpers import MODEL, error_code
from tests.helpers import data, sdk_client, start_emulator, wait_for

IMAGE = {"ImageType": "CUSTOM", "ImageUrl": "127.0.0.1:5000/tcdeploy-tests/absent:1"}
SERVICE = {"InstanceType": "TI.S.MEDIUM.POST", "ImageInfo": IMAGE, "ServicePort": 8080}


def call(client: Any, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A TI-ONE action's answer: its members sit directly in ``Response`` (no ``Data``)."""
    response = client.call_json(action, params)["Response"]
    assert "Data" not in response and response["RequestId"]
    return response


@pytest.fixture
def tione(tmp_path: Path) -> Iterator[tuple[Any, Any, Any]]:
    """SDK clients of one emulator (TI-ONE and WeData), whose services stay CREATING; and the emulator."""
    emu = start_emulator(tmp_path / "tione", timing=Timing(new_delay=3600, tick=0.1))
    yield sdk_client(emu, "tione"), sdk_client(emu), emu
    emu.stop()


def test_create_describe_and_list(tione: tuple[Any, Any, Any]) -> None:
    ti, _, _ = tione
    created = call(ti, "CreateModelService", {"ServiceGroupName": "ti-iris", **SERVICE, "Replicas": 2})["Service"]
    group_id = created["ServiceGroupId"]
    assert re.fullmatch(r"ms-[a-z0-9]{8}", group_id) and created["ServiceId"] == f"{group_id}-1"
    assert created["Status"] == "CREATING" and created["Version"] == "1"
    info = created["ServiceInfo"]
    assert (info["Replicas"], info["ServicePort"], info["ImageInfo"]["ImageUrl"]) == (2, 8080, IMAGE["ImageUrl"])
    assert info["Status"]["Status"] == "Pending" and info["PodInfos"] == []
    second = call(ti, "CreateModelService", {"ServiceGroupId": group_id, "NewVersion": True, **SERVICE})["Service"]
    assert second["ServiceId"] == f"{group_id}-2"
    described = call(ti, "DescribeModelService", {"ServiceId": second["ServiceId"]})["Service"]
    assert described["ServiceGroupName"] == "ti-iris" and described["LatestVersion"] == "2"
    group = call(ti, "DescribeModelServiceGroup", {"ServiceGroupId": group_id})["ServiceGroup"]
    assert [s["ServiceId"] for s in group["Services"]] == [f"{group_id}-1", f"{group_id}-2"]
    assert (group["ServiceCount"], group["WeightUpdateStatus"]) == (2, "UPDATED")
    assert [s["Weight"] for s in group["Services"]] == [50, 50]

    for i in range(3):
        call(ti, "CreateModelService", {"ServiceGroupName": f"more-{i}", **SERVICE})
    page = call(ti, "DescribeModelServiceGroups", {"Offset": 1, "Limit": 2, "Order": "ASC"})
    assert (page["TotalCount"], page["GlobalTotalCount"]) == (4, 4)
    assert [g["ServiceGroupName"] for g in page["ServiceGroups"]] == ["more-0", "more-1"]
    named = call(ti, "DescribeModelServiceGroups", {"Filters": [{"Name": "ServiceGroupName", "Values": ["more-2"]}]})
    assert [g["ServiceGroupName"] for g in named["ServiceGroups"]] == ["more-2"] and named["TotalCount"] == 1
    assert error_code(ti, "DescribeModelServiceGroups", {"Limit": 101}) == "InvalidParameterValue"


def test_refused_requests(tione: tuple[Any, Any, Any]) -> None:
    ti, _, emu = tione
    assert error_code(ti, "CreateModelService", {"ServiceGroupName": "x", "WorkspaceId": "1", **SERVICE}) == (
        "UnknownParameter"
    )
    assert error_code(ti, "CreateModelService", {"ServiceGroupName": "x", "TiProjectId": "other", **SERVICE}) == (
        "InvalidParameterValue"
    )
    assert error_code(ti, "CreateModelService", {"ServiceGroupName": "x", "InstanceType": "TI.S.MEDIUM.POST"}) == (
        "UnsupportedOperation"
    )
    assert error_code(ti, "CreateModelService", {"ServiceGroupName": "x", **SERVICE, "Replicas": "2"}) == (
        "InvalidParameter"
    )
    assert error_code(ti, "CreateModelService", {**SERVICE}) == "MissingParameter"
    call(ti, "CreateModelService", {"ServiceGroupName": "dup", **SERVICE})
    assert error_code(ti, "CreateModelService", {"ServiceGroupName": "dup", **SERVICE}) == (
        "FailedOperation.DuplicateName"
    )
    assert error_code(ti, "DescribeModelService", {"ServiceId": "ms-00000000-1"}) == "ResourceNotFound"
    assert error_code(ti, "DescribeModelService", {"ServiceId": "not-an-id"}) == "ResourceNotFound"
    assert error_code(ti, "DescribeModelServiceGroup", {}) == "MissingParameter"
    assert error_code(ti, "ModifyModelService", {"ServiceId": "x", "ServiceAction": "START"}) == (
        "InvalidParameterValue"
    )
    assert error_code(ti, "DescribeLogs", {"ServiceId": "x"}) == "MissingParameter"  # Service is required
    # The TI-ONE signature scope is checked like WeData's: a WeData action is not a TI-ONE one.
    assert error_code(ti, "GetMLModelService", {"ServiceId": "x"}) == "InvalidAction"
    codes = [r["code"] for r in emu.request_log()]
    assert "Success" in codes and codes.count("Success") == 1


def test_weights(tione: tuple[Any, Any, Any]) -> None:
    ti, _, _ = tione
    first = call(ti, "CreateModelService", {"ServiceGroupName": "split", **SERVICE})["Service"]
    group_id = first["ServiceGroupId"]
    second = call(ti, "CreateModelService", {"ServiceGroupId": group_id, "NewVersion": True, **SERVICE})["Service"]
    ids = [first["ServiceId"], second["ServiceId"]]

    def weights(*values: int) -> dict[str, Any]:
        return {
            "ServiceGroupId": group_id,
            "Weights": [{"ServiceId": i, "Weight": w} for i, w in zip(ids, values, strict=True)],
        }

    assert error_code(ti, "ModifyServiceGroupWeights", weights(90, 20)) == "InvalidParameterValue"
    assert error_code(ti, "ModifyServiceGroupWeights", weights(110, -10)) == "InvalidParameterValue"
    bad = {"ServiceGroupId": group_id, "Weights": [{"ServiceId": "ms-00000000-1", "Weight": 100}]}
    assert error_code(ti, "ModifyServiceGroupWeights", bad) == "InvalidParameterValue"
    assert error_code(ti, "ModifyServiceGroupWeights", {"ServiceGroupId": group_id}) == "MissingParameter"
    group = call(ti, "ModifyServiceGroupWeights", weights(90, 10))["ServiceGroup"]
    # The idle emulator applies a split after new_delay (an hour): it stays UPDATING, with the new weights shown.
    assert group["WeightUpdateStatus"] == "UPDATING"
    assert [s["Weight"] for s in group["Services"]] == [90, 10]
    only_first = {"ServiceGroupId": group_id, "Weights": [{"ServiceId": ids[0], "Weight": 100}]}
    group = call(ti, "ModifyServiceGroupWeights", only_first)["ServiceGroup"]
    assert [s["Weight"] for s in group["Services"]] == [100, 0]  # a version not named gets 0


def test_weights_apply_after_a_delay(tmp_path: Path) -> None:
    emu = start_emulator(tmp_path / "soon", timing=Timing(new_delay=0.5, tick=0.1))
    try:
        ti = sdk_client(emu, "tione")
        group_id = call(ti, "CreateModelService", {"ServiceGroupName": "soon", **SERVICE})["Service"]["ServiceGroupId"]
        call(
            ti,
            "ModifyServiceGroupWeights",
            {"ServiceGroupId": group_id, "Weights": [{"ServiceId": f"{group_id}-1", "Weight": 100}]},
        )
        started = time.monotonic()
        wait_for(
            lambda: (
                call(ti, "DescribeModelServiceGroup", {"ServiceGroupId": group_id})["ServiceGroup"][
                    "WeightUpdateStatus"
                ]
                == "UPDATED"
            ),
            timeout=10,
        )
        assert time.monotonic() - started < 5
    finally:
        emu.stop()


def test_actions_tokens_call_info_and_delete(tione: tuple[Any, Any, Any]) -> None:
    ti, _, emu = tione
    created = call(ti, "CreateModelService", {"ServiceGroupName": "ops", **SERVICE, "AuthorizationEnable": True})
    service_id, group_id = created["Service"]["ServiceId"], created["Service"]["ServiceGroupId"]
    assert created["Service"]["ServiceInfo"]["AuthorizationEnable"] is True
    stopped = call(ti, "ModifyModelService", {"ServiceId": service_id, "ServiceAction": "STOP"})["Service"]
    assert stopped["ServiceInfo"]["Replicas"] == 0
    wait_for(lambda: call(ti, "DescribeModelService", {"ServiceId": service_id})["Service"]["Status"] == "Stopped")
    scaled = call(ti, "ModifyModelService", {"ServiceId": service_id, "ServiceAction": "SCALE", "Replicas": 3})
    assert scaled["Service"]["Status"] == "Stopped"  # scaling a stopped service keeps it stopped
    resumed = call(ti, "ModifyModelService", {"ServiceId": service_id, "ServiceAction": "RESUME"})["Service"]
    assert resumed["ServiceInfo"]["Replicas"] == 3 and resumed["Status"] != "Stopped"
    changed = call(ti, "ModifyModelService", {"ServiceId": service_id, "Env": [{"Name": "A", "Value": "1"}]})
    assert changed["Service"]["ServiceInfo"]["Env"] == [{"Name": "A", "Value": "1"}]

    assert call(ti, "CreateModelServiceAuthToken", {"ServiceGroupId": group_id, "Name": "ci"}).keys() == {"RequestId"}
    tokens = call(ti, "DescribeModelServiceGroup", {"ServiceGroupId": group_id})["ServiceGroup"]["AuthTokens"]
    assert [t["Base"]["Name"] for t in tokens] == ["default", "ci"]
    info = call(ti, "DescribeModelServiceCallInfo", {"ServiceGroupId": group_id})["ServiceCallInfoV2"]
    assert info["InternetEndpoint"] == f"{emu.url}/{group_id}" and info["AuthorizationEnable"] is True
    assert info["AuthToken"] == tokens[0]["Base"]["Value"]

    call(ti, "DeleteModelService", {"ServiceId": service_id})
    assert error_code(ti, "DescribeModelService", {"ServiceId": service_id}) == "ResourceNotFound"
    assert call(ti, "DeleteModelServiceGroup", {"ServiceGroupId": group_id}).keys() == {"RequestId"}
    assert error_code(ti, "DescribeModelServiceGroup", {"ServiceGroupId": group_id}) == "ResourceNotFound"


def test_both_apis_see_the_same_groups(tione: tuple[Any, Any, Any]) -> None:
    ti, wedata, _ = tione
    made = data(wedata, "CreateMLModelServices", {"ServiceName": "from-wedata", "Services": [MODEL]})
    version = made["Services"][0]
    found = call(
        ti, "DescribeModelServiceGroups", {"Filters": [{"Name": "ServiceGroupName", "Values": ["from-wedata"]}]}
    )
    (group,) = found["ServiceGroups"]
    assert group["ServiceGroupId"].startswith("ms-") and group["ServiceGroupId"] != made["ServiceGroupId"]
    assert group["Services"][0]["ServiceId"] == f"{group['ServiceGroupId']}-1" and version["Version"] == 1


def test_a_failed_image_service_says_why(tmp_path: Path) -> None:
    emu = start_emulator(tmp_path / "fails")
    try:
        ti = sdk_client(emu, "tione")
        service_id = call(ti, "CreateModelService", {"ServiceGroupName": "nothing", **SERVICE})["Service"]["ServiceId"]
        failed = wait_for(
            lambda: (
                (s := call(ti, "DescribeModelService", {"ServiceId": service_id})["Service"])["Status"]
                == "CREATE_FAILED"
                and s
            ),
            timeout=120,
        )
        reason = failed["CreateFailedReason"]
        # The image cannot be pulled; on a machine without an engine, the engine is what is missing.
        assert failed["BusinessStatus"] == "CREATE_FAILED" and ("absent:1" in reason or "No Docker engine" in reason)
        logs = call(ti, "DescribeLogs", {"Service": "INFER", "ServiceId": service_id, "Limit": 10})
        assert logs["Content"] == [] and "Context" in logs
    finally:
        emu.stop()


def test_autoscaling_members_are_checked_as_ti_one_defines_them(tione: tuple[Any, Any, Any]) -> None:
    ti, _, _ = tione
    hpa = {"MinReplicas": 1, "MaxReplicas": 3, "HpaMetrics": [{"Name": "service-qps", "Value": 5}]}
    auto = {"ServiceGroupName": "auto", **SERVICE, "ScaleMode": "AUTO"}
    bad = [
        ({**auto, "ScaleStrategy": "HPA"}, "InvalidParameterValue"),  # no policy
        ({**auto}, "InvalidParameterValue"),  # no strategy
        (
            {**auto, "ScaleStrategy": "HPA", "HorizontalPodAutoscaler": {**hpa, "MinReplicas": 4}},
            "InvalidParameterValue",
        ),
        (
            {
                **auto,
                "ScaleStrategy": "HPA",
                "HorizontalPodAutoscaler": {**hpa, "HpaMetrics": [{"Name": "qps", "Value": 5}]},
            },
            "InvalidParameterValue",
        ),
        (
            {
                **auto,
                "ScaleStrategy": "HPA",
                "HorizontalPodAutoscaler": {**hpa, "HpaMetrics": [{"Name": "cpu-util", "Value": 5}]},
            },
            "InvalidParameterValue",
        ),
        ({**auto, "ScaleStrategy": "HPA", "HorizontalPodAutoscaler": {"MinReplicas": 1}}, "MissingParameter"),
        ({**auto, "ScaleStrategy": "CRON", "CronScaleJobs": [{"Schedule": "0 8 * *"}]}, "InvalidParameterValue"),
        (
            {
                **auto,
                "ScaleStrategy": "CRON",
                "CronScaleJobs": [{"Schedule": "0 8 * * *", "ExcludeDates": ["2026-01-01"] * 4}],
            },
            "InvalidParameterValue",
        ),
        ({**auto, "ScaleStrategy": "HPA", "HorizontalPodAutoscaler": {**hpa, "MaxReplicas": "3"}}, "InvalidParameter"),
    ]
    two = {**hpa, "HpaMetrics": [{"Name": "service-qps", "Value": 5}, {"Name": "service-qps", "Value": 9}]}
    bad += [
        ({**auto, "ScaleStrategy": "HPA", "HorizontalPodAutoscaler": two}, "InvalidParameterValue"),
        ({**auto, "ScaleStrategy": "CRON", "CronScaleJobs": [{"Schedule": "0 8 * * *"}]}, "InvalidParameterValue"),
        (
            {
                **auto,
                "ScaleStrategy": "CRON",
                "CronScaleJobs": [{"Schedule": "0 8 * * *", "MinReplicas": 3, "MaxReplicas": 2}],
            },
            "InvalidParameterValue",
        ),
        (
            {
                **auto,
                "ScaleStrategy": "CRON",
                "CronScaleJobs": [{"Schedule": "0 8 * * *", "TargetReplicas": 2, "ExcludeDates": ["20261225"]}],
            },
            "InvalidParameterValue",
        ),
    ]
    for params, code in bad:
        assert error_code(ti, "CreateModelService", params) == code, params
    made = call(ti, "CreateModelService", {**auto, "ScaleStrategy": "HPA", "HorizontalPodAutoscaler": hpa})["Service"]
    info = made["ServiceInfo"]
    assert (info["ScaleMode"], info["ScaleStrategy"], info["HorizontalPodAutoscaler"]) == ("AUTO", "HPA", hpa)
