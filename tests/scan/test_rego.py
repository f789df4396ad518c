"""Rego policies over the gate's report document (pure: regopy only, no emulator, Trivy or Docker)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.scan.rego import RegoPolicyError, deny_messages

DOCUMENT: dict[str, Any] = {
    "model": "default.default.iris/1",
    "status": "passed",
    "target": {"python_version": "3.11", "platform": "linux/amd64"},
    "coverage": {"scanned": 3, "total": 3, "percent": 100.0},
    "packages": [
        {
            "name": "scikit-learn",
            "version": "1.9.1",
            "direct": True,
            "chain": ["scikit-learn"],
            "depends_on": ["threadpoolctl"],
            "hashes": [],
        }
    ],
    "findings": [
        {
            "id": "CVE-2020-14343",
            "package": "pyyaml",
            "installed": "5.3",
            "fixed": "5.4",
            "severity": "CRITICAL",
            "chain": ["mlflow", "pyyaml"],
            "verdict": "blocking",
        }
    ],
    "not_scanned": [{"requirement": "numpy=1.26", "reason": "a conda package", "allowed": None}],
    "counts": {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0},
}

NO_LEFTPAD = """\
package platform.gate

import rego.v1

deny contains msg if {
    some p in input.packages
    p.name == "leftpad"
    msg := sprintf("%s %s is banned (pulled in by %s)", [p.name, p.version, p.chain[0]])
}
"""

FULL_COVERAGE = """\
package coverage
import rego.v1
deny contains msg if {
    input.coverage.percent < 100
    msg := sprintf("only %v%% of the requirements were scanned", [input.coverage.percent])
}
"""


def _policy(tmp_path: Path, text: str, name: str = "policy.rego") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _with_leftpad() -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    document["packages"].append(
        {
            "name": "leftpad",
            "version": "0.0.3",
            "direct": False,
            "chain": ["scikit-learn", "leftpad"],
            "depends_on": [],
            "hashes": [],
        }
    )
    return document


def test_a_banned_package_is_denied_with_the_policy_message(tmp_path: Path) -> None:
    policy = _policy(tmp_path, NO_LEFTPAD)
    assert deny_messages(policy, _with_leftpad()) == ["leftpad 0.0.3 is banned (pulled in by scikit-learn)"]


def test_a_document_without_the_banned_package_is_allowed(tmp_path: Path) -> None:
    assert deny_messages(str(_policy(tmp_path, NO_LEFTPAD)), DOCUMENT) == []


def test_coverage_below_100_is_denied_and_full_coverage_allowed(tmp_path: Path) -> None:
    policy = _policy(tmp_path, FULL_COVERAGE)
    partial = copy.deepcopy(DOCUMENT)
    partial["coverage"] = {"scanned": 2, "total": 3, "percent": 66.7}
    assert deny_messages(policy, partial) == ["only 66.7% of the requirements were scanned"]
    assert deny_messages(policy, DOCUMENT) == []


def test_messages_are_sorted_across_rules(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        """\
package gate
import rego.v1
deny contains msg if {
    some f in input.findings
    f.verdict == "blocking"
    msg := sprintf("%s in %s", [f.id, f.package])
}
deny contains "always refused" if { input.counts.CRITICAL > 0 }
""",
    )
    assert deny_messages(policy, DOCUMENT) == ["CVE-2020-14343 in pyyaml", "always refused"]


def test_strings_with_quotes_and_non_ascii_reach_the_policy_and_come_back_intact(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        """\
package gate
import rego.v1
deny contains msg if {
    some p in input.packages
    p.name == "say\\"hi\\\\"
    msg := sprintf("%s in %s (%d characters)", [p.name, input.model, count(input.model)])
}
""",
    )
    document = copy.deepcopy(DOCUMENT)
    document["model"] = "modèle"
    document["packages"][0]["name"] = 'say"hi\\'
    assert deny_messages(policy, document) == ['say"hi\\ in modèle (6 characters)']


def test_a_message_rego_cpp_renders_corrupt_is_an_error_that_says_how_to_avoid_it(tmp_path: Path) -> None:
    # rego-cpp 1.5 embeds concat's result with unescaped quotes when sprintf("%s") formats it.
    body = 'some f in input.findings; msg := sprintf("via %s", [concat(" > ", f.chain)])'
    policy = _policy(tmp_path, f"package gate\nimport rego.v1\ndeny contains msg if {{ {body} }}\n")
    with pytest.raises(RegoPolicyError, match="cannot render as JSON") as caught:
        deny_messages(policy, DOCUMENT)
    assert "build that message with concat instead" in str(caught.value)
    # The suggested form works.
    body = 'some f in input.findings; msg := concat("", ["via ", concat(" > ", f.chain)])'
    policy = _policy(tmp_path, f"package gate\nimport rego.v1\ndeny contains msg if {{ {body} }}\n")
    assert deny_messages(policy, DOCUMENT) == ["via mlflow > pyyaml"]


def test_a_syntax_error_names_the_file_and_line_and_prints_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(tmp_path, "package gate\nimport rego.v1\ndeny contains msg if { msg := \n", name="broken.rego")
    with pytest.raises(RegoPolicyError, match="does not compile") as caught:
        deny_messages(policy, DOCUMENT)
    assert f"{policy}:3:" in str(caught.value)
    # rego-cpp prints parse errors to stdout at its default log level, which would corrupt the CLI's JSON output.
    assert capfd.readouterr() == ("", "")


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RegoPolicyError, match=r"missing\.rego cannot be read"):
        deny_messages(tmp_path / "missing.rego", DOCUMENT)


def test_a_policy_without_a_package_line_is_an_error(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'import rego.v1\ndeny contains "no" if { true }\n')
    with pytest.raises(RegoPolicyError, match="no `package` line"):
        deny_messages(policy, DOCUMENT)


def test_a_policy_without_a_deny_rule_is_an_error(tmp_path: Path) -> None:
    policy = _policy(tmp_path, "package gate\nimport rego.v1\nallow := true\n")
    with pytest.raises(RegoPolicyError, match="defines no `deny` rule"):
        deny_messages(policy, DOCUMENT)


@pytest.mark.parametrize(
    ("rule", "shown"),
    [
        ("deny contains n if { n := count(input.findings) }", "[1]"),
        ('deny := ["an array, not a set"]', '["an array, not a set"]'),
        ("deny if { input.counts.CRITICAL > 0 }", "true"),
    ],
)
def test_a_deny_that_is_not_a_set_of_strings_is_an_error(tmp_path: Path, rule: str, shown: str) -> None:
    policy = _policy(tmp_path, f"package gate\nimport rego.v1\n{rule}\n")
    with pytest.raises(RegoPolicyError, match="must be a set of strings") as caught:
        deny_messages(policy, DOCUMENT)
    assert f"got {shown}" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('msg := sprintf("%v", [1 / (input.counts.HIGH)])', "divide by zero"),
        ("msg := no_such_function(input.model)", "no_such_function"),
    ],
)
def test_an_evaluation_error_fails_closed(tmp_path: Path, body: str, reason: str) -> None:
    policy = _policy(tmp_path, f"package gate\nimport rego.v1\ndeny contains msg if {{ {body} }}\n")
    with pytest.raises(RegoPolicyError, match="failed to evaluate") as caught:
        deny_messages(policy, DOCUMENT)
    assert reason in str(caught.value)
    assert str(policy) in str(caught.value)


def test_without_regopy_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "regopy", None)  # makes `import regopy` raise ImportError
    with pytest.raises(RegoPolicyError, match=r"pip install 'mlflow-tcdeploy-plugin\[rego\]'"):
        deny_messages(_policy(tmp_path, NO_LEFTPAD), DOCUMENT)
