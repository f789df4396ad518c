"""Settings: endpoints, emulator URLs, the target URI, precedence, credentials."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.settings import (
    Settings,
    parse_target_uri,
    validate_emulator_url,
    validate_endpoint,
)

ENV = {
    "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID": "AKIDx",
    "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY": "sk-very-secret",
    "WEDATA_WORKSPACE_ID": "42",
}


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(exc.value.error_code)


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


def test_the_retry_policy_comes_from_the_target_or_the_environment_and_is_no_part_of_the_target() -> None:
    default = Settings.resolve("tcdeploy", environ=ENV)
    assert default.retry_policy().max_attempts == 15 and default.retry_policy().mode == "adaptive"
    env = {**ENV, "TCDEPLOY_MAX_ATTEMPTS": "4", "TCDEPLOY_RETRY_MODE": "Standard"}
    given = Settings.resolve("tcdeploy:/ap-guangzhou?retry_timeout=30&max_attempts=6", environ=env)
    assert given.retry == (6, 30.0, "standard")
    assert given == default  # the same target, however patiently it is called (promotion compares targets)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("max_attempts=0", "max_attempts must be a whole number from 1 to 50"),
        ("max_attempts=2.5", "whole number"),
        ("max_attempts=nan", "whole number"),
        ("retry_timeout=0.5", "retry_timeout must be a number of seconds from 1 to 3600"),
        ("retry_timeout=soon", "number of seconds"),
        ("retry_mode=fast", "retry_mode must be adaptive or standard"),
        ("max_attempt=3", "Did you mean 'max_attempts'"),
    ],
)
def test_a_bad_retry_setting_is_refused(query: str, said: str) -> None:
    with pytest.raises(MlflowException) as exc:
        Settings.resolve(f"tcdeploy:/ap-guangzhou?{query}", environ=ENV)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and said in exc.value.message


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
