"""The gate's JSON report document in three standard forms: SARIF 2.1.0, JUnit XML and a CycloneDX 1.6 SBOM.

Each function is pure: it reads the report document (the dict the gate writes) and returns the other form, so CI
systems, code-scanning dashboards and SBOM tools can consume a gate run without knowing our format. Older
documents may lack keys; a missing list or mapping counts as empty.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

from .requirements import normalize

TOOL_NAME = "mlflow-tcdeploy-plugin"
TOOL_URI = "https://pypi.org/project/mlflow-tcdeploy-plugin/"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
NOT_SCANNED_RULE = "tcdeploy/not-scanned"
POLICY_DENY_RULE = "tcdeploy/policy-deny"
ARROW = " → "

# GitHub code scanning ranks security results by this numeric string (>= 9.0 critical, >= 7.0 high, ...).
SECURITY_SEVERITY = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0", "UNKNOWN": "0.0"}
LEVELS = {"blocking": "error", "allowed": "warning", "ignored": "note"}
HASH_ALGS = {"sha256": ("SHA-256", 64), "sha384": ("SHA-384", 96), "sha512": ("SHA-512", 128)}
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A fixed namespace so the SBOM serial number depends only on the BOM's content.
_SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, TOOL_URI)


# --- reading the document ------------------------------------------------------------------------------------------


def _findings(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings, each with a verdict (documents without one get it from the blocking and ignored lists)."""
    blocking = set(document.get("blocking") or [])
    ignored = document.get("ignored") or {}
    out = []
    for finding in document.get("findings") or []:
        verdict = finding.get("verdict")
        reason = finding.get("reason", "")
        if verdict not in LEVELS:
            ident = finding.get("id", "")
            verdict = "blocking" if ident in blocking else "ignored" if ident in ignored else "allowed"
            reason = reason or ignored.get(ident, "")
        out.append({**finding, "verdict": verdict, "reason": reason})
    return out


def _not_scanned(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The not-scanned entries as dicts (an older summary form held plain strings)."""
    entries = []
    for entry in document.get("not_scanned") or []:
        if isinstance(entry, str):
            entry = {"requirement": entry, "reason": "", "allowed": None}
        entries.append(entry)
    return entries


def _chain(finding: dict[str, Any]) -> str:
    return ARROW.join(finding.get("chain") or [finding.get("package", "")])


def _fixed(finding: dict[str, Any]) -> str:
    return finding.get("fixed") or "no fixed version"


def _severity(finding: dict[str, Any]) -> str:
    severity = str(finding.get("severity") or "UNKNOWN").upper()
    return severity if severity in SECURITY_SEVERITY else "UNKNOWN"


# --- SARIF ---------------------------------------------------------------------------------------------------------


def sarif(document: dict[str, Any]) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log: one rule per advisory, one result per finding, not-scanned entry and deny."""
    findings = _findings(document)
    rules = [*_advisory_rules(findings), _not_scanned_rule(), _deny_rule()]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [_finding_result(f, document, index) for f in findings]
    results += [_not_scanned_result(n, document, index) for n in _not_scanned(document)]
    results += [_deny_result(message, document, index) for message in document.get("denied") or []]
    driver: dict[str, Any] = {"name": TOOL_NAME, "informationUri": TOOL_URI, "rules": rules}
    if document.get("plugin_version"):
        driver["version"] = str(document["plugin_version"])
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results, "properties": _run_properties(document)}],
    }


def _advisory_rules(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for finding in findings:
        ident = finding.get("id", "")
        if ident in rules:
            continue
        severity = _severity(finding)
        rule: dict[str, Any] = {
            "id": ident,
            "shortDescription": {"text": finding.get("title") or ident},
            "properties": {
                "severity": severity,
                "security-severity": SECURITY_SEVERITY[severity],
                # GitHub shows security-severity only for rules tagged "security".
                "tags": ["security", "vulnerability", "dependency"],
            },
        }
        if finding.get("url"):
            rule["helpUri"] = finding["url"]
        rules[ident] = rule
    return list(rules.values())


def _not_scanned_rule() -> dict[str, Any]:
    return {
        "id": NOT_SCANNED_RULE,
        "shortDescription": {"text": "A requirement the scanner cannot check (not a pinned PyPI package)"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "coverage"]},
    }


def _deny_rule() -> dict[str, Any]:
    return {
        "id": POLICY_DENY_RULE,
        "shortDescription": {"text": "A deny rule of the gate's policy matched"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "policy"]},
    }


def _location(document: dict[str, Any], name: str = "") -> dict[str, Any]:
    location: dict[str, Any] = {}
    if document.get("source"):
        location["physicalLocation"] = {"artifactLocation": {"uri": document["source"]}}
    if name:
        location["logicalLocations"] = [{"name": name, "kind": "package"}]
    return location


def _result(rule: str, index: dict[str, int], level: str, text: str, location: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": rule, "ruleIndex": index[rule], "level": level, "message": {"text": text}}
    if location:
        result["locations"] = [location]
    return result


def _suppressed(result: dict[str, Any], justification: str) -> dict[str, Any]:
    # "external": the suppression lives in the gate's policy, not in the scanned file.
    result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    return result


def _finding_result(finding: dict[str, Any], document: dict[str, Any], index: dict[str, int]) -> dict[str, Any]:
    package, verdict = finding.get("package", ""), finding["verdict"]
    text = (
        f"{package} {finding.get('installed', '')}{ARROW}{_fixed(finding)}: {finding.get('id', '')} "
        f"({_severity(finding)}) {finding.get('title', '')}. Chain: {_chain(finding)}. "
        f"Verdict: {verdict}" + (f" ({finding['reason']})." if finding["reason"] else ".")
    )
    result = _result(finding.get("id", ""), index, LEVELS[verdict], text, _location(document, package))
    result["properties"] = {
        "package": package,
        "installed": finding.get("installed", ""),
        "fixed": finding.get("fixed", ""),
        "chain": finding.get("chain") or [package],
        "verdict": verdict,
    }
    return _suppressed(result, finding["reason"] or "ignored by policy") if verdict == "ignored" else result


def _not_scanned_result(entry: dict[str, Any], document: dict[str, Any], index: dict[str, int]) -> dict[str, Any]:
    requirement, allowed = entry.get("requirement", ""), entry.get("allowed")
    text = f"{requirement} was not scanned" + (f": {entry['reason']}." if entry.get("reason") else ".")
    level = "note" if allowed else "error"
    result = _result(NOT_SCANNED_RULE, index, level, text, _location(document, requirement))
    return _suppressed(result, str(allowed)) if allowed else result


def _deny_result(message: str, document: dict[str, Any], index: dict[str, int]) -> dict[str, Any]:
    return _result(POLICY_DENY_RULE, index, "error", str(message), _location(document))


def _run_properties(document: dict[str, Any]) -> dict[str, Any]:
    keys = ("model", "status", "scanned_at", "coverage", "target", "trivy_version", "db_updated_at", "policy")
    return {key: document[key] for key in keys if key in document}


# --- JUnit ---------------------------------------------------------------------------------------------------------


def junit(document: dict[str, Any]) -> str:
    """The report as JUnit XML: one testcase per package, not-scanned entry, and one for the policy's deny rules."""
    model = str(document.get("model", ""))
    suite = ET.Element("testsuite", name=f"tcdeploy dependency gate: {model}")
    if document.get("scanned_at"):
        suite.set("timestamp", str(document["scanned_at"]))
    _junit_properties(suite, document)
    by_package = _findings_by_package(_findings(document))
    for package in document.get("packages") or []:
        name = normalize(package.get("name", ""))
        _package_case(
            suite, model, f"{package.get('name', '')}=={package.get('version', '')}", by_package.pop(name, [])
        )
    # Findings of packages missing from the package list (older documents) must still fail the suite.
    for findings in by_package.values():
        _package_case(suite, model, f"{findings[0].get('package', '')}=={findings[0].get('installed', '')}", findings)
    for entry in _not_scanned(document):
        _not_scanned_case(suite, model, entry)
    _policy_case(suite, model, document.get("denied") or [])
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(len(case.findall("failure")) for case in cases)))
    suite.set("errors", "0")
    suite.set("skipped", str(sum(1 for case in cases if case.find("skipped") is not None)))
    _clean_tree(suite)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _clean_tree(root: ET.Element) -> None:
    # ElementTree writes control characters as they are, which no XML parser accepts; advisory titles can hold them.
    for element in root.iter():
        element.text = _XML_INVALID.sub("\ufffd", element.text) if element.text else element.text
        for key, value in element.attrib.items():
            element.set(key, _XML_INVALID.sub("\ufffd", value))


def _junit_properties(suite: ET.Element, document: dict[str, Any]) -> None:
    coverage = document.get("coverage") or {}
    target = document.get("target") or {}
    values = {
        "model": document.get("model"),
        "status": document.get("status"),
        "source": document.get("source"),
        "coverage": (
            f"{coverage.get('scanned')}/{coverage.get('total')} ({coverage.get('percent')}%)" if coverage else None
        ),
        "trivy_version": document.get("trivy_version"),
        "db_updated_at": document.get("db_updated_at"),
        "python_version": target.get("python_version"),
        "platform": target.get("platform"),
        "plugin_version": document.get("plugin_version"),
    }
    properties = ET.SubElement(suite, "properties")
    for name, value in values.items():
        if value is not None:
            ET.SubElement(properties, "property", name=name, value=str(value))


def _findings_by_package(findings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        grouped.setdefault(normalize(finding.get("package", "")), []).append(finding)
    return grouped


def _package_case(suite: ET.Element, model: str, name: str, findings: list[dict[str, Any]]) -> None:
    case = ET.SubElement(suite, "testcase", classname=model, name=name)
    notes = []
    for finding in findings:
        if finding["verdict"] == "blocking":
            failure = ET.SubElement(
                case, "failure", message=f"{finding.get('id', '')}: {finding.get('title', '')}", type=_severity(finding)
            )
            fixed = f"fixed in {finding['fixed']}" if finding.get("fixed") else "no fixed version"
            lines = [
                f"{finding.get('id', '')} ({_severity(finding)}): {finding.get('title', '')}",
                f"installed {finding.get('installed', '')}, {fixed}",
                f"chain: {_chain(finding)}",
                finding.get("url", ""),
            ]
            failure.text = "\n".join(line for line in lines if line)
        else:
            reason = f": {finding['reason']}" if finding["reason"] else ""
            notes.append(f"{finding.get('id', '')} ({_severity(finding)}) {finding['verdict']}{reason}")
    if notes:
        ET.SubElement(case, "system-out").text = "\n".join(notes)


def _not_scanned_case(suite: ET.Element, model: str, entry: dict[str, Any]) -> None:
    requirement, reason, allowed = entry.get("requirement", ""), entry.get("reason", ""), entry.get("allowed")
    case = ET.SubElement(suite, "testcase", classname=model, name=f"not scanned: {requirement}")
    if allowed:
        ET.SubElement(case, "skipped", message=str(allowed)).text = f"not scanned ({reason}); allowed: {allowed}"
    else:
        ET.SubElement(
            case, "failure", message=reason or "not scanned", type="not-scanned"
        ).text = f"{requirement} was not scanned: {reason}"


def _policy_case(suite: ET.Element, model: str, denied: list[str]) -> None:
    case = ET.SubElement(suite, "testcase", classname=model, name="policy")
    for message in denied:
        ET.SubElement(case, "failure", message=str(message), type="policy-deny").text = str(message)


# --- CycloneDX -----------------------------------------------------------------------------------------------------


def cyclonedx(document: dict[str, Any]) -> dict[str, Any]:
    """The resolved package set as a CycloneDX 1.6 SBOM (no vulnerabilities: the SARIF and JUnit forms hold those)."""
    packages = _unique_packages(document.get("packages") or [])
    purls = {normalize(p.get("name", "")): _purl(p) for p in packages}
    metadata: dict[str, Any] = {
        "tools": {"components": [_tool_component(document)]},
        "component": {"type": "machine-learning-model", "name": str(document.get("model", "")), "bom-ref": "model"},
    }
    if _target_properties(document):
        metadata["properties"] = _target_properties(document)
    body: dict[str, Any] = {
        "version": 1,
        "metadata": metadata,
        "components": [_component(p) for p in packages],
        "dependencies": [_model_dependency(packages, purls)] + [_dependency(p, purls) for p in packages],
    }
    # Derived from everything but the timestamp: the same resolved set gives the same serial number.
    serial = uuid.uuid5(_SERIAL_NAMESPACE, json.dumps(body, sort_keys=True, separators=(",", ":")))
    if document.get("scanned_at"):
        body["metadata"] = {"timestamp": document["scanned_at"], **metadata}
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": serial.urn, **body}


def _unique_packages(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # bom-refs must be unique within a BOM; a resolved set has one version per name.
    seen: dict[str, dict[str, Any]] = {}
    for package in packages:
        seen.setdefault(normalize(package.get("name", "")), package)
    return list(seen.values())


def _purl(package: dict[str, Any]) -> str:
    name = quote(normalize(package.get("name", "")), safe="-._~")
    return f"pkg:pypi/{name}@{quote(str(package.get('version', '')), safe='-._~')}"


def _tool_component(document: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {"type": "application", "name": TOOL_NAME}
    if document.get("plugin_version"):
        tool["version"] = str(document["plugin_version"])
    tool["externalReferences"] = [{"type": "website", "url": TOOL_URI}]
    return tool


def _target_properties(document: dict[str, Any]) -> list[dict[str, str]]:
    # The resolved set depends on the target interpreter and platform, and on the model file it came from.
    target = document.get("target") or {}
    values = {
        "tcdeploy:python_version": target.get("python_version"),
        "tcdeploy:platform": target.get("platform"),
        "tcdeploy:source": document.get("source"),
    }
    return [{"name": name, "value": str(value)} for name, value in values.items() if value]


def _component(package: dict[str, Any]) -> dict[str, Any]:
    purl = _purl(package)
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": purl,
        "name": package.get("name", ""),
        "version": str(package.get("version", "")),
        "purl": purl,
    }
    hashes = _hashes(package.get("hashes") or [])
    if hashes:
        component["hashes"] = hashes
    return component


def _hashes(values: list[str]) -> list[dict[str, str]]:
    """pip's ``alg:hex`` hashes as CycloneDX hashes; forms CycloneDX cannot hold are left out."""
    out: list[dict[str, str]] = []
    for value in values:
        alg, _, content = str(value).partition(":")
        known = HASH_ALGS.get(alg.lower())
        if not known or len(content) != known[1] or not re.fullmatch(r"[0-9a-fA-F]+", content):
            continue
        entry = {"alg": known[0], "content": content.lower()}
        if entry not in out:
            out.append(entry)
    return out


def _dependency(package: dict[str, Any], purls: dict[str, str]) -> dict[str, Any]:
    depends = sorted({purls[n] for n in map(normalize, package.get("depends_on") or []) if n in purls})
    return {"ref": _purl(package), "dependsOn": depends}


def _model_dependency(packages: list[dict[str, Any]], purls: dict[str, str]) -> dict[str, Any]:
    direct = sorted({purls[normalize(p.get("name", ""))] for p in packages if p.get("direct")})
    return {"ref": "model", "dependsOn": direct}
