"""The gate report's SARIF, JUnit and CycloneDX forms, each checked against its official schema, offline."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from mlflow_tcdeploy_plugin.scan.formats import cyclonedx, junit, sarif

SCHEMAS = Path(__file__).parent.parent / "fixtures" / "schemas"
SHA_A = "sha256:" + "ab" * 32
SHA_B = "sha256:" + "CD" * 32


def _package(name: str, version: str, chain: list[str], depends_on: list[str], hashes: Sequence[str] = ()) -> dict:
    return {
        "name": name,
        "version": version,
        "direct": len(chain) == 1,
        "chain": chain,
        "depends_on": depends_on,
        "hashes": list(hashes),
    }


def _document() -> dict[str, Any]:
    """A failed gate run: two blocking findings, an ignored and an allowed one, two not-scanned entries, a deny."""
    return {
        "model": "default.default.iris/1",
        "scanned_at": "2026-11-30T13:00:00+00:00",
        "status": "failed",
        "passed": False,
        "policy": {"mode": "required", "fail_on": "CRITICAL", "ignore_unfixed": False, "ignore": {}},
        "target": {"python_version": "3.11", "platform": "linux/amd64"},
        "trivy_version": "0.59.1",
        "db_updated_at": "2026-11-30T12:00:00Z",
        "source": "requirements.txt",
        "plugin_version": "2.0.0.dev0",
        "coverage": {"scanned": 9, "total": 11, "percent": 81.8},
        "packages": [
            _package("joblib", "1.4.2", ["scikit-learn", "joblib"], []),
            _package("mlflow", "2.9.0", ["mlflow"], ["pyyaml", "requests", "Typing_Extensions"]),
            _package("numpy", "2.1.3", ["scikit-learn", "numpy"], []),
            _package("pyyaml", "5.3", ["mlflow", "pyyaml"], []),
            _package("requests", "2.19.0", ["mlflow", "requests"], ["urllib3", "not-installed-extra"]),
            # Two distinct hashes, one repeated, and one form CycloneDX cannot hold.
            _package(
                "scikit-learn",
                "1.9.1",
                ["scikit-learn"],
                ["threadpoolctl", "joblib", "numpy"],
                [SHA_A, SHA_B, SHA_A, "md5:0123"],
            ),
            _package("threadpoolctl", "3.8.0", ["scikit-learn", "threadpoolctl"], [], [SHA_B]),
            _package("Typing_Extensions", "4.12.2", ["mlflow", "Typing_Extensions"], []),
            _package("urllib3", "1.24+local.1", ["mlflow", "requests", "urllib3"], []),
        ],
        "findings": [
            {
                "id": "CVE-2020-14343",
                "package": "pyyaml",
                "installed": "5.3",
                "fixed": "5.4",
                "severity": "CRITICAL",
                "status": "fixed",
                "title": "PyYAML: incomplete fix for CVE-2020-1747",
                "url": "https://avd.aquasec.com/nvd/cve-2020-14343",
                "chain": ["mlflow", "pyyaml"],
                "verdict": "blocking",
                "reason": "CRITICAL is at or above CRITICAL",
            },
            {
                "id": "CVE-2017-18342",
                "package": "pyyaml",
                "installed": "5.3",
                "fixed": "",
                "severity": "CRITICAL",
                "status": "affected",
                # Control and markup characters must not break the XML.
                "title": "PyYAML <load> & \x1b[1mfull_load\x1b[0m",
                "url": "",
                "chain": ["mlflow", "pyyaml"],
                "verdict": "blocking",
                "reason": "CRITICAL is at or above CRITICAL",
            },
            {
                "id": "GHSA-x84v-xcm2-53pg",
                "package": "requests",
                "installed": "2.19.0",
                "fixed": "2.20.0",
                "severity": "HIGH",
                "status": "fixed",
                "title": "Insufficiently Protected Credentials in Requests",
                "url": "https://github.com/advisories/GHSA-x84v-xcm2-53pg",
                "chain": ["mlflow", "requests"],
                "verdict": "ignored",
                "reason": "not used: the model never follows redirects",
            },
            {
                "id": "CVE-2023-43804",
                "package": "urllib3",
                "installed": "1.24+local.1",
                "fixed": "1.26.17",
                "severity": "MEDIUM",
                "status": "fixed",
                "title": "urllib3: Cookie request header isn't stripped during cross-origin redirects",
                "url": "https://avd.aquasec.com/nvd/cve-2023-43804",
                "chain": ["mlflow", "requests", "urllib3"],
                "verdict": "allowed",
                "reason": "MEDIUM is below CRITICAL",
            },
        ],
        "blocking": ["CVE-2020-14343", "CVE-2017-18342"],
        "ignored": {"GHSA-x84v-xcm2-53pg": "not used: the model never follows redirects"},
        "lapsed_ignores": {},
        "not_scanned": [
            {"requirement": "numpy=1.26 (conda)", "reason": "a conda package", "allowed": None},
            {
                "requirement": "tokenizer @ git+https://example.invalid/tok.git",
                "reason": "a VCS requirement",
                "allowed": "vendored and reviewed in SEC-42",
            },
        ],
        "denied": ["model uses a package on the deny list: pyyaml<6"],
        "counts": {"CRITICAL": 2, "HIGH": 1, "MEDIUM": 1, "LOW": 0, "UNKNOWN": 0},
    }


def _old_document() -> dict[str, Any]:
    """An older report: no packages, verdicts, chains, coverage or deny list."""
    return {
        "model": "legacy/3",
        "findings": [
            {"id": "CVE-1", "package": "Foo_Bar", "installed": "1.0", "fixed": "1.1", "severity": "HIGH", "title": "t"},
            {"id": "CVE-2", "package": "foo-bar", "installed": "1.0", "fixed": "", "severity": "LOW", "title": "u"},
        ],
        "blocking": ["CVE-1"],
        "not_scanned": [{"requirement": "bar (conda)", "reason": "a conda package"}],
    }


# --- SARIF ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)  # the schema's own draft (draft-04 for the OASIS errata01 one)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _sarif_errors(validator: jsonschema.protocols.Validator, log: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


@pytest.mark.parametrize("make", [_document, _old_document])
def test_sarif_is_valid(sarif_validator: jsonschema.protocols.Validator, make: Callable[[], dict]) -> None:
    log = sarif(make())
    assert _sarif_errors(sarif_validator, log) == []
    assert json.loads(json.dumps(log)) == log


def test_sarif_schema_check_bites(sarif_validator: jsonschema.protocols.Validator) -> None:
    log = sarif(_document())
    log["runs"][0]["results"][0]["level"] = "fatal"
    log["runs"][0]["results"][1]["suppressions"] = [{"kind": "sometimes"}]
    assert len(_sarif_errors(sarif_validator, log)) == 2


def _results(log: dict, rule: str) -> list[dict]:
    return [r for r in log["runs"][0]["results"] if r["ruleId"] == rule]


def test_sarif_findings() -> None:
    log = sarif(_document())
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (log["version"], driver["name"], driver["version"]) == ("2.1.0", "mlflow-tcdeploy-plugin", "2.0.0.dev0")
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert rules["CVE-2020-14343"]["shortDescription"]["text"] == "PyYAML: incomplete fix for CVE-2020-1747"
    assert rules["CVE-2020-14343"]["helpUri"] == "https://avd.aquasec.com/nvd/cve-2020-14343"
    assert rules["CVE-2020-14343"]["properties"]["security-severity"] == "9.5"
    assert rules["GHSA-x84v-xcm2-53pg"]["properties"] == {
        "severity": "HIGH",
        "security-severity": "8.0",
        "tags": ["security", "vulnerability", "dependency"],
    }
    assert rules["CVE-2023-43804"]["properties"]["security-severity"] == "5.5"
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]

    (blocking,) = _results(log, "CVE-2020-14343")
    assert blocking["level"] == "error"
    assert "suppressions" not in blocking
    assert "mlflow → pyyaml" in blocking["message"]["text"]
    assert "5.3 → 5.4" in blocking["message"]["text"]
    assert blocking["locations"] == [
        {
            "physicalLocation": {"artifactLocation": {"uri": "requirements.txt"}},
            "logicalLocations": [{"name": "pyyaml", "kind": "package"}],
        }
    ]
    (unfixed,) = _results(log, "CVE-2017-18342")
    assert "5.3 → no fixed version" in unfixed["message"]["text"]

    (ignored,) = _results(log, "GHSA-x84v-xcm2-53pg")
    assert ignored["level"] == "note"
    assert ignored["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "not used: the model never follows redirects"}
    ]
    (allowed,) = _results(log, "CVE-2023-43804")
    assert allowed["level"] == "warning"
    assert "suppressions" not in allowed
    assert "mlflow → requests → urllib3" in allowed["message"]["text"]


def test_sarif_not_scanned_deny_and_run_properties() -> None:
    log = sarif(_document())
    conda, vcs = _results(log, "tcdeploy/not-scanned")
    assert (conda["level"], "suppressions" in conda) == ("error", False)
    assert "numpy=1.26 (conda)" in conda["message"]["text"] and "a conda package" in conda["message"]["text"]
    assert vcs["level"] == "note"
    assert vcs["suppressions"][0]["justification"] == "vendored and reviewed in SEC-42"
    (deny,) = _results(log, "tcdeploy/policy-deny")
    assert (deny["level"], deny["message"]["text"]) == ("error", "model uses a package on the deny list: pyyaml<6")
    assert len(log["runs"][0]["results"]) == 4 + 2 + 1

    properties = log["runs"][0]["properties"]
    assert properties["coverage"] == {"scanned": 9, "total": 11, "percent": 81.8}
    assert properties["target"] == {"python_version": "3.11", "platform": "linux/amd64"}
    assert (properties["trivy_version"], properties["db_updated_at"]) == ("0.59.1", "2026-11-30T12:00:00Z")
    assert properties["model"] == "default.default.iris/1"


def test_sarif_old_document_takes_verdicts_from_lists() -> None:
    log = sarif(_old_document())
    assert [r["level"] for r in _results(log, "CVE-1")] == ["error"]
    assert [r["level"] for r in _results(log, "CVE-2")] == ["warning"]
    assert "version" not in log["runs"][0]["tool"]["driver"]
    assert "physicalLocation" not in _results(log, "CVE-1")[0]["locations"][0]


# --- JUnit ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMAS / "junit-10.xsd")


@pytest.mark.parametrize("make", [_document, _old_document])
def test_junit_is_valid(junit_schema: xmlschema.XMLSchema, make: Callable[[], dict]) -> None:
    text = junit(make())
    assert [str(e) for e in junit_schema.iter_errors(text)] == []


def test_junit_schema_check_bites(junit_schema: xmlschema.XMLSchema) -> None:
    suite = ET.fromstring(junit(_document()))
    del suite.attrib["errors"]
    ET.SubElement(suite.find("testcase"), "verdict")
    assert len(list(junit_schema.iter_errors(ET.tostring(suite, encoding="unicode")))) == 2


def _case(suite: ET.Element, name: str) -> ET.Element:
    (case,) = [c for c in suite.iter("testcase") if c.get("name") == name]
    return case


def test_junit_counts_and_failures() -> None:
    document = _document()
    suite = ET.fromstring(junit(document))
    assert suite.get("name") == "tcdeploy dependency gate: default.default.iris/1"
    assert suite.get("timestamp") == "2026-11-30T13:00:00+00:00"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) == len(document["packages"]) + 2 + 1
    not_allowed = [n for n in document["not_scanned"] if not n["allowed"]]
    expected = len(document["blocking"]) + len(not_allowed) + len(document["denied"])
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == expected == 4
    assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped")) == 1
    assert {c.get("classname") for c in cases} == {"default.default.iris/1"}

    pyyaml = _case(suite, "pyyaml==5.3")
    failures = pyyaml.findall("failure")
    assert [f.get("type") for f in failures] == ["CRITICAL", "CRITICAL"]
    assert failures[0].get("message").startswith("CVE-2020-14343")
    assert "mlflow → pyyaml" in failures[0].text and "fixed in 5.4" in failures[0].text
    assert "no fixed version" in failures[1].text
    assert "\x1b" not in failures[1].text and "<load> &" in failures[1].get("message")

    requests = _case(suite, "requests==2.19.0")
    assert requests.find("failure") is None
    assert "GHSA-x84v-xcm2-53pg (HIGH) ignored: not used" in requests.find("system-out").text
    urllib3 = _case(suite, "urllib3==1.24+local.1")
    assert urllib3.find("failure") is None and "CVE-2023-43804 (MEDIUM) allowed" in urllib3.find("system-out").text

    assert _case(suite, "not scanned: numpy=1.26 (conda)").find("failure").get("message") == "a conda package"
    vcs = _case(suite, "not scanned: tokenizer @ git+https://example.invalid/tok.git")
    assert (vcs.find("failure"), vcs.find("skipped").get("message")) == (None, "vendored and reviewed in SEC-42")
    (deny,) = _case(suite, "policy").findall("failure")
    assert deny.get("message") == "model uses a package on the deny list: pyyaml<6"


def test_junit_properties() -> None:
    suite = ET.fromstring(junit(_document()))
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["coverage"] == "9/11 (81.8%)"
    assert properties["trivy_version"] == "0.59.1"
    assert properties["db_updated_at"] == "2026-11-30T12:00:00Z"
    assert (properties["python_version"], properties["platform"]) == ("3.11", "linux/amd64")


def test_junit_old_document_fails_on_findings_of_unlisted_packages() -> None:
    suite = ET.fromstring(junit(_old_document()))
    # Both findings name the same package (two spellings): one testcase holding one failure and one allowed note.
    case = _case(suite, "Foo_Bar==1.0")
    assert [f.get("type") for f in case.findall("failure")] == ["HIGH"]
    assert "CVE-2 (LOW) allowed" in case.find("system-out").text
    assert suite.get("failures") == "2"  # CVE-1 and the not-scanned conda package
    assert _case(suite, "policy").find("failure") is None


# --- CycloneDX -----------------------------------------------------------------------------------------------------


def _cyclonedx_error(bom: dict) -> object:
    return JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom))


@pytest.mark.parametrize("make", [_document, _old_document])
def test_cyclonedx_is_valid(make: Callable[[], dict]) -> None:
    assert _cyclonedx_error(cyclonedx(make())) is None


def test_cyclonedx_schema_check_bites() -> None:
    bom = cyclonedx(_document())
    bom["components"][0]["type"] = "wheel"
    assert _cyclonedx_error(bom) is not None


def _dependencies(bom: dict) -> dict[str, list[str]]:
    return {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}


def test_cyclonedx_components_and_graph() -> None:
    bom = cyclonedx(_document())
    assert (bom["bomFormat"], bom["specVersion"], bom["version"]) == ("CycloneDX", "1.6", 1)
    assert "vulnerabilities" not in bom
    metadata = bom["metadata"]
    assert metadata["timestamp"] == "2026-11-30T13:00:00+00:00"
    assert metadata["component"] == {
        "type": "machine-learning-model",
        "name": "default.default.iris/1",
        "bom-ref": "model",
    }
    (tool,) = metadata["tools"]["components"]
    assert (tool["name"], tool["version"]) == ("mlflow-tcdeploy-plugin", "2.0.0.dev0")

    components = {c["name"]: c for c in bom["components"]}
    assert len(components) == 9
    assert components["Typing_Extensions"]["purl"] == "pkg:pypi/typing-extensions@4.12.2"
    assert components["urllib3"]["purl"] == "pkg:pypi/urllib3@1.24%2Blocal.1"
    assert all(c["bom-ref"] == c["purl"] and c["type"] == "library" for c in components.values())
    for component in components.values():  # the purls parse back to the package (purl's reference parser)
        purl = PackageURL.from_string(component["purl"])
        assert (purl.type, purl.version) == ("pypi", component["version"])
    assert components["scikit-learn"]["hashes"] == [
        {"alg": "SHA-256", "content": "ab" * 32},
        {"alg": "SHA-256", "content": "cd" * 32},
    ]
    assert "hashes" not in components["joblib"]

    graph = _dependencies(bom)
    assert "pkg:pypi/threadpoolctl@3.8.0" in graph["pkg:pypi/scikit-learn@1.9.1"]
    assert graph["pkg:pypi/mlflow@2.9.0"] == [
        "pkg:pypi/pyyaml@5.3",
        "pkg:pypi/requests@2.19.0",
        "pkg:pypi/typing-extensions@4.12.2",
    ]
    # A dependency outside the resolved set is left out rather than dangling.
    assert graph["pkg:pypi/requests@2.19.0"] == ["pkg:pypi/urllib3@1.24%2Blocal.1"]
    assert graph["model"] == ["pkg:pypi/mlflow@2.9.0", "pkg:pypi/scikit-learn@1.9.1"]
    assert set(graph) == {"model"} | {c["bom-ref"] for c in bom["components"]}


def test_cyclonedx_serial_number_is_deterministic() -> None:
    first, second = cyclonedx(_document()), cyclonedx(_document())
    assert first["serialNumber"] == second["serialNumber"]
    assert first["serialNumber"].startswith("urn:uuid:")

    later = _document()
    later["scanned_at"] = "2026-12-01T09:30:00+00:00"
    later["findings"] = []  # findings are not part of the SBOM
    rescanned = cyclonedx(later)
    assert rescanned["serialNumber"] == first["serialNumber"]
    rescanned["metadata"]["timestamp"] = first["metadata"]["timestamp"]
    assert json.dumps(rescanned) == json.dumps(first)

    upgraded = copy.deepcopy(_document())
    upgraded["packages"][3]["version"] = "6.0.2"
    assert cyclonedx(upgraded)["serialNumber"] != first["serialNumber"]
