"""The calls the 1.0.3 README documents, written as it shows them (its keyword names, its result keys), against the
emulator. Someone upgrading from 1.0.3 keeps these lines working; where our values differ they are the test's own
(instance types the emulator sells, a model it serves)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException

from tests.helpers import Cloud

pytestmark = pytest.mark.replicas

MODEL = "default.default.compat_model"


@pytest.fixture(scope="module")
def client(cloud: Cloud) -> Any:
    """Made as the 1.0.3 README makes it: from the environment variables its configuration table lists."""
    registry = MlflowClient()
    registry.create_registered_model(MODEL)
    for _ in range(2):
        registry.create_model_version(MODEL, cloud.registry.model_path)
    return get_deploy_client("tcdeploy")


@pytest.fixture(scope="module")
def full(client: Any) -> dict[str, Any]:
    """create_deployment with every config key the 1.0.3 README lists, nested objects in snake_case."""
    return client.create_deployment(
        name="compat-full",
        model_uri=f"models:/{MODEL}/1",
        config={
            "instance_type": "TI.S.MEDIUM.POST",
            "replicas": 1,
            "charge_type": "POSTPAID_BY_HOUR",
            "scale_mode": "MANUAL",
            "log_enable": False,
            "authorization_enable": True,
            "service_description": "from the 1.0.3 README",
            "log_config": {"logset_id": "ls-compat", "topic_id": "tp-compat"},
            "scheduled_action": {"schedule_stop": False, "schedule_stop_time": "2026-12-31T20:00:00+08:00"},
            "service_limit": {
                "enable_instance_rps_limit": True,
                "instance_rps_limit": 50,
                "enable_instance_req_limit": False,
                "instance_req_limit": 0,
            },
        },
    )


def _last(cloud: Cloud, action: str) -> dict[str, Any]:
    return [r for r in cloud.requests() if r["action"] == action][-1]["params"]


def test_quick_start(client: Any, cloud: Cloud) -> None:
    specs = client.list_instance_types(spec_type="CPU")
    available = [s for s in specs if s["available"]]
    result = client.create_deployment(
        name="compat-quick",
        model_uri=f"models:/{MODEL}/1",
        config={"instance_type": available[0]["spec_name"], "replicas": 1},
    )
    service_id = result["service_id"]
    assert service_id == result["name"] and service_id.startswith(result["service_group_id"])

    info = client.get_deployment(name=service_id)
    assert info["status"] == "RUNNING"

    response = client.predict(deployment_name=result["service_group_id"], inputs={"inputs": cloud.registry.features})
    assert response["predictions"] == cloud.registry.expected

    client.update_deployment(name=service_id, config={"replicas": 2})
    assert client.get_deployment(name=service_id)["replicas"] == 2

    client.delete_deployment(name=service_id)
    client.delete_deployment(name=service_id)  # idempotent
    assert service_id not in [d["name"] for d in client.list_deployments()]
    client.delete_endpoint(result["service_group_id"])


def test_create_with_every_documented_key(full: dict[str, Any], cloud: Cloud) -> None:
    assert full["service_id"] == full["name"] and full["service_group_id"] and full["status"] == "RUNNING"
    create = _last(cloud, "CreateMLModelServices")
    assert create["LogConfig"] == {"LogsetId": "ls-compat", "TopicId": "tp-compat"}
    assert create["AuthorizationEnable"] is True and create["ServiceDescription"] == "from the 1.0.3 README"
    service = create["Services"][0]
    assert service["ServiceLimit"] == {
        "EnableInstanceRpsLimit": True,
        "InstanceRpsLimit": 50,
        "EnableInstanceReqLimit": False,
        "InstanceReqLimit": 0,
    }
    assert service["ScheduledAction"] == {"ScheduleStop": False, "ScheduleStopTime": "2026-12-31T20:00:00+08:00"}
    assert (service["ChargeType"], service["ScaleMode"], service["Replicas"]) == ("POSTPAID_BY_HOUR", "MANUAL", 1)


def test_create_into_a_group_by_id(client: Any, full: dict[str, Any]) -> None:
    second = client.create_deployment(
        name="ignored-for-a-new-version",
        model_uri=f"models:/{MODEL}/2",
        config={"instance_type": "TI.S.MEDIUM.POST", "wait": False},
        endpoint=full["service_group_id"],
    )
    assert second["service_group_id"] == full["service_group_id"] and second["service_id"] != full["service_id"]
    client.delete_deployment(name=second["service_id"])


def test_get_and_list(client: Any, full: dict[str, Any]) -> None:
    info = client.get_deployment(name=full["service_id"])
    assert info["status"] == "RUNNING" and info["service_name"] == "compat-full"

    groups = client.list_deployments()
    assert all("name" in g and "service_group_name" in g for g in groups)
    mine = client.list_deployments(endpoint=full["service_group_id"])
    assert [(g["name"], g["service_group_name"]) for g in mine] == [(full["service_id"], "compat-full")]


def test_update_with_model_and_documented_keys(client: Any, full: dict[str, Any], cloud: Cloud) -> None:
    updated = client.update_deployment(
        name=full["service_id"],
        model_uri=f"models:/{MODEL}/2",
        config={"replicas": 2, "instance_type": "TI.S.LARGE.POST", "service_port": 8080, "status": "RUNNING"},
    )
    assert updated["status"] == "RUNNING" and updated["replicas"] == 2
    sent = _last(cloud, "UpdateMLModelService")
    assert (sent["Status"], sent["ServicePort"], sent["InstanceType"], sent["Replicas"]) == (
        "RUNNING",
        8080,
        "TI.S.LARGE.POST",
        2,
    )
    assert sent["MlModelInfo"]["Version"] == "2"


def test_service_actions(client: Any, full: dict[str, Any], cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    stopped = client.update_deployment(name=full["service_id"], config={"service_action": "STOP"})
    assert stopped["status"] == "Stopped"
    resumed = client.update_deployment(name=full["service_id"], config={"service_action": "RESUME"})
    assert resumed["status"] == "RUNNING"
    current = client.get_deployment(name=full["service_id"])["replicas"]
    with caplog.at_level(logging.INFO, logger="mlflow_tcdeploy_plugin"):
        scaled = client.update_deployment(name=full["service_id"], config={"service_action": "SCALE"})
    assert scaled["status"] == "RUNNING" and scaled["replicas"] == current
    assert _last(cloud, "UpdateMLModelService") == {
        "WorkspaceId": cloud.env["WEDATA_WORKSPACE_ID"],
        "ServiceId": full["service_id"],
        "ServiceAction": "SCALE",
        "Replicas": current,
    }
    assert f"without replicas: sending the current count, {current}" in caplog.text


def test_predict_with_relative_url_and_auth_token(client: Any, full: dict[str, Any], cloud: Cloud) -> None:
    token = client.get_endpoint(full["service_group_id"], reveal_tokens=True)["auth_tokens"][0]["base"]["value"]
    inputs = {"inputs": cloud.registry.features}
    result = client.predict(
        deployment_name=full["service_group_id"], inputs=inputs, endpoint="/predict", config={"auth_token": token}
    )
    assert result["predictions"] == cloud.registry.expected
    # The README's example path reaches the service as given; MLflow's scoring server has no /v1/predict.
    with pytest.raises(MlflowException) as exc:
        client.predict(
            deployment_name=full["service_group_id"],
            inputs=inputs,
            endpoint="/v1/predict",
            config={"auth_token": token},
        )
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST" and "HTTP 404" in exc.value.message
    sent = _last(cloud, "ModelServiceInterfaceCallTest")
    assert sent["RelativeUrl"] == "/v1/predict" and sent["AuthTokenValue"] == "******"
    with pytest.raises(MlflowException) as exc:
        client.predict(deployment_name=full["service_group_id"], inputs=inputs)
    assert exc.value.error_code == "PERMISSION_DENIED" and "HTTP 401" in exc.value.message


def test_instance_types(client: Any) -> None:
    all_specs = client.list_instance_types()
    gpu_specs = client.list_instance_types(spec_type="GPU")
    assert gpu_specs and len(all_specs) > len(gpu_specs)
    for spec in all_specs:
        assert {"spec_name", "spec_alias", "spec_type", "available", "available_region", "gpu_type"} <= set(spec)
    assert {s["spec_type"] for s in gpu_specs} == {"GPU"}


def test_pod_shell_restart_and_logs(client: Any, full: dict[str, Any]) -> None:
    service_id = full["service_id"]
    pod = client.get_deployment(name=service_id)["pod_infos"][0]["name"]

    shell_info = client.debug_pod_shell(service_id=service_id, pod_name=pod)
    assert shell_info["url"].startswith("http") and shell_info["request_id"]

    now = datetime.now(timezone(timedelta(hours=8)))
    result = client.get_pod_logs(
        service_id=service_id,
        pod_name=pod[:-5] + "*",
        limit=2,
        start_time=(now - timedelta(hours=1)).isoformat(timespec="seconds"),
        end_time=(now + timedelta(hours=1)).isoformat(timespec="seconds"),
        context=None,
    )
    assert len(result["logs"]) == 2 and result["context"]
    for log in result["logs"]:
        assert log["timestamp"] and log["pod_name"].startswith(pod[:-5]) and isinstance(log["message"], str)
    next_page = client.get_pod_logs(service_id=service_id, pod_name=pod[:-5] + "*", context=result["context"])
    assert next_page["logs"] and {e["id"] for e in next_page["logs"]}.isdisjoint(e["id"] for e in result["logs"])

    restarted = client.restart_pod(service_id=service_id, pod_name=pod)
    assert restarted["request_id"] and restarted["ti_one_rebuild_service_request_id"]


def test_delete_is_idempotent(client: Any, full: dict[str, Any]) -> None:
    client.delete_deployment(name=full["service_id"])
    client.delete_deployment(name=full["service_id"])
    client.delete_endpoint(full["service_group_id"])
    assert "compat-full" not in [e["service_group_name"] for e in client.list_endpoints()]
