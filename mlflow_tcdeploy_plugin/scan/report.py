"""Trivy's JSON report as findings, with counts per severity, a readable table and a JSON form."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .requirements import NotScanned

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
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in reversed(SEVERITIES)}

    def to_json(self) -> dict[str, Any]:
        return {
            "trivy_version": self.trivy_version,
            "db_updated_at": self.db_updated_at,
            "source": self.source,
            "requirements": self.requirements,
            "counts": self.counts(),
            "findings": [asdict(f) for f in self.findings],
            "not_scanned": [asdict(n) for n in self.not_scanned],
            "trivy": self.raw,
        }


def parse(trivy_json: str | bytes) -> list[Finding]:
    try:
        data = json.loads(trivy_json)
    except ValueError as exc:
        raise ReportError(f"Trivy's output is not JSON: {exc}") from exc
    if not isinstance(data, dict) or ("Results" not in data and "SchemaVersion" not in data):
        raise ReportError("Trivy's output is not a Trivy JSON report (no SchemaVersion or Results).")
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
                )
            )
    findings.sort(key=lambda f: (-f.rank, f.package, f.id))
    return findings


def table(findings: list[Finding]) -> str:
    """A fixed-width table: severity, advisory, package, installed → fixed, title."""
    if not findings:
        return "(no findings)"
    rows = [("SEVERITY", "ADVISORY", "PACKAGE", "INSTALLED -> FIXED", "TITLE")]
    rows += [(f.severity, f.id, f.package, f"{f.installed} -> {f.fixed or '(no fix)'}", f.title[:60]) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows)
