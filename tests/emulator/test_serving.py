"""The whole life of a real model service on the emulator, driven with the official SDK's CommonClient."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.helpers import Registry, data, sdk_client, start_emulator, wait_for, wait_status

pytestmark = pytest.mark.replicas


def _call(client: Any, target: str, url: str, payload: Any, **extra: Any) -> dict[str, Any]:
    raw = data(
        client,
        "ModelServiceInterfaceCallTest",
        {"ServiceId": target, "RelativeUrl": url, "CurlData": json.dumps(payload), **extra},
    )["CurlResponseRaw"]
    return json.loads(raw)


def _predictions(client: Any, target: str, registry: Registry, url: str = "/invocations") -> list[int]:
    answer = _call(client, target, url, {"inputs": registry.features})
    assert answer["status"] == 200, answer
    return json.loads(answer["body"])["predictions"]


def _logs(client: Any, **params: Any) -> list[dict[str, Any]]:
    return data(client, "ListMLServiceLogs", {"Service": "INFER", "Limit": 1000, **params})["Content"]


def test_model_service_lifecycle_survives_restart(tmp_path: Path, registry: Registry) -> None:
    data_dir = tmp_path / "emulator"
    emu = start_emulator(data_dir, registry.tracking_uri)
    try:
        client = sdk_client(emu)
        catalog, schema, model = registry.model_name.split(".")
        versions = data(
            client,
            "ListModelVersions",
            {"CatalogName": catalog, "SchemaName": schema, "ModelName": model, "MaxResults": "10"},
        )
        item = versions["Items"][0]
        props = {p["Key"]: p["Value"] for p in item["Properties"]}
        assert (item["Version"], versions["TotalCount"], versions["NextPageToken"]) == ("1", "1", "")
        assert props["tclake.mlflow.artifact_path"] == registry.model_path
        assert props["tclake.mlflow.model_id"] == registry.model_path.removeprefix("models:/")

        group = data(
            client,
            "CreateMLModelServices",
            {
                "ServiceName": "iris",
                "ModelSource": "MODEL",
                "ServiceAction": "START",
                "Services": [
                    {
                        "InstanceType": "TI.S.MEDIUM.POST",
                        "Replicas": 1,
                        "MlModelInfo": {
                            "Id": props["tclake.mlflow.model_id"],
                            "Name": model,
                            "Version": "1",
                            "ModelPath": props["tclake.mlflow.artifact_path"],
                        },
                        "CatalogName": catalog,
                        "SchemaName": schema,
                    }
                ],
            },
        )
        group_id, service_id = group["ServiceGroupId"], group["Services"][0]["ServiceId"]
        assert service_id == f"{group_id}-1"
        assert group["Services"][0]["Status"] in ("NEW", "CREATING")

        service = wait_status(client, service_id, {"RUNNING"})
        pod = service["PodInfos"][0]["Name"]
        assert pod.startswith(service["TiOneServiceId"] + "-")
        assert service["WorkloadStatus"]["ReadyReplicas"] == 1

        # Real predictions, through the group ID (as the API asks) and the 1.0.3 default /predict route.
        assert _predictions(client, group_id, registry) == registry.expected
        assert _predictions(client, group_id, registry, "/predict") == registry.expected
        bad = _call(client, group_id, "/invocations", {"unexpected": 1})
        assert bad["status"] == 400 and "error_code" in bad["body"]

        # Logs are the replica's own output; the trailing wildcard selects the pod.
        lines = _logs(client, ServiceId=service_id, PodName=pod[:-5] + "*")
        assert any("model loaded" in line["Message"] for line in lines)
        assert {line["PodName"] for line in lines} == {pod}

        # Rebuilding the pod restarts its process.
        data(client, "RebuildModelServicePod", {"ServiceId": service_id, "PodName": pod})
        service = wait_status(client, service_id, {"RUNNING"})
        assert service["PodInfos"][0]["ContainerInfos"][0]["RestartCount"] == 1
        loads = [line for line in _logs(client, ServiceId=service_id) if "loading model" in line["Message"]]
        assert len(loads) == 2
        assert _predictions(client, group_id, registry) == registry.expected

        # The shell URL of the pod works while it is valid.
        url = data(client, "CreateModelServicePodUrl", {"ServiceId": service_id, "PodName": pod})["Url"]
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert pod in resp.read().decode()

        # STOP takes the replicas away; RESUME brings them back; SCALE changes their number.
        data(client, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "STOP", "Replicas": 5})
        stopped = wait_status(client, service_id, {"Stopped"})
        assert (stopped["Replicas"], stopped["PodInfos"]) == (0, [])
        assert _call(client, group_id, "/invocations", {"inputs": registry.features})["status"] == 503
        data(client, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "RESUME"})
        wait_status(client, service_id, {"RUNNING"})
        data(client, "UpdateMLModelService", {"ServiceId": service_id, "ServiceAction": "SCALE", "Replicas": 2})
        scaled = wait_status(client, service_id, {"RUNNING"})
        assert len(scaled["PodInfos"]) == 2 and scaled["WorkloadStatus"]["ReadyReplicas"] == 2
        assert _predictions(client, service_id, registry) == registry.expected

        events = data(client, "ListModelServiceEvents", {"ServiceId": service_id, "Limit": 100})
        assert any(e["Message"] == "Pod rebuilt on request" for e in events["Events"])
        logged_before = len(_logs(client, ServiceId=service_id))
    finally:
        emu.stop()

    # A restart on the same data directory keeps the group, the service, its status and its logs.
    emu = start_emulator(data_dir, registry.tracking_uri)
    try:
        client = sdk_client(emu)
        group = data(client, "GetMLModelServiceGroup", {"ServiceGroupId": group_id})
        assert group["ServiceGroupName"] == "iris" and group["Services"][0]["ServiceId"] == service_id
        assert len(_logs(client, ServiceId=service_id)) >= logged_before
        service = wait_status(client, service_id, {"RUNNING"})
        assert service["Replicas"] == 2
        assert _predictions(client, group_id, registry) == registry.expected

        data(client, "DeleteMLModelService", {"ServiceId": service_id})
        with pytest.raises(TencentCloudSDKException) as err:
            data(client, "GetMLModelService", {"ServiceId": service_id})
        assert err.value.code == "ResourceNotFound"
        with pytest.raises(TencentCloudSDKException) as err:
            data(client, "DeleteMLModelService", {"ServiceId": service_id})
        assert err.value.code == "ResourceNotFound"
        data(client, "DeleteMLModelServiceGroup", {"ServiceGroupId": group_id})
        assert data(client, "ListMLModelServiceGroups", {})["TotalCount"] == 0
    finally:
        emu.stop()


def test_model_that_cannot_load_fails_with_reason_and_logs(serving_emulator: Any) -> None:
    client = sdk_client(serving_emulator)
    group = data(
        client,
        "CreateMLModelServices",
        {
            "ServiceName": "broken",
            "Services": [{"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": "models:/no-such-model/1"}}],
        },
    )
    service_id = group["Services"][0]["ServiceId"]
    service = wait_status(client, service_id, {"CREATE_FAILED"})
    reason = service["WorkloadStatus"]["Reason"]
    assert "exited with code 1" in reason and "no-such-model" in reason
    assert service["PodInfos"] == []
    lines = _logs(client, ServiceId=service_id, Key="cannot load model")
    assert len(lines) == 1


def test_two_services_in_a_group_and_auth_token(serving_emulator: Any, registry: Registry) -> None:
    client = sdk_client(serving_emulator)
    group = data(
        client,
        "CreateMLModelServices",
        {
            "ServiceName": "secured",
            "AuthorizationEnable": True,
            "Services": [{"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": registry.model_path}}],
        },
    )
    group_id = group["ServiceGroupId"]
    token = group["AuthTokens"][0]["Base"]["Value"]
    second = data(
        client,
        "CreateMLModelServices",
        {
            "ServiceGroupId": group_id,
            "NewVersion": True,
            "Services": [{"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": registry.model_path}}],
        },
    )
    assert [s["Version"] for s in second["Services"]] == [1, 2]
    for service in second["Services"]:
        wait_status(client, service["ServiceId"], {"RUNNING"})
    denied = _call(client, group_id, "/invocations", {"inputs": registry.features})
    assert denied["status"] == 401
    allowed = _call(client, group_id, "/invocations", {"inputs": registry.features}, AuthTokenValue=token)
    assert json.loads(allowed["body"])["predictions"] == registry.expected
    request = next(
        r for r in reversed(serving_emulator.request_log()) if r["action"] == "ModelServiceInterfaceCallTest"
    )
    assert token not in json.dumps(request)
    group = wait_for(
        lambda: (
            (g := data(client, "GetMLModelServiceGroup", {"ServiceGroupId": group_id}))["RunningServiceCount"] == 2
            and g
        ),
        what="both versions running",
    )
    assert (group["ServiceCount"], group["LatestVersion"], group["Status"]) == (2, "2", "RUNNING")
