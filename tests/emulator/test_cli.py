"""``tcdeploy emulator`` as a user runs it: a foreground process, its printed environment, signals, kill -9."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator.signing import Credentials
from tests.conftest import SECRET_ID, SECRET_KEY, Registry, data, wait_status

pytestmark = pytest.mark.slow


class _Running:
    def __init__(self, proc: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.proc = proc
        self.env = env
        url = env["TCDEPLOY_EMULATOR_URL"]
        self.endpoint = url.removeprefix("http://")
        self.url = url
        self.credentials = Credentials(SECRET_ID, SECRET_KEY)


def _start(data_dir: Path, *extra: str) -> _Running:
    argv = [
        sys.executable,
        "-m",
        "mlflow_tcdeploy_plugin.cli",
        "emulator",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--secret-id",
        SECRET_ID,
        "--secret-key",
        SECRET_KEY,
        "--new-delay",
        "0",
        *extra,
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    expected = {
        "TCDEPLOY_EMULATOR_URL",
        "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID",
        "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY",
        "WEDATA_WORKSPACE_ID",
    } | ({"MLFLOW_TRACKING_URI"} if "--mlflow-tracking-uri" in extra else set())
    env: dict[str, str] = {}
    assert proc.stdout is not None
    while not expected <= env.keys():
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"the emulator exited with {proc.wait()} before printing its environment")
        export, assignment = shlex.split(line)
        assert export == "export"
        name, _, value = assignment.partition("=")
        env[name] = value
    return _Running(proc, env)


@pytest.fixture
def started() -> Iterator[list[_Running]]:
    running: list[_Running] = []
    yield running
    for emu in running:
        if emu.proc.poll() is None:
            emu.proc.kill()
            emu.proc.wait()


def _client(emu: _Running) -> Any:
    from tests.conftest import sdk_client

    return sdk_client(emu)


def test_prints_environment_then_serves_and_stops_on_signals(tmp_path: Path, started: list[_Running]) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        emu = _start(tmp_path / f"d{signum}")
        started.append(emu)
        assert emu.env["KERNEL_WEDATA_CLOUD_SDK_SECRET_ID"] == SECRET_ID
        assert emu.env["KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY"] == SECRET_KEY
        assert emu.env["WEDATA_WORKSPACE_ID"] == "100000001"
        assert emu.url.startswith("http://127.0.0.1:")
        assert data(_client(emu), "GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"})["SpecInfos"]
        emu.proc.send_signal(signum)
        assert emu.proc.wait(timeout=30) == 0


def test_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow_tcdeploy_plugin.cli",
            "emulator",
            "--host",
            "0.0.0.0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr and "--allow-remote" in result.stderr


def test_state_and_replicas_survive_kill_9(tmp_path: Path, registry: Registry, started: list[_Running]) -> None:
    data_dir = tmp_path / "state"
    emu = _start(data_dir, "--mlflow-tracking-uri", registry.tracking_uri)
    started.append(emu)
    assert emu.env["MLFLOW_TRACKING_URI"] == registry.tracking_uri
    client = _client(emu)
    group = data(
        client,
        "CreateMLModelServices",
        {
            "ServiceName": "durable",
            "Services": [{"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": registry.model_path}}],
        },
    )
    service_id = group["Services"][0]["ServiceId"]
    service = wait_status(client, service_id, {"RUNNING"})
    pod = service["PodInfos"][0]["Name"]
    os.kill(emu.proc.pid, signal.SIGKILL)
    emu.proc.wait()

    emu = _start(data_dir, "--mlflow-tracking-uri", registry.tracking_uri)
    started.append(emu)
    client = _client(emu)
    # The replica kept running while the emulator was gone: it is adopted, not started again.
    service = data(client, "GetMLModelService", {"ServiceId": service_id})
    assert (service["Status"], service["PodInfos"][0]["Name"]) == ("RUNNING", pod)
    raw = data(
        client,
        "ModelServiceInterfaceCallTest",
        {
            "ServiceId": group["ServiceGroupId"],
            "RelativeUrl": "/invocations",
            "CurlData": json.dumps({"inputs": registry.features}),
        },
    )
    assert json.loads(json.loads(raw["CurlResponseRaw"])["body"])["predictions"] == registry.expected
    loads = data(client, "ListMLServiceLogs", {"ServiceId": service_id, "Key": "loading model"})["Content"]
    assert len(loads) == 1
    requests_before = data(client, "ListMLModelServiceGroups", {})["TotalCount"]
    assert requests_before == 1

    emu.proc.send_signal(signal.SIGTERM)
    assert emu.proc.wait(timeout=60) == 0
    pid_alive = Path(f"/proc/{service['PodInfos'][0]['ContainerInfos'][0]['ContainerId'].removeprefix('pid://')}")
    assert not pid_alive.exists() or b"zombie" in (pid_alive / "status").read_bytes().lower()
