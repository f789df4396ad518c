"""Rollouts on TI-ONE over the emulator, with real images and containers: a new version taken 10 → 50 → 100 while
each step is verified; one that answers wrongly (an emulator fault) rolled back to the weights before the release,
read back with raw API calls; a rollout held at each step and moved on, then undone, with `tcdeploy rollout`; and
an edited record refused before any cloud request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.releases import history
from tests.helpers import FAST, Cloud, Registry, register_model, sdk_client, wait_for
from tests.image.helpers import Docker, builds_and_pushes

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
MODEL = "rollout_iris"
STEPS = {"steps": [10, 50, 100], "hold": "0.2s"}


@pytest.fixture(scope="module")
def versions(registry: Registry) -> list[Registry]:
    """Versions 1-3 of one model with input examples; version 2 renames the classes, so it answers differently."""
    return [register_model(registry.tracking_uri, MODEL, shift=shift, example=True) for shift in (0, 1, 0, 1)]


def _tione(cloud: Cloud, action: str, params: dict[str, str]) -> dict[str, Any]:
    """A raw TI-ONE call through the official SDK (its answers carry no ``Data`` level)."""
    return dict(sdk_client(cloud.emulator, "tione").call_json(action, params)["Response"])


def _weights(cloud: Cloud, group_id: str) -> dict[str, int]:
    """The split as TI-ONE's own DescribeModelServiceGroup answers it."""
    group = _tione(cloud, "DescribeModelServiceGroup", {"ServiceGroupId": group_id})
    return {s["ServiceId"]: s["Weight"] for s in group["ServiceGroup"]["Services"]}


def _sent_weights(cloud: Cloud) -> list[dict[str, int]]:
    return [
        {w["ServiceId"]: w["Weight"] for w in r["params"]["Weights"]}
        for r in cloud.requests()
        if r["action"] == "ModifyServiceGroupWeights"
    ]


def _tcdeploy(cloud: Cloud, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlflow_tcdeploy_plugin.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **cloud.env},
    )


def _status(cloud: Cloud, service_id: str) -> str:
    found = _tione(cloud, "DescribeModelService", {"ServiceId": service_id})
    return str(found["Service"]["Status"])


def test_a_rollout_completes_and_a_wrong_version_is_rolled_back(
    cloud: Cloud, docker_engine: Docker, scanning: Path, versions: list[Registry]
) -> None:
    client = TcDeploymentClient(TIONE)
    config = {**FAST, **docker_engine.options(scan="required")}
    first = client.create_deployment("ti-roll", f"models:/{MODEL}/1", config=config)
    group = first["service_group_id"]
    v1, v2, v3 = first["name"], f"{group}-2", f"{group}-3"

    cloud.emulator.clear_request_log()
    second = client.create_deployment(
        "ti-roll", f"models:/{MODEL}/2", config={**config, "rollout": STEPS}, endpoint="ti-roll"
    )
    assert second["name"] == v2 and "rollout" not in second
    assert _sent_weights(cloud) == [{v1: 100}, {v1: 90, v2: 10}, {v1: 50, v2: 50}, {v1: 0, v2: 100}]
    assert _weights(cloud, group) == {v1: 0, v2: 100}
    assert client.predict("ti-roll", versions[1].features)["predictions"] == versions[1].expected
    release = history.show(second["release"])
    assert release["status"] == "succeeded" and release["rollout_weight"] == "100"
    stages = {s["stage"]: s["status"] for s in release["stages"]}
    assert stages["rollout"] == "succeeded" and "verify" not in stages
    assert {f"evidence/verify/answers-{step}.json" for step in (10, 50, 100)} <= set(release["artifacts"])

    cloud.emulator.set_faults({"answers": {v3: "wrong"}})
    cloud.emulator.clear_request_log()
    try:
        with pytest.raises(MlflowException) as exc:
            client.create_deployment(
                "ti-roll", f"models:/{MODEL}/3", config={**config, "rollout": STEPS}, endpoint="ti-roll"
            )
    finally:
        cloud.emulator.set_faults({})
    assert exc.value.error_code == "INVALID_STATE" and "rolled back" in exc.value.message
    assert _sent_weights(cloud)[-1] == {v1: 0, v2: 100, v3: 0}
    assert _weights(cloud, group) == {v1: 0, v2: 100, v3: 0}
    wait_for(lambda: _status(cloud, v3) == "Stopped", timeout=120, what=f"{v3} to stop")
    rolled = history.list_releases("tcdeploy-releases", MODEL, "rolled_back")[0]
    assert rolled["stage"] == "rollout" and rolled["deployment"] == v3 and "expected" in rolled["reason"]
    client.delete_endpoint("ti-roll")


def test_a_held_rollout_is_moved_on_and_undone_by_hand(
    cloud: Cloud, docker_engine: Docker, scanning: Path, versions: list[Registry]
) -> None:
    client = TcDeploymentClient(TIONE)
    config = {**FAST, **docker_engine.options(scan="required")}
    first = client.create_deployment("ti-hold", f"models:/{MODEL}/2", config=config)
    group, v1 = first["service_group_id"], first["name"]
    manual = {**config, "rollout": {"steps": [20, 100], "hold": "manual"}}
    held = client.create_deployment("ti-hold", f"models:/{MODEL}/4", config=manual, endpoint="ti-hold")
    v2, release_id = held["name"], held["release"]
    assert held["rollout"] == {"state": "paused", "weight": 20}
    assert _weights(cloud, group) == {v1: 80, v2: 20}
    assert history.show(release_id)["status"] == "paused"

    # A record edited to point elsewhere is refused before any cloud request.
    MlflowClient().set_tag(release_id, "tcdeploy.endpoint", "ms-elsewhere")
    cloud.emulator.clear_request_log()
    edited = _tcdeploy(cloud, "rollout", "promote", release_id)
    assert edited.returncode == 2 and "edited after it was recorded" in edited.stderr
    assert cloud.requests() == []
    MlflowClient().set_tag(release_id, "tcdeploy.endpoint", group)

    promoted = _tcdeploy(cloud, "rollout", "promote", release_id)
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout) == {"release": release_id, "rollout": "paused", "weight": 100}
    assert _weights(cloud, group) == {v1: 0, v2: 100}

    undone = _tcdeploy(cloud, "rollout", "rollback", release_id)
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["rollout"] == "rolled_back"
    assert _weights(cloud, group) == {v1: 100, v2: 0}
    wait_for(lambda: _status(cloud, v2) == "Stopped", timeout=120, what=f"{v2} to stop")
    assert history.show(release_id)["status"] == "rolled_back"
    again = _tcdeploy(cloud, "rollout", "promote", release_id)
    assert again.returncode == 2 and "is rolled_back" in again.stderr
    client.delete_endpoint("ti-hold")


def test_a_verified_release_is_promoted_to_another_target_without_a_build(
    cloud: Cloud, docker_engine: Docker, scanning: Path, versions: list[Registry]
) -> None:
    config = {**FAST, **docker_engine.options(scan="required")}
    source = TcDeploymentClient(TIONE).create_deployment("ti-staging", f"models:/{MODEL}/2", config=config)
    source_release = history.show(source["release"])
    assert source_release["status"] == "succeeded" and "@sha256:" in source_release["image"]

    since = time.time()
    cloud.emulator.clear_request_log()
    promoted = _tcdeploy(cloud, "promote", source["release"], "--target", "tcdeploy", "--name", "wd-prod", *_fast())
    assert promoted.returncode == 0, promoted.stderr
    assert builds_and_pushes(docker_engine.events(since, time.time())) == (0, 0)
    result = json.loads(promoted.stdout)
    assert result["promoted_from"] == source["release"] and result["status"] == "RUNNING"
    (sent,) = [r["params"] for r in cloud.requests() if r["action"] == "CreateMLModelServices"]
    assert sent["Services"][0]["ImageInfo"]["ImageUrl"] == source_release["image"]
    release = history.show(result["release"])
    stages = {s["stage"]: s["status"] for s in release["stages"]}
    assert stages == {
        "resolve": "succeeded",
        "gate": "skipped",
        "build": "skipped",
        "deploy": "succeeded",
        "wait": "succeeded",
        "verify": "succeeded",
    }
    assert release["image"] == source_release["image"] and release["gate_status"] == "passed"
    links = MlflowClient().get_run(source["release"]).data.tags
    assert links[f"tcdeploy.promoted_to.{result['release']}"] == "tcdeploy"
    assert TcDeploymentClient().predict("wd-prod", versions[1].features)["predictions"] == versions[1].expected

    cloud.emulator.clear_request_log()
    same = _tcdeploy(cloud, "promote", source["release"], "--target", TIONE, "--name", "ti-again")
    unknown = _tcdeploy(cloud, "promote", "0" * 32, "--target", "tcdeploy", "--name", "wd-none")
    assert same.returncode == 2 and "promote it to another target" in same.stderr
    assert unknown.returncode == 2 and "No release" in unknown.stderr
    assert [r for r in cloud.requests() if not r["action"].startswith(("Describe", "Get", "List"))] == []
    TcDeploymentClient().delete_endpoint("wd-prod")
    TcDeploymentClient(TIONE).delete_endpoint("ti-staging")


def _fast() -> list[str]:
    return [arg for key, value in FAST.items() for arg in ("-C", f"{key}={value}")]
