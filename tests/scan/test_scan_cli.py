"""`tcdeploy scan` as CI scripts run it: exit codes 0 / 1 / 2 and both output formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cloud, GateEnv

pytestmark = pytest.mark.replicas


def _scan(
    cloud: Cloud, gate_env: GateEnv, *args: str, verbose: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlflow_tcdeploy_plugin.cli", *(["-v"] if verbose else []), "scan", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **cloud.env, **gate_env.env, **env},
    )


def test_refused_model_exits_1_with_table_and_json(
    cloud: Cloud, gate_env: GateEnv, gate_models: dict[str, Any]
) -> None:
    uri = f"models:/{gate_models['critical'].model_name}/1"
    table = _scan(cloud, gate_env, uri)
    assert table.returncode == 1, table.stderr
    assert "FAILED" in table.stdout and "CVE-2020-14343" in table.stdout and "5.3 -> 5.4" in table.stdout
    as_json = _scan(cloud, gate_env, uri, "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["status"] == "failed" and document["blocking"] == ["CVE-2020-14343"]
    assert document["findings"][0]["package"] == "pyyaml" and document["findings"][0]["fixed"] == "5.4"
    assert Path(document["report_path"]).exists()
    assert document["cached"] is True  # the second run reused the first one's Trivy report


def test_passing_model_exits_0(cloud: Cloud, gate_env: GateEnv, gate_models: dict[str, Any]) -> None:
    done = _scan(
        cloud,
        gate_env,
        f"models:/{gate_models['critical'].model_name}/1",
        "--ignore",
        "CVE-2020-14343:not reachable",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ignored"] == {"CVE-2020-14343": "not reachable"}
    high = _scan(cloud, gate_env, f"models:/{gate_models['high'].model_name}/1", "--fail-on", "CRITICAL")
    assert high.returncode == 0 and "PASSED" in high.stdout and "CVE-2018-18074" in high.stdout
    assert _scan(cloud, gate_env, f"models:/{gate_models['high'].model_name}/1", "--fail-on", "HIGH").returncode == 1


def test_gate_errors_exit_2(cloud: Cloud, gate_env: GateEnv, gate_models: dict[str, Any], tmp_path: Path) -> None:
    uri = f"models:/{gate_models['clean'].model_name}/1"
    missing = _scan(
        cloud, gate_env, uri, TCDEPLOY_TRIVY_BIN=str(tmp_path / "nope"), TCDEPLOY_SCAN_CACHE_DIR=str(tmp_path / "c1")
    )
    assert missing.returncode == 2 and "not an executable" in missing.stderr
    auto = _scan(
        cloud,
        gate_env,
        uri,
        "--mode",
        "auto",
        TCDEPLOY_TRIVY_BIN=str(tmp_path / "nope"),
        TCDEPLOY_SCAN_CACHE_DIR=str(tmp_path / "c2"),
    )
    assert auto.returncode == 2
    bad_uri = _scan(cloud, gate_env, "models:/nope")
    assert bad_uri.returncode == 2 and "Supported forms" in bad_uri.stderr
    bad_option = _scan(cloud, gate_env, uri, "--fail-on", "SEVERE")
    assert bad_option.returncode == 2 and "scan_fail_on" in bad_option.stderr


def test_verbose_shows_debug_lines(cloud: Cloud, gate_env: GateEnv, gate_models: dict[str, Any]) -> None:
    uri = f"models:/{gate_models['clean'].model_name}/1"
    quiet = _scan(cloud, gate_env, uri)
    verbose = _scan(cloud, gate_env, uri, verbose=True)
    assert quiet.returncode == verbose.returncode == 0, verbose.stderr[-2000:]
    line = "DEBUG mlflow_tcdeploy_plugin.scan.trivy: tcdeploy: running"
    assert line in verbose.stderr and line not in quiet.stderr
