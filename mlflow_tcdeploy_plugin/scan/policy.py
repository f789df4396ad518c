"""The gate's policy: which findings block a deployment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .report import SEVERITIES, Finding, ScanReport

MODES = ("auto", "required", "off")


@dataclass(frozen=True)
class Policy:
    mode: str = "auto"
    """``auto``: scan when Trivy is there, warn when not; ``required``: no verdict blocks; ``off``: no scan."""
    fail_on: str = "CRITICAL"
    """The least severity that blocks; ``NONE``: nothing blocks."""
    ignore_unfixed: bool = False
    """Findings with no fixed version do not block."""
    ignore: dict[str, str] = field(default_factory=dict)
    """Advisory IDs that do not block, with a reason each."""

    def describe(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "fail_on": self.fail_on,
            "ignore_unfixed": self.ignore_unfixed,
            "ignore": dict(self.ignore),
        }


@dataclass
class Verdict:
    blocking: list[Finding]
    ignored: list[tuple[Finding, str]]

    @property
    def passed(self) -> bool:
        return not self.blocking


def parse_trivyignore(text: str) -> dict[str, str]:
    """``.trivyignore``: one advisory ID a line, ``# comments`` (a comment on the line is its reason)."""
    ids: dict[str, str] = {}
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        token = line.strip().split()[0] if line.strip() else ""
        if token and not token.startswith("exp:"):
            ids[token] = comment.strip() or "listed in the model's .trivyignore"
    return ids


def parse_ignore(value: object) -> dict[str, str]:
    """``scan_ignore``: a list of IDs, ``"ID: reason"`` strings, or an ``{ID: reason}`` object."""
    if isinstance(value, dict):
        return {str(k): str(v or "ignored by the scan_ignore option") for k, v in value.items()}
    out: dict[str, str] = {}
    for item in value if isinstance(value, list) else [value]:
        ident, _, reason = str(item).partition(":")
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", ident.strip()):
            raise ValueError(f"{item!r} is not an advisory ID (such as CVE-2020-14343 or GHSA-8q59-q68h-6hv4)")
        out[ident.strip()] = reason.strip() or "ignored by the scan_ignore option"
    return out


def evaluate(policy: Policy, report: ScanReport) -> Verdict:
    # NONE (or anything above CRITICAL) blocks nothing: the report is kept, the deployment goes on.
    threshold = SEVERITIES.index(policy.fail_on) if policy.fail_on in SEVERITIES else len(SEVERITIES)
    blocking, ignored = [], []
    for finding in report.findings:
        if finding.id in policy.ignore:
            ignored.append((finding, policy.ignore[finding.id]))
        elif policy.ignore_unfixed and not finding.fixed:
            ignored.append((finding, "no fixed version (scan_ignore_unfixed)"))
        elif finding.rank >= threshold:
            blocking.append(finding)
    return Verdict(blocking, ignored)
