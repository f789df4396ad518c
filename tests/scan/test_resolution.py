"""The gate judges everything the install would bring: requirements resolved (uv, from the tests' local package index)
into the complete pinned set, scanned by the real Trivy with the offline DB, with coverage; what cannot be resolved or
scanned blocks under ``scan=required``; nothing in the model's files chooses the index; a Rego policy can refuse.

The gate is given the model's files directly (``read_files``): what crosses the wire here is uv ↔ the local index and
the gate ↔ trivy, both real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.scan import gate
from mlflow_tcdeploy_plugin.scan.config import gate_config
from tests.helpers import GateEnv, Registry

PYTHON = {"python_env.yaml": "python: 3.11\n"}
TINYDEP_ADVISORY = "GHSA-tiny-dep0-0001"


def _check(gate_env: GateEnv, requirements: str, **options: Any) -> dict[str, Any]:
    config = gate_config(opt.parse({"scan": "required", **options}, opt.CREATE), gate_env.env)
    files = {"requirements.txt": requirements, **PYTHON}
    return gate.check("models:/m-0123456789abcdef", "test-model", config, read_files=lambda _: files)


def _refusal(gate_env: GateEnv, requirements: str, **options: Any) -> MlflowException:
    with pytest.raises(MlflowException) as exc:
        _check(gate_env, requirements, **options)
    return exc.value


def test_a_vulnerable_dependency_of_an_unpinned_requirement_is_refused_with_its_chain(gate_env: GateEnv) -> None:
    refused = _refusal(gate_env, "tinytop==1.0\n")
    assert refused.error_code == "INVALID_PARAMETER_VALUE"
    assert TINYDEP_ADVISORY in refused.message and "tinytop -> tinydep" in refused.message
    summary = refused.summary  # type: ignore[attr-defined]
    assert summary["blocking"] == [TINYDEP_ADVISORY]
    assert summary["coverage"]["percent"] == 100.0
    document = json.loads(Path(summary["report_path"]).read_text())
    (finding,) = document["findings"]
    assert finding["chain"] == ["tinytop", "tinydep"] and finding["verdict"] == "blocking"
    packages = {p["name"]: p for p in document["packages"]}
    assert packages["tinydep"]["version"] == "1.0" and not packages["tinydep"]["direct"]
    assert packages["tinytop"]["direct"] and packages["tinytop"]["depends_on"] == ["tinydep"]
    # The serving stack is part of the install, and judged with it.
    assert packages["mlflow"]["chain"][0] == "(serving stack)" and "gevent" in packages
    assert any(r.startswith("/simple/tinydep") for r in gate_env.index.requests)


def test_a_release_that_pins_the_fix_passes_with_full_coverage_and_every_package_listed(gate_env: GateEnv) -> None:
    summary = _check(gate_env, "tinytop\n")
    assert summary["status"] == "passed" and summary["blocking"] == []
    coverage = summary["coverage"]
    assert coverage == {"scanned": summary["resolved"], "total": summary["resolved"], "percent": 100.0, "allowed": 0}
    lock = Path(summary["lock_path"]).read_text()
    assert "tinydep==1.1 \\\n    --hash=sha256:" in lock
    assert summary["target"] == {"python_version": "3.11", "platform": "linux/amd64"}


def test_an_unresolvable_requirement_is_refused_under_required_and_warned_under_auto(
    gate_env: GateEnv, caplog: pytest.LogCaptureFixture
) -> None:
    refused = _refusal(gate_env, "tinytop\nno-such-package==1.0\n")
    assert refused.error_code == "INVALID_PARAMETER_VALUE"
    assert "no-such-package" in refused.message and "pip_index_url" in refused.message
    assert "Python 3.11 (linux/amd64)" in refused.message
    summary = _check(gate_env, "no-such-package==1.0\n", scan="auto")
    assert summary["status"] == "error" and "no-such-package" in summary["reason"]
    assert "deployed UNSCANNED" in caplog.text


def test_what_cannot_be_scanned_blocks_unless_the_policy_allows_it_until_a_date(gate_env: GateEnv) -> None:
    requirements = "tinydep==1.1\npkg @ https://example.invalid/pkg-1.0-py3-none-any.whl\n"
    refused = _refusal(gate_env, requirements)
    assert "could not be scanned" in refused.message and "installed from a URL" in refused.message
    assert "scan_allow_unscanned" in refused.message
    assert refused.summary["coverage"]["percent"] < 100  # type: ignore[attr-defined]

    by_name = {"pkg": {"reason": "a name does not cover a URL", "expires": "2999-01-01"}}
    assert "installed from a URL" in _refusal(gate_env, requirements, scan_allow_unscanned=json.dumps(by_name)).message
    url = "pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl"
    allow = {url: {"reason": "our own build, scanned upstream", "expires": "2999-01-01"}}
    summary = _check(gate_env, requirements, scan_allow_unscanned=json.dumps(allow))
    coverage = summary["coverage"]
    assert summary["status"] == "passed" and not summary["complete"]
    assert coverage["allowed"] == 1 and coverage["scanned"] == coverage["total"] - 1 and coverage["percent"] < 100
    assert summary["allowed_unscanned"] == {url: "our own build, scanned upstream"}

    expired = {url: {"reason": "was fine", "expires": "2020-01-01"}}
    lapsed = _refusal(gate_env, requirements, scan_allow_unscanned=json.dumps(expired))
    assert "expired on 2020-01-01" in lapsed.message


def test_conda_packages_are_allowed_by_name(gate_env: GateEnv) -> None:
    config = gate_config(
        opt.parse(
            {
                "scan": "required",
                "scan_allow_unscanned": '{"libgomp": {"reason": "OS runtime", "expires": "2999-01-01"}}',
            },
            opt.CREATE,
        ),
        gate_env.env,
    )
    files = {"conda.yaml": "dependencies:\n- python=3.11.4\n- libgomp=14.2\n- pip:\n  - tinytop\n"}
    summary = gate.check("models:/m-0123456789abcdef", "conda-model", config, read_files=lambda _: files)
    assert summary["status"] == "passed" and summary["target"]["python_version"] == "3.11.4"
    assert summary["allowed_unscanned"] == {"libgomp=14.2": "OS runtime"}


def test_a_resolver_that_answers_nothing_is_never_a_pass(gate_env: GateEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TCDEPLOY_UV_BIN", "/bin/true")  # exits 0 and prints nothing
    refused = _refusal(gate_env, "tinytop\n")
    assert "lacks" in refused.message and "tinytop" in refused.message


def test_an_index_option_in_the_model_files_changes_nothing_and_blocks(gate_env: GateEnv, tmp_path: Path) -> None:
    from tests.fixtures.package_index import Dist, PackageIndex

    with PackageIndex(tmp_path / "elsewhere", [Dist("tinytop", "1.0")]) as elsewhere:
        refused = _refusal(gate_env, f"--index-url {elsewhere.url}\ntinytop\n")
        assert elsewhere.requests == []
    assert "a model does not choose where packages come from" in refused.message


@pytest.mark.parametrize(
    "hostile",
    ["tinytop; touch /tmp/tcdeploy-pwned", "$(touch /tmp/tcdeploy-pwned)", "-e /tmp", "tinytop`touch x`"],
)
def test_hostile_lines_are_refused_and_never_run(gate_env: GateEnv, hostile: str) -> None:
    refused = _refusal(gate_env, f"tinydep==1.1\n{hostile}\n")
    assert hostile in refused.message and not Path("/tmp/tcdeploy-pwned").exists()


def test_a_warm_gate_resolves_and_scans_nothing(gate_env: GateEnv) -> None:
    first = _check(gate_env, "tinytop\n")
    fs_scans = sum(r.startswith("fs ") for r in gate_env.trivy_runs())
    served = len(gate_env.index.requests)
    second = _check(gate_env, "tinytop\n")
    assert not first["cached"] and second["cached"] and second["resolution_cached"]
    assert sum(r.startswith("fs ") for r in gate_env.trivy_runs()) == fs_scans
    assert len(gate_env.index.requests) == served
    assert second["lock_sha256"] == first["lock_sha256"]


def test_a_rego_policy_refuses_with_its_messages_and_a_broken_one_is_never_a_pass(
    gate_env: GateEnv, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.rego"
    policy.write_text(
        "package tcdeploy\nimport rego.v1\n\n"
        'deny contains msg if {\n  some p in input.packages\n  p.name == "tinytop"\n'
        '  msg := concat("", ["tinytop is not allowed here (", p.version, ")"])\n}\n'
    )
    refused = _refusal(gate_env, "tinytop\n", scan_policy=str(policy))
    assert "tinytop is not allowed here (2.0)" in refused.message
    assert refused.summary["denied"] == ["tinytop is not allowed here (2.0)"]  # type: ignore[attr-defined]
    assert _check(gate_env, "tinydep==1.1\n", scan_policy=str(policy))["status"] == "passed"

    policy.write_text("package tcdeploy\nimport rego.v1\ndeny contains msg if {\n")
    for mode in ("required", "auto"):
        broken = _refusal(gate_env, "tinydep==1.1\n", scan=mode, scan_policy=str(policy))
        assert broken.error_code == "INVALID_PARAMETER_VALUE" and "policy.rego" in broken.message


def test_the_cli_writes_sarif_junit_and_an_sbom(gate_env: GateEnv, registry: Registry) -> None:
    """``tcdeploy scan`` on a registered model that names the top package only (validity against the schemas is in
    test_formats; here: the CLI's outputs say what the gate decided)."""
    import mlflow

    with mlflow.start_run():
        mlflow.pyfunc.log_model(
            name="model",
            python_model=mlflow.pyfunc.PythonModel(),
            pip_requirements=["tinytop==1.0"],
            registered_model_name="tinytop_model",
        )
    uri = "models:/tinytop_model/1"

    def scan(fmt: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlflow_tcdeploy_plugin.cli", "scan", uri, "--format", fmt],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **gate_env.env},
        )

    sarif = scan("sarif")
    assert sarif.returncode == 1, sarif.stderr
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results if r["level"] == "error"] == [TINYDEP_ADVISORY]
    junit = scan("junit")
    assert junit.returncode == 1
    suite = ET.fromstring(junit.stdout)
    assert int(suite.get("failures", "0")) == 1
    sbom = json.loads(scan("cyclonedx").stdout)
    purls = {c["purl"] for c in sbom["components"]}
    assert "pkg:pypi/tinydep@1.0" in purls and "pkg:pypi/tinytop@1.0" in purls
    table = scan("table")
    assert "coverage:" in table.stdout and "100%" in table.stdout and "tinytop -> tinydep" in table.stdout
    tags = mlflow.MlflowClient().get_model_version("tinytop_model", "1").tags
    assert tags["tcdeploy.scan.status"] == "failed" and tags["tcdeploy.scan.coverage"].endswith("(100%)")
    assert Path(tags["tcdeploy.scan.sbom_path"]).is_file() and len(tags["tcdeploy.scan.sbom_sha256"]) == 64
