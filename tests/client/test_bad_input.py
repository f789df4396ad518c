"""Input that must never be sent is refused with a clear MlflowException, and the request log proves nothing left."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import STS_TOKEN, Cloud, watch_secret
from tests.test_settings import ENV

MODEL = "models:/default.default.iris_classifier/1"
# Secrets that share nothing with each other or with the run's credentials (STS_TOKEN, the emulator's key).
AUTH_TOKEN = watch_secret("Nb5tYq0wEr7uCx2h")
WRONG_KEY = watch_secret("Wm3kXz8pLr6dVa4j")

CASES: list[tuple[str, Callable[[TcDeploymentClient], Any]]] = [
    ("malformed model URI", lambda c: c.create_deployment("ok-name", "models:/iris/one")),
    ("local path as model", lambda c: c.create_deployment("ok-name", "/tmp/model")),
    ("catalog name with 2 parts", lambda c: c.create_deployment("ok-name", "models:/a.b/1")),
    ("unknown option", lambda c: c.create_deployment("ok-name", MODEL, config={"replica": "2"})),
    ("ill-typed option", lambda c: c.create_deployment("ok-name", MODEL, config={"replicas": "two"})),
    ("out-of-range option", lambda c: c.create_deployment("ok-name", MODEL, config={"replicas": "500"})),
    ("bad enum", lambda c: c.create_deployment("ok-name", MODEL, config={"charge_type": "FREE"})),
    ("bad bool", lambda c: c.create_deployment("ok-name", MODEL, config={"wait": "perhaps"})),
    ("bad JSON", lambda c: c.create_deployment("ok-name", MODEL, config={"env": "{x"})),
    ("update action on create", lambda c: c.create_deployment("ok-name", MODEL, config={"service_action": "SCALE"})),
    ("invalid group name", lambda c: c.create_deployment("bad name!", MODEL)),
    ("too long group name", lambda c: c.create_deployment("x" * 61, MODEL)),
    ("unsupported flavor", lambda c: c.create_deployment("ok-name", MODEL, flavor="sklearn")),
    (
        "PREPAID without a resource group",
        lambda c: c.create_deployment("ok-name", MODEL, config={"charge_type": "PREPAID"}),
    ),
    (
        "unknown nested key",
        lambda c: c.create_deployment("ok-name", MODEL, config={"service_limit": {"enable_rps": True}}),
    ),
    ("IMAGE without an image", lambda c: c.create_deployment("ok-name", MODEL, config={"model_source": "IMAGE"})),
    ("pod method with both names", lambda c: c.restart_pod("svc", "pod-1", service_id="svc")),
    ("pod method with no deployment", lambda c: c.debug_pod_shell(pod_name="pod-1")),
    ("endpoint option on create", lambda c: c.create_deployment("ok-name", MODEL, config={"description": "x"})),
    ("nothing to change on an endpoint", lambda c: c.update_endpoint("grp", config={"reveal_tokens": True})),
    ("bad token limit", lambda c: c.update_endpoint("grp", config={"update_auth_token": {"name": "t", "limits": 3}})),
    ("update-only option on create", lambda c: c.create_deployment("ok-name", MODEL, config={"cos_region": "x"})),
    ("image option without a repository", lambda c: c.create_deployment("ok-name", MODEL, config={"base_image": "x"})),
    (
        "push to a name without a registry",
        lambda c: c.create_deployment("ok-name", MODEL, config={"image_repository": "iris", "push": "true"}),
    ),
    ("repository with a tag", lambda c: c.create_deployment("ok-name", MODEL, config={"image_repository": "r/i:1"})),
    ("upper-case repository", lambda c: c.create_deployment("ok-name", MODEL, config={"image_repository": "Iris"})),
    (
        "credentials in an index URL",
        lambda c: c.create_deployment(
            "ok-name", MODEL, config={"image_repository": "r/iris", "pip_index_url": "https://u:p@mirror/simple"}
        ),
    ),
    (
        "password without a user",
        lambda c: c.create_deployment(
            "ok-name", MODEL, config={"image_repository": "r/iris", "registry_password": "Vb3nRt6kLq"}
        ),
    ),
    (
        "two images",
        lambda c: c.create_deployment(
            "ok-name",
            MODEL,
            config={"image_repository": "r/iris", "image_info": {"image_type": "CCR", "image_url": "x"}},
        ),
    ),
    (
        "not a CA bundle",
        lambda c: c.create_deployment(
            "ok-name", MODEL, config={"image_repository": "r/i", "ca_bundle": "/etc/hostname"}
        ),
    ),
    (
        "an image repository on update without a model",
        lambda c: c.update_deployment("svc", config={"image_repository": "r/iris"}),
    ),
    (
        "action mixed with changes",
        lambda c: c.update_deployment("svc", config={"service_action": "STOP", "command": "x"}),
    ),
    ("nothing to update", lambda c: c.update_deployment("svc", config={"wait": "false"})),
    ("predict option on update", lambda c: c.update_deployment("svc", config={"auth_token": "x"})),
    ("malformed URI on update", lambda c: c.update_deployment("svc", model_uri="models:/")),
    ("unknown predict option", lambda c: c.predict("svc", [[1]], config={"relative": "/x"})),
    ("predict without inputs", lambda c: c.predict("svc", None)),
    ("predict without target", lambda c: c.predict(None, [[1]])),
    ("update_endpoint typo", lambda c: c.update_endpoint("grp", config={"desc": "x"})),
    ("bad log limit", lambda c: c.get_pod_logs("svc", limit=5000)),
    ("bad log order", lambda c: c.get_pod_logs("svc", order="SIDEWAYS")),
    ("bad pod name", lambda c: c.debug_pod_shell("svc", "../../etc")),
    ("bad spec type", lambda c: c.list_instance_types("TPU")),
    ("empty deployment name", lambda c: c.get_deployment("")),
    ("control characters in name", lambda c: c.delete_deployment("svc\r\nX-Injected: 1")),
]

SSRF = [
    "//evil.example/x",
    "http://169.254.169.254/latest",
    "/\\evil",
    "/x@evil",
    "/../admin",
    "/%2e%2e/admin",
    "/%252e%252e/admin",
    "/a\r\nHost: evil",
    "/%0d%0a",
    "/a b",
    "/%2f%2fevil",
    "/predict\t",  # whitespace around the path is refused, not stripped, from config as from the endpoint argument
    " /predict",
    "/predict\x0c",
]


@pytest.mark.parametrize(("what", "call"), CASES, ids=[c[0] for c in CASES])
def test_refused_before_any_request(
    cloud: Cloud, client: TcDeploymentClient, what: str, call: Callable[[TcDeploymentClient], Any]
) -> None:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        call(client)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE", exc.value.message
    assert cloud.requests() == [], f"{what}: a request was sent"


@pytest.mark.parametrize("url", SSRF)
def test_ssrf_urls_never_leave_the_machine(cloud: Cloud, client: TcDeploymentClient, url: str) -> None:
    cloud.emulator.clear_request_log()
    forms: list[dict[str, Any]] = [{"config": {"relative_url": url}}]
    if url.startswith("/"):
        forms.append({"endpoint": url})  # an endpoint starting with / is the relative URL
    for kwargs in forms:
        with pytest.raises(MlflowException) as exc:
            client.predict("any-deployment", [[1, 2]], **kwargs)
        assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and "refused" in exc.value.message
    assert cloud.requests() == []


def test_missing_credentials_and_bad_endpoint(cloud: Cloud, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from mlflow.deployments import get_deploy_client

    monkeypatch.setenv("HOME", str(tmp_path))
    cloud.emulator.clear_request_log()
    monkeypatch.delenv("KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY")
    with pytest.raises(MlflowException) as exc:
        get_deploy_client("tcdeploy")
    assert exc.value.error_code == "UNAUTHENTICATED" and "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY" in exc.value.message
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TCDEPLOY_EMULATOR_URL")
    for endpoint in ("evil.example.com", "https://wedata.tencentcloudapi.com", "wedata.tencentcloudapi.com.evil.io"):
        monkeypatch.setenv("TENCENTCLOUD_ENDPOINT", endpoint)
        with pytest.raises(MlflowException) as exc:
            get_deploy_client("tcdeploy")
        assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and endpoint in exc.value.message
    monkeypatch.setenv("TCDEPLOY_EMULATOR_URL", "http://10.1.2.3:8080")
    monkeypatch.delenv("TENCENTCLOUD_ENDPOINT")
    with pytest.raises(MlflowException, match="loopback"):
        get_deploy_client("tcdeploy")
    with pytest.raises(MlflowException, match="Did you mean"):
        get_deploy_client("tcdeploy:/ap-guangzhou?workspace=1")
    assert cloud.requests() == []


def test_no_secret_in_logs_errors_or_reprs(
    cloud: Cloud, deployed: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    token = STS_TOKEN
    secret_key = cloud.env["KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY"]
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("", "mlflow_tcdeploy_plugin", "tencentcloud_sdk_common", "urllib3")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(keep)
        lg.setLevel(logging.DEBUG)
    texts: list[str] = []
    try:
        client = TcDeploymentClient(token=token)
        texts += [repr(client), str(client.settings), repr(client.settings), repr(client.backend)]
        for call in (
            lambda: client.list_deployments(),
            lambda: client.predict(deployed["name"], [[0.1, 0.2]], config={"auth_token": AUTH_TOKEN}),
            lambda: client.get_deployment("missing"),
            lambda: TcDeploymentClient(secret_key=WRONG_KEY).list_endpoints(),
            lambda: client.create_deployment("bad name", MODEL),
        ):
            try:
                call()
            except MlflowException as exc:
                texts += [str(exc), repr(exc), exc.message]
    finally:
        for lg, level in saved:
            lg.removeHandler(keep)
            lg.setLevel(level)
    texts += [r.getMessage() for r in records] + [str(r.args) for r in records]
    texts.append(str(cloud.requests()))
    assert len(records) > 5
    for secret in (secret_key, token, AUTH_TOKEN, WRONG_KEY):
        leaks = [t for t in texts if secret in t]
        assert leaks == [], leaks[:3]
