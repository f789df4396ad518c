"""Call addresses, authorization and named auth tokens, and prepaid resource groups, through the SDK's CommonClient."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.emulator.helpers import MODEL, error_code
from tests.helpers import Registry, data, sdk_client, wait_status


def _tokens(client: Any, group_id: str) -> list[dict[str, Any]]:
    return data(client, "GetMLModelServiceGroup", {"ServiceGroupId": group_id})["AuthTokens"]


def test_call_info_and_authorization(idle: Any) -> None:
    group = data(idle, "CreateMLModelServices", {"ServiceName": "open", "Services": [MODEL]})
    group_id, service_id = group["ServiceGroupId"], group["Services"][0]["ServiceId"]
    info = data(idle, "GetModelServiceCallInfo", {"ServiceGroupId": group_id})
    call = info["ServiceCallInfo"]
    assert call["ServiceGroupId"].startswith("ms-") and call["InternetEndpoint"].endswith("/" + call["ServiceGroupId"])
    assert (call["AuthorizationEnable"], call["AuthToken"]) == (False, "")
    assert info["IntranetCallInfo"]["PrivateLinkInfosV2"] == []
    assert data(idle, "GetModelServiceCallInfo", {"ServiceId": service_id}) == info  # as the CLI example sends it
    assert error_code(idle, "GetModelServiceCallInfo", {}) == "MissingParameter"

    answer = data(idle, "UpdateModelServiceAuthorization", {"ServiceGroupId": group_id, "AuthorizationEnable": True})
    assert set(answer) == {"TiOneRequestId"}
    (token,) = _tokens(idle, group_id)
    assert token["Base"]["Name"] == "default" and len(token["Base"]["Value"]) == 15
    call = data(idle, "GetModelServiceCallInfo", {"ServiceGroupId": group_id})["ServiceCallInfo"]
    assert (call["AuthorizationEnable"], call["AuthToken"]) == (True, token["Base"]["Value"])
    data(idle, "UpdateModelServiceAuthorization", {"ServiceGroupId": group_id, "AuthorizationEnable": False})
    assert data(idle, "GetMLModelServiceGroup", {"ServiceGroupId": group_id})["AuthorizationEnable"] is False
    assert error_code(idle, "UpdateModelServiceAuthorization", {"ServiceGroupId": group_id}) == "MissingParameter"
    assert (
        error_code(idle, "UpdateModelServiceAuthorization", {"ServiceGroupId": "nope", "AuthorizationEnable": True})
        == "ResourceNotFound"
    )


def test_named_tokens(idle: Any) -> None:
    group_id = data(idle, "CreateMLModelServices", {"ServiceName": "tok", "Services": [MODEL]})["ServiceGroupId"]
    assert _tokens(idle, group_id) == []
    data(idle, "CreateModelServiceAuthToken", {"ServiceGroupId": group_id, "Name": "ci", "Description": "for CI"})
    data(idle, "CreateModelServiceAuthToken", {"ServiceGroupId": group_id, "Name": "app"})
    ci, app = _tokens(idle, group_id)
    assert (ci["Base"]["Name"], ci["Base"]["Description"], ci["Base"]["Status"]) == ("ci", "for CI", "Enabled")
    assert ci["Base"]["Value"] != app["Base"]["Value"]
    assert error_code(idle, "CreateModelServiceAuthToken", {"ServiceGroupId": group_id, "Name": "ci"}) == (
        "InvalidParameter.DuplicateName"
    )
    assert error_code(idle, "CreateModelServiceAuthToken", {"ServiceGroupId": group_id}) == "MissingParameter"

    change = {
        "Base": {"Value": ci["Base"]["Value"], "Description": "rotated"},
        "Limits": [{"Strategy": "PerMinute", "Max": 60}],
    }
    data(idle, "UpdateModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthToken": change})
    ci = _tokens(idle, group_id)[0]
    assert (ci["Base"]["Description"], ci["Limits"]) == ("rotated", [{"Strategy": "PerMinute", "Max": 60}])
    missing = {"Base": {"Value": "000000000000000"}}
    assert error_code(idle, "UpdateModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthToken": missing}) == (
        "ResourceNotFound"
    )
    bad_limit = {"Base": {"Value": ci["Base"]["Value"]}, "Limits": [{"Strategy": "PerHour", "Max": 1}]}
    assert error_code(idle, "UpdateModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthToken": bad_limit}) == (
        "InvalidParameterValue"
    )

    data(idle, "DeleteModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthTokenValue": ci["Base"]["Value"]})
    assert [t["Base"]["Name"] for t in _tokens(idle, group_id)] == ["app"]
    assert (
        error_code(
            idle, "DeleteModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthTokenValue": ci["Base"]["Value"]}
        )
        == "ResourceNotFound"
    )


@pytest.mark.parametrize(
    ("service", "code"),
    [
        ({"ChargeType": "PREPAID"}, "MissingParameter"),
        ({"ChargeType": "PREPAID", "ResourceGroupId": "trsg-emu00001"}, "MissingParameter"),
        (
            {"ChargeType": "PREPAID", "ResourceGroupId": "trsg-nope", "TioneResourceInfo": {"Cpu": 1000, "Memory": 1}},
            "ResourceNotFound.ResourceGroupNotFound",
        ),
        (
            {
                "ChargeType": "PREPAID",
                "ResourceGroupId": "trsg-emu00001",
                "TioneResourceInfo": {"Cpu": 65000, "Memory": 1024},
            },
            "ResourceInsufficient",
        ),
    ],
)
def test_prepaid_needs_a_resource_group_that_fits(idle: Any, service: dict[str, Any], code: str) -> None:
    info = {"MlModelInfo": MODEL["MlModelInfo"], **service}
    assert error_code(idle, "CreateMLModelServices", {"ServiceName": "pre", "Services": [info]}) == code


def test_prepaid_service_in_a_resource_group(idle: Any) -> None:
    info = {
        "MlModelInfo": MODEL["MlModelInfo"],
        "ChargeType": "PREPAID",
        "ResourceGroupId": "trsg-emu00001",
        "TioneResourceInfo": {"Cpu": 4000, "Memory": 8192},
    }
    service = data(idle, "CreateMLModelServices", {"ServiceName": "pre", "Services": [info]})["Services"][0]
    assert (service["ChargeType"], service["ResourceGroupId"], service["Resources"]) == (
        "PREPAID",
        "trsg-emu00001",
        {"Cpu": 4000, "Memory": 8192},
    )
    updated = data(
        idle, "UpdateMLModelService", {"ServiceId": service["ServiceId"], "Resources": {"Cpu": 2000, "Memory": 4096}}
    )
    assert updated["Resources"] == {"Cpu": 2000, "Memory": 4096}


def _gateway(url: str, payload: Any, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + "/invocations", data=json.dumps(payload).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.replicas
def test_the_invocation_address_serves_the_group(serving_emulator: Any, registry: Registry) -> None:
    client = sdk_client(serving_emulator)
    info = {"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": registry.model_path}}
    group = data(
        client, "CreateMLModelServices", {"ServiceName": "gw", "AuthorizationEnable": True, "Services": [info]}
    )
    wait_status(client, group["Services"][0]["ServiceId"], {"RUNNING"})
    call = data(client, "GetModelServiceCallInfo", {"ServiceGroupId": group["ServiceGroupId"]})["ServiceCallInfo"]
    payload = {"inputs": registry.features}
    assert _gateway(call["InternetEndpoint"], payload)[0] == 401
    assert _gateway(call["InternetEndpoint"], payload, "0" * 15)[0] == 401
    status, body = _gateway(call["InternetEndpoint"], payload, call["AuthToken"])
    assert status == 200 and body["predictions"] == registry.expected
    unknown = call["InternetEndpoint"].rsplit("/", 1)[0] + "/ms-00000000"
    assert _gateway(unknown, payload)[0] == 404
