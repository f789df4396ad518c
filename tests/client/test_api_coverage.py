"""The rest of the published API through the client: prepaid resource groups, images, inference tables, call
addresses, authorization and named auth tokens, events. Checked in the emulator's request log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import FAST, Cloud, watch_secret

pytestmark = pytest.mark.replicas

MODEL = "models:/default.default.iris_classifier/1"
NO_WAIT = {"wait": "false"}


def _sent(cloud: Cloud, action: str) -> list[dict[str, Any]]:
    return [r["params"] for r in cloud.requests() if r["action"] == action]


def test_prepaid_deployment_in_a_resource_group(idle_cloud: Cloud) -> None:
    client = get_deploy_client("tcdeploy")
    created = client.create_deployment(
        "prepaid",
        MODEL,
        config={
            **NO_WAIT,
            "charge_type": "PREPAID",
            "resource_group_id": "trsg-emu00001",
            "resources": '{"cpu": 4000, "memory": 8192}',
        },
    )
    (service,) = _sent(idle_cloud, "CreateMLModelServices")[-1]["Services"]
    assert (service["ChargeType"], service["ResourceGroupId"], service["TioneResourceInfo"]) == (
        "PREPAID",
        "trsg-emu00001",
        {"Cpu": 4000, "Memory": 8192},
    )
    assert "InstanceType" not in service and "GetBillingSpecs" not in idle_cloud.actions()
    updated = client.update_deployment(created["name"], config={**NO_WAIT, "resources": {"Cpu": 2000, "memory": 4096}})
    assert _sent(idle_cloud, "UpdateMLModelService")[-1]["Resources"] == {"Cpu": 2000, "Memory": 4096}
    assert client.get_deployment(updated["name"])["resources"] == {"cpu": 2000, "memory": 4096}

    postpaid = client.create_deployment("postpaid", MODEL, config=NO_WAIT)
    idle_cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        client.update_deployment(postpaid["name"], config={"charge_type": "PREPAID"})
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and "give resource_group_id" in exc.value.message
    assert "UpdateMLModelService" not in idle_cloud.actions()


def test_inference_table_and_catalog_members(idle_cloud: Cloud) -> None:
    client = get_deploy_client("tcdeploy")
    created = client.create_deployment(
        "tables", MODEL, config={**NO_WAIT, "catalog_name": "lake", "schema_name": "sales"}
    )
    assert (_sent(idle_cloud, "CreateMLModelServices")[-1]["Services"][0]["CatalogName"]) == "lake"
    client.update_deployment(
        created["name"],
        config={
            **NO_WAIT,
            "inference_table_push_enable": "true",
            "inference_table_cos_bucket": "infer-1250000000",
            "cos_region": "ap-guangzhou",
            "catalog_path": "DataLakeCatalog",
            "schema_path": "payloads",
        },
    )
    sent = _sent(idle_cloud, "UpdateMLModelService")[-1]
    assert (sent["InferenceTableCosBucket"], sent["CosRegion"], sent["InferenceTablePushEnable"]) == (
        "infer-1250000000",
        "ap-guangzhou",
        True,
    )
    detail = client.get_deployment(created["name"])
    assert (detail["inference_table_cos_bucket"], detail["catalog_name"], detail["schema_name"]) == (
        "infer-1250000000",
        "lake",
        "sales",
    )


def test_an_image_deployment_sends_image_info(idle_cloud: Cloud) -> None:
    password = watch_secret("registry-password-for-image-info-test")
    client = get_deploy_client("tcdeploy")
    created = client.create_deployment(
        "from-image",
        MODEL,
        config={
            **NO_WAIT,
            "image_info": {
                "image_type": "ccr",
                "image_url": "ccr.ccs.tencentyun.com/ns/iris:1",
                "image_secret": {"username": "robot", "password": password},
            },
        },
    )
    request = _sent(idle_cloud, "CreateMLModelServices")[-1]
    service = request["Services"][0]
    assert request["ModelSource"] == "IMAGE" and service["ServicePort"] == 8080
    assert service["ImageInfo"]["ImageType"] == "CCR" and service["ImageInfo"]["ImageSecret"] == "******"
    detail = client.get_deployment(created["name"])
    assert detail["image_info"]["image_url"] == "ccr.ccs.tencentyun.com/ns/iris:1"
    assert password not in json.dumps(detail) + json.dumps(idle_cloud.requests())


def test_endpoint_call_info_authorization_and_tokens(cloud: Cloud, deployed: dict[str, Any]) -> None:
    client = get_deploy_client("tcdeploy")
    group = deployed["service_group_id"]
    features, expected = cloud.registry.features, cloud.registry.expected
    endpoint = client.get_endpoint(group)
    call = endpoint["call_info"]["service_call_info"]
    assert call["internet_endpoint"].endswith("/" + call["service_group_id"]) and endpoint["auth_tokens"] == []

    secured = client.update_endpoint(group, config={"authorization_enable": "true", "create_auth_token": "ci-bot"})
    assert secured["authorization_enable"] is True
    assert [t["base"]["name"] for t in secured["auth_tokens"]] == ["default", "ci-bot"]
    revealed = client.get_endpoint(group, reveal_tokens=True)
    values = {t["base"]["name"]: watch_secret(t["base"]["value"]) for t in revealed["auth_tokens"]}
    assert all(len(v) == 15 for v in values.values())
    assert revealed["call_info"]["service_call_info"]["auth_token"] == values["default"]
    for shown in (secured, client.get_endpoint(group), client.list_endpoints()):
        text = json.dumps(shown)
        assert not any(v in text for v in values.values())
    assert {t["base"]["value"] for t in secured["auth_tokens"]} == {"****" + v[-4:] for v in values.values()}

    with pytest.raises(MlflowException) as exc:
        client.predict(group, features)
    assert exc.value.error_code == "PERMISSION_DENIED"
    assert client.predict(group, features, config={"auth_token": values["ci-bot"]})["predictions"] == expected

    changed = client.update_endpoint(
        group,
        config={
            "update_auth_token": {
                "name": "ci-bot",
                "description": "rotated",
                "limits": [{"strategy": "PerMinute", "max": 60}],
            },
            "reveal_tokens": True,
        },
    )
    ci_bot = next(t for t in changed["auth_tokens"] if t["base"]["name"] == "ci-bot")
    assert (ci_bot["base"]["description"], ci_bot["base"]["value"]) == ("rotated", values["ci-bot"])
    assert ci_bot["limits"] == [{"strategy": "PerMinute", "max": 60}]
    sent = _sent(cloud, "UpdateModelServiceAuthToken")[-1]
    assert sent["AuthToken"] == "******"  # the emulator's request log keeps no token value

    cloud.emulator.clear_request_log()
    for config, code in (
        ({"create_auth_token": "ci-bot"}, "RESOURCE_ALREADY_EXISTS"),
        ({"delete_auth_token": "nobody"}, "RESOURCE_DOES_NOT_EXIST"),
        ({"update_auth_token": {"name": "nobody"}}, "RESOURCE_DOES_NOT_EXIST"),
    ):
        with pytest.raises(MlflowException) as exc:
            client.update_endpoint(group, config=config)
        assert exc.value.error_code == code and ("ci-bot" in exc.value.message)
    writes = {"CreateModelServiceAuthToken", "UpdateModelServiceAuthToken", "DeleteModelServiceAuthToken"}
    assert writes.isdisjoint(cloud.actions())

    remaining = client.update_endpoint(group, config={"delete_auth_token": "ci-bot", "authorization_enable": False})
    assert [t["base"]["name"] for t in remaining["auth_tokens"]] == ["default"]
    assert remaining["authorization_enable"] is False
    assert client.predict(group, features)["predictions"] == expected


def test_events_on_request_and_on_failure(cloud: Cloud, deployed: dict[str, Any]) -> None:
    client = TcDeploymentClient()
    events = client.get_deployment(deployed["name"], include_events=True)["events"]
    assert events and {"type", "message", "resource_kind", "last_timestamp"} <= set(events[0])
    assert "events" not in client.get_deployment(deployed["name"])
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("fails-with-events", "models:/m-11111111111111111111111111111111", config=FAST)
    message = exc.value.message
    assert "Latest warning events:" in message and "before it became ready" in message.split("events:")[1]
    assert "Last log lines:" in message
    client.delete_endpoint("fails-with-events")
