"""The TI-ONE backend end to end: a scikit-learn model built into an image, pushed to the local registry, deployed
with CreateModelService, called at its invocation address, given a second version and a 90/10 traffic split,
scaled, stopped, resumed and deleted; and every `mlflow deployments` subcommand with ?backend=tione."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import FAST, Cloud, Registry, register_model
from tests.image.helpers import Docker

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"
CALLS = 200
SECOND_SHARE = (5, 40)
"""How many of 200 calls version 2 (weight 10) may answer: the count is Binomial(200, 0.1), mean 20 and standard
deviation 4.2, so [5, 40] fails by chance about once in 10,000 runs."""


@pytest.fixture(scope="module")
def versions(registry: Registry) -> tuple[Registry, Registry]:
    """Two versions of one model that answer differently for the same input (version 2 renames the classes)."""
    return register_model(registry.tracking_uri, "tione_iris"), register_model(
        registry.tracking_uri, "tione_iris", shift=1
    )


def _sent(cloud: Cloud, action: str) -> list[dict[str, Any]]:
    return [r["params"] for r in cloud.requests() if r["action"] == action]


def test_lifecycle_with_a_traffic_split(
    cloud: Cloud, docker_engine: Docker, scanning: Path, versions: tuple[Registry, Registry]
) -> None:
    one, two = versions
    client = TcDeploymentClient(TIONE)
    config = {**FAST, **docker_engine.options(scan="required"), "authorization_enable": "true"}
    cloud.emulator.clear_request_log()
    first = client.create_deployment("ti-iris", "models:/tione_iris/1", config=config)
    group_id = first["service_group_id"]
    assert re.fullmatch(r"ms-[a-z0-9]{8}", group_id) and first["name"] == f"{group_id}-1"
    assert first["status"] == "Normal" and first["scan"]["status"] == "passed"
    assert first["image"]["pushed"] and first["image"]["reference"].startswith(docker_engine.repository)
    (sent,) = _sent(cloud, "CreateModelService")
    assert sent["ServiceGroupName"] == "ti-iris" and sent["ImageInfo"]["ImageUrl"] == first["image"]["reference"]
    assert (sent["ServicePort"], sent["AuthorizationEnable"]) == (8080, True) and "WorkspaceId" not in sent
    assert {r["service"] for r in cloud.requests() if r["service"] != "gateway"} == {"tione"}

    # Called at the invocation address, with the group's token (authorization is on).
    probe = [one.features[0]]
    assert client.predict("ti-iris", probe)["predictions"] == [one.expected[0]]
    assert client.predict(first["name"], probe)["predictions"] == [one.expected[0]]
    with pytest.raises(MlflowException) as refused:
        client.predict("ti-iris", probe, config={"auth_token": "not-the-token"})
    assert refused.value.error_code == "PERMISSION_DENIED"
    calls = [r for r in cloud.requests() if r["action"] == "(invocation)"]
    assert [r["code"] for r in calls] == ["200", "200", "401"] and calls[0]["params"]["Path"] == "/invocations"

    second = client.create_deployment("ti-iris", "models:/tione_iris/2", config=config, endpoint="ti-iris")
    assert second["name"] == f"{group_id}-2" and second["status"] == "Normal"
    assert second["image"]["env_image"] in second["image"]["reused"]  # only the thin model image was built
    assert second["image"]["env_key"] == first["image"]["env_key"]

    cloud.emulator.clear_request_log()
    endpoint = client.update_endpoint("ti-iris", config={"traffic": {"1": 90, "2": 10}})
    assert endpoint["traffic"] == {first["name"]: 90, second["name"]: 10}
    assert endpoint["weight_update_status"] == "UPDATED"
    (weights,) = _sent(cloud, "ModifyServiceGroupWeights")
    assert weights["Weights"] == [
        {"ServiceId": first["name"], "Weight": 90},
        {"ServiceId": second["name"], "Weight": 10},
    ]
    assert client.get_endpoint("ti-iris")["traffic"] == endpoint["traffic"]

    answers = [client.predict("ti-iris", probe)["predictions"][0] for _ in range(CALLS)]
    from_two = answers.count((one.expected[0] + 1) % 3)
    assert answers.count(one.expected[0]) + from_two == CALLS and two.expected[0] == (one.expected[0] + 1) % 3
    assert SECOND_SHARE[0] <= from_two <= SECOND_SHARE[1], f"version 2 answered {from_two} of {CALLS}"

    scaled = client.update_deployment(first["name"], config={**FAST, "service_action": "SCALE", "replicas": "2"})
    assert (scaled["replicas"], scaled["status"]) == (2, "Normal")
    assert len(client.get_deployment(first["name"])["pod_infos"]) == 2
    stopped = client.update_deployment(second["name"], config={**FAST, "service_action": "STOP"})
    assert stopped["status"] == "Stopped"
    assert client.predict("ti-iris", probe)["predictions"] == [one.expected[0]]  # all traffic to the running one
    resumed = client.update_deployment(second["name"], config={**FAST, "service_action": "RESUME"})
    assert resumed["status"] == "Normal"
    logs = client.get_pod_logs(first["name"], limit=50)
    assert logs["logs"] and all(line["pod_name"].startswith(first["name"]) for line in logs["logs"])

    client.delete_deployment(second["name"])
    assert [d["name"] for d in client.list_deployments(endpoint="ti-iris")] == [first["name"]]
    client.delete_endpoint("ti-iris")
    assert "ti-iris" not in [e["service_group_name"] for e in client.list_endpoints()]
    assert not docker_engine.client.containers.list(all=True, filters={"name": group_id})


def _cli(cloud: Cloud, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "deployments", *args, "-t", TIONE],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **cloud.env},
    )
    if ok:
        assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done


def test_every_cli_subcommand(
    cloud: Cloud, docker_engine: Docker, scanning: Path, versions: tuple[Registry, Registry], tmp_path: Path
) -> None:
    options = [f"-C{k}={v}" for k, v in {**FAST, **docker_engine.options()}.items()]
    assert "  traffic <object> [endpoint; tione only]" in _cli(cloud, "help").stdout
    created = _cli(cloud, "create", "--name", "ti-cli", "-m", "models:/tione_iris/1", *options)
    service_id = created.stdout.split("deployment ")[1].split()[0]
    assert re.fullmatch(r"ms-[a-z0-9]{8}-1", service_id) and "Normal" in created.stderr
    _cli(cloud, "create", "--name", "ti-cli", "-m", "models:/tione_iris/2", "--endpoint", "ti-cli", *options)
    assert service_id in _cli(cloud, "list").stdout
    got = _cli(cloud, "get", "--name", service_id).stdout
    assert "\nstatus: Normal\n" in got and f"'image_url': '{docker_engine.repository}@sha256:" in got, got
    scaled = _cli(
        cloud,
        "update",
        "--name",
        service_id,
        "-C",
        "service_action=SCALE",
        "-C",
        "replicas=2",
        "-C",
        "poll_interval=0.1",
    )
    assert "is updated (with flavor python_function)" in scaled.stdout and "2/2 replicas ready" in scaled.stderr
    inputs, output = tmp_path / "in.json", tmp_path / "out.json"
    inputs.write_text(json.dumps({"inputs": [versions[0].features[0]]}))
    _cli(cloud, "predict", "--name", "ti-cli", "--input-path", str(inputs), "--output-path", str(output))
    assert json.loads(output.read_text())["predictions"] in ([versions[0].expected[0]], [versions[1].expected[0]])
    assert "ti-cli" in _cli(cloud, "list-endpoints").stdout
    assert (
        "Endpoint ti-cli is updated"
        in _cli(cloud, "update-endpoint", "--endpoint", "ti-cli", "-C", 'traffic={"1": 100}').stdout
    )
    shown = _cli(cloud, "get-endpoint", "--endpoint", "ti-cli").stdout
    assert (
        f"traffic: {{'{service_id}': 100, '{service_id[:-1]}2': 0}}" in shown
        and "weight_update_status: UPDATED" in shown
    )
    for _ in range(5):  # every call goes to version 1 now
        _cli(cloud, "predict", "--name", "ti-cli", "--input-path", str(inputs), "--output-path", str(output))
        assert json.loads(output.read_text())["predictions"] == [versions[0].expected[0]]
    # MLflow's own create-endpoint command cannot call any plugin (its --endpoint option feeds no parameter):
    # the Python call is what works, and it explains how endpoints are made.
    with pytest.raises(MlflowException, match="created with its first deployment"):
        TcDeploymentClient(TIONE).create_endpoint("other")
    _cli(cloud, "delete", "--name", service_id)
    _cli(cloud, "delete-endpoint", "--endpoint", "ti-cli")
    assert "ti-cli" not in _cli(cloud, "list-endpoints").stdout


def _ready(client: TcDeploymentClient, name: str) -> tuple[int, int]:
    """The replicas a deployment wants and has ready."""
    detail = client.get_deployment(name)
    return detail["scaling"]["replicas"], detail["workload_status"]["ready_replicas"]


def _until(what: str, check: Any, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        time.sleep(0.5)


def test_replicas_follow_the_load_and_the_schedule(
    cloud: Cloud, docker_engine: Docker, versions: tuple[Registry, Registry]
) -> None:
    one, _ = versions
    client = TcDeploymentClient(TIONE)
    policy = {"min_replicas": 1, "max_replicas": 3, "metrics": {"service-qps": 5}, "scale_down_window": 4}
    config = {**FAST, **docker_engine.options(scan="off"), "autoscaling": policy}
    made = client.create_deployment("ti-auto", "models:/tione_iris/1", config=config)
    name, group_id = made["name"], made["service_group_id"]

    def containers() -> int:
        return len(docker_engine.client.containers.list(filters={"name": group_id}))

    assert made["status"] == "Normal" and _ready(client, name) == (1, 1) and containers() == 1

    # A burst through the invocation address (far above 5 calls/s per replica), for as long as it takes 3 replicas
    # to serve (bounded by _until's time limit); a caller that fails ends the wait with its error.
    stop = threading.Event()

    def call() -> int:
        caller, count = TcDeploymentClient(TIONE), 0
        while not stop.is_set():
            assert caller.predict("ti-auto", [one.features[0]])["predictions"] == [one.expected[0]]
            count += 1
        return count

    with ThreadPoolExecutor(4) as pool:
        callers = [pool.submit(call) for _ in range(4)]
        try:
            _until(
                "3 replicas ready under load", lambda: any(c.done() for c in callers) or _ready(client, name) == (3, 3)
            )
            serving = containers()
        finally:
            stop.set()
        assert sum(c.result() for c in callers) > 0  # a caller's failure is raised here
    assert serving == 3

    # Idle: back to the policy's floor once the scale-down window (4 s) has passed.
    _until("back to 1 replica when idle", lambda: _ready(client, name) == (1, 1))
    _until("one container left", lambda: containers() == 1, 30)

    # A scheduled job raises the floor at its (emulated) time, and not before.
    at = datetime.fromisoformat(cloud.emulator.advance_clock(0)) + timedelta(minutes=2)
    job = {"schedule": f"{at.minute} {at.hour} * * *", "min_replicas": 2, "max_replicas": 3}
    client.update_deployment(name, config={**FAST, "autoscaling": policy, "scale_schedules": [job]})
    time.sleep(1)
    assert _ready(client, name)[0] == 1
    now = datetime.fromisoformat(cloud.emulator.advance_clock(0))
    cloud.emulator.advance_clock((at.replace(second=1) - now).total_seconds())
    _until("2 replicas at the scheduled time", lambda: _ready(client, name) == (2, 2))
    assert containers() == 2 and client.get_deployment(name)["scaling"]["autoscaling"]["min_replicas"] == 2

    client.delete_endpoint("ti-auto")
    _until("no container left", lambda: containers() == 0, 30)
