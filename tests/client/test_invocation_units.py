"""The invocation-address check and the traffic option, as pure functions."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.invocation import check_address

GATEWAY = "https://ms-9vblq48gddguangzhou.ti.tencentcs.com/ms-9vblq48g"


@pytest.mark.parametrize(
    "address",
    [GATEWAY, GATEWAY + "/", "https://MS-9VBLQ48G.ti.tencentcs.com/ms-9vblq48g", "https://a.ti.tencentcs.com"],
)
def test_gateway_addresses_are_accepted(address: str) -> None:
    assert check_address(address) == address.rstrip("/")


@pytest.mark.parametrize(
    "address",
    [
        GATEWAY.replace("https", "http"),
        "https://ms-9vblq48g.ti.tencentcs.com:443/ms-9vblq48g",
        "https://ms-9vblq48g.ti.tencentcs.com:8443/ms-9vblq48g",
        "https://user@ms-9vblq48g.ti.tencentcs.com/ms-9vblq48g",
        "https://ms-9vblq48g.ti.tencentcs.com@evil.example/ms-9vblq48g",
        "https://ms-9vblq48g.ti.tencentcs.com.evil.example/ms-9vblq48g",
        "https://evilti.tencentcs.com/ms-9vblq48g",
        "https://ti.tencentcs.com/ms-9vblq48g",
        "https://tencentcs.com/ms-9vblq48g",
        "https://ms-9vblq48g.ti.tencentcs.com./ms-9vblq48g",
        "https://ms-9vblq48g.t\u0456.tencentcs.com/ms-9vblq48g",  # a Cyrillic i
        "https://ms-9vblq48g.ti.tencentcs.com/ms-9vblq48g?x=1",
        "https://ms-9vblq48g.ti.tencentcs.com/ms-9vblq48g#x",
        "https://ms-9vblq48g.ti.tencentcs.com/%2e%2e/x",
        "https://ms-9vblq48g.ti.tencentcs.com/a/../b",
        "https://ms-9vblq48g.ti.tencentcs.com//evil.example/x",
        "https://ms-9vblq48g.ti.tencentcs.com\\@evil.example/x",
        "https://ms-9vblq48g.ti.tencentcs.com/ms 9vblq48g",
        "https://ms_9vblq48g.ti.tencentcs.com/ms-9vblq48g",
        "https://[::1]/ms-9vblq48g",
        "https://127.0.0.1/ms-9vblq48g",
        "//ms-9vblq48g.ti.tencentcs.com/ms-9vblq48g",
        "ms-9vblq48g.ti.tencentcs.com/ms-9vblq48g",
        "javascript:alert(1)",
        "",
        None,
        42,
    ],
)
def test_other_addresses_are_refused(address: object) -> None:
    with pytest.raises(MlflowException) as exc:
        check_address(address)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and "nothing was sent" in exc.value.message


def test_in_emulator_mode_only_the_emulators_address_is_allowed() -> None:
    assert check_address("http://127.0.0.1:8765/ms-abcdefgh", "127.0.0.1:8765") == "http://127.0.0.1:8765/ms-abcdefgh"
    for other in ("http://127.0.0.1:8766/ms-abcdefgh", "https://127.0.0.1:8765/ms-abcdefgh", GATEWAY):
        with pytest.raises(MlflowException):
            check_address(other, "127.0.0.1:8765")


@pytest.mark.parametrize(
    "value, parsed",
    [
        ({"1": 90, "2": 10}, {"1": 90, "2": 10}),
        ('{"1": 90, "2": 10}', {"1": 90, "2": 10}),
        ({"ms-abcdefgh-1": 100}, {"ms-abcdefgh-1": 100}),
        ({"1": 100, "2": 0}, {"1": 100, "2": 0}),
        ({" 3 ": 100}, {"3": 100}),
    ],
)
def test_traffic_accepts_whole_weights_summing_to_100(value: object, parsed: dict[str, int]) -> None:
    assert opt.parse({"traffic": value}, opt.ENDPOINT)["traffic"] == parsed
