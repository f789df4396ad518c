"""Trust: secrets redacted by member name in every log the plugin or the SDK writes, raw exceptions turned into
clear MlflowExceptions, logging left to the application, and an entry module that loads nothing it does not need."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.backends import make_backend
from mlflow_tcdeploy_plugin.redact import redact_text
from mlflow_tcdeploy_plugin.settings import Settings
from tests.helpers import FAST, Cloud, sdk_client, watch_secret

pytestmark = pytest.mark.replicas

MODEL = "models:/default.default.iris_classifier/1"
# Secrets of this module: none is part of another, nor of the run's own credentials.
PREDICT_TOKEN = watch_secret("Pq8vXw2LmT7zR4nB")
REGISTRY_PASSWORD = watch_secret("Hy6cJd9sKe3fGa1u")


@pytest.fixture
def debug_records() -> Iterator[list[logging.LogRecord]]:
    """Every record the plugin and the SDK log at DEBUG, as any handler of the application would see it."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("mlflow_tcdeploy_plugin", "tencentcloud_sdk_common")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(keep)
        lg.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        for lg, level in saved:
            lg.removeHandler(keep)
            lg.setLevel(level)


def _texts(records: list[logging.LogRecord]) -> str:
    return "\n".join(r.getMessage() for r in records)


def test_predicts_auth_token_never_reaches_the_sdk_debug_log(
    cloud: Cloud, deployed: dict[str, Any], debug_records: list[logging.LogRecord]
) -> None:
    client = TcDeploymentClient()
    with pytest.raises(MlflowException, match="HTTP 404"):  # the call is sent, token and all; /nowhere is not served
        client.predict(deployed["name"], [[0.1, 0.2]], config={"auth_token": PREDICT_TOKEN, "relative_url": "/nowhere"})
    text = _texts(debug_records)
    assert '"AuthTokenValue": "******"' in text  # the SDK logged the request body, with the member masked
    assert PREDICT_TOKEN not in text


def test_registry_passwords_and_token_values_never_reach_the_sdk_debug_log(
    cloud: Cloud, deployed: dict[str, Any], debug_records: list[logging.LogRecord]
) -> None:
    client = TcDeploymentClient()
    group = deployed["service_group_id"]
    client.create_deployment(
        "redacted-image",
        MODEL,
        config={
            "wait": "false",
            "image_info": {
                "image_type": "CCR",
                "image_url": "ccr.ccs.tencentyun.com/ns/iris:1",
                "image_secret": {"username": "robot", "password": REGISTRY_PASSWORD},
            },
        },
    )
    client.update_endpoint(group, config={"authorization_enable": True})
    values = [watch_secret(t["base"]["value"]) for t in client.get_endpoint(group, reveal_tokens=True)["auth_tokens"]]
    client.update_endpoint(group, config={"authorization_enable": False})
    text = _texts(debug_records)
    assert '"Password": "******"' in text and '"AuthTokens": [{"Base":' in text
    for secret in (REGISTRY_PASSWORD, *values):
        assert secret not in text
    client.delete_endpoint("redacted-image")


def test_redaction_by_member_name() -> None:
    sdk_line = (
        'SendRequest: Host: wedata.tencentcloudapi.com\nHeader: X-TC-Token: sts-abc\nData: {"ServiceGroupId": "g", '
        '"AuthToken": {"Base": {"Name": "ci", "Value": "v-token-1"}}, "Env": [{"Name": "A", "Value": "plain", '
        '"IsPrivate": false}, {"Name": "B", "Value": "v-private-2", "IsPrivate": true}], "ImageInfo": {"ImageSecret": '
        '{"Username": "robot", "Password": "v-pass-3"}}}'
    )
    masked = redact_text(sdk_line)
    for secret in ("sts-abc", "v-token-1", "v-private-2", "v-pass-3"):
        assert secret not in masked
    assert '"Value": "plain"' in masked and '"Username": "robot"' in masked and '"ServiceGroupId": "g"' in masked
    answer = 'GetResponse: HTTP/1.1 200 OK\n\n{"Response": {"Data": {"ServiceCallInfo": {"AuthToken": "v-call-4"}, '
    assert "v-call-4" not in redact_text(answer + '"AuthTokens": [{"Base": {"Value": "v-list-5"}}]}}}')
    assert "v-list-5" not in redact_text(answer + '"AuthTokens": [{"Base": {"Value": "v-list-5"}}]}}}')
    truncated = 'failed: {"AuthTokenValue": "v-cut-6", "RelativeUrl": "/x'  # not a whole document
    assert "v-cut-6" not in redact_text(truncated)


@pytest.mark.parametrize(
    ("content", "mentions"),
    [
        ("[prod]\nsecret_id = AKIDprod\nsecret_key = Rk4pmZ8wQs2v\n", "has no [default] section (it has [prod])"),
        ("secret_id = AKIDnohead\nsecret_key = Rk4pmZ8wQs2v\n", "is not valid INI (line 1)"),
        ("[default]\nsecret_id = AKIDhalf\n", "has no secret_key in its [default] section"),
        ("[default]\nsecret_id = x\n[default]\nsecret_key = Rk4pmZ8wQs2v\n", "is not valid INI (line 3)"),
    ],
    ids=["no-default-section", "no-section-header", "no-secret-key", "duplicate-section"],
)
def test_an_unusable_credentials_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, mentions: str
) -> None:
    (tmp_path / ".tencentcloud").mkdir()
    (tmp_path / ".tencentcloud" / "credentials").write_text(content)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(MlflowException) as exc:
        Settings.resolve("tcdeploy", None, {"WEDATA_WORKSPACE_ID": "1"})
    assert exc.value.error_code == "UNAUTHENTICATED" and mentions in exc.value.message
    assert "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID" in exc.value.message and "Rk4pmZ8wQs2v" not in exc.value.message


def test_a_recovered_group_without_the_new_version_is_a_clear_error(cloud: Cloud) -> None:
    client = TcDeploymentClient()
    client._backend = make_backend(client.settings, sleep=lambda s: None)
    first = client.create_deployment("left-empty", MODEL, config={"wait": "false"})
    client.delete_deployment(first["name"])  # the endpoint stays, with no deployment
    # The create of a second "left-empty" is refused as a duplicate, but its answer is lost: the client then finds
    # the old, empty endpoint by name and must not take it for its own.
    cloud.emulator.set_faults({"actions": {"CreateMLModelServices": {"lose_rate": 1.0, "times": 1}}})
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("left-empty", MODEL, config={"wait": "false"})
    assert exc.value.error_code == "INTERNAL_ERROR" and "lists no new deployment" in exc.value.message
    assert "get-endpoint -t tcdeploy --endpoint left-empty" in exc.value.message
    client.delete_endpoint("left-empty")


def test_a_failed_env_update_after_create_says_the_deployment_exists(cloud: Cloud) -> None:
    client = TcDeploymentClient()
    client._backend = make_backend(client.settings, sleep=lambda s: None)
    # Every attempt fails, however many the retry policy allows.
    cloud.emulator.set_faults({"actions": {"UpdateMLModelService": {"error_rate": 1.0}}})
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("half-made", MODEL, config={"wait": "false", "env": {"A": "1", "B": "2"}})
    cloud.emulator.set_faults({})
    (created,) = [d["name"] for d in client.list_deployments(endpoint="half-made")]
    message = exc.value.message
    assert exc.value.error_code == "TEMPORARILY_UNAVAILABLE" and f"{created} was created and exists" in message
    assert f"mlflow deployments update -t tcdeploy --name {created} -C env=" in message
    client.delete_endpoint("half-made")


def test_an_error_envelope_the_sdk_does_not_raise_on_is_still_an_error(cloud: Cloud) -> None:
    # A fault of the emulator's: answers with Content-Type "application/json; charset=utf-8".
    cloud.emulator.set_faults({"actions": {"GetMLModelService": {"charset_rate": 1.0}}})
    try:
        raw = sdk_client(cloud.emulator).call_json("GetMLModelService", {"ServiceId": "nope"})
        assert raw["Response"]["Error"]["Code"] == "ResourceNotFound"  # the SDK returned it without raising
        with pytest.raises(MlflowException) as exc:
            make_backend(TcDeploymentClient().settings).get_deployment("nope")
    finally:
        cloud.emulator.set_faults({})
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST" and "RequestId" in exc.value.message


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, env=env
    )


def test_importing_the_plugin_configures_no_logging() -> None:
    done = _python(
        """
        import json, logging, mlflow_tcdeploy_plugin
        from mlflow_tcdeploy_plugin import TcDeploymentClient
        lg = logging.getLogger("mlflow_tcdeploy_plugin")
        print(json.dumps([lg.level, lg.propagate, len(lg.handlers)]))
        """,
        dict(os.environ),
    )
    assert json.loads(done.stdout) == [logging.NOTSET, True, 0], done.stderr


def test_the_applications_logging_gets_the_plugins_records(cloud: Cloud) -> None:
    done = _python(
        """
        import logging
        logging.basicConfig(level=logging.INFO, format="APP|%(levelname)s|%(name)s|%(message)s")
        from mlflow.deployments import get_deploy_client
        get_deploy_client("tcdeploy").list_deployments()
        """,
        {**os.environ, **cloud.env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "APP|INFO|mlflow_tcdeploy_plugin.settings|tcdeploy: using the local emulator" in done.stderr


def test_progress_lines_reach_the_terminal_when_nothing_configured_logging(cloud: Cloud) -> None:
    done = _python(
        f"""
        from mlflow.deployments import get_deploy_client
        client = get_deploy_client("tcdeploy")
        created = client.create_deployment("progress", "{MODEL}", config={FAST!r})
        client.delete_endpoint(created["service_group_id"])
        """,
        {**os.environ, **cloud.env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert " is RUNNING after " in done.stderr and "tcdeploy: created " in done.stderr


@pytest.mark.parametrize("module", ["mlflow_tcdeploy_plugin.emulator", "mlflow_tcdeploy_plugin.emulator.replica"])
def test_the_emulator_loads_nothing_of_the_client(module: str) -> None:
    done = _python(f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))", dict(os.environ))
    loaded = json.loads(done.stdout)
    ours = [m for m in loaded if m.startswith("mlflow_tcdeploy_plugin")]
    assert module in ours
    entry = {"mlflow_tcdeploy_plugin", "mlflow_tcdeploy_plugin._version"}  # the package itself, and its version
    assert [m for m in ours if m not in entry and not m.startswith(module.split(".replica")[0])] == []
    assert not any(m.split(".")[0] == "tencentcloud" for m in loaded)
