"""The TI-ONE backend through the client, without a Docker engine: choosing it, what it refuses (and never sends),
and the invocation address it checks before calling. Serving is in tests/image/test_tione.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.settings import Settings
from tests.helpers import Cloud

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
IMAGE = '{"image_type": "CUSTOM", "image_url": "127.0.0.1:5000/tcdeploy-tests/absent:1"}'
MODEL = "models:/tione_model/1"


@pytest.fixture
def ti(cloud: Cloud) -> TcDeploymentClient:
    cloud.emulator.set_faults({})
    cloud.emulator.clear_request_log()
    return TcDeploymentClient(TIONE)


@pytest.fixture(scope="module")
def model(cloud: Cloud) -> str:
    from tests.helpers import register_model

    register_model(cloud.registry.tracking_uri, "tione_model")
    return MODEL


@pytest.fixture(scope="module")
def group(model: str) -> Iterator[dict[str, Any]]:
    """A TI-ONE endpoint with two versions of an image that does not exist (they fail; they need not run)."""
    client = TcDeploymentClient(TIONE)
    config = {"image_info": IMAGE, "wait": "false", "scan": "off"}
    first = client.create_deployment("ti-refusals", MODEL, config=config)
    second = client.create_deployment("ti-refusals", MODEL, config=config, endpoint="ti-refusals")
    yield {"first": first, "second": second, "id": first["service_group_id"]}
    client.delete_endpoint("ti-refusals")


def _refused(cloud: Cloud, call: Any, code: str, *mentions: str) -> MlflowException:
    """``call`` fails with ``code`` and a message naming ``mentions``, and sends nothing that changes anything."""
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        call()
    assert exc.value.error_code == code, exc.value.message
    for text in mentions:
        assert text in exc.value.message
    writes = [r["action"] for r in cloud.requests() if not r["action"].startswith(("Describe", "Get", "List"))]
    assert writes == [], writes
    return exc.value


def test_the_backend_is_chosen_by_target_constructor_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"TENCENTCLOUD_SECRET_ID": "AKIDx", "TENCENTCLOUD_SECRET_KEY": "k" * 32}
    settings = Settings.resolve("tcdeploy:/ap-shanghai?backend=tione&project_id=123", None, env)
    assert (settings.backend, settings.endpoint, settings.scope, settings.workspace_id) == (
        "tione",
        "tione.tencentcloudapi.com",
        "123",
        None,
    )
    assert Settings.resolve("tcdeploy", {"backend": "tione"}, env).project_id is None  # no workspace needed
    assert Settings.resolve("tcdeploy", None, {**env, "TCDEPLOY_BACKEND": "TIONE"}).backend == "tione"
    with_endpoint = {**env, "TENCENTCLOUD_ENDPOINT": "wedata.internal.tencentcloudapi.com"}
    assert Settings.resolve("tcdeploy:/ap-guangzhou?backend=tione", None, with_endpoint).endpoint == (
        "tione.tencentcloudapi.com"  # TENCENTCLOUD_ENDPOINT names WeData's host, as in 1.0.3
    )
    for target, mention in (
        ("tcdeploy:/ap-guangzhou?backend=tiones", "Did you mean 'tione'"),
        ("tcdeploy:/ap-guangzhou?backend=tione&endpoint=tione.evil.com", "not under .tencentcloudapi.com"),
        ("tcdeploy:/ap-guangzhou?project_id=1&workspace_id=2", "with backend=tione"),
        ("tcdeploy:/ap-guangzhou?backend=tione&project_id=a/b", "TiProjectId"),
    ):
        with pytest.raises(MlflowException) as exc:
            Settings.resolve(target, None, env)
        assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and mention in exc.value.message, exc.value.message


def test_a_project_id_is_sent_as_ti_project_id(cloud: Cloud, ti: TcDeploymentClient) -> None:
    assert TcDeploymentClient(TIONE + "&project_id=" + cloud.env["WEDATA_WORKSPACE_ID"]).list_endpoints() is not None
    assert {r["params"].get("TiProjectId") for r in cloud.requests()} == {cloud.env["WEDATA_WORKSPACE_ID"]}
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient(TIONE + "&project_id=elsewhere").list_endpoints()
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and "elsewhere" in exc.value.message


def test_deployments_and_endpoints_read_back(cloud: Cloud, ti: TcDeploymentClient, group: dict[str, Any]) -> None:
    first, second = group["first"], group["second"]
    assert (first["name"], second["name"]) == (f"{group['id']}-1", f"{group['id']}-2")
    assert [d["name"] for d in ti.list_deployments(endpoint="ti-refusals")] == [first["name"], second["name"]]
    detail = ti.get_deployment(first["name"])
    assert detail["image_info"]["image_url"].endswith("absent:1") and detail["workload_status"]["replicas"] >= 0
    assert "service_info" not in detail  # laid out as on WeData: one set of keys for both backends
    endpoint = ti.get_endpoint("ti-refusals")
    assert endpoint["traffic"] == {first["name"]: 50, second["name"]: 50}
    assert [s["instance_type"] for s in endpoint["services"]] == ["TI.S.MEDIUM.POST"] * 2  # each version laid out
    assert not any("service_info" in s for s in endpoint["services"])
    assert endpoint["call_info"]["service_call_info"]["internet_endpoint"] == f"{cloud.emulator.url}/{group['id']}"
    specs = ti.list_instance_types(spec_type="CPU")
    assert specs and {s["spec_type"] for s in specs} == {"CPU"}
    assert [r["params"] for r in cloud.requests() if r["action"] == "DescribeBillingSpecs"][-1]["TaskType"] == (
        "INFERENCE"
    )


@pytest.mark.parametrize(
    "traffic, mention",
    [
        ({"1": 90, "2": 20}, "add up to 100, not 110"),
        ({"1": 110, "2": -10}, "from 0 to 100"),
        ({"1": 90.0, "2": 10}, "whole number"),
        ({"1": 87.5, "2": 12.5}, "whole number"),
        ({"1": True, "2": 99}, "whole number"),
        ({"1": "90", "2": 10}, "whole number"),
        ({}, "JSON object"),
        ("90/10", "JSON"),
        ({"": 100}, "not a version"),
    ],
)
def test_bad_weights_are_refused_before_anything_is_sent(
    cloud: Cloud, ti: TcDeploymentClient, group: dict[str, Any], traffic: Any, mention: str
) -> None:
    exc = _refused(
        cloud, lambda: ti.update_endpoint("ti-refusals", config={"traffic": traffic}), "INVALID_PARAMETER_VALUE"
    )
    assert mention in exc.message
    assert cloud.requests() == []  # not even a read: the weights are checked first


def test_weights_must_name_versions_of_the_endpoint(
    cloud: Cloud, ti: TcDeploymentClient, group: dict[str, Any]
) -> None:
    first = group["first"]["name"]
    _refused(
        cloud,
        lambda: ti.update_endpoint("ti-refusals", config={"traffic": {"3": 100}}),
        "INVALID_PARAMETER_VALUE",
        "'3' is not a version",
        f"1 ({first})",
    )
    _refused(
        cloud,
        lambda: ti.update_endpoint("ti-refusals", config={"traffic": {"1": 50, first: 50}}),
        "INVALID_PARAMETER_VALUE",
        "name the same version",
    )
    applied = ti.update_endpoint("ti-refusals", config={"traffic": {first: 100}, "poll_interval": "0.1"})
    assert applied["traffic"] == {first: 100, group["second"]["name"]: 0}


def test_what_the_backend_cannot_do_is_refused_naming_it(
    cloud: Cloud, ti: TcDeploymentClient, group: dict[str, Any]
) -> None:
    name = group["first"]["name"]
    image = {"image_info": IMAGE, "scan": "off"}
    cases = [
        (
            lambda: ti.create_deployment("x", MODEL, config={**image, "model_source": "IMAGE"}),
            "INVALID_PARAMETER_VALUE",
            "'model_source' is not available on the tione backend",
        ),
        (
            lambda: ti.create_deployment("x", MODEL, config={**image, "catalog_name": "c"}),
            "INVALID_PARAMETER_VALUE",
            "'catalog_name' is not available on the tione backend",
        ),
        (
            lambda: ti.update_endpoint("ti-refusals", config={"description": "d"}),
            "INVALID_PARAMETER_VALUE",
            "'description' is not available on the tione backend",
        ),
        (
            lambda: ti.create_deployment("x", MODEL, config={"scan": "off"}),
            "INVALID_PARAMETER_VALUE",
            "runs as a container image",
            "image_repository=",
        ),
        (
            lambda: ti.create_deployment("x", "models:/cat.sch.iris/1", config=image),
            "NOT_IMPLEMENTED",
            "TCLake",
            "tione backend",
        ),
        (
            lambda: ti.create_deployment("x", MODEL, config={**image, "service_action": "STOP"}),
            "NOT_IMPLEMENTED",
            "create action has no ServiceAction",
        ),
        (
            lambda: ti.update_endpoint("ti-refusals", config={"authorization_enable": "true"}),
            "NOT_IMPLEMENTED",
            "tione backend",
        ),
        (lambda: ti.restart_pod(name, "ms-abcdefgh-1-0123456789-abcde"), "NOT_IMPLEMENTED", "pod restart"),
        (lambda: ti.debug_pod_shell(name, "ms-abcdefgh-1-0123456789-abcde"), "NOT_IMPLEMENTED", "web-shell"),
        (lambda: ti.get_deployment(name, include_events=True), "NOT_IMPLEMENTED", "events"),
    ]
    for call, code, *mentions in cases:
        _refused(cloud, call, code, *mentions)
        assert cloud.requests() == []  # refused on sight: not even a read
    wedata = TcDeploymentClient()
    _refused(
        cloud,
        lambda: wedata.update_endpoint("ti-refusals", config={"traffic": {"1": 100}}),
        "INVALID_PARAMETER_VALUE",
        "not available on the wedata backend",
        "no weights action",
        "backend=tione",
    )
    assert cloud.requests() == []


@pytest.mark.parametrize(
    "address",
    [
        "https://ms-abc.ti.tencentcs.com.evil.example/ms-abc",
        "https://evil.example/ms-abc",
        "http://127.0.0.2:{port}/{group}",
        "http://localhost:{port}/{group}",
        "http://127.0.0.1:{port}@evil.example/{group}",
        "http://user:pw@127.0.0.1:{port}/{group}",
        "http://127.0.0.1:{port}/{group}#frag",
        "http://127.0.0.1:{port}/{group}?redirect=http://evil",
        "http://127.0.0.1:{port}/{group}/../admin",
        "http://127.0.0.1:{port}/%2e%2e/{group}",
        "http://127.0.0.1:{port}\\@evil/{group}",
        "http://127.0.0.1:{port}/{group}\u2024x",
        "file:///etc/passwd",
        "",
    ],
)
def test_an_invocation_address_outside_the_allowlist_is_never_called(
    cloud: Cloud, ti: TcDeploymentClient, group: dict[str, Any], address: str
) -> None:
    hostile = address.format(port=cloud.emulator.port, group=group["id"])
    cloud.emulator.set_faults({"invocation_address": hostile})
    try:
        _refused(cloud, lambda: ti.predict("ti-refusals", [[1.0, 2.0]]), "INVALID_PARAMETER_VALUE", "is refused")
    finally:
        cloud.emulator.set_faults({})
    assert [r for r in cloud.requests() if r["action"] == "(invocation)"] == []
    # The emulator's own address is called (its version failed, so the gateway answers 503).
    with pytest.raises(MlflowException) as exc:
        ti.predict("ti-refusals", [[1.0, 2.0]])
    assert exc.value.error_code == "TEMPORARILY_UNAVAILABLE" and "503" in exc.value.message
    assert [r["code"] for r in cloud.requests() if r["action"] == "(invocation)"] == ["503"]


def test_a_failed_create_says_why(ti: TcDeploymentClient, model: str) -> None:
    config = {"image_info": IMAGE, "scan": "off", "poll_interval": "0.1", "timeout": "120"}
    with pytest.raises(MlflowException) as exc:
        ti.create_deployment("ti-fails", model, config=config)
    message = exc.value.message
    assert exc.value.error_code == "INVALID_STATE" and "-1 failed with status CREATE_FAILED: " in message
    assert "\nConditions:\n  Available=False CREATE_FAILED: " in message  # TI-ONE has no events: the conditions
    ti.delete_endpoint("ti-fails")
    assert "ti-fails" not in [e["service_group_name"] for e in ti.list_endpoints()]
