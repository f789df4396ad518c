"""The gate end to end: the real trivy with an offline DB, the client, the emulator; nothing is written when the
gate refuses (checked in the emulator's request log)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.fixtures.trivy_db import updated_at
from tests.helpers import Cloud, GateEnv

pytestmark = pytest.mark.replicas

WRITES = {"CreateMLModelServices", "UpdateMLModelService"}
NO_WAIT = {"wait": "false"}


def _uri(models: dict[str, Any], key: str) -> str:
    return f"models:/{models[key].model_name}/1"


def _writes(cloud: Cloud) -> list[str]:
    return [a for a in cloud.actions() if a in WRITES]


def test_critical_package_is_refused_before_any_write(
    cloud: Cloud, client: TcDeploymentClient, gate_env: GateEnv, gate_models: dict[str, Any]
) -> None:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("vuln", _uri(gate_models, "critical"), config=NO_WAIT)
    message = exc.value.message
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "CVE-2020-14343" in message and "pyyaml" in message and "5.3 -> 5.4" in message
    report = Path(message.rsplit("Full report: ", 1)[1].strip())
    assert json.loads(report.read_text())["blocking"] == ["CVE-2020-14343"]
    assert _writes(cloud) == []
    versions = MlflowClient().get_model_version(gate_models["critical"].model_name, "1")
    assert versions.tags["tcdeploy.scan.status"] == "failed"
    assert json.loads(versions.tags["tcdeploy.scan.counts"])["CRITICAL"] == 1


def test_a_refusal_is_a_failed_release_with_the_gates_evidence(
    client: TcDeploymentClient, gate_env: GateEnv, gate_models: dict[str, Any]
) -> None:
    from mlflow_tcdeploy_plugin.releases import history

    with pytest.raises(MlflowException):
        client.create_deployment("vuln-release", _uri(gate_models, "critical"), config=NO_WAIT)
    failed = history.list_releases("tcdeploy-releases", gate_models["critical"].model_name, "failed")
    release = history.show(failed[0]["id"])
    assert release["stage"] == "gate" and "CVE-2020-14343" in release["reason"]
    assert [(s["stage"], s["status"]) for s in release["stages"]] == [("resolve", "succeeded"), ("gate", "failed")]
    assert release["gate_status"] == "failed" and release["gate_coverage"]
    names = [Path(a).name for a in release["artifacts"]]
    assert any(n.endswith(".cdx.json") for n in names) and any(n.endswith(".lock.txt") for n in names), names


@pytest.mark.parametrize(
    "config",
    [
        {"scan_fail_on": "NONE"},
        {"scan_ignore": "CVE-2020-14343"},
        {"scan_ignore": '{"CVE-2020-14343": "not used"}'},
        {"scan": "off"},
    ],
    ids=["fail_on-above", "ignored-id", "ignored-with-reason", "scan-off"],
)
def test_the_same_model_passes_when_the_policy_allows(
    request: pytest.FixtureRequest,
    cloud: Cloud,
    client: TcDeploymentClient,
    gate_env: GateEnv,
    gate_models: dict[str, Any],
    config: dict[str, str],
) -> None:
    created = client.create_deployment(
        f"allowed-{request.node.callspec.id}",
        _uri(gate_models, "critical"),
        config={**NO_WAIT, **config},
    )
    scan = created["scan"]
    if config.get("scan") == "off":
        assert scan["status"] == "off" and gate_env.trivy_runs() == []
    else:
        assert scan["status"] == "passed" and scan["counts"]["CRITICAL"] == 1
        if "scan_ignore" in config:
            assert "CVE-2020-14343" in scan["ignored"]
    client.delete_endpoint(created["service_group_id"])


def test_severity_threshold(
    cloud: Cloud, client: TcDeploymentClient, gate_env: GateEnv, gate_models: dict[str, Any]
) -> None:
    passed = client.create_deployment("high-ok", _uri(gate_models, "high"), config=NO_WAIT)
    assert passed["scan"]["counts"]["HIGH"] == 1 and passed["scan"]["status"] == "passed"
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException, match="CVE-2018-18074"):
        client.update_deployment(
            passed["name"], model_uri=_uri(gate_models, "high"), config={**NO_WAIT, "scan_fail_on": "high"}
        )
    assert _writes(cloud) == []
    client.delete_endpoint("high-ok")


def test_clean_model_carries_its_summary_and_tags_and_is_scanned_once(
    cloud: Cloud, client: TcDeploymentClient, gate_env: GateEnv, gate_models: dict[str, Any]
) -> None:
    uri = _uri(gate_models, "clean")
    first = client.create_deployment("clean", uri, config=NO_WAIT)
    scan = first["scan"]
    assert scan["status"] == "passed" and sum(scan["counts"].values()) == 0 and not scan["cached"]
    assert scan["trivy_version"] == "0.59.1" and scan["db_updated_at"] == updated_at(gate_env.trivy_cache)
    assert Path(scan["report_path"]).parent == gate_env.report_dir
    runs = gate_env.trivy_runs()
    assert [r.split()[0] for r in runs] == ["version", "fs"]
    assert all(f"--cache-dir {gate_env.trivy_cache}" in r for r in runs)  # the DB date is the scanned DB's
    tags = MlflowClient().get_model_version(gate_models["clean"].model_name, "1").tags
    assert tags["tcdeploy.scan.status"] == "passed" and tags["tcdeploy.scan.trivy_version"] == "0.59.1"
    assert tags["tcdeploy.scan.report_sha256"] == scan["report_sha256"]
    assert scan["coverage"]["percent"] == 100.0 and scan["coverage"]["scanned"] == scan["resolved"]
    assert tags["tcdeploy.scan.coverage"] == f"{scan['resolved']}/{scan['resolved']} (100%)"
    assert tags["tcdeploy.scan.sbom_sha256"] == scan["sbom_sha256"] and Path(scan["sbom_path"]).is_file()

    second = client.create_deployment("ignored", uri, config=NO_WAIT, endpoint="clean")
    assert second["scan"]["cached"] and second["scan"]["status"] == "passed"
    # No second scan: Trivy is only asked which DB it has (a new DB date would be a new cache key).
    assert [r.split()[0] for r in gate_env.trivy_runs()] == ["version", "fs", "version"]
    client.delete_endpoint("clean")


FAKES = {
    "crashing": "import sys; sys.stderr.write('trivy: fatal error: boom\\n'); sys.exit(3)",
    "hanging": "import time; time.sleep(60)",
    "invalid-json": "import sys; print('{\"Version\": \"0.59.1\"}' if sys.argv[1] == 'version' else 'garbage {')",
}


def _fake(tmp_path: Path, kind: str) -> str:
    import sys

    path = tmp_path / f"trivy-{kind}"
    path.write_text(f"#!{sys.executable}\n{FAKES[kind]}\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("kind", ["missing", *FAKES])
def test_fail_closed(
    cloud: Cloud,
    client: TcDeploymentClient,
    gate_env: GateEnv,
    gate_models: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    binary = str(tmp_path / "no-trivy-here") if kind == "missing" else _fake(tmp_path, kind)
    monkeypatch.setenv("TCDEPLOY_TRIVY_BIN", binary)
    monkeypatch.setenv("TCDEPLOY_SCAN_CACHE_DIR", str(tmp_path / "fresh-cache"))
    uri = _uri(gate_models, "clean")
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        client.create_deployment("closed", uri, config={**NO_WAIT, "scan": "required", "scan_timeout": "2"})
    assert exc.value.error_code == "INTERNAL_ERROR" and "scan=required" in exc.value.message
    expected = {"missing": "not an executable", "crashing": "boom", "hanging": "timed out", "invalid-json": "not JSON"}[
        kind
    ]
    assert expected in exc.value.message
    assert _writes(cloud) == []

    warnings: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())

    handler = Keep(level=logging.WARNING)
    logging.getLogger("mlflow_tcdeploy_plugin").addHandler(handler)
    try:
        created = client.create_deployment("auto-warns", uri, config={**NO_WAIT, "scan_timeout": "2"})
    finally:
        logging.getLogger("mlflow_tcdeploy_plugin").removeHandler(handler)
    assert created["scan"]["status"] == "error" and expected in created["scan"]["reason"]
    assert any("UNSCANNED" in w for w in warnings)
    client.delete_endpoint("auto-warns")
