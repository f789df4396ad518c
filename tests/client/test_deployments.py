"""Every client method against the emulator, over real HTTP with real signatures."""

from __future__ import annotations

import urllib.request
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.deployments import PredictionsResponse, get_deploy_client
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.backends import make_backend
from mlflow_tcdeploy_plugin.cloud.retry import RetryPolicy
from tests.helpers import FAST, Cloud, sdk_client, wait_status

pytestmark = pytest.mark.replicas


def _error(exc: pytest.ExceptionInfo[MlflowException]) -> tuple[str, str]:
    return str(exc.value.error_code), exc.value.message


def test_create_returns_a_running_deployment(cloud: Cloud, deployed: dict[str, Any]) -> None:
    assert deployed["flavor"] == "python_function" and deployed["status"] == "RUNNING"
    assert deployed["name"].startswith(deployed["service_group_id"])
    assert deployed["service_group_name"] == "iris-main"
    assert deployed["model_path"] == cloud.registry.model_path and deployed["model_version"] == "1"
    create = next(r for r in cloud.requests() if r["action"] == "CreateMLModelServices")
    service = create["params"]["Services"][0]
    assert (service["CatalogName"], service["SchemaName"], service["InstanceType"]) == (
        "default",
        "default",
        "TI.S.MEDIUM.POST",
    )
    assert service["MlModelInfo"]["Id"] == cloud.registry.model_path.removeprefix("models:/")


def test_get_and_list(client: TcDeploymentClient, deployed: dict[str, Any]) -> None:
    by_id = client.get_deployment(deployed["name"])
    by_name = client.get_deployment("iris-main")
    assert by_id["name"] == by_name["name"] == deployed["name"]
    assert by_id["pod_infos"][0]["container_infos"][0]["ready"] is True
    listed = {d["name"]: d for d in client.list_deployments()}
    assert listed[deployed["name"]]["status"] == "RUNNING"
    assert [d["name"] for d in client.list_deployments(endpoint="iris-main")] == [deployed["name"]]
    with pytest.raises(MlflowException) as exc:
        client.get_deployment("no-such-deployment")
    assert _error(exc)[0] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    "inputs",
    [
        pd.DataFrame([[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]),
        [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]],
        np.array([[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]),
        {"inputs": [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]},
        {"dataframe_split": {"columns": [0, 1], "data": [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]}},
        {"instances": [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]},
    ],
)
def test_predict_inputs(client: TcDeploymentClient, deployed: dict[str, Any], cloud: Cloud, inputs: Any) -> None:
    answer = client.predict(deployed["name"], inputs)
    assert isinstance(answer, PredictionsResponse)
    assert answer["predictions"] == cloud.registry.expected


def test_predict_targets_and_urls(client: TcDeploymentClient, deployed: dict[str, Any], cloud: Cloud) -> None:
    features = cloud.registry.features
    for target in (deployed["service_group_id"], "iris-main", deployed["name"]):
        assert client.predict(target, features)["predictions"] == cloud.registry.expected
    assert client.predict(None, features, endpoint="iris-main")["predictions"] == cloud.registry.expected
    assert client.predict("iris-main", features, endpoint="/predict")["predictions"] == cloud.registry.expected
    call = [r for r in cloud.requests() if r["action"] == "ModelServiceInterfaceCallTest"][-1]
    assert call["params"]["RelativeUrl"] == "/predict"
    assert call["params"]["ServiceId"] == call["params"]["ServiceGroupId"] == deployed["service_group_id"]
    assert client.predict("iris-main", features, config={"relative_url": "/invocations"})["predictions"]


def test_predict_upstream_errors_raise_with_status_and_body(
    client: TcDeploymentClient, deployed: dict[str, Any]
) -> None:
    with pytest.raises(MlflowException) as exc:
        client.predict(deployed["name"], {"inputs": "not a matrix"})
    code, message = _error(exc)
    assert code == "INVALID_PARAMETER_VALUE" and "HTTP 400" in message and "error_code" in message
    with pytest.raises(MlflowException) as exc:
        client.predict(deployed["name"], [[1, 2]], config={"relative_url": "/nowhere"})
    assert _error(exc)[0] == "RESOURCE_DOES_NOT_EXIST" and "HTTP 404" in exc.value.message


def test_pods_logs_and_shell(client: TcDeploymentClient, deployed: dict[str, Any]) -> None:
    pod = client.get_deployment(deployed["name"])["pod_infos"][0]["name"]
    shell = client.debug_pod_shell(deployed["name"], pod)
    with urllib.request.urlopen(shell["url"], timeout=10) as resp:
        assert pod in resp.read().decode()
    first = client.get_pod_logs(deployed["name"], pod, limit=2, order="ASC")
    assert len(first["logs"]) == 2 and first["context"]
    second = client.get_pod_logs(deployed["name"], pod, limit=2, order="ASC", context=first["context"])
    assert {e["id"] for e in first["logs"]}.isdisjoint(e["id"] for e in second["logs"])
    every = list(client.iter_pod_logs(deployed["name"], pod[:-5] + "*"))
    assert len(every) >= 4 and all(e["pod_name"] == pod for e in every)
    assert [e["id"] for e in every[:4]] == [e["id"] for e in first["logs"] + second["logs"]]
    assert any("model loaded" in e["message"] for e in every)
    for bad in ("Bad Pod", "x/../y", "*"):
        with pytest.raises(MlflowException) as exc:
            client.restart_pod(deployed["name"], bad)
        assert _error(exc)[0] == "INVALID_PARAMETER_VALUE"


def test_instance_types(client: TcDeploymentClient) -> None:
    gpu = client.list_instance_types("gpu")
    assert gpu and {s["spec_type"] for s in gpu} == {"GPU"} and "gpu_type" in gpu[0]
    assert len(client.list_instance_types()) > len(gpu)
    with pytest.raises(MlflowException):
        client.list_instance_types("TPU")


def test_version_lifecycle_in_one_endpoint(client: TcDeploymentClient, cloud: Cloud) -> None:
    first = client.create_deployment("lifecycle", f"models:/{cloud.registry.model_name}/latest", config=FAST)
    second = client.create_deployment(
        "ignored",
        f"models:/{cloud.registry.model_name}/1",
        config={**FAST, "replicas": "1", "env": '{"A": "1", "B": "2"}'},
        endpoint="lifecycle",
    )
    assert second["service_group_id"] == first["service_group_id"] and second["version"] == 2
    assert client.get_deployment(second["name"])["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    with pytest.raises(MlflowException) as exc:
        client.get_deployment("lifecycle")
    code, message = _error(exc)
    assert code == "INVALID_PARAMETER_VALUE" and first["name"] in message and second["name"] in message
    names = [d["name"] for d in client.list_deployments(endpoint="lifecycle")]
    assert names == [first["name"], second["name"]]

    stopped = client.update_deployment(second["name"], config={**FAST, "service_action": "STOP"})
    assert (stopped["status"], stopped["replicas"]) == ("Stopped", 0)
    resumed = client.update_deployment(second["name"], config={**FAST, "service_action": "resume"})
    assert resumed["status"] == "RUNNING"
    scaled = client.update_deployment(second["name"], config={**FAST, "service_action": "SCALE", "replicas": "2"})
    assert (scaled["status"], scaled["replicas"]) == ("RUNNING", 2)
    # A new model through the user's own MLflow registry (models:/name/version form is also catalog-free here).
    switched = client.update_deployment(first["name"], model_uri=f"models:/{cloud.registry.model_name}/1", config=FAST)
    assert switched["model_uri"].endswith("/1") and switched["status"] == "RUNNING"
    update = [r for r in cloud.requests() if r["action"] == "UpdateMLModelService"][-1]
    assert set(update["params"]) == {"WorkspaceId", "ServiceId", "MlModelInfo", "CatalogName", "SchemaName"}

    client.delete_deployment(second["name"])
    client.delete_deployment(second["name"])  # idempotent
    assert [d["name"] for d in client.list_deployments(endpoint="lifecycle")] == [first["name"]]
    client.delete_endpoint("lifecycle")
    client.delete_endpoint("lifecycle")
    assert "lifecycle" not in [e["service_group_name"] for e in client.list_endpoints()]


def test_model_from_the_users_registry(client: TcDeploymentClient, cloud: Cloud) -> None:
    from mlflow import MlflowClient

    name = "plain_registry_model"
    mlflow_client = MlflowClient()
    mlflow_client.create_registered_model(name)
    mlflow_client.create_model_version(name, cloud.registry.model_path)
    mlflow_client.set_registered_model_alias(name, "prod", "1")
    created = client.create_deployment("from-registry", f"models:/{name}@prod", config={**FAST, "wait": "false"})
    assert created["status"] in ("NEW", "CREATING")
    create = [r for r in cloud.requests() if r["action"] == "CreateMLModelServices"][-1]
    assert create["params"]["Services"][0]["MlModelInfo"] == {
        "Id": cloud.registry.model_path.removeprefix("models:/"),
        "Name": name,
        "Version": "1",
        "ModelPath": cloud.registry.model_path,
    }
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("x", f"models:/{name}/7")
    assert _error(exc)[0] == "RESOURCE_DOES_NOT_EXIST" and "Versions of" in exc.value.message
    client.delete_endpoint("from-registry")


def test_catalog_lookups_name_what_exists(client: TcDeploymentClient, cloud: Cloud) -> None:
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("x", f"models:/{cloud.registry.model_name}/9")
    code, message = _error(exc)
    assert code == "RESOURCE_DOES_NOT_EXIST" and "has no version 9; its versions: 1" in message
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("x", f"models:/{cloud.registry.model_name}@nope")
    assert "has no alias 'nope'" in exc.value.message
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("x", "models:/default.default.missing_model/1")
    assert _error(exc)[0] == "RESOURCE_DOES_NOT_EXIST" and "default.default.missing_model" in exc.value.message


def test_waiting_for_a_failing_model_shows_reason_and_logs(client: TcDeploymentClient) -> None:
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("broken", "models:/m-00000000000000000000000000000000", config=FAST)
    code, message = _error(exc)
    assert code == "INVALID_STATE" and "CREATE_FAILED" in message
    assert "Last log lines:" in message and "cannot load model" in message
    client.delete_endpoint("broken")


def test_waiting_times_out(idle_cloud: Cloud) -> None:
    client = get_deploy_client("tcdeploy")
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("slow", f"models:/{idle_cloud.registry.model_name}/1", config={**FAST, "timeout": "1"})
    code, message = _error(exc)
    assert code == "DEADLINE_EXCEEDED" and "within 1s" in message and "NEW" in message


def test_endpoints(client: TcDeploymentClient, deployed: dict[str, Any]) -> None:
    listed = {e["service_group_name"]: e for e in client.list_endpoints()}
    assert listed["iris-main"]["deployments"] == [deployed["name"]]
    updated = client.update_endpoint("iris-main", config={"description": "the main one"})
    assert updated["description"] == "the main one"
    assert client.get_endpoint(deployed["service_group_id"])["description"] == "the main one"
    with pytest.raises(MlflowException) as exc:
        client.update_endpoint("iris-main", config={"descripton": "typo"})
    assert _error(exc)[0] == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as exc:
        client.create_endpoint("new-one")
    assert "with its first deployment" in exc.value.message


def test_cloud_errors_are_mapped(client: TcDeploymentClient, deployed: dict[str, Any], cloud: Cloud) -> None:
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("iris-main", f"models:/{cloud.registry.model_name}/1", config=FAST)
    code, message = _error(exc)
    assert code == "RESOURCE_ALREADY_EXISTS" and "--endpoint iris-main" in message and "RequestId" in message
    wrong = TcDeploymentClient(secret_key="wrong-key")
    with pytest.raises(MlflowException) as exc:
        wrong.list_deployments()
    code, message = _error(exc)
    assert code == "UNAUTHENTICATED" and "AuthFailure.SignatureFailure" in message and "RequestId" in message
    with pytest.raises(MlflowException) as exc:
        client.create_deployment(
            "x", f"models:/{cloud.registry.model_name}/1", config={"instance_type": "TI.GN10X.2XLARGE40.POST"}
        )
    assert _error(exc)[0] == "RESOURCE_EXHAUSTED" and "ap-shanghai" in exc.value.message
    with pytest.raises(MlflowException) as exc:
        client.create_deployment(
            "x", f"models:/{cloud.registry.model_name}/1", config={"instance_type": "TI.S.MEDIUM.PST"}
        )
    assert "Did you mean 'TI.S.MEDIUM.POST'" in exc.value.message


def test_retries_on_throttling_and_network_errors(cloud: Cloud) -> None:
    slept: list[float] = []
    client = TcDeploymentClient()
    policy = RetryPolicy(mode="standard")  # the backoff alone (adaptive pacing is tests/client/test_retries.py's)
    client._backend = make_backend(client.settings, sleep=slept.append, rand=lambda: 1.0, policy=policy)
    cloud.emulator.clear_request_log()
    cloud.emulator.set_faults(
        {
            "actions": {
                "GetBillingSpecs": {"throttle_rate": 1.0, "times": 2},
                "ListMLModelServiceGroups": {"drop_rate": 1.0, "times": 1},
            }
        }
    )
    assert client.list_instance_types()
    assert client.list_endpoints() is not None
    assert slept == [0.1, 0.2, 0.1]
    cloud.emulator.set_faults({"throttle_rate": 1.0})
    with pytest.raises(MlflowException) as exc:
        client.list_instance_types()
    assert _error(exc)[0] == "REQUEST_LIMIT_EXCEEDED" and len(slept) == 3 + 14
    assert slept[3:] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8] + [20.0] * 6)  # capped at max_delay
    assert "gave up after 15 attempts" in exc.value.message and "retry budget 15 attempts, 120s" in exc.value.message
    cloud.emulator.set_faults({})


def test_a_lost_create_answer_is_not_sent_twice(cloud: Cloud) -> None:
    client = TcDeploymentClient()
    client._backend = make_backend(client.settings, sleep=lambda s: None)
    cloud.emulator.set_faults({"actions": {"CreateMLModelServices": {"lose_rate": 1.0, "times": 1}}})
    cloud.emulator.clear_request_log()
    created = client.create_deployment(
        "lost-answer", f"models:/{cloud.registry.model_name}/1", config={"wait": "false"}
    )
    assert created["service_group_name"] == "lost-answer"
    assert cloud.actions().count("CreateMLModelServices") == 1
    cloud.emulator.set_faults({"actions": {"CreateMLModelServices": {"drop_rate": 1.0, "times": 1}}})
    cloud.emulator.clear_request_log()
    again = client.create_deployment("dropped", f"models:/{cloud.registry.model_name}/1", config={"wait": "false"})
    assert again["service_group_name"] == "dropped"
    assert [r["code"] for r in cloud.requests() if r["action"] == "CreateMLModelServices"] == [
        "(dropped connection)",
        "Success",
    ]
    for name in ("lost-answer", "dropped"):
        client.delete_endpoint(name)


def test_restart_pod_is_not_retried_after_a_network_error(
    client: TcDeploymentClient, deployed: dict[str, Any], cloud: Cloud
) -> None:
    pod = client.get_deployment(deployed["name"])["pod_infos"][0]["name"]
    cloud.emulator.set_faults({"actions": {"RebuildModelServicePod": {"drop_rate": 1.0, "times": 1}}})
    with pytest.raises(MlflowException) as exc:
        client.restart_pod(deployed["name"], pod)
    assert _error(exc)[0] == "TEMPORARILY_UNAVAILABLE"
    assert cloud.actions().count("RebuildModelServicePod") == 1
    result = client.restart_pod(deployed["name"], pod)
    assert result["ti_one_rebuild_service_request_id"]
    raw = wait_status(sdk_client(cloud.emulator), deployed["name"], {"RUNNING"})
    assert raw["PodInfos"][0]["ContainerInfos"][0]["RestartCount"] == 1


def test_every_pagination_style_is_followed(idle_cloud: Cloud) -> None:
    from mlflow import MlflowClient

    client = TcDeploymentClient()
    names = [f"paged-{i}" for i in range(5)]
    for name in names:
        client.create_deployment(name, f"models:/{idle_cloud.registry.model_name}/1", config={"wait": "false"})
    backend = client.backend
    idle_cloud.emulator.clear_request_log()
    assert [e.name for e in backend.iter_endpoints(page_size=2)] == list(reversed(names))
    pages = [r["params"]["PageNumber"] for r in idle_cloud.requests() if r["action"] == "ListMLModelServiceGroups"]
    assert pages == [1, 2, 3]
    assert sorted(e["service_group_name"] for e in client.list_endpoints()) == names

    registry_client = MlflowClient()
    registry_client.create_registered_model("default.default.many_versions")
    for _ in range(3):
        registry_client.create_model_version("default.default.many_versions", idle_cloud.registry.model_path)
    idle_cloud.emulator.clear_request_log()
    versions = [v.version for v in backend.iter_model_versions("default", "default", "many_versions", page_size=1)]
    assert versions == ["3", "2", "1"]
    assert [r["action"] for r in idle_cloud.requests()] == ["ListModelVersions"] * 3
