"""Trivy's JSON report as findings, with counts per severity, a readable table and a JSON form."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from .requirements import NotScanned, normalize

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class ReportError(Exception):
    """Trivy's output could not be read as a report."""


@dataclass(frozen=True)
class Finding:
    id: str
    package: str
    installed: str
    fixed: str
    """Empty when no fixed version exists."""
    severity: str
    status: str
    title: str
    url: str
    kind: str = ""
    """Trivy's class of the package: ``lang-pkgs`` (Python) or ``os-pkgs`` (the image's distribution)."""
    chain: tuple[str, ...] = ()
    """How the package comes in: the direct requirement (or the serving stack) first, the package last."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        """A finding from the report's JSON (which adds the verdict and its reason)."""
        names = {f.name for f in fields(cls)} - {"chain"}
        return cls(**{k: str(v) for k, v in data.items() if k in names}, chain=tuple(data.get("chain") or ()))

    @property
    def rank(self) -> int:
        return SEVERITIES.index(self.severity) if self.severity in SEVERITIES else 0


@dataclass
class ScanReport:
    findings: list[Finding]
    not_scanned: list[NotScanned]
    trivy_version: str
    db_updated_at: str
    source: str
    """The model file the requirements came from."""
    requirements: str = ""
    """What Trivy scanned: the resolved set, one ``name==version`` a line."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    listed: set[tuple[str, str]] = field(default_factory=set)
    """The (normalised name, version) pairs Trivy read: what was really scanned."""

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in reversed(SEVERITIES)}


def _load(trivy_json: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(trivy_json)
    except ValueError as exc:
        raise ReportError(f"Trivy's output is not JSON: {exc}") from exc
    if not isinstance(data, dict) or ("Results" not in data and "SchemaVersion" not in data):
        raise ReportError("Trivy's output is not a Trivy JSON report (no SchemaVersion or Results).")
    return data


def listed_packages(trivy_json: str | bytes, kind: str = "") -> set[tuple[str, str]]:
    """The (normalised name, version) pairs of a report made with ``--list-all-pkgs``; ``kind``: only results of
    that Trivy type (``python-pkg``, ``pip``, ``debian``…)."""
    found = set()
    for result in _load(trivy_json).get("Results") or []:
        if kind and result.get("Type") != kind:
            continue
        for package in result.get("Packages") or []:
            found.add((normalize(str(package.get("Name", ""))), str(package.get("Version", ""))))
    return found


def parse(trivy_json: str | bytes) -> list[Finding]:
    data = _load(trivy_json)
    findings = []
    for result in data.get("Results") or []:
        for v in result.get("Vulnerabilities") or []:
            findings.append(
                Finding(
                    id=str(v.get("VulnerabilityID", "")),
                    package=str(v.get("PkgName", "")),
                    installed=str(v.get("InstalledVersion", "")),
                    fixed=str(v.get("FixedVersion") or ""),
                    severity=str(v.get("Severity") or "UNKNOWN").upper(),
                    status=str(v.get("Status") or ""),
                    title=str(v.get("Title") or ""),
                    url=str(v.get("PrimaryURL") or next(iter(v.get("References") or []), "")),
                    kind=str(result.get("Class") or ""),
                )
            )
    findings.sort(key=lambda f: (-f.rank, f.package, f.id))
    return findings


def _title(finding: Finding) -> str:
    via = f" [via {' -> '.join(finding.chain)}]" if len(finding.chain) > 1 else ""
    return finding.title[:60] + via


def table(findings: list[Finding]) -> str:
    """A fixed-width table: severity, advisory, package, installed → fixed, title."""
    if not findings:
        return "(no findings)"
    rows = [("SEVERITY", "ADVISORY", "PACKAGE", "INSTALLED -> FIXED", "TITLE / HOW IT COMES IN")]
    rows += [(f.severity, f.id, f.package, f"{f.installed} -> {f.fixed or '(no fix)'}", _title(f)) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows)
