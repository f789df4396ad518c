"""The gate's policy: which findings block a deployment, and which accepted risks still apply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from .report import SEVERITIES, Finding, ScanReport
from .requirements import normalize

MODES = ("auto", "required", "off")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FROM_OPTION = "ignored by the scan_ignore option"
FROM_FILE = "listed in the model's .trivyignore"


@dataclass(frozen=True)
class Ignore:
    """An accepted advisory: why, and until when (as Trivy's ``exp:``, it stops applying on that date)."""

    reason: str
    expires: date | None = None
    problem: str = ""
    """Why the entry cannot apply at all (a malformed ``exp:``); such an entry never ignores anything."""

    def lapsed(self, today: date) -> str:
        """Why this ignore does not apply today, or ``""`` when it does."""
        if self.problem:
            return self.problem
        if self.expires is not None and today >= self.expires:
            return f"the ignore expired on {self.expires.isoformat()}"
        return ""

    def describe(self) -> dict[str, str | None]:
        return {"reason": self.reason, "expires": self.expires.isoformat() if self.expires else None}


@dataclass(frozen=True)
class Policy:
    mode: str = "auto"
    """``auto``: scan when Trivy is there, warn when not; ``required``: no verdict blocks; ``off``: no scan."""
    fail_on: str = "CRITICAL"
    """The least severity that blocks; ``NONE``: nothing blocks."""
    ignore_unfixed: bool = False
    """Findings with no fixed version do not block."""
    ignore: dict[str, Ignore] = field(default_factory=dict)
    """Advisory IDs that do not block while their ignore applies."""
    max_db_age_days: float = 7.0
    """An older vulnerability DB gives no verdict under ``required`` (a warning under ``auto``)."""
    allow_unscanned: dict[str, Ignore] = field(default_factory=dict)
    """Requirements (their text or package name) that may go out unscanned under ``required``, with why and until
    when; anything else the gate cannot scan blocks."""
    os_fail_on: str = "CRITICAL"
    """The least severity of a fixed advisory in the image's OS packages that blocks (unfixed ones never do)."""
    rego: str = ""
    """A ``.rego`` file whose ``deny`` messages refuse the model, besides the built-in rules."""

    def describe(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "fail_on": self.fail_on,
            "ignore_unfixed": self.ignore_unfixed,
            "ignore": {ident: entry.describe() for ident, entry in self.ignore.items()},
            "max_db_age_days": self.max_db_age_days,
            "allow_unscanned": {name: entry.describe() for name, entry in self.allow_unscanned.items()},
            "os_fail_on": self.os_fail_on,
            "rego": self.rego,
        }

    def allowed_unscanned(self, requirement: str, name: str, today: date) -> tuple[str | None, str]:
        """``(reason, "")`` when the policy lets ``requirement`` go out unscanned today, else ``(None, why not)``."""
        by_name = {normalize(key): entry for key, entry in self.allow_unscanned.items()}
        entry = self.allow_unscanned.get(requirement) or (by_name.get(name) if name else None)
        if entry is None:
            return None, ""
        lapsed = entry.lapsed(today)
        return (None, lapsed) if lapsed else (entry.reason, "")


@dataclass
class Verdict:
    blocking: list[Finding]
    ignored: list[tuple[Finding, str]]
    lapsed: list[tuple[Finding, str]] = field(default_factory=list)
    """Findings whose ignore did not apply (expired, malformed), and why; they were judged like any other."""

    @property
    def passed(self) -> bool:
        return not self.blocking


def _date(text: str) -> date:
    if not _DATE_RE.match(text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    return date.fromisoformat(text)


def parse_trivyignore(text: str) -> dict[str, Ignore]:
    """``.trivyignore``: one advisory ID a line, optionally ``exp:YYYY-MM-DD``; a ``# comment`` is its reason."""
    ids: dict[str, Ignore] = {}
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        tokens = line.split()
        if not tokens or tokens[0].startswith("exp:"):
            continue
        reason = comment.strip() or FROM_FILE
        expiry = next((t.removeprefix("exp:") for t in tokens[1:] if t.startswith("exp:")), None)
        try:
            ids[tokens[0]] = Ignore(reason, _date(expiry) if expiry is not None else None)
        except ValueError:
            ids[tokens[0]] = Ignore(reason, problem=f".trivyignore's exp:{expiry} is not a date (YYYY-MM-DD)")
    return ids


def parse_ignore(value: object) -> dict[str, Ignore]:
    """``scan_ignore``: IDs or ``"ID: reason"`` strings in a list, or ``{ID: reason}`` /
    ``{ID: {"reason": …, "expires": "YYYY-MM-DD"}}``. Raises ``ValueError`` saying what is wrong."""
    out: dict[str, Ignore] = {}
    if isinstance(value, dict):
        for ident, spec in value.items():
            if not _ID_RE.match(str(ident)):
                raise ValueError(f"{ident!r} is not an advisory ID (such as CVE-2020-14343 or GHSA-8q59-q68h-6hv4)")
            if isinstance(spec, dict):
                unknown = set(spec) - {"reason", "expires"}
                if unknown:
                    raise ValueError(
                        f"{ident}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; use reason, expires"
                    )
                expires = spec.get("expires")
                out[str(ident)] = Ignore(
                    str(spec.get("reason") or FROM_OPTION), _date(str(expires)) if expires is not None else None
                )
            else:
                out[str(ident)] = Ignore(str(spec or FROM_OPTION))
        return out
    for item in value if isinstance(value, list) else [value]:
        ident, _, reason = str(item).partition(":")
        if not _ID_RE.match(ident.strip()):
            raise ValueError(f"{item!r} is not an advisory ID (such as CVE-2020-14343 or GHSA-8q59-q68h-6hv4)")
        out[ident.strip()] = Ignore(reason.strip() or FROM_OPTION)
    return out


def _threshold(severity: str) -> int:
    # NONE (or anything above CRITICAL) blocks nothing: the report is kept, the deployment goes on.
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def evaluate(policy: Policy, report: ScanReport, today: date) -> Verdict:
    threshold, os_threshold = _threshold(policy.fail_on), _threshold(policy.os_fail_on)
    verdict = Verdict([], [])
    for finding in report.findings:
        entry = policy.ignore.get(finding.id)
        why_not = entry.lapsed(today) if entry is not None else ""
        if entry is not None and not why_not:
            verdict.ignored.append((finding, entry.reason))
            continue
        if why_not:
            verdict.lapsed.append((finding, why_not))
        if finding.kind == "os-pkgs":
            # The base image's distribution: judged apart, and an advisory it has not fixed is not the model's to fix.
            if finding.fixed and finding.rank >= os_threshold:
                verdict.blocking.append(finding)
        elif policy.ignore_unfixed and not finding.fixed:
            verdict.ignored.append((finding, "no fixed version (scan_ignore_unfixed)"))
        elif finding.rank >= threshold:
            verdict.blocking.append(finding)
    return verdict


def parse_allow_unscanned(value: object) -> dict[str, Ignore]:
    """``scan_allow_unscanned``: ``{requirement or package name: {"reason": …, "expires": "YYYY-MM-DD"}}``. Both are
    required: going out unscanned is a decision someone owns, and revisits. Raises ``ValueError`` saying what is
    wrong."""
    if not isinstance(value, dict) or not value:
        raise ValueError('give {"<requirement or package name>": {"reason": "…", "expires": "YYYY-MM-DD"}}')
    out: dict[str, Ignore] = {}
    for key, spec in value.items():
        if not isinstance(spec, dict) or not spec.get("reason") or not spec.get("expires"):
            raise ValueError(f"{key!r}: give both a reason and an expires date (YYYY-MM-DD)")
        unknown = set(spec) - {"reason", "expires"}
        if unknown:
            raise ValueError(f"{key!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; use reason, expires")
        out[str(key).strip()] = Ignore(str(spec["reason"]), _date(str(spec["expires"])))
    return out
