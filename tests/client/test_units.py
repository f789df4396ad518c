"""Pure logic of the client: options, settings, URL and URI checks, input encoding, error mapping, retries."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.cloud.errors import CloudError, mlflow_code
from mlflow_tcdeploy_plugin.cloud.retry import RetryPolicy, Safety
from mlflow_tcdeploy_plugin.naming import to_snake
from mlflow_tcdeploy_plugin.predict import encode_inputs, validate_relative_url
from mlflow_tcdeploy_plugin.resolve import check_syntax
from mlflow_tcdeploy_plugin.settings import (
    Settings,
    parse_target_uri,
    validate_emulator_url,
    validate_endpoint,
)
from tests.helpers import under_ci

ENV = {
    "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID": "AKIDx",
    "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY": "sk-very-secret",
    "WEDATA_WORKSPACE_ID": "42",
}


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(exc.value.error_code)


# --- options ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"replicas": "2"}, {"replicas": 2}),
        ({"replicas": 3}, {"replicas": 3}),
        ({"log_enable": "false"}, {"log_enable": False}),
        ({"log_enable": "TRUE"}, {"log_enable": True}),
        ({"wait": "0"}, {"wait": False}),
        ({"timeout": "90.5"}, {"timeout": 90.5}),
        ({"charge_type": "prepaid"}, {"charge_type": "PREPAID"}),
        ({"env": '{"A": "1"}'}, {"env": [{"Name": "A", "Value": "1"}]}),
        ({"env": [{"name": "A", "value": "1"}]}, {"env": [{"Name": "A", "Value": "1"}]}),
        (
            {
                "service_limit": '{"EnableInstanceRpsLimit": true, "InstanceRpsLimit": 5, '
                '"EnableInstanceReqLimit": false, "InstanceReqLimit": 0}'
            },
            {
                "service_limit": {
                    "EnableInstanceRpsLimit": True,
                    "InstanceRpsLimit": 5,
                    "EnableInstanceReqLimit": False,
                    "InstanceReqLimit": 0,
                }
            },
        ),
    ],
)
def test_cli_strings_are_coerced(config: dict, expected: dict) -> None:
    assert opt.parse(config, opt.CREATE) == expected


@pytest.mark.parametrize(
    ("config", "mentions"),
    [
        ({"replica": "2"}, "Did you mean 'replicas'"),
        ({"instance-type": "x"}, "Did you mean 'instance_type'"),
        ({"replicas": "two"}, "integer"),
        ({"replicas": "0"}, "from 1 to 100"),
        ({"replicas": 2.5}, "integer"),
        ({"replicas": True}, "number"),
        ({"log_enable": "maybe"}, "true or false"),
        ({"charge_type": "FREE"}, "one of"),
        ({"service_action": "PAUSE"}, "one of"),
        ({"env": "{not json"}, "JSON"),
        ({"env": "[1, 2]"}, "JSON object"),
        ({"service_limit": '{"EnableInstanceRpsLimit": true}'}, "needs the keys"),
        ({"instance_type": ""}, "non-empty"),
        ({"timeout": "-1"}, "from 1"),
    ],
)
def test_bad_options_are_refused(config: dict, mentions: str) -> None:
    with pytest.raises(MlflowException) as exc:
        opt.parse(config, opt.CREATE)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert mentions in exc.value.message


@pytest.mark.parametrize(
    ("config", "scope", "mentions"),
    [
        ({"relative_url": "/x"}, opt.CREATE, "is for predict, not create"),
        ({"replicas": 2}, opt.PREDICT, "is for create or update, not predict"),
        ({"cos_region": "ap-guangzhou"}, opt.CREATE, "is for update, not create"),
        ({"descripton": "x"}, opt.ENDPOINT, "Did you mean 'description'"),
        ({"auth_tokn": "x"}, opt.PREDICT, "Did you mean 'auth_token'"),
    ],
)
def test_options_belong_to_their_methods(config: dict, scope: str, mentions: str) -> None:
    with pytest.raises(MlflowException) as exc:
        opt.parse(config, scope)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and mentions in exc.value.message


SNAKE_LIMIT = {
    "enable_instance_rps_limit": "true",
    "instance_rps_limit": "50",
    "EnableInstanceReqLimit": False,
    "instanceReqLimit": 0,
}
LIMIT = {"EnableInstanceRpsLimit": True, "InstanceRpsLimit": 50, "EnableInstanceReqLimit": False, "InstanceReqLimit": 0}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"service_limit": SNAKE_LIMIT}, {"service_limit": LIMIT}),
        ({"service_limit": json.dumps(SNAKE_LIMIT)}, {"service_limit": LIMIT}),
        (
            {"scheduled_action": {"schedule_stop": True, "schedule_stop_time": "2026-12-01T20:00:00+08:00"}},
            {"scheduled_action": {"ScheduleStop": True, "ScheduleStopTime": "2026-12-01T20:00:00+08:00"}},
        ),
        (
            {"log_config": {"logset_id": "ls-1", "TopicId": "tp-1"}},
            {"log_config": {"LogsetId": "ls-1", "TopicId": "tp-1"}},
        ),
        (
            {"resources": {"cpu": 4000, "memory": "8192", "gpu_type": "T4"}},
            {"resources": {"Cpu": 4000, "Memory": 8192, "GpuType": "T4"}},
        ),
        (
            {
                "image_info": {
                    "image_type": "ccr",
                    "image_url": "ccr.ccs.tencentyun.com/ns/m:1",
                    "image_secret": {"username": "u", "password": "p"},
                }
            },
            {
                "image_info": {
                    "ImageType": "CCR",
                    "ImageUrl": "ccr.ccs.tencentyun.com/ns/m:1",
                    "ImageSecret": {"Username": "u", "Password": "p"},
                }
            },
        ),
    ],
)
def test_nested_objects_take_snake_or_pascal_keys_at_any_depth(config: dict, expected: dict) -> None:
    assert opt.parse(config, opt.CREATE) == expected


def test_lists_of_objects_are_normalized_too() -> None:
    change = {"name": "ci", "limits": [{"strategy": "perminute", "max": "60"}, {"Strategy": "PerDay", "Max": 1000}]}
    assert opt.parse({"update_auth_token": change}, opt.ENDPOINT) == {
        "update_auth_token": {
            "Name": "ci",
            "Limits": [{"Strategy": "PerMinute", "Max": 60}, {"Strategy": "PerDay", "Max": 1000}],
        }
    }
    assert opt.parse({"create_auth_token": "ci-bot"}, opt.ENDPOINT) == {"create_auth_token": {"Name": "ci-bot"}}


@pytest.mark.parametrize(
    ("config", "mentions"),
    [
        ({"service_limit": {**SNAKE_LIMIT, "instance_rps": 5}}, "Did you mean 'instance_rps_limit'"),
        ({"service_limit": {**SNAKE_LIMIT, "bogus": 5}}, "Allowed keys: enable_instance_rps_limit, instance_rps_limit"),
        ({"image_info": {"image_url": "x", "image_type": "CCR", "image_secret": {"pasword": "p"}}}, "'password'"),
        ({"update_auth_token": {"name": "x", "limits": [{"strategy": "PerHour", "max": 1}]}}, "PerMinute, PerDay"),
        ({"resources": {"cpu": 1000}}, "needs the keys memory"),
        ({"resources": {"cpu": 1000, "Cpu": 2000, "memory": 1}}, "gives 'cpu' twice"),
        ({"resources": {"cpu": "lots", "memory": 1}}, "'resources.cpu' must be an integer"),
        ({"resources": [1]}, "must be a JSON object with the keys cpu, memory"),
    ],
)
def test_unknown_or_bad_nested_keys_are_refused(config: dict, mentions: str) -> None:
    scope = opt.ENDPOINT if "update_auth_token" in config else opt.CREATE
    with pytest.raises(MlflowException) as exc:
        opt.parse(config, scope)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and mentions in exc.value.message


@pytest.mark.parametrize(
    ("config", "scope", "mentions"),
    [
        ({"charge_type": "PREPAID"}, opt.CREATE, "give resource_group_id and resources"),
        ({"charge_type": "PREPAID", "resource_group_id": "trsg-1"}, opt.CREATE, "give resources"),
        ({"model_source": "IMAGE"}, opt.CREATE, "model_source=IMAGE needs an image"),
        ({"model_source": "MODEL", "image_info": {"image_type": "CCR", "image_url": "x"}}, opt.CREATE, "drop one"),
        ({"model_source": "MODEL", "image_repository": "r/iris"}, opt.UPDATE, "drop one"),
        ({"image_repository": "r/iris", "image_info": {"image_type": "CCR", "image_url": "x"}}, opt.UPDATE, "Give one"),
        ({"platform": "linux/arm64"}, opt.CREATE, "platform go(es) with image_repository"),
        ({"image_repository": "iris", "push": True}, opt.BUILD, "push=true needs a registry"),
        ({"image_repository": "r/iris", "registry_username": "u"}, opt.CREATE, "go together"),
    ],
)
def test_refused_combinations(config: dict, scope: str, mentions: str) -> None:
    with pytest.raises(MlflowException) as exc:
        opt.check(opt.parse(config, scope), scope)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and mentions in exc.value.message


def test_run_local_takes_image_options_without_a_repository() -> None:
    opt.check(opt.parse({"base_image": "python:3.11-slim", "port": "8081"}, opt.LOCAL), opt.LOCAL)


def test_secret_members_come_from_the_table() -> None:
    assert opt.secret_members() == {"AuthTokenValue", "Password"}


def test_requests_are_built_from_the_table() -> None:
    options = opt.parse(
        {
            "replicas": "2",
            "env": '{"A": "1", "B": "2"}',
            "log_enable": "true",
            "wait": "false",
            "service_description": "d",
        },
        opt.CREATE,
    )
    assert opt.api_members(options, opt.CREATE, group=False) == {
        "Replicas": 2,
        "Env": [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "2"}],
    }
    assert opt.api_members(options, opt.CREATE, group=True) == {"LogEnable": True, "ServiceDescription": "d"}


def test_every_option_is_documented_in_the_reference_and_help() -> None:
    from pathlib import Path

    import mlflow_tcdeploy_plugin

    reference = (Path(__file__).parents[2] / "docs" / "options.md").read_text()
    assert opt.reference_markdown() in reference, "regenerate with: .venv/bin/python tools/options-reference.py"
    help_text = mlflow_tcdeploy_plugin.target_help()
    assert all(f"  {o.key} <" in help_text for o in opt.OPTIONS)


# --- settings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "wedata.internal.tencentcloudapi.com",
        "wedata.tencentcloudapi.com",
        "WEDATA.ap-shanghai.TencentCloudAPI.com:443",
        "api.intl.tencentcloud.com",
    ],
)
def test_allowed_endpoints(endpoint: str) -> None:
    assert validate_endpoint(endpoint) == endpoint.lower()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://wedata.tencentcloudapi.com",
        "wedata.tencentcloudapi.com/path",
        "user@wedata.tencentcloudapi.com",
        "wedata.tencentcloudapi.com.",
        "tencentcloudapi.com",
        "evil-tencentcloudapi.com",
        "tencentcloudapi.com.evil.io",
        "wedata.tencentcloudapi.com.evil.io",
        "wedata.tencentcloudapi.co",
        "wedata.tencentcloudapi.com:99999",
        "wedata.tencentcloudapi.com:x",
        " wedata.tencentcloudapi.com",
        "wedata.tencentcloudapi.com\n",
        "wedata.tencentcl\u043eudapi.com",
        "wedata.tencentcloudapi.com\\@evil.io",
        "127.0.0.1",
        "[::1]:80",
        "wedata..tencentcloudapi.com",
        "-x.tencentcloudapi.com",
        "wedata.tencentcloudapi.com%2f",
        "",
        "wedata.tencentcloudapi.com#x",
        "wedata.tencentcloudapi.com?x",
    ],
)
def test_disallowed_endpoints(endpoint: str) -> None:
    with pytest.raises(MlflowException) as exc:
        validate_endpoint(endpoint)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:1/", "http://[::1]:9000", "http://127.9.9.9:7"]
)
def test_emulator_urls_on_loopback(url: str) -> None:
    assert validate_emulator_url(url).endswith(url.rstrip("/").rsplit(":", 1)[1])


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8080",
        "http://10.0.0.1:8080",
        "http://example.com:80",
        "http://127.0.0.1",
        "http://u:p@127.0.0.1:80",
        "http://127.0.0.1:80/x",
        "http://127.0.0.1:80?x=1",
        "127.0.0.1:80",
        "http://127.0.0.1.nip.io:80",
    ],
)
def test_emulator_urls_elsewhere_are_refused(url: str) -> None:
    with pytest.raises(MlflowException, match="TCDEPLOY_EMULATOR_URL"):
        validate_emulator_url(url)


def test_target_uri() -> None:
    assert parse_target_uri("tcdeploy") == {}
    assert parse_target_uri("tcdeploy:/ap-shanghai?workspace_id=7") == {"region": "ap-shanghai", "workspace_id": "7"}
    with pytest.raises(MlflowException, match="Did you mean 'workspace_id'"):
        parse_target_uri("tcdeploy:/ap-shanghai?workspace=7")
    with pytest.raises(MlflowException):
        parse_target_uri("sagemaker:/us-east-1")


def test_settings_precedence_and_secrets() -> None:
    s = Settings.resolve(
        "tcdeploy:/ap-beijing?workspace_id=7",
        {"workspace_id": "8"},
        {**ENV, "KERNEL_WEDATA_REGION": "ap-shanghai", "KERNEL_WEDATA_CLOUD_SDK_SECRET_TOKEN": "tok"},
    )
    assert (s.region, s.workspace_id, s.endpoint, s.protocol, s.token) == (
        "ap-beijing",
        "8",
        "wedata.internal.tencentcloudapi.com",
        "https",
        "tok",
    )
    assert "sk-very-secret" not in repr(s) and "tok" not in repr(s).replace("token", "")


@pytest.mark.parametrize(
    ("missing", "code"),
    [
        ("KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY", "UNAUTHENTICATED"),
        ("KERNEL_WEDATA_CLOUD_SDK_SECRET_ID", "UNAUTHENTICATED"),
        ("WEDATA_WORKSPACE_ID", "INVALID_PARAMETER_VALUE"),
    ],
)
def test_missing_settings_name_the_variable(missing: str, code: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no credentials profile
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(MlflowException) as exc:
        Settings.resolve("tcdeploy", None, env)
    assert _code(exc) == code and missing in exc.value.message


def test_sdk_credential_chain_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    env = {"WEDATA_WORKSPACE_ID": "1", "TENCENTCLOUD_SECRET_ID": "AKIDchain", "TENCENTCLOUD_SECRET_KEY": "k"}
    assert Settings.resolve("tcdeploy", None, env).secret_id == "AKIDchain"
    (tmp_path / ".tencentcloud").mkdir()
    (tmp_path / ".tencentcloud" / "credentials").write_text("[default]\nsecret_id = AKIDprofile\nsecret_key = k2\n")
    assert Settings.resolve("tcdeploy", None, {"WEDATA_WORKSPACE_ID": "1"}).secret_id == "AKIDprofile"


def test_bad_region_and_endpoint_from_env() -> None:
    with pytest.raises(MlflowException, match="region"):
        Settings.resolve("tcdeploy", None, {**ENV, "KERNEL_WEDATA_REGION": "../etc"})
    with pytest.raises(MlflowException, match="not under"):
        Settings.resolve("tcdeploy", None, {**ENV, "TENCENTCLOUD_ENDPOINT": "evil.example.com"})


# --- predict ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/invocations", "/predict", "/v1/models/m:predict", "/invocations?verbose=1", "/a%20"[:-3] + "b"]
)
def test_relative_urls_allowed(url: str) -> None:
    assert validate_relative_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "invocations",
        "//evil.example/x",
        "http://evil.example/x",
        "/http://evil",
        "/\\evil",
        "\\\\evil/x",
        "/x@evil.example",
        "/../admin",
        "/a/../../etc/passwd",
        "/./x",
        "/%2e%2e/admin",
        "/%2E%2E%2fadmin",
        "/%2f%2fevil",
        "/%252e%252e/admin",
        "/%25252e",
        "/a\r\nHost: evil",
        "/a\x00b",
        "/a b",
        "/a\tb",
        "/%0d%0aX: y",
        "/caf\u00e9",
        "/a//b",
        "javascript:alert(1)",
        "/" + "a" * 3000,
        "/%40evil",
        "/%5cevil",
    ],
)
def test_ssrf_vectors_are_refused(url: str) -> None:
    with pytest.raises(MlflowException) as exc:
        validate_relative_url(url)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"


def test_inputs_are_encoded_for_mlflow_scoring() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert json.loads(encode_inputs(frame))["dataframe_split"]["columns"] == ["a", "b"]
    assert json.loads(encode_inputs({"inputs": [[1, 2]]})) == {"inputs": [[1, 2]]}
    assert json.loads(encode_inputs([[1, 2]])) == {"inputs": [[1, 2]]}
    assert json.loads(encode_inputs(np.array([[1, 2]]))) == {"inputs": [[1, 2]]}
    assert json.loads(encode_inputs({"x": [1]})) == {"inputs": {"x": [1]}}
    with pytest.raises(MlflowException):
        encode_inputs(None)


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}},
        {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]},
        {"inputs": [[1, 2], [3, 4]]},
        {"instances": [[1, 2], [3, 4]]},
    ],
)
def test_the_clis_one_column_frame_is_unwrapped(payload: dict, tmp_path) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(payload))
    frame = pd.read_json(path)  # what `mlflow deployments predict --input-path` does
    assert json.loads(encode_inputs(frame)) == payload


# --- model URIs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "models:/c.s.m/1",
        "models:/c.s.m@champion",
        "models:/c.s.m/latest",
        "models:/iris/3",
        "models:/iris@prod",
        "models:/m-0123456789abcdef",
        "runs:/abc123/model",
        "mlflow-artifacts:/1/2/artifacts/model",
    ],
)
def test_valid_model_uris(uri: str) -> None:
    check_syntax(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "models:/",
        "models:/iris",
        "models:/iris/",
        "models:/iris/one",
        "models:/a.b/1",
        "models:/a..c/1",
        "models:/a.b.c.d/1",
        "models:/x/1/2",
        "runs:/",
        "runs:/abc",
        "/tmp/model",
        "file:///tmp/model",
        "s3://b/m",
        " models:/iris/1",
        "models:/ir is/1",
        "models:/iris@",
        "models:/iris/1\n",
    ],
)
def test_malformed_model_uris(uri: str) -> None:
    with pytest.raises(MlflowException) as exc:
        check_syntax(uri)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and "Supported forms" in exc.value.message


# --- responses, errors, retries --------------------------------------------------------------------------------


def test_snake_case_is_recursive_through_lists() -> None:
    raw = {
        "ServiceId": "s",
        "PodInfos": [{"Name": "p", "ContainerInfos": [{"RestartCount": 1}]}],
        "TiOneServiceId": None,
        "WorkloadStatus": {"ReadyReplicas": 1},
    }
    assert to_snake(raw) == {
        "service_id": "s",
        "pod_infos": [{"name": "p", "container_infos": [{"restart_count": 1}]}],
        "ti_one_service_id": None,
        "workload_status": {"ready_replicas": 1},
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ResourceNotFound", "RESOURCE_DOES_NOT_EXIST"),
        ("ResourceNotFound.NoModel", "RESOURCE_DOES_NOT_EXIST"),
        ("InvalidParameter", "INVALID_PARAMETER_VALUE"),
        ("InvalidParameterValue.BadName", "INVALID_PARAMETER_VALUE"),
        ("MissingParameter", "INVALID_PARAMETER_VALUE"),
        ("UnknownParameter", "INVALID_PARAMETER_VALUE"),
        ("InvalidParameter.DuplicateName", "RESOURCE_ALREADY_EXISTS"),
        ("AuthFailure.SignatureFailure", "UNAUTHENTICATED"),
        ("AuthFailure.SecretIdNotFound", "UNAUTHENTICATED"),
        ("AuthFailure.UnauthorizedOperation", "PERMISSION_DENIED"),
        ("UnauthorizedOperation.UserNotInProject", "PERMISSION_DENIED"),
        ("RequestLimitExceeded", "REQUEST_LIMIT_EXCEEDED"),
        ("RequestLimitExceeded.UinLimitExceeded", "REQUEST_LIMIT_EXCEEDED"),
        ("LimitExceeded", "RESOURCE_EXHAUSTED"),
        ("ResourceInsufficient.QuotaInsufficient", "RESOURCE_EXHAUSTED"),
        ("InternalError", "INTERNAL_ERROR"),
        ("FailedOperation.ClusterQueryFailed", "INTERNAL_ERROR"),
        ("InvalidParameterish", "INTERNAL_ERROR"),
    ],
)
def test_error_codes_map_to_mlflow(code: str, expected: str) -> None:
    from mlflow.protos import databricks_pb2

    assert databricks_pb2.ErrorCode.Name(mlflow_code(code)) == expected
    err = CloudError("GetMLModelService", code, "msg", "req-1")
    assert err.error_code == expected and "GetMLModelService" in err.message and "req-1" in err.message


@pytest.mark.parametrize(
    ("code", "safety", "retried"),
    [
        ("RequestLimitExceeded", Safety.READ, True),
        ("RequestLimitExceeded", Safety.ONCE, True),
        ("RequestLimitExceeded", Safety.CREATE, True),
        ("ClientNetworkError", Safety.READ, True),
        ("ServerNetworkError", Safety.READ, True),
        ("ClientNetworkError", Safety.ONCE, False),
        ("ClientNetworkError", Safety.CREATE, False),
        ("ResourceNotFound", Safety.READ, False),
        ("InternalError", Safety.READ, False),
        ("AuthFailure.SignatureFailure", Safety.READ, False),
    ],
)
def test_retry_decisions(code: str, safety: Safety, retried: bool) -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(CloudError("A", code, ""), 1, safety) is retried
    assert policy.should_retry(CloudError("A", code, ""), 3, safety) is False


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.delay(n, 0.999999) for n in (1, 2, 3, 4, 5, 9)] == pytest.approx([0.5, 1, 2, 4, 4, 4], rel=1e-3)
    assert policy.delay(3, 0.0) == 0.0


@pytest.mark.parametrize(
    ("value", "under"),
    [
        ("true", True),
        ("1", True),
        ("True", True),
        ("yes", True),
        ("jenkins", True),
        ("", False),
        ("false", False),
        ("0", False),
        ("FALSE", False),
        (" ", False),
    ],
)
def test_ci_means_any_value_but_empty_false_or_0(value: str, under: bool) -> None:
    assert under_ci({"CI": value}) is under
    assert under_ci({}) is False
