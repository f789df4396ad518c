"""Every `mlflow deployments` subcommand with -t tcdeploy, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cloud

pytestmark = pytest.mark.replicas

MLFLOW = [sys.executable, "-m", "mlflow", "deployments"]


def _run(cloud: Cloud, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*MLFLOW, *args, "-t", "tcdeploy"], capture_output=True, text=True, timeout=600, env={**os.environ, **cloud.env}
    )
    if ok:
        assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def cli_deployment(cloud: Cloud) -> str:
    done = _run(
        cloud,
        "create",
        "--name",
        "cli-iris",
        "-m",
        f"models:/{cloud.registry.model_name}/1",
        "-C",
        "instance_type=TI.S.MEDIUM.POST",
        "-C",
        "replicas=1",
        "-C",
        "poll_interval=0.2",
    )
    assert "python_function deployment" in done.stdout and "is created" in done.stdout
    assert "RUNNING" in done.stderr  # the progress lines
    return done.stdout.split("deployment ")[1].split()[0]


def test_help_prints_the_option_reference(cloud: Cloud) -> None:
    done = subprocess.run([*MLFLOW, "help", "-t", "tcdeploy"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0
    for key in ("instance_type", "replicas", "service_action", "wait", "timeout"):
        assert f"  {key} <" in done.stdout


def test_list_and_get(cloud: Cloud, cli_deployment: str) -> None:
    assert cli_deployment in _run(cloud, "list").stdout
    got = _run(cloud, "get", "--name", cli_deployment).stdout
    assert "RUNNING" in got and cli_deployment in got
    assert "RUNNING" in _run(cloud, "get", "--name", "cli-iris").stdout


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]}},
        {"dataframe_records": [{"a": 0.1, "b": -0.2}, {"a": 4.2, "b": 3.9}, {"a": -0.3, "b": 4.1}]},
        {"inputs": [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]},
        {"instances": [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]},
        [{"a": 0.1, "b": -0.2}, {"a": 4.2, "b": 3.9}, {"a": -0.3, "b": 4.1}],
    ],
    ids=["dataframe_split", "dataframe_records", "inputs", "instances", "plain-records"],
)
def test_predict_input_files(cloud: Cloud, cli_deployment: str, tmp_path: Path, payload: Any) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(payload))
    out = tmp_path / "out.json"
    _run(cloud, "predict", "--name", cli_deployment, "--input-path", str(path), "--output-path", str(out))
    assert json.loads(out.read_text())["predictions"] == cloud.registry.expected


def test_predict_by_endpoint_to_stdout(cloud: Cloud, cli_deployment: str, tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"inputs": cloud.registry.features}))
    done = _run(cloud, "predict", "--endpoint", "cli-iris", "--input-path", str(path))
    assert json.loads(done.stdout.strip().splitlines()[-1])["predictions"] == cloud.registry.expected


def test_update_scale(cloud: Cloud, cli_deployment: str) -> None:
    done = _run(
        cloud,
        "update",
        "--name",
        cli_deployment,
        "-C",
        "service_action=SCALE",
        "-C",
        "replicas=2",
        "-C",
        "poll_interval=0.2",
    )
    assert "is updated (with flavor python_function)" in done.stdout
    assert "2/2 replicas ready" in done.stderr


def test_endpoint_commands(cloud: Cloud, cli_deployment: str) -> None:
    assert "cli-iris" in _run(cloud, "list-endpoints").stdout
    _run(cloud, "update-endpoint", "--endpoint", "cli-iris", "-C", "description=from the CLI")
    assert "from the CLI" in _run(cloud, "get-endpoint", "--endpoint", "cli-iris").stdout


def test_bad_option_fails_with_a_hint(cloud: Cloud) -> None:
    done = _run(cloud, "create", "--name", "x", "-m", "models:/a.b.c/1", "-C", "replica=2", ok=False)
    assert done.returncode != 0 and "Did you mean 'replicas'" in done.stderr


def test_run_local_refuses_bad_options_before_any_work(cloud: Cloud) -> None:
    done = _run(cloud, "run-local", "--name", "x", "-m", "models:/a.b.c/1", "-C", "port=0", ok=False)
    assert done.returncode != 0 and "Option 'port' must be from 1 to 65535" in done.stderr


def test_delete_commands(cloud: Cloud, cli_deployment: str) -> None:
    _run(cloud, "delete", "--name", cli_deployment)
    _run(cloud, "delete", "--name", cli_deployment)
    assert cli_deployment not in _run(cloud, "list").stdout
    _run(cloud, "delete-endpoint", "--endpoint", "cli-iris")
    _run(cloud, "delete-endpoint", "--endpoint", "cli-iris")
    assert "cli-iris" not in _run(cloud, "list-endpoints").stdout
