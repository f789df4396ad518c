"""Releases recorded in the tracking store as they run, over the emulator: a success with every stage, a failure
naming its stage, a process killed while waiting, and the `tcdeploy releases` command as users run it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.emulator import Timing
from mlflow_tcdeploy_plugin.releases import history
from mlflow_tcdeploy_plugin.releases.record import STAGE, STATUS
from tests.helpers import FAST, Cloud, Registry, serve_cloud, wait_for

EXPERIMENT = "tcdeploy-releases"
CONFIG = {**FAST, "instance_type": "TI.S.MEDIUM.POST", "scan": "off"}


@pytest.fixture
def idle_cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Cloud]:
    """An emulator whose services never leave NEW: a release stays in its wait stage."""
    yield from serve_cloud(tmp_path_factory, registry, timing=Timing(new_delay=3600, tick=0.1))


def _tcdeploy(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlflow_tcdeploy_plugin.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_releases_are_read_from_the_tracking_store_in_use(tmp_path: Path) -> None:
    """The client the look-ups keep follows the tracking URI: a store set later is the one read."""
    saved = mlflow.get_tracking_uri()
    try:
        for name in ("first", "second", "first"):
            mlflow.set_tracking_uri(f"sqlite:///{tmp_path / name}.db")
            assert history._client().tracking_uri == mlflow.get_tracking_uri()
    finally:
        mlflow.set_tracking_uri(saved)


@pytest.mark.replicas
def test_a_release_records_every_stage_and_is_listed(cloud: Cloud) -> None:
    created = TcDeploymentClient().create_deployment("rel-ok", f"models:/{cloud.registry.model_name}/1", config=CONFIG)
    release = history.show(created["release"])
    assert release["status"] == "succeeded" and release["stage"] == "done" and not release["reason"]
    assert [(s["stage"], s["status"]) for s in release["stages"]] == [
        ("resolve", "succeeded"),
        ("gate", "succeeded"),
        ("deploy", "succeeded"),
        ("wait", "succeeded"),
        ("verify", "skipped"),
    ]
    ran = [s for s in release["stages"] if s["status"] != "skipped"]
    assert all(s["seconds"] is not None and s["seconds"] >= 0 for s in ran)
    assert release["deployment"] == created["name"] and release["endpoint"] == created["service_group_id"]
    assert (release["model_name"], release["model_version"]) == (cloud.registry.model_name, "1")
    assert release["backend"] == "wedata" and release["target"] == "tcdeploy"
    shown = TcDeploymentClient().get_deployment(created["name"])["release"]
    assert shown == {"id": created["release"], "status": "succeeded", "stage": "done"}
    tags = MlflowClient().get_model_version(cloud.registry.model_name, "1").tags
    assert tags[f"tcdeploy.deployment.{created['name']}"] == created["release"]

    listed = _tcdeploy("releases", "--model", cloud.registry.model_name, "--format", "json", env=cloud.env)
    assert listed.returncode == 0, listed.stderr
    assert created["release"] in [r["id"] for r in json.loads(listed.stdout)]
    shown = _tcdeploy("releases", "show", created["release"], env=cloud.env)
    assert shown.returncode == 0 and "succeeded" in shown.stdout and "wait" in shown.stdout


def test_a_failed_stage_ends_the_release_with_its_reason(cloud: Cloud) -> None:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient().create_deployment("rel-bad", f"models:/{cloud.registry.model_name}/99", config=CONFIG)
    assert exc.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "CreateMLModelServices" not in cloud.actions()
    failed = history.list_releases(EXPERIMENT, cloud.registry.model_name, "failed")
    assert failed, "the failed release is recorded"
    latest = history.show(failed[0]["id"])
    assert latest["stage"] == "resolve" and "99" in latest["reason"]
    assert [(s["stage"], s["status"]) for s in latest["stages"]] == [("resolve", "failed")]


def test_a_release_killed_while_waiting_is_interrupted_at_wait(idle_cloud: Cloud) -> None:
    command = [sys.executable, "-m", "mlflow", "deployments", "create", "-t", "tcdeploy", "--name", "rel-killed"]
    command += ["-m", f"models:/{idle_cloud.registry.model_name}/1", "-C", "scan=off", "-C", "timeout=600"]
    command += ["-C", "instance_type=TI.S.MEDIUM.POST"]
    proc = subprocess.Popen(command, env={**os.environ, **idle_cloud.env}, stderr=subprocess.PIPE, text=True)
    client = MlflowClient()

    def waiting() -> Any:
        experiment = client.get_experiment_by_name(EXPERIMENT)
        found = f"tags.`{STAGE}` = 'wait' and tags.`{STATUS}` = 'running'"
        return experiment and next(iter(client.search_runs([experiment.experiment_id], found)), None)

    try:
        run = wait_for(waiting, timeout=120, what="the release to reach its wait stage")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    release = history.show(run.info.run_id)
    assert release["status"] == "interrupted" and release["stage"] == "wait"
    assert release["reason"] == "interrupted at wait: the process recording it ended"
    assert ("wait", "interrupted") in [(s["stage"], s["status"]) for s in release["stages"]]
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def test_a_store_that_cannot_be_written_stops_a_required_release_before_anything_is_sent(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    cloud.emulator.clear_request_log()
    mlflow.set_tracking_uri("http://127.0.0.1:9")  # nothing listens there
    try:
        with pytest.raises(MlflowException) as exc:
            TcDeploymentClient().create_deployment(
                "rel-required", f"models:/{cloud.registry.model_name}/1", config={**CONFIG, "record": "required"}
            )
    finally:
        mlflow.set_tracking_uri(cloud.registry.tracking_uri)
    assert exc.value.error_code == "TEMPORARILY_UNAVAILABLE" and "record=required" in exc.value.message
    assert cloud.requests() == []


@pytest.mark.parametrize(
    ("read", "code", "mention"),
    [
        (lambda: history.list_releases(EXPERIMENT, status="done"), "INVALID_PARAMETER_VALUE", "status must be"),
        (lambda: history.list_releases(EXPERIMENT, model="x' or '1'='1"), "INVALID_PARAMETER_VALUE", "quotes"),
        (lambda: history.show("0123456789abcdef0123456789abcdef"), "RESOURCE_DOES_NOT_EXIST", "No release"),
    ],
)
def test_bad_look_ups_are_refused(registry: Registry, read: Any, code: str, mention: str) -> None:
    with pytest.raises(MlflowException) as exc:
        read()
    assert exc.value.error_code == code and mention in exc.value.message
