"""The emulator's wire protocol, checked with the official SDK: TC3 signatures, dispatch, validation, envelope."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import tencentcloud.common.abstract_client as abstract_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.emulator.helpers import error_code
from tests.helpers import SECRET_ID, SECRET_KEY, data, sdk_client, start_emulator

SPECS = ("GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"})


def _tamper(monkeypatch: pytest.MonkeyPatch, client: Any, change: Any) -> None:
    """Let ``change`` alter each signed request just before the SDK sends it."""
    send = client.request.send_request

    def send_changed(req: Any) -> Any:
        change(req)
        return send(req)

    monkeypatch.setattr(client.request, "send_request", send_changed)


def test_unmodified_request_is_accepted(wedata: Any) -> None:
    names = [s["SpecName"] for s in data(wedata, *SPECS)["SpecInfos"]]
    assert "TI.S.MEDIUM.POST" in names


def test_wrong_secret_key_is_rejected(emulator: Any) -> None:
    assert error_code(sdk_client(emulator, secret_key="not-the-key"), *SPECS) == "AuthFailure.SignatureFailure"


def test_unknown_secret_id_is_rejected(emulator: Any) -> None:
    from tencentcloud.common import credential

    client = sdk_client(emulator)
    client.credential = credential.Credential("AKIDnobody", SECRET_KEY)
    assert error_code(client, *SPECS) == "AuthFailure.SecretIdNotFound"


def test_one_flipped_body_byte_is_rejected(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client(emulator)

    def flip(req: Any) -> None:
        body = bytearray(req.data.encode())
        index = body.index(b"POSTPAID")
        body[index] ^= 0x20  # 'P' -> 'p': still valid JSON, one byte different
        req.data = bytes(body)

    _tamper(monkeypatch, client, flip)
    assert error_code(client, *SPECS) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    ("age", "expected"), [(360, "AuthFailure.SignatureExpire"), (-360, "AuthFailure.SignatureExpire"), (240, None)]
)
def test_timestamp_skew(emulator: Any, monkeypatch: pytest.MonkeyPatch, age: int, expected: str | None) -> None:
    class Skewed:
        @staticmethod
        def time() -> float:
            return time.time() - age

    monkeypatch.setattr(abstract_client, "time", Skewed)
    client = sdk_client(emulator)
    if expected is None:
        assert data(client, *SPECS)["SpecInfos"]
    else:
        assert error_code(client, *SPECS) == expected


def _raw_post(emulator: Any, headers: dict[str, str], body: bytes = b"{}") -> dict[str, Any]:
    resp = requests.post(
        emulator.url + "/", data=body, headers={"Content-Type": "application/json", **headers}, timeout=10
    )
    assert resp.headers["Content-Type"] == "application/json"
    return resp.json()["Response"]


def test_missing_or_malformed_authorization(emulator: Any) -> None:
    headers = {"X-TC-Action": "GetBillingSpecs", "X-TC-Version": "2025-10-10", "X-TC-Timestamp": str(int(time.time()))}
    assert _raw_post(emulator, headers)["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    bad = {**headers, "Authorization": "TC3-HMAC-SHA256 Credential=x"}
    assert _raw_post(emulator, bad)["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_missing_headers_are_missing_parameters(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client(emulator)
    _tamper(monkeypatch, client, lambda req: req.header.pop("X-TC-Timestamp"))
    assert error_code(client, *SPECS) == "MissingParameter"
    client = sdk_client(emulator)
    _tamper(monkeypatch, client, lambda req: req.header.pop("X-TC-Version"))
    assert error_code(client, *SPECS) == "MissingParameter"


def test_session_token(tmp_path: Path) -> None:
    emu = start_emulator(tmp_path / "sts", session_token="sts-token-1")
    try:
        assert data(sdk_client(emu, token="sts-token-1"), *SPECS)["SpecInfos"]
        assert error_code(sdk_client(emu, token="sts-token-2"), *SPECS) == "AuthFailure.TokenFailure"
        assert error_code(sdk_client(emu), *SPECS) == "AuthFailure.TokenFailure"
    finally:
        emu.stop()


def test_dispatch_by_service_version_and_action(emulator: Any) -> None:
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient

    wedata = sdk_client(emulator)
    assert error_code(wedata, "DescribeNothing", {}) == "InvalidAction"
    assert error_code(wedata, "DescribeBillingSpecs", {"ChargeType": "PREPAID"}) == "InvalidAction"
    old = CommonClient(
        "wedata", "2021-08-20", credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", wedata.profile
    )
    assert error_code(old, *SPECS) == "NoSuchVersion"
    other = CommonClient(
        "cvm", "2017-03-12", credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", wedata.profile
    )
    assert error_code(other, "DescribeInstances", {}) == "NoSuchProduct"


def test_tione_fields_sit_directly_in_response(emulator: Any) -> None:
    response = sdk_client(emulator, "tione").call_json(
        "DescribeBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR", "TaskType": "INFERENCE", "ResourceType": "GPU"}
    )["Response"]
    assert "Data" not in response
    assert {s["SpecType"] for s in response["Specs"]} == {"GPU"}
    uuid.UUID(response["RequestId"])


@pytest.mark.parametrize(
    ("action", "params", "code", "mentions"),
    [
        ("GetMLModelService", {"ServiceId": "x", "Bogus": 1}, "UnknownParameter", "Bogus"),
        (
            "CreateMLModelServices",
            {"ServiceName": "a", "Services": [{"Replica": 1}]},
            "UnknownParameter",
            "Services.0.Replica",
        ),
        ("GetMLModelService", {"ServiceId": 42}, "InvalidParameter", "ServiceId"),
        ("UpdateMLModelService", {"ServiceId": "x", "Replicas": "2"}, "InvalidParameter", "Replicas"),
        ("UpdateMLModelService", {"ServiceId": "x", "LogEnable": 1}, "InvalidParameter", "LogEnable"),
        ("ListMLServiceLogs", {"Limit": -1}, "InvalidParameter", "Limit"),
        ("ListMLModelServiceGroups", {"Filters": {"Name": "x"}}, "InvalidParameter", "Filters"),
        ("GetMLModelService", {}, "MissingParameter", "ServiceId"),
        ("ModelServiceInterfaceCallTest", {"ServiceId": "x"}, "MissingParameter", "RelativeUrl"),
        (
            "UpdateMLModelService",
            {"ServiceId": "x", "ServiceLimit": {"EnableInstanceRpsLimit": True}},
            "MissingParameter",
            "ServiceLimit.InstanceRpsLimit",
        ),
        ("UpdateMLModelService", {"ServiceId": "x", "ServiceAction": "PAUSE"}, "InvalidParameterValue", "PAUSE"),
        ("CreateMLModelServices", {"Services": [{"ChargeType": "FREE"}]}, "InvalidParameterValue", "ChargeType"),
        ("ListMLServiceLogs", {"Order": "UP"}, "InvalidParameterValue", "Order"),
    ],
)
def test_member_validation(wedata: Any, action: str, params: dict[str, Any], code: str, mentions: str) -> None:
    with pytest.raises(TencentCloudSDKException) as err:
        wedata.call_json(action, params)
    assert err.value.code == code
    assert mentions in err.value.message


def test_body_must_be_a_json_object(wedata: Any) -> None:
    assert error_code(wedata, "GetMLModelService", []) == "InvalidParameter"


def test_error_envelope_and_request_log(emulator: Any, wedata: Any) -> None:
    with pytest.raises(TencentCloudSDKException) as err:
        wedata.call_json("GetMLModelService", {"ServiceId": "missing"})
    assert err.value.code == "ResourceNotFound"
    uuid.UUID(err.value.requestId)
    entry = emulator.request_log()[-1]
    assert (entry["action"], entry["service"], entry["code"], entry["params"]) == (
        "GetMLModelService",
        "wedata",
        "ResourceNotFound",
        {"ServiceId": "missing"},
    )
    assert entry["request_id"] == err.value.requestId


def test_secrets_never_reach_the_request_log(emulator: Any, wedata: Any) -> None:
    image_password = "image-registry-password-123"
    auth_token = "service-auth-token-456"
    with pytest.raises(TencentCloudSDKException):
        wedata.call_json(
            "ModelServiceInterfaceCallTest",
            {"ServiceId": "nope", "RelativeUrl": "/invocations", "AuthTokenValue": auth_token},
        )
    data(
        wedata,
        "CreateMLModelServices",
        {
            "ServiceName": "img",
            "ModelSource": "IMAGE",
            "ServiceAction": "STOP",
            "Services": [
                {
                    "InstanceType": "TI.S.MEDIUM.POST",
                    "ImageInfo": {
                        "ImageUrl": "registry.example/m:1",
                        "ImageSecret": {"Username": "u", "Password": image_password},
                    },
                }
            ],
        },
    )
    log = json.dumps(emulator.request_log())
    for secret in (image_password, auth_token, SECRET_KEY):
        assert secret not in log
    assert "******" in log
    stored = (Path(emulator.config.data_dir) / "emulator.sqlite3").read_bytes()
    assert SECRET_KEY.encode() not in stored and auth_token.encode() not in stored
