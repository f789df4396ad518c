"""``tcdeploy emulator`` as a user runs it: a foreground process, its printed environment, signals, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.helpers import RunningEmulator, start_emulator_process
from tests.helpers import SECRET_ID, SECRET_KEY, Registry, data, wait_status

pytestmark = pytest.mark.replicas


@pytest.fixture
def started() -> Iterator[list[RunningEmulator]]:
    running: list[RunningEmulator] = []
    yield running
    for emu in running:
        if emu.proc.poll() is None:
            emu.proc.kill()
            emu.proc.wait()


def _client(emu: RunningEmulator) -> Any:
    from tests.helpers import sdk_client

    return sdk_client(emu)


def test_prints_environment_then_serves_and_stops_on_signals(tmp_path: Path, started: list[RunningEmulator]) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        emu = start_emulator_process(tmp_path / f"d{signum}")
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


def test_state_and_replicas_survive_kill_9(tmp_path: Path, registry: Registry, started: list[RunningEmulator]) -> None:
    data_dir = tmp_path / "state"
    emu = start_emulator_process(data_dir, "--mlflow-tracking-uri", registry.tracking_uri)
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

    emu = start_emulator_process(data_dir, "--mlflow-tracking-uri", registry.tracking_uri)
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
