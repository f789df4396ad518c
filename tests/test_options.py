"""The option table: coercion of CLI strings, nested objects, refusals, the reference."""

from __future__ import annotations

import json

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import options as opt


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(exc.value.error_code)


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
        ({"env": '{"A": "1"}'}, {"env": [{"name": "A", "value": "1"}]}),
        ({"env": [{"Name": "A", "Value": "1"}]}, {"env": [{"name": "A", "value": "1"}]}),
        (
            {
                "service_limit": '{"EnableInstanceRpsLimit": true, "InstanceRpsLimit": 5, '
                '"EnableInstanceReqLimit": false, "InstanceReqLimit": 0}'
            },
            {
                "service_limit": {
                    "enable_instance_rps_limit": True,
                    "instance_rps_limit": 5,
                    "enable_instance_req_limit": False,
                    "instance_req_limit": 0,
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
LIMIT = {
    "enable_instance_rps_limit": True,
    "instance_rps_limit": 50,
    "enable_instance_req_limit": False,
    "instance_req_limit": 0,
}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"service_limit": SNAKE_LIMIT}, {"service_limit": LIMIT}),
        ({"service_limit": json.dumps(SNAKE_LIMIT)}, {"service_limit": LIMIT}),
        (
            {"scheduled_action": {"schedule_stop": True, "schedule_stop_time": "2026-12-01T20:00:00+08:00"}},
            {"scheduled_action": {"schedule_stop": True, "schedule_stop_time": "2026-12-01T20:00:00+08:00"}},
        ),
        (
            {"log_config": {"logset_id": "ls-1", "TopicId": "tp-1"}},
            {"log_config": {"logset_id": "ls-1", "topic_id": "tp-1"}},
        ),
        (
            {"resources": {"cpu": 4000, "memory": "8192", "gpu_type": "T4"}},
            {"resources": {"cpu": 4000, "memory": 8192, "gpu_type": "T4"}},
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
                    "image_type": "CCR",
                    "image_url": "ccr.ccs.tencentyun.com/ns/m:1",
                    "image_secret": {"username": "u", "password": "p"},
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
            "name": "ci",
            "limits": [{"strategy": "PerMinute", "max": 60}, {"strategy": "PerDay", "max": 1000}],
        }
    }
    assert opt.parse({"create_auth_token": "ci-bot"}, opt.ENDPOINT) == {"create_auth_token": {"name": "ci-bot"}}


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


def test_every_option_is_documented_in_the_reference_and_help() -> None:
    from pathlib import Path

    import mlflow_tcdeploy_plugin
    from mlflow_tcdeploy_plugin.reference import markdown

    reference = (Path(__file__).parents[1] / "docs" / "options.md").read_text()
    assert markdown() in reference, "regenerate with: .venv/bin/python tools/options-reference.py"
    help_text = mlflow_tcdeploy_plugin.target_help()
    assert all(f"  {o.key} <" in help_text for o in opt.OPTIONS)
