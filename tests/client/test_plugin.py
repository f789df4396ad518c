"""The plugin contract as MLflow sees it: the entry point, one client class, a light import, help, run-local."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

import mlflow_tcdeploy_plugin
from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import Cloud

REPO = Path(__file__).parents[2]


def test_entry_point_names_the_module() -> None:
    (ep,) = [e for e in entry_points(group="mlflow.deployments") if e.name == "tcdeploy"]
    assert ep.value == "mlflow_tcdeploy_plugin"
    assert ep.load() is mlflow_tcdeploy_plugin


def test_get_deploy_client_loads_through_the_plugin_manager(cloud: Cloud) -> None:
    from mlflow.deployments import get_deploy_client

    client = get_deploy_client("tcdeploy")
    assert type(client) is TcDeploymentClient
    assert client.settings.endpoint == cloud.env["TCDEPLOY_EMULATOR_URL"].removeprefix("http://")
    scoped = get_deploy_client("tcdeploy:/ap-shanghai?workspace_id=100000001")
    assert scoped.settings.region == "ap-shanghai"


def test_the_entry_module_imports_nothing_heavy() -> None:
    code = (
        "import json, sys, mlflow.deployments\n"
        "before = set(sys.modules)\n"
        "import mlflow_tcdeploy_plugin\n"
        "entry = sorted(set(sys.modules) - before)\n"
        "mlflow_tcdeploy_plugin.TcDeploymentClient\n"
        "client = sorted(set(sys.modules) - before)\n"
        "print(json.dumps([entry, client]))\n"
    )
    entry, client = json.loads(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    )
    # The client loads when MLflow looks it up; the entry module carries only its version constant with it.
    assert entry == ["mlflow_tcdeploy_plugin", "mlflow_tcdeploy_plugin._version"]
    heavy = [
        m
        for m in client
        if m.split(".")[0] in ("tencentcloud", "docker", "pandas", "numpy", "sklearn", "requests", "yaml")
        or m.startswith("mlflow_tcdeploy_plugin.emulator")
    ]
    assert heavy == [] and "mlflow_tcdeploy_plugin.client" in client
    # What the calls use (the option table, the rules, the backends, the payload codec) loads with the first call.
    deferred = ("options", "lookup", "rules", "results", "predict", "backends.base", "cloud.errors")
    assert [m for m in deferred if f"mlflow_tcdeploy_plugin.{m}" in client] == []


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (("n", "models:/m/1", "sklearn", {}), "Flavor 'sklearn' is not supported"),
        (("n", "models:/iris/one", None, {}), "is not a number or 'latest'"),
        (("n", "models:/m/1", None, {"replicas": 2}), "Option 'replicas' is for create or update, not run_local"),
    ],
)
def test_run_local_refuses_bad_input_before_any_work(args: tuple[Any, ...], mentions: str) -> None:
    with pytest.raises(MlflowException) as exc:
        mlflow_tcdeploy_plugin.run_local(*args)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and mentions in exc.value.message


@pytest.mark.replicas
def test_works_with_mlflow_skinny_alone(tmp_path: Path, cloud: Cloud) -> None:
    """A fresh venv with mlflow-skinny (no pandas, no full MLflow) and the plugin: help, create, list, delete."""
    import mlflow

    venv = tmp_path / "skinny"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"mlflow-skinny=={mlflow.__version__}", str(REPO)], check=True, timeout=900)
    env = {**os.environ, **cloud.env}
    mlflow_cli = str(venv / "bin" / "mlflow")
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.util as u; print(u.find_spec('pandas') is None)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split()[0] == "True"

    def run(*args: str) -> str:
        done = subprocess.run([mlflow_cli, "deployments", *args], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    assert "instance_type" in run("help", "-t", "tcdeploy")
    out = run(
        "create",
        "-t",
        "tcdeploy",
        "--name",
        "skinny",
        "-m",
        f"models:/{cloud.registry.model_name}/1",
        "-C",
        "wait=false",
    )
    service_id = out.strip().split()[-3]
    assert service_id in run("list", "-t", "tcdeploy")
    run("delete-endpoint", "-t", "tcdeploy", "--endpoint", "skinny")
    assert service_id not in run("list", "-t", "tcdeploy")
