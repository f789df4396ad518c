"""A corpus of hostile input, at least 200 cases: model URIs, option values, nested objects, SSRF vectors for the
relative URL, the API host and the invocation address, unicode look-alikes, oversize and non-JSON payloads, traffic
weights. Each is refused with a clear MlflowException and the right error code, and nothing reaches the emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.invocation import check_address
from tests.helpers import Cloud

MODEL = "models:/default.default.iris_classifier/1"
TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
Call = Callable[[], Any]


def _wedata() -> TcDeploymentClient:
    return TcDeploymentClient()


def _tione() -> TcDeploymentClient:
    return TcDeploymentClient(TIONE)


BAD_URIS = [
    "",
    " models:/a/1",
    "models:/",
    "models:/a",
    "models:/a/",
    "models:/a/b/c",
    "models:/a/1.5",
    "models:/a/-1",
    "models:/a.b/1",
    "models:/a..b/1",
    "models:/.a.b/1",
    "models:/a@",
    "models:/a@b@c",
    "runs:/",
    "runs:/abc",
    "runs:/abc/",
    "file:///etc/passwd",
    "/tmp/model",
    "s3://b/k",
    "http://x/m",
    "models:/a/1\n",
    "models:/a\x00/1",
    "mlflow-artifacts:/",
    "dbfs:/x",
    "models:/a/latest/1",
    "models:/a b/1",
    "MODELS:/a/1",
    "models:/a/1 ",
    "models:/a/\u0661",
    "models:/a/\u00b2",
    "models:/a/1#x",
    "models:/a/1?x=1",
    "models://a/1",
    "models:/a/b",
    "models:/a.b.c.d/1",
    "models:/a.b./1",
    "runs:/../x",
    "runs:/abc/x y",
    "models:/a/01x",
    "models:/a/0x1",
    "models:/a@1 2",
    "models:a/1",
    "model:/a/1",
    "models:/a/1/",
    "models:/@x",
    "runs:/ab\tc/x",
    "models:/a\u200b/1",
]


def _option_cases() -> list[tuple[str, dict[str, Any]]]:
    """Wrong values for every scalar option of create, from the table itself."""
    cases = []
    for option in opt.OPTIONS:
        if opt.CREATE not in option.scopes or option.parse_with is not None or option.secret:
            continue
        if option.type == "int":
            values = ["two", "1.5", "", "1e3", "0x10", "\uff11"]
            if option.bounds:
                values += [str(int(option.bounds[0]) - 1), str(int(option.bounds[1]) + 1)]
        elif option.type == "float":
            values = ["fast", "nan", "inf", "-1e999"]
        elif option.type == "bool":
            values = ["perhaps", "2", "yes please", "tru\u0435"]  # the last ends in a Cyrillic e
        elif option.type == "str" and option.choices:
            first = option.choices[0]
            values = ["BOGUS", first + "S", chr(ord(first[0]) + 0xFEE0) + first[1:]]  # the last: a fullwidth letter
        else:
            continue
        cases += [(f"{option.key}={v!a}", {option.key: v}) for v in values]
    cases += [
        ("unknown option", {"replica": "2"}),
        ("look-alike option key", {"r\u0435plicas": "2"}),  # Cyrillic e
        ("option with a trailing space", {"replicas ": "2"}),
        ("option for another method", {"auth_token": "x"}),
        ("endpoint option on create", {"traffic": {"1": 100}}),
    ]
    return cases


NESTED = [
    {"service_limit": {"enable_rps": True}},
    {"service_limit": {"enable_instance_rps_limit": "maybe", "instance_rps_limit": 1}},
    {"service_limit": {"enable_instance_rps_limit": True}},
    {"service_limit": '{"EnableInstanceRpsLimit": true,'},
    {"service_limit": [1, 2]},
    {"scheduled_action": {"schedule_stop": "soon"}},
    {"scheduled_action": {"stop": True}},
    {"log_config": {"logset_id": "x"}},
    {"log_config": {"logset_id": 5, "topic_id": "t"}},
    {"resources": {"cpu": 1000}},
    {"resources": {"cpu": "lots", "memory": 1}},
    {"resources": {"cpu": 1000, "memory": 1024, "tpu": 1}},
    {"image_info": {"image_type": "CCR"}},
    {"image_info": {"image_type": "DOCKERHUB", "image_url": "x"}},
    {"image_info": {"image_type": "CCR", "image_url": "x", "image_secret": {"pass": "x"}}},
    {"image_info": "not json"},
    {"env": "{x"},
    {"env": [{"name": "A", "valu": "1"}]},
    {"env": [{"value": "1"}]},
    {"env": 5},
    {"env": [["A", "1"]]},
    {
        "service_limit": {
            "EnableInstanceRpsLimit": True,
            "InstanceRpsLimit": 1,
            "EnableInstanceReqLimit": True,
            "InstanceReqLimit": "x",
        }
    },
    {"scheduled_action": {"ScheduleStop": True, "ScheduleStopTime": 5}},
    {"log_config": {"LogsetId": "a", "TopicId": "b", "Extra": 1}},
    {"resources": {"Cpu": 1000, "Memory": 1024, "Gpu": "one"}},
]

SSRF_RELATIVE = [
    "//evil.example/x",
    "http://169.254.169.254/latest",
    "https://evil/x",
    "/\\evil",
    "\\\\evil",
    "/x@evil",
    "/../admin",
    "/a/../../admin",
    "/./x",
    "/%2e%2e/admin",
    "/%2E%2E/admin",
    "/%252e%252e/admin",
    "/a\r\nHost: evil",
    "/%0d%0aHost:evil",
    "/a b",
    "/%2f%2fevil",
    "/%5cevil",
    "/%40evil",
    "x/invocations",
    "",
    "/\u2024\u2024/admin",
    "/invocations\x00",
    "/\uff0e\uff0e/admin",
    "javascript:alert(1)",
    "/a/%2e/b",
    "//",
    "/a//b",
    "/\tinvocations",
    "/" + "a" * 2100,
    "gopher://x",
    "/invocations#frag/../../x",
    "/%u002e%u002e",
    "/..;/admin",
    "/a%00b",
    "/\u0430dmin",
    "/ invocations",
]

BAD_HOSTS = [
    "evil.example",
    "wedata.tencentcloudapi.com.evil.example",
    "tencentcloudapi.com",
    "wedata.tencentcloudapi.com.",
    "wedata.tencentcloudapi.com/x",
    "http://wedata.tencentcloudapi.com",
    "user@wedata.tencentcloudapi.com",
    "wedata.tencentcloudapi.com:0",
    "wedata.tencentcloudapi.com:99999",
    "wedata.tencentcloudapi.com:x",
    "wedata.tencentcloudapi.com?x",
    "wedata.tencentcloudapi.com#x",
    "wedata.t\u0435ncentcloudapi.com",
    "wedata.tencentcloudapi\u3002com",
    "127.0.0.1",
    "[::1]",
    "169.254.169.254",
    "localhost",
    "wedata..tencentcloudapi.com",
    "-wedata.tencentcloudapi.com",
    "wedata.tencentcloudapi.com ",
    "wedata%2etencentcloudapi.com",
    "wedata\\tencentcloudapi.com",
    "evilTencentcloudapi.com",
    "xn--80ak6aa92e.com",
    "wedata.tencentcloudapi.com\n",
    "a" * 64 + ".tencentcloudapi.com",
]

BAD_ADDRESSES = [
    "http://ms-abcdefgh.ti.tencentcs.com/ms-abcdefgh",
    "https://ms-abcdefgh.ti.tencentcs.com:8443/ms-abcdefgh",
    "https://u@ms-abcdefgh.ti.tencentcs.com/ms-abcdefgh",
    "https://ms-abcdefgh.ti.tencentcs.com@evil/x",
    "https://ms-abcdefgh.ti.tencentcs.com.evil/x",
    "https://evil/ms-abcdefgh",
    "https://ti.tencentcs.com/x",
    "https://ms-abcdefgh.t\u0456.tencentcs.com/x",
    "https://ms-abcdefgh.ti.tencentcs.com/x?y",
    "https://ms-abcdefgh.ti.tencentcs.com/x#y",
    "https://ms-abcdefgh.ti.tencentcs.com/%2e%2e",
    "https://ms-abcdefgh.ti.tencentcs.com/a/../b",
    "https://169.254.169.254/x",
    "file:///etc/passwd",
    "",
]

BAD_WEIGHTS = [
    {"1": 90, "2": 20},
    {"1": 110, "2": -10},
    {"1": 90.0, "2": 10},
    {"1": 87.5, "2": 12.5},
    {"1": True, "2": 99},
    {"1": "90", "2": 10},
    {},
    "90/10",
    {"": 100},
    {"1": None, "2": 100},
    {"1": [100]},
    '{"1": 1e2}',
    {"1": 101},
    {"1\u0000": 100},
]


def _cases() -> list[tuple[str, Call, str]]:
    cases: list[tuple[str, Call, str]] = []
    invalid = "INVALID_PARAMETER_VALUE"
    for uri in BAD_URIS:
        cases.append((f"model URI {uri!a}", lambda uri=uri: _wedata().create_deployment("ok-name", uri), invalid))
    for label, config in _option_cases():
        cases.append(
            (f"option {label}", lambda c=config: _wedata().create_deployment("ok-name", MODEL, config=c), invalid)
        )
    for config in NESTED:
        cases.append(
            (f"nested {config!a}"[:90], lambda c=config: _wedata().create_deployment("ok", MODEL, config=c), invalid)
        )
    for url in SSRF_RELATIVE:
        cases.append(
            (
                f"relative URL {url[:40]!a}",
                lambda u=url: _wedata().predict("grp", [[1.0]], config={"relative_url": u}),
                invalid,
            )
        )
    for host in BAD_HOSTS:
        cases.append((f"API host {host[:40]!a}", lambda h=host: TcDeploymentClient(endpoint=h), invalid))
    for address in BAD_ADDRESSES:
        cases.append((f"invocation address {address!a}", lambda a=address: check_address(a), invalid))
    for weights in BAD_WEIGHTS:
        cases.append(
            (f"traffic {weights!a}", lambda w=weights: _tione().update_endpoint("grp", config={"traffic": w}), invalid)
        )
    cases += [
        ("look-alike group name", lambda: _wedata().create_deployment("\u0456ris", MODEL), invalid),
        ("fullwidth group name", lambda: _wedata().create_deployment("\uff49ris", MODEL), invalid),
        ("group name with a zero-width space", lambda: _wedata().create_deployment("ir\u200bis", MODEL), invalid),
        ("non-JSON input string", lambda: _wedata().predict("grp", "{not json"), invalid),
        ("input that is not data", lambda: _wedata().predict("grp", object()), invalid),
        ("oversize input (11 MB)", lambda: _wedata().predict("grp", {"inputs": ["x" * 1024] * 11 * 1024}), invalid),
        ("unknown backend", lambda: TcDeploymentClient("tcdeploy:/ap-guangzhou?backend=sagemaker"), invalid),
        ("look-alike backend", lambda: TcDeploymentClient("tcdeploy:/ap-guangzhou?backend=ti\u043ene"), invalid),
        ("region with a path", lambda: TcDeploymentClient("tcdeploy:/ap-guangzhou/../x"), invalid),
        (
            "TCLake model on TI-ONE",
            lambda: _tione().create_deployment(
                "x", MODEL, config={"image_info": {"image_type": "CCR", "image_url": "x"}}
            ),
            "NOT_IMPLEMENTED",
        ),
        ("model without an image on TI-ONE", lambda: _tione().create_deployment("x", "models:/iris/1"), invalid),
        (
            "WeData-only option on TI-ONE",
            lambda: _tione().create_deployment("x", "models:/iris/1", config={"model_source": "MODEL"}),
            invalid,
        ),
        ("traffic on WeData", lambda: _wedata().update_endpoint("grp", config={"traffic": {"1": 100}}), invalid),
    ]
    return cases


CASES = _cases()


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 200, len(CASES)


@pytest.mark.parametrize(("label", "call", "code"), CASES, ids=[c[0] for c in CASES])
def test_refused_and_not_sent(cloud: Cloud, label: str, call: Call, code: str) -> None:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        call()
    assert exc.value.error_code == code, f"{label}: {exc.value.error_code}: {exc.value.message}"
    message = exc.value.message
    assert 20 <= len(message) <= 3000 and "Traceback" not in message, message
    assert cloud.requests() == [], label
