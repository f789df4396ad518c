"""Autoscaling through the client on TI-ONE: the members it sends (checked by the emulator against TI-ONE's request
definitions), how a deployment shows its scaling, and every bad input refused before anything is sent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import Cloud

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
IMAGE = {"image_info": '{"image_type": "CUSTOM", "image_url": "127.0.0.1:5000/tcdeploy-tests/absent:1"}'}
MODEL = "models:/autoscaled_model/1"
POLICY = {"min_replicas": 1, "max_replicas": 3, "metrics": {"service-qps": 5}, "scale_down_window": 30}


@pytest.fixture(scope="module")
def autoscaled(cloud: Cloud) -> Iterator[dict[str, Any]]:
    """A TI-ONE deployment created with a metric policy (of an absent image: it need not run)."""
    from tests.helpers import register_model

    register_model(cloud.registry.tracking_uri, "autoscaled_model")
    client = TcDeploymentClient(TIONE)
    cloud.emulator.clear_request_log()
    made = client.create_deployment(
        "autoscaled", MODEL, config={**IMAGE, "wait": "false", "scan": "off", "autoscaling": json.dumps(POLICY)}
    )
    sent = [r["params"] for r in cloud.requests() if r["action"] == "CreateModelService"]
    yield {"name": made["name"], "sent": sent[-1]}
    client.delete_endpoint("autoscaled")


def test_a_metric_policy_is_sent_as_ti_ones_members_and_read_back(autoscaled: dict[str, Any]) -> None:
    sent = autoscaled["sent"]
    assert (sent["ScaleMode"], sent["ScaleStrategy"], sent["Replicas"]) == ("AUTO", "HPA", 1)
    assert sent["HorizontalPodAutoscaler"] == {
        "MinReplicas": 1,
        "MaxReplicas": 3,
        "HpaMetrics": [{"Name": "service-qps", "Value": 5}],
        "ScaleDownStabilizationWindowSeconds": 30,
    }
    client = TcDeploymentClient(TIONE)
    scaling = client.get_deployment(autoscaled["name"])["scaling"]
    assert scaling["mode"] == "AUTO" and scaling["strategy"] == "HPA" and scaling["autoscaling"] == POLICY
    listed = [d for d in client.list_deployments(endpoint="autoscaled") if d["name"] == autoscaled["name"]]
    assert listed[0]["scaling"]["autoscaling"] == POLICY


def test_schedules_are_added_and_manual_scaling_comes_back(cloud: Cloud, autoscaled: dict[str, Any]) -> None:
    client = TcDeploymentClient(TIONE)
    name = autoscaled["name"]
    jobs = [
        {"schedule": "0 8 * * 1-5", "name": "workdays", "min_replicas": 2, "max_replicas": 3},
        {"schedule": "0 20 * * *", "min_replicas": 1, "max_replicas": 2, "exclude_dates": ["2026-12-31"]},
    ]
    cloud.emulator.clear_request_log()
    client.update_deployment(name, config={"autoscaling": POLICY, "scale_schedules": jobs, "wait": "false"})
    sent = [r["params"] for r in cloud.requests() if r["action"] == "ModifyModelService"][-1]
    assert sent["CronScaleJobs"][0] == {
        "Schedule": "0 8 * * 1-5",
        "Name": "workdays",
        "MinReplicas": 2,
        "MaxReplicas": 3,
    }
    assert sent["CronScaleJobs"][1]["ExcludeDates"] == ["2026-12-31"]
    assert client.get_deployment(name)["scaling"]["scale_schedules"] == jobs

    with pytest.raises(MlflowException, match="scales automatically") as exc:
        client.update_deployment(name, config={"service_action": "SCALE", "replicas": 2})
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    for change, mention in [
        ({"replicas": 2}, "scales automatically"),
        ({"scale_schedules": [{"schedule": "0 20 * * *", "target_replicas": 1}]}, "would replace it"),
    ]:
        cloud.emulator.clear_request_log()
        with pytest.raises(MlflowException, match=mention):
            client.update_deployment(name, config=change)
        assert not [r for r in cloud.requests() if r["action"] == "ModifyModelService"]
    client.update_deployment(name, config={"scale_mode": "MANUAL", "replicas": 2, "wait": "false"})
    scaling = client.get_deployment(name)["scaling"]
    assert (scaling["mode"], scaling["strategy"], scaling["autoscaling"], scaling["replicas"]) == (
        "MANUAL",
        None,
        None,
        2,
    )
    cloud.emulator.clear_request_log()
    client.update_deployment(name, config={"autoscaling": POLICY, "wait": "false"})  # back to the policy
    sent = [r["params"] for r in cloud.requests() if r["action"] == "ModifyModelService"][-1]
    assert "Replicas" not in sent  # an update leaves the count to the policy
    assert client.get_deployment(name)["scaling"]["mode"] == "AUTO"


def _policy(**change: Any) -> dict[str, str]:
    return {"autoscaling": json.dumps({**POLICY, **change})}


def _job(**change: Any) -> dict[str, str]:
    return {"scale_schedules": json.dumps([{"schedule": "0 8 * * *", "target_replicas": 2, **change}])}


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("min above max", _policy(min_replicas=4), "min_replicas (4) is more than max_replicas (3)"),
    ("max above the limit", _policy(max_replicas=101), "max_replicas must be from 1 to 100"),
    ("no max", {"autoscaling": '{"min_replicas": 1, "metrics": {"cpu-util": 50}}'}, "needs min_replicas and max"),
    ("unknown metric", _policy(metrics={"cpu": 50}), "unknown metric 'cpu'; known: cpu-util (10-100)"),
    ("no metric", _policy(metrics={}), "at least one metric"),
    ("utilisation too low", _policy(metrics={"cpu-util": 5}), "must be from 10 to 100, not 5"),
    ("qps too high", _policy(metrics={"service-qps": 6000}), "must be from 1 to 5000, not 6000"),
    ("fractional target", _policy(metrics={"service-qps": 2.5}), "whole number"),
    ("window too long", _policy(scale_up_window=4000), "from 0 to 3600"),
    ("unknown member", _policy(cooldown=3), "unknown member(s) 'cooldown'"),
    ("four cron fields", _job(schedule="0 8 * *"), "five fields"),
    ("minute out of range", _job(schedule="61 8 * * *"), "outside the minute's range 0-59"),
    ("words in cron", _job(schedule="0 8 * * MON"), "is not a day of week"),
    ("zero step", _job(schedule="*/0 8 * * *"), "a step is 1 or more"),
    ("step after a number", _job(schedule="5/15 * * * *"), "a step goes after * or a range"),
    ("week date", _job(exclude_dates=["2026-W52-5"]), "is not a date"),
    ("four excluded dates", _job(exclude_dates=["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31"]), "at most 3"),
    ("not a date", _job(exclude_dates=["2026-02-30"]), "is not a date"),
    ("no count", {"scale_schedules": '[{"schedule": "0 8 * * *"}]'}, "needs target_replicas"),
    ("target outside bounds", _job(min_replicas=3, max_replicas=5), "target_replicas (2) is outside"),
    ("no schedule", {"scale_schedules": '[{"target_replicas": 2}]'}, "needs a schedule"),
    ("empty schedules", {"scale_schedules": "[]"}, "non-empty JSON list"),
    (
        "bounds without a policy",
        {"scale_schedules": '[{"schedule": "0 8 * * *", "min_replicas": 1, "max_replicas": 2}]'},
        "give autoscaling too",
    ),
    ("with replicas", {**_policy(), "replicas": "2"}, "drop replicas"),
    ("AUTO without a policy", {"scale_mode": "AUTO"}, "scale_mode=AUTO needs a policy"),
    ("MANUAL with a policy", {**_policy(), "scale_mode": "MANUAL"}, "drop scale_mode=MANUAL"),
]


@pytest.mark.parametrize(("what", "config", "mention"), BAD, ids=[b[0] for b in BAD])
def test_bad_autoscaling_is_refused_before_any_request(
    cloud: Cloud, what: str, config: dict[str, Any], mention: str
) -> None:
    client = TcDeploymentClient(TIONE)
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("never-made", MODEL, config={**IMAGE, "scan": "off", **config})
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE", exc.value.message
    assert mention in exc.value.message, exc.value.message
    assert cloud.requests() == [], f"{what}: a request was sent"


@pytest.mark.parametrize("key", ["autoscaling", "scale_schedules"])
def test_wedata_refuses_autoscaling_naming_the_backend_that_has_it(cloud: Cloud, key: str) -> None:
    config = {**_policy(), **_job()}
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient().create_deployment("never-made", "models:/x/1", config={key: config[key]})
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert f"'{key}' is not available on the wedata backend (it is for tione)" in exc.value.message
    assert "no autoscaling settings" in exc.value.message
    assert cloud.requests() == []


def test_the_cli_sends_a_policy_and_refuses_a_bad_one(cloud: Cloud, autoscaled: dict[str, Any]) -> None:
    target = ["-t", TIONE]
    image = ["-C", f"image_info={IMAGE['image_info']}", "-C", "scan=off", "-C", "wait=false"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mlflow", "deployments", *args, *target]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, **cloud.env})

    cloud.emulator.clear_request_log()
    bad = '{"min_replicas": 4, "max_replicas": 3, "metrics": {"service-qps": 5}}'
    refused = cli("create", "--name", "never-made", "-m", MODEL, *image, "-C", f"autoscaling={bad}")
    assert refused.returncode != 0 and "min_replicas (4) is more than max_replicas (3)" in refused.stderr
    assert cloud.requests() == []

    schedule = '[{"schedule": "0 20 * * *", "min_replicas": 1, "max_replicas": 2}]'
    policy = json.dumps(POLICY)
    changes = ["-C", f"autoscaling={policy}", "-C", f"scale_schedules={schedule}", "-C", "wait=false"]
    done = cli("update", "--name", autoscaled["name"], *changes)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = cli("get", "--name", autoscaled["name"])
    scaling = [line for line in shown.stdout.splitlines() if line.startswith("scaling: ")]
    assert scaling and "'strategy': 'HPA'" in scaling[0], scaling
    assert "'scale_schedules': [{'schedule': '0 20 * * *', 'min_replicas': 1, 'max_replicas': 2}]" in scaling[0]
