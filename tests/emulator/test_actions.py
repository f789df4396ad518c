"""Every emulated action's happy path and documented errors, through the official SDK's CommonClient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.helpers import MODEL, error_code
from tests.helpers import Registry, data, sdk_client, start_emulator, wait_status


def _group(client: Any, name: str, **extra: Any) -> dict[str, Any]:
    return data(client, "CreateMLModelServices", {"ServiceName": name, "Services": [dict(MODEL)], **extra})


def test_create_get_update_delete_group(idle: Any) -> None:
    group = _group(
        idle, "g1", ServiceDescription="first", LogEnable=True, LogConfig={"LogsetId": "ls-1", "TopicId": "tp-1"}
    )
    service = group["Services"][0]
    assert (group["ServiceGroupName"], group["Description"], group["ServiceCount"]) == ("g1", "first", 1)
    assert (service["Status"], service["TiOneServiceId"], service["ChargeType"], service["Replicas"]) == (
        "NEW",
        None,
        "POSTPAID_BY_HOUR",
        1,
    )
    assert service["LogConfig"] == {"LogsetId": "ls-1", "TopicId": "tp-1"}
    assert (
        data(idle, "GetMLModelService", {"ServiceId": service["ServiceId"]})["ServiceGroupId"]
        == (group["ServiceGroupId"])
    )
    assert data(
        idle, "UpdateModelServiceGroup", {"ServiceGroupId": group["ServiceGroupId"], "Description": "second"}
    ) == {"Status": True}
    assert data(idle, "GetMLModelServiceGroup", {"ServiceGroupId": group["ServiceGroupId"]})["Description"] == "second"
    assert data(idle, "DeleteMLModelServiceGroup", {"ServiceGroupId": group["ServiceGroupId"]}) == {"Status": True}
    assert error_code(idle, "GetMLModelServiceGroup", {"ServiceGroupId": group["ServiceGroupId"]}) == "ResourceNotFound"
    assert error_code(idle, "GetMLModelService", {"ServiceId": service["ServiceId"]}) == "ResourceNotFound"
    assert (
        error_code(idle, "DeleteMLModelServiceGroup", {"ServiceGroupId": group["ServiceGroupId"]}) == "ResourceNotFound"
    )
    assert error_code(idle, "UpdateModelServiceGroup", {"ServiceGroupId": "nope"}) == "ResourceNotFound"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Services": [MODEL]}, "MissingParameter"),
        ({"ServiceName": "ok"}, "MissingParameter"),
        ({"ServiceName": "-bad name", "Services": [MODEL]}, "InvalidParameterValue"),
        ({"ServiceName": "x" * 61, "Services": [MODEL]}, "InvalidParameterValue"),
        (
            {"ServiceName": "ok", "Services": [{**MODEL, "InstanceType": "TI.NOPE"}]},
            "FailedOperation.UnknownInstanceType",
        ),
        (
            {"ServiceName": "ok", "Services": [{**MODEL, "InstanceType": "TI.GN10X.2XLARGE40.POST"}]},
            "ResourceInsufficient",
        ),
        ({"ServiceName": "ok", "Services": [{**MODEL, "Replicas": 0}]}, "InvalidParameterValue"),
        ({"ServiceName": "ok", "Services": [{**MODEL, "Replicas": 101}]}, "InvalidParameterValue"),
        ({"ServiceName": "ok", "Services": [{**MODEL, "ServicePort": 70000}]}, "InvalidParameterValue"),
        ({"ServiceName": "ok", "Services": [{"InstanceType": "TI.S.MEDIUM.POST"}]}, "MissingParameter"),
        ({"ServiceName": "ok", "Services": [{"MlModelInfo": {"ModelPath": "models:/x/1"}}]}, "MissingParameter"),
        ({"ServiceName": "ok", "ModelSource": "IMAGE", "Services": [MODEL]}, "MissingParameter"),
        ({"ServiceName": "ok", "ServiceAction": "RESUME", "Services": [MODEL]}, "InvalidParameterValue"),
        ({"ServiceGroupId": "nope", "NewVersion": True, "Services": [MODEL]}, "ResourceNotFound"),
        ({"ServiceName": "ok", "WorkspaceId": "999", "Services": [MODEL]}, "InvalidParameter.WorkspaceNotExist"),
    ],
)
def test_create_rejects(idle: Any, params: dict[str, Any], code: str) -> None:
    assert error_code(idle, "CreateMLModelServices", params) == code
    assert data(idle, "ListMLModelServiceGroups", {})["TotalCount"] == 0


def test_duplicate_group_name(idle: Any) -> None:
    _group(idle, "dup")
    assert error_code(idle, "CreateMLModelServices", {"ServiceName": "dup", "Services": [MODEL]}) == (
        "InvalidParameter.DuplicateName"
    )


def test_update_fields_and_actions(idle: Any) -> None:
    service_id = _group(idle, "upd")["Services"][0]["ServiceId"]
    updated = data(
        idle,
        "UpdateMLModelService",
        {
            "ServiceId": service_id,
            "Command": "serve --fast",
            "ScaleMode": "MANUAL",
            "ServiceDescription": "d2",
            "Env": [{"Name": "A", "Value": "1"}],
            "ServiceLimit": {
                "EnableInstanceRpsLimit": True,
                "InstanceRpsLimit": 5,
                "EnableInstanceReqLimit": False,
                "InstanceReqLimit": 0,
            },
        },
    )
    assert (updated["Command"], updated["Description"], updated["Env"]) == (
        "serve --fast",
        "d2",
        [{"Name": "A", "Value": "1"}],
    )
    assert updated["ServiceLimit"]["InstanceRpsLimit"] == 5
    # With a ServiceAction every other member is ignored.
    stopped = data(
        idle, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "STOP", "Command": "ignored"}
    )
    assert stopped["Command"] == "serve --fast"
    assert wait_status(idle, service_id, {"Stopped"})["Replicas"] == 0
    assert error_code(idle, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "SCALE"}) == (
        "MissingParameter"
    )
    assert (
        error_code(idle, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "SCALE", "Replicas": 0})
        == "InvalidParameterValue"
    )
    scaled = data(idle, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "SCALE", "Replicas": 3})
    assert scaled["Replicas"] == 0  # still stopped: SCALE sets the count RESUME will start
    assert error_code(idle, "UpdateMLModelService", {"ServiceId": service_id, "InstanceType": "TI.X"}) == (
        "FailedOperation.UnknownInstanceType"
    )
    assert error_code(idle, "UpdateMLModelService", {"ServiceId": "nope"}) == "ResourceNotFound"


def test_new_version_false_updates_existing_versions(idle: Any) -> None:
    group = _group(idle, "nv")
    service_id = group["Services"][0]["ServiceId"]
    again = data(
        idle,
        "CreateMLModelServices",
        {
            "ServiceGroupId": group["ServiceGroupId"],
            "NewVersion": False,
            "Services": [{"ServiceId": service_id, "Command": "x"}],
        },
    )
    assert [(s["ServiceId"], s["Command"]) for s in again["Services"]] == [(service_id, "x")]


def test_list_groups_pages_filters_and_order(idle: Any) -> None:
    names = [f"grp-{i:02d}" for i in range(23)]
    for name in names:
        _group(idle, name)
    first = data(idle, "ListMLModelServiceGroups", {"PageNumber": 1, "PageSize": 10})
    assert (first["TotalCount"], first["TotalPageNumber"], len(first["Rows"])) == (23, 3, 10)
    seen = []
    for page in (1, 2, 3):
        rows = data(
            idle,
            "ListMLModelServiceGroups",
            {"PageNumber": page, "PageSize": 10, "OrderField": {"Name": "CreateTime", "Direction": "ASC"}},
        )
        seen += [r["ServiceGroupName"] for r in rows["Rows"]]
    assert seen == names
    assert data(idle, "ListMLModelServiceGroups", {"PageNumber": 4, "PageSize": 10})["Rows"] == []
    only = data(idle, "ListMLModelServiceGroups", {"Filters": [{"Name": "ServiceGroupName", "Values": ["grp-07"]}]})
    assert [r["ServiceGroupName"] for r in only["Rows"]] == ["grp-07"]
    service_id = only["Rows"][0]["Services"][0]["ServiceId"]
    by_service = data(idle, "ListMLModelServiceGroups", {"Filters": [{"Name": "ServiceId", "Values": [service_id]}]})
    assert by_service["TotalCount"] == 1
    assert data(idle, "ListMLModelServiceGroups", {"ServiceType": "LLM"})["TotalCount"] == 0
    assert error_code(idle, "ListMLModelServiceGroups", {"Filters": [{"Name": "Color", "Values": []}]}) == (
        "InvalidParameter.InvalidFilterParameter"
    )
    assert error_code(idle, "ListMLModelServiceGroups", {"PageSize": 101}) == "InvalidParameterValue"
    assert error_code(idle, "ListMLModelServiceGroups", {"PageNumber": 0}) == "InvalidParameterValue"


def test_call_test_pod_url_and_rebuild_errors(idle: Any) -> None:
    group = _group(idle, "calls")
    group_id, service_id = group["ServiceGroupId"], group["Services"][0]["ServiceId"]
    for url in ("predict", "//evil.example/x", "/a b", "/x@y"):
        assert error_code(idle, "ModelServiceInterfaceCallTest", {"ServiceId": group_id, "RelativeUrl": url}) == (
            "InvalidParameterValue"
        )
    raw = data(
        idle, "ModelServiceInterfaceCallTest", {"ServiceId": group_id, "RelativeUrl": "/invocations", "CurlData": "{}"}
    )["CurlResponseRaw"]
    assert json.loads(raw)["status"] == 503
    assert error_code(idle, "ModelServiceInterfaceCallTest", {"ServiceId": "nope", "RelativeUrl": "/x"}) == (
        "ResourceNotFound"
    )
    assert (
        error_code(
            idle,
            "ModelServiceInterfaceCallTest",
            {"ServiceId": group_id, "ServiceGroupId": "other", "RelativeUrl": "/x"},
        )
        == "InvalidParameterValue"
    )
    for action in ("CreateModelServicePodUrl", "RebuildModelServicePod"):
        assert error_code(idle, action, {"ServiceId": service_id, "PodName": "ms-nope-1-x-y"}) == "ResourceNotFound"
        assert error_code(idle, action, {"ServiceId": "nope", "PodName": "p"}) == "ResourceNotFound"


def test_logs_and_events_of_a_failing_replica(tmp_path: Path, registry: Registry) -> None:
    emu = start_emulator(tmp_path / "emu", registry.tracking_uri)
    try:
        client = sdk_client(emu)
        group = data(
            client,
            "CreateMLModelServices",
            {
                "ServiceName": "fails",
                "Services": [
                    {"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": "models:/missing-model/3"}}
                ],
            },
        )
        service_id = group["Services"][0]["ServiceId"]
        wait_status(client, service_id, {"CREATE_FAILED"})
        everything = data(client, "ListMLServiceLogs", {"ServiceId": service_id, "Order": "ASC", "Limit": 1000})
        assert everything["Context"] == "" and len(everything["Content"]) >= 2
        paged, context = [], None
        while True:
            page = data(
                client,
                "ListMLServiceLogs",
                {"ServiceId": service_id, "Order": "ASC", "Limit": 1, **({"Context": context} if context else {})},
            )
            paged += page["Content"]
            context = page["Context"]
            if not context:
                break
        assert [line["Id"] for line in paged] == [line["Id"] for line in everything["Content"]]
        newest = data(client, "ListMLServiceLogs", {"ServiceId": service_id, "Limit": 1})["Content"][0]
        assert newest["Id"] == everything["Content"][-1]["Id"]
        assert (
            data(client, "ListMLServiceLogs", {"ServiceId": service_id, "StartTime": "2099-01-01T00:00:00Z"})["Content"]
            == []
        )
        assert error_code(client, "ListMLServiceLogs", {"ServiceId": service_id, "StartTime": "yesterday"}) == (
            "InvalidParameterValue"
        )
        assert (
            error_code(client, "ListMLServiceLogs", {"Offset": 9999, "Limit": 2}) == "FailedOperation.ContextLimitError"
        )
        assert error_code(client, "ListMLServiceLogs", {"Limit": 1001}) == "InvalidParameterValue"
        assert error_code(client, "ListMLServiceLogs", {"Context": "%%%"}) == "InvalidParameterValue"
        assert error_code(client, "ListMLServiceLogs", {"ServiceId": "nope"}) == "ResourceNotFound"

        events = data(client, "ListModelServiceEvents", {"ServiceId": service_id, "Limit": 100})
        assert events["TotalCount"] == len(events["Events"]) >= 3
        warnings = data(
            client,
            "ListModelServiceEvents",
            {"ServiceId": service_id, "Filters": [{"Name": "Type", "Values": ["Warning"]}]},
        )
        assert warnings["TotalCount"] == 1 and "exited with code 1" in warnings["Events"][0]["Message"]
        pods = data(
            client,
            "ListModelServiceEvents",
            {"ServiceId": service_id, "ResourceName": "ms-*", "Filters": [{"Name": "ResourceKind", "Values": ["Pod"]}]},
        )
        assert pods["TotalCount"] >= 1
        assert error_code(client, "ListModelServiceEvents", {"Filters": [{"Name": "Color", "Values": []}]}) == (
            "InvalidParameter.InvalidFilterParameter"
        )
    finally:
        emu.stop()


def test_list_model_versions_pages_the_registry(tmp_path: Path, registry: Registry) -> None:
    from mlflow import MlflowClient

    mlflow_client = MlflowClient(registry.tracking_uri)
    name = "cat.sch.paged_model"
    mlflow_client.create_registered_model(name)
    for _ in range(5):
        mlflow_client.create_model_version(name, registry.model_path)
    mlflow_client.set_registered_model_alias(name, "champion", "2")
    mlflow_client.set_model_version_tag(name, "3", "stage", "qa")
    emu = start_emulator(tmp_path / "emu", registry.tracking_uri)
    try:
        client = sdk_client(emu)
        query = {"CatalogName": "cat", "SchemaName": "sch", "ModelName": "paged_model", "MaxResults": "2"}
        versions, token = [], None
        while True:
            page = data(client, "ListModelVersions", {**query, **({"PageToken": token} if token else {})})
            assert page["TotalCount"] == "5" and len(page["Items"]) <= 2
            versions += page["Items"]
            token = page["NextPageToken"]
            if not token:
                break
        assert [v["Version"] for v in versions] == ["5", "4", "3", "2", "1"]
        by_version = {v["Version"]: v for v in versions}
        assert by_version["2"]["Aliases"] == ["champion"]
        assert by_version["3"]["Tags"] == [{"Key": "stage", "Value": "qa"}]
        assert error_code(client, "ListModelVersions", {**query, "ModelName": "nope"}) == "ResourceNotFound"
        assert error_code(client, "ListModelVersions", {**query, "MaxResults": "many"}) == "InvalidParameterValue"
        assert error_code(client, "ListModelVersions", {**query, "MaxResults": 2}) == "InvalidParameter"
        assert error_code(client, "ListModelVersions", {**query, "PageToken": "garbage"}) == "InvalidParameterValue"
        assert (
            error_code(client, "ListModelVersions", {"CatalogName": "cat", "SchemaName": "sch"}) == "MissingParameter"
        )
    finally:
        emu.stop()


def test_billing_specs(wedata: Any, emulator: Any) -> None:
    every = data(wedata, "GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"})["SpecInfos"]
    gpu = data(wedata, "GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR", "ResourceType": "GPU"})["SpecInfos"]
    assert {s["SpecType"] for s in every} == {"CPU", "GPU"}
    assert gpu and all(s["GpuType"] for s in gpu)
    assert any(not s["Available"] and s["AvailableRegion"] for s in every)
    assert error_code(wedata, "GetBillingSpecs", {}) == "MissingParameter"
    tione = sdk_client(emulator, "tione")
    assert error_code(tione, "DescribeBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR", "ResourceType": "TPU"}) == (
        "InvalidParameterValue"
    )


def test_image_service_without_docker_fails_with_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    emu = start_emulator(tmp_path / "emu")
    try:
        client = sdk_client(emu)
        group = data(
            client,
            "CreateMLModelServices",
            {
                "ServiceName": "img",
                "ModelSource": "IMAGE",
                "Services": [
                    {
                        "InstanceType": "TI.S.MEDIUM.POST",
                        "ServicePort": 8080,
                        "ImageInfo": {"ImageType": "CUSTOM", "ImageUrl": "127.0.0.1:5000/model:1"},
                    }
                ],
            },
        )
        service = wait_status(client, group["Services"][0]["ServiceId"], {"CREATE_FAILED"})
        assert "No Docker engine is reachable" in service["WorkloadStatus"]["Reason"]
        assert "no-docker.sock" in service["WorkloadStatus"]["Reason"]
    finally:
        emu.stop()
