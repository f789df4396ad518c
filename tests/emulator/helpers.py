"""Helpers of the emulator tests: a model request, error codes, the emulator as a process."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from mlflow_tcdeploy_plugin.emulator.signing import Credentials
from tests.helpers import SECRET_ID, SECRET_KEY

MODEL = {"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": "models:/m-0123456789abcdef/1"}}
"""One version's members, enough for a service that never needs to run."""


def error_code(client: Any, action: str, params: dict[str, Any]) -> str:
    """The code of the error the emulator answers ``action`` with (the call must fail)."""
    with pytest.raises(TencentCloudSDKException) as err:
        client.call_json(action, params)
    return str(err.value.code)


class RunningEmulator:
    """A `tcdeploy emulator` process and the environment it printed."""

    def __init__(self, proc: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.proc = proc
        self.env = env
        url = env["TCDEPLOY_EMULATOR_URL"]
        self.endpoint = url.removeprefix("http://")
        self.url = url
        self.credentials = Credentials(SECRET_ID, SECRET_KEY)


def start_emulator_process(data_dir: Path, *extra: str) -> RunningEmulator:
    """Run `tcdeploy emulator` as a user does (``extra`` options win, --port included) until it prints its
    environment."""
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
    return RunningEmulator(proc, env)
