"""Whole lifecycles under faults: 10 deployments through an emulator that throttles, fails, drops and loses answers
at random; and a lifecycle during which the emulator is killed with SIGKILL and started again on the same data.
Every operation must succeed, nothing may be created twice, nothing may be left behind (checked through the raw API,
not the client)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.emulator.helpers import RunningEmulator, start_emulator_process
from tests.helpers import Registry, data, register_model, sdk_client, start_emulator, wait_for

pytestmark = pytest.mark.replicas

FAULTS = {
    "throttle_rate": 0.20,
    "error_rate": 0.05,
    "drop_rate": 0.05,
    "lose_rate": 0.05,
    "latency": 0.0,
    "jitter": 0.02,
}
DEPLOYMENTS = 10
PREDICTS = 50
WAIT = {"poll_interval": "0.1", "timeout": "300"}
FAST = {**WAIT, "scan": "off"}


@pytest.fixture(scope="module")
def model(registry: Registry) -> tuple[str, str, Registry]:
    """Two versions of one catalog model: the lifecycle moves each deployment from the first to the second."""
    register_model(registry.tracking_uri, "default.default.reliability")
    second = register_model(registry.tracking_uri, "default.default.reliability", seed=3)
    return "models:/default.default.reliability/1", "models:/default.default.reliability/2", second


def _lifecycle(client: TcDeploymentClient, name: str, first: str, second: str, probe: list[list[float]]) -> str:
    created = client.create_deployment(name, first, config=FAST)
    assert created["status"] == "RUNNING"
    for _ in range(PREDICTS):
        assert len(client.predict(name, probe)["predictions"]) == len(probe)
    service_id = created["name"]
    assert (
        client.update_deployment(service_id, config={**WAIT, "service_action": "SCALE", "replicas": "2"})["replicas"]
        == 2
    )
    assert client.update_deployment(service_id, second, config=FAST)["model_version"] == "2"
    assert client.update_deployment(service_id, config={**WAIT, "service_action": "STOP"})["status"] == "Stopped"
    assert client.update_deployment(service_id, config={**WAIT, "service_action": "RESUME"})["status"] == "RUNNING"
    client.delete_deployment(service_id)
    client.delete_endpoint(name)
    return service_id


def _check_nothing_left(raw: Any, service_ids: list[str]) -> None:
    assert data(raw, "ListMLModelServiceGroups", {"PageSize": 100})["Rows"] == []
    for service_id in service_ids:
        with pytest.raises(Exception, match="ResourceNotFound"):
            raw.call_json("GetMLModelService", {"ServiceId": service_id})


def test_ten_lifecycles_under_faults(
    tmp_path: Path, registry: Registry, model: tuple[str, str, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = start_emulator(tmp_path / "faulty", registry.tracking_uri, fault_seed=20261123)
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    first, second, trained = model
    client = TcDeploymentClient()  # the default retry policy: this fault mix is what it is chosen for
    raw = sdk_client(emu)
    try:
        emu.set_faults(FAULTS)
        started = time.monotonic()
        ids = [_lifecycle(client, f"rel-{i}", first, second, trained.features) for i in range(DEPLOYMENTS)]
        elapsed = time.monotonic() - started
        emu.set_faults({})
        log = emu.request_log()
        faults = [r["code"] for r in log if r["code"].startswith("(") or r["code"] == "RequestLimitExceeded"]
        print(f"\n{DEPLOYMENTS} lifecycles in {elapsed:.0f}s: {len(log)} requests, {len(faults)} faulted")
        assert len(faults) > 0.2 * len(log)  # the faults really happened
        creates = [r["code"] for r in log if r["action"] == "CreateMLModelServices"]
        # Each group made once (a lost answer was found by name, not sent again), one version each.
        assert creates.count("Success") == DEPLOYMENTS and "InvalidParameter.DuplicateName" not in creates
        made = [r for r in log if r["action"] == "CreateMLModelServices" and r["code"] == "Success"]
        assert all(len(r["params"]["Services"]) == 1 for r in made)
        _check_nothing_left(raw, ids)
    finally:
        emu.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int, tracking: str) -> RunningEmulator:
    return start_emulator_process(data_dir, "--port", str(port), "--mlflow-tracking-uri", tracking)


def _created(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/requests", timeout=10) as answer:
        log = json.loads(answer.read())
    return any(r["action"] == "CreateMLModelServices" and r["code"] == "Success" for r in log)


def test_a_killed_emulator_loses_nothing(
    tmp_path: Path, registry: Registry, model: tuple[str, str, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    emulator = _start(tmp_path / "crash", port, registry.tracking_uri)
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    first, second, trained = model
    client = TcDeploymentClient()
    done: list[str] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            for i in range(3):
                done.append(_lifecycle(client, f"crash-{i}", first, second, trained.features))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        # Killed inside the first lifecycle, once its create is on record: waiting or predicting then.
        wait_for(lambda: _created(port), timeout=120, what="the first create")
        killed_at = time.time()
        os.kill(emulator.proc.pid, signal.SIGKILL)
        emulator.proc.wait()
        time.sleep(1)  # an outage the client must ride out, not an event to await
        emulator = _start(tmp_path / "crash", port, registry.tracking_uri)
        worker.join(timeout=600)
        assert not worker.is_alive() and not failures, failures
        assert len(done) == 3

        raw = sdk_client(emulator)
        _check_nothing_left(raw, done)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/requests", timeout=10) as answer:
            log = json.loads(answer.read())
        before = [r for r in log if r["ts"] < killed_at]
        assert any(r["action"] == "CreateMLModelServices" and r["code"] == "Success" for r in before)  # kept
        print(f"\nkilled after {len(before)} requests; {len(log) - len(before)} more after the restart")
    finally:
        emulator.proc.kill()
        emulator.proc.wait()
