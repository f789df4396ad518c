"""The dependency gate: requirements → the complete resolved install → Trivy (or its cached report) → policy → a pass,
or a refusal that says why.

Fail closed: an error anywhere in the gate is never a pass. Under ``scan=required`` it blocks, and so does anything
the install would bring that was not scanned (unless the policy allows it by name, with a reason and an expiry);
under ``auto`` both are loud warnings and the summary says so (``error`` status, or coverage under 100%).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE, ErrorCode

from .. import serving_stack
from ..errors import TcDeployError
from ..log import get_logger
from . import trivy
from .cache import ScanCache, scan_key
from .policy import Policy, Verdict, evaluate, parse_trivyignore
from .report import ReportError, ScanReport, listed_packages, parse, table
from .requirements import ModelRequirements, NotScanned, from_files, normalize, read_model_files
from .resolver import Resolution, ResolveError, Target, cache_key, resolve

logger = get_logger(__name__)

RESOLUTION_TTL = timedelta(hours=24)
"""How long a resolution is reused: an unpinned requirement resolves to newer releases as they appear."""


class GateFailed(TcDeployError):
    """The policy refused the model."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)
        self.summary = summary


class GateUnavailable(TcDeployError):
    """The gate could not reach a verdict and the policy requires one."""

    def __init__(self, message: str, error_code: int = INTERNAL_ERROR) -> None:
        super().__init__(message, error_code=error_code)


@dataclass(frozen=True)
class GateConfig:
    policy: Policy
    trivy: trivy.TrivyConfig
    cache_dir: Path
    report_dir: Path
    target: Target = field(default_factory=lambda: Target(""))
    """The platform and index options; its Python version comes from the model."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    """Now (UTC): when ignores expire, how old the DB and a cached resolution are."""
    profile: str = "mlflow"
    """The image profile whose install is judged (``auto``: chosen from the model as the image builder chooses)."""


def as_served(
    reqs: ModelRequirements, files: dict[str, str], asked: str
) -> tuple[ModelRequirements, list[str], serving_stack.Profile]:
    """The model's requirements as the serving image installs them, the serving stack beside them, and the image
    profile that decides both (``asked``: the image_profile option; MLflow's own image when no image is built)."""
    import mlflow
    import yaml

    try:
        mlmodel = yaml.safe_load(files.get("MLmodel") or "") or {}
    except yaml.YAMLError:  # judged without its flavors; loading the model will say what is wrong with it
        mlmodel = {}
    mlmodel = mlmodel if isinstance(mlmodel, dict) else {}
    unusable = serving_stack.unusable_lines(reqs.not_scanned)
    profile = serving_stack.choose(asked, serving_stack.flavors_of(mlmodel), reqs.requirements, unusable)
    requirements, stack = serving_stack.serving_requirements(
        reqs.requirements, profile.name, mlflow.__version__, mlmodel
    )
    return replace(reqs, requirements=requirements), stack, profile


def check(
    model_path: str,
    label: str,
    config: GateConfig,
    read_files: Callable[[str], dict[str, str]] = read_model_files,
) -> dict[str, Any]:
    """Run the gate for the model at ``model_path``; return its summary or raise ``GateFailed``/``GateUnavailable``."""
    policy = config.policy
    if policy.mode == "off":
        return {"status": "off", "policy": policy.describe()}
    try:
        files = read_files(model_path)
        reqs, serving, profile = as_served(from_files(files), files, config.profile)
        policy = replace(policy, ignore={**parse_trivyignore(reqs.ignore_file), **policy.ignore})
        target = replace(config.target, python_version=reqs.python_version)
        binary = trivy.find_binary(config.trivy)
        info = trivy.version_info(config.trivy, binary)
        if info.db_updated_at:
            judge_db(info, config)
        resolution, resolution_cached = _resolution(reqs, serving, target, config)
        report, key, cached = _report(reqs, resolution, binary, info, config)
    except ResolveError as exc:
        return no_verdict(exc, label, policy, exc.error_code)
    except MlflowException as exc:  # the model's files cannot be read: its own error code (not found, denied…)
        return no_verdict(exc, label, policy, ErrorCode.Value(exc.error_code))
    except (trivy.GateError, ReportError, OSError) as exc:
        return no_verdict(exc, label, policy)
    summary = _judge(report, resolution, target, key, cached, resolution_cached, label, policy, config)
    return {**summary, "image_profile": profile.name}


def check_image(reference: str, label: str, config: GateConfig) -> dict[str, Any]:
    """The same policy on ``trivy image`` of a built image (OS packages and every Python package in it)."""
    policy = config.policy
    if policy.mode == "off":
        return {"status": "off", "policy": policy.describe()}
    try:
        binary = trivy.find_binary(config.trivy)
        info = trivy.version_info(config.trivy, binary)
        judge_db(info, config)
        raw = trivy.scan_image(config.trivy, binary, reference)
        report = ScanReport(parse(raw), [], info.version, info.db_updated_at, reference, "", json.loads(raw))
    except (trivy.GateError, ReportError, OSError) as exc:
        return no_verdict(exc, label, policy)
    verdict = evaluate(policy, report, config.clock().date())
    key = hashlib.sha256(f"{reference}\0{info.version}\0{info.db_updated_at}".encode()).hexdigest()
    path = config.report_dir / f"{safe_name(label)}-{key[:12]}.json"
    write_json(path, {"image": reference, "passed": verdict.passed, **_trivy_fields(report), "trivy": report.raw})
    summary = {
        "status": "passed" if verdict.passed else "failed",
        "policy": policy.describe(),
        "counts": report.counts(),
        "blocking": [f.id for f in verdict.blocking],
        "ignored": {f.id: reason for f, reason in verdict.ignored},
        "trivy_version": report.trivy_version,
        "db_updated_at": report.db_updated_at,
        "report_path": str(path),
    }
    if not verdict.passed:
        raise GateFailed(
            f"The dependency gate refused {label}: {len(verdict.blocking)} finding(s) at or above {policy.fail_on} "
            f"(OS packages: {policy.os_fail_on}, fixed ones only).\n{table(verdict.blocking)}\nFull report: {path}",
            summary,
        )
    return summary


def no_verdict(exc: Exception, label: str, policy: Policy, error_code: int = INTERNAL_ERROR) -> dict[str, Any]:
    """Fail closed: ``required`` blocks; ``auto`` goes on with a loud warning and an ``error`` status."""
    reason = (getattr(exc, "message", None) or str(exc)).rstrip(".")
    if policy.mode == "required":
        raise GateUnavailable(
            f"The dependency gate could not scan {label} and scan=required blocks the deployment: {reason}.",
            error_code,
        ) from exc
    logger.warning(
        "tcdeploy: WARNING: the dependency gate could not scan %s, so it is deployed UNSCANNED "
        "(scan=auto): %s. Set scan=required to block instead.",
        label,
        reason,
    )
    return {"status": "error", "reason": reason, "policy": policy.describe(), "coverage": None}


# --- resolution and scan, each cached ----------------------------------------------------------------------------
def _resolution(
    reqs: ModelRequirements, serving: list[str], target: Target, config: GateConfig
) -> tuple[Resolution, bool]:
    key = cache_key(reqs.requirements, reqs.constraints, serving, target)
    cache = ScanCache(config.cache_dir)
    cached = cache.resolution(key)
    if cached is not None and config.clock() - cached[0] < RESOLUTION_TTL:
        try:
            resolution = Resolution.from_text(cached[1])
        except (ValueError, KeyError, TypeError):
            logger.warning("tcdeploy: the cached resolution %s cannot be read; resolving again", key[:12])
        else:
            logger.debug("tcdeploy: cached resolution %s from %s", key[:12], cached[0].isoformat())
            return resolution, True
    logger.info(
        "tcdeploy: resolving %d requirement(s) and the serving stack for Python %s on %s",
        len(reqs.requirements),
        target.python_version or "?",
        target.platform,
    )
    resolution = resolve(reqs.requirements, reqs.constraints, serving, target, config.trivy.timeout)
    cache.store_resolution(key, config.clock(), resolution.to_text())
    return resolution, False


def _report(
    reqs: ModelRequirements, resolution: Resolution, binary: str, info: trivy.TrivyInfo, config: GateConfig
) -> tuple[ScanReport, str, bool]:
    pins = resolution.pins()
    cache = ScanCache(config.cache_dir)
    key = scan_key(pins, info.version, info.db_updated_at)
    raw = cache.report(key) if info.db_updated_at else None
    cached = raw is not None
    if raw is None:
        raw, info, key = _scan(pins, binary, info, config)
        parse(raw)  # only a readable report is cached
        if info.db_updated_at:
            cache.store(key, raw)
        else:
            judge_db(info, config)
            logger.warning("tcdeploy: Trivy reports no DB date, so this report is not cached (it will be redone).")
    else:
        logger.debug("tcdeploy: cached report %s (Trivy %s, DB %s)", key[:12], info.version, info.db_updated_at)
    findings = [replace(f, chain=tuple(resolution.chain(f.package))) for f in parse(raw)]
    report = ScanReport(
        findings,
        reqs.not_scanned,
        info.version,
        info.db_updated_at,
        reqs.source,
        pins,
        json.loads(raw),
        listed_packages(raw),
    )
    return report, key, cached


def _scan(pins: str, binary: str, info: trivy.TrivyInfo, config: GateConfig) -> tuple[str, trivy.TrivyInfo, str]:
    """``trivy fs`` on the resolved set; the DB it used and the report's cache key."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "requirements.txt").write_text(pins)
        raw = trivy.scan(config.trivy, binary, Path(tmp))
    if not info.db_updated_at or not config.trivy.offline:
        # The scan may have downloaded the first DB or a newer one: the report is that DB's.
        before, info = info, trivy.version_info(config.trivy, binary)
        if info.db_updated_at and info.db_updated_at != before.db_updated_at:
            judge_db(info, config)
    return raw, info, scan_key(pins, info.version, info.db_updated_at)


# --- the verdict -------------------------------------------------------------------------------------------------
@dataclass
class _Coverage:
    scanned: int
    total: int
    items: list[NotScanned]
    """Everything not scanned: the model's unscannable requirements, and resolved packages Trivy did not read."""
    allowed: dict[str, str]
    """Requirement → the policy's reason to let it go out unscanned."""
    blocking: list[NotScanned]
    """What was not scanned and no policy entry allows."""
    lapsed: dict[str, str]

    def describe(self) -> dict[str, Any]:
        percent = round(100.0 * self.scanned / self.total, 1) if self.total else 0.0
        return {"scanned": self.scanned, "total": self.total, "percent": percent, "allowed": len(self.allowed)}

    def line(self) -> str:
        d = self.describe()
        allowed = f"; {d['allowed']} unscanned, allowed by the policy" if d["allowed"] else ""
        return f"{d['scanned']}/{d['total']} packages scanned ({d['percent']:g}%{allowed})"


_NAMED_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:[=<>!~;].*)?$")


def _allowed(policy: Policy, item: NotScanned, today: Any) -> tuple[str | None, str]:
    """The policy's entry for ``item``: by its exact text, or by package name when it names a package (a URL or a
    path needs its exact text: a name must not let any source of that name through)."""
    named = _NAMED_RE.match(item.requirement)
    name = normalize(named["name"]) if named and "://" not in item.requirement else ""
    return policy.allowed_unscanned(item.requirement, name, today)


def _coverage(report: ScanReport, resolution: Resolution, policy: Policy, today: Any) -> _Coverage:
    """Scanned: resolved packages Trivy read. Total: every resolved package, plus each requirement the gate could
    not resolve (allowed or not: coverage says what was looked at, the policy what may go out)."""
    unread = [
        NotScanned(f"{p.name}=={p.version}", "resolved, but Trivy did not read it")
        for p in resolution.packages.values()
        if (p.name, p.version) not in report.listed
    ]
    items = [*report.not_scanned, *unread]
    allowed: dict[str, str] = {}
    blocking: list[NotScanned] = []
    lapsed: dict[str, str] = {}
    for item in items:
        reason, why_not = _allowed(policy, item, today)
        if reason is not None:
            allowed[item.requirement] = reason
        else:
            blocking.append(item)
            if why_not:
                lapsed[item.requirement] = why_not
    total = len(resolution.packages) + len(report.not_scanned)
    return _Coverage(len(resolution.packages) - len(unread), total, items, allowed, blocking, lapsed)


def _document(
    report: ScanReport,
    resolution: Resolution,
    target: Target,
    verdict: Verdict,
    coverage: _Coverage,
    label: str,
    policy: Policy,
) -> dict[str, Any]:
    """The full report: what the outputs (SARIF, JUnit, SBOM), a Rego policy and people read."""
    from .._version import __version__

    return {
        "model": label,
        "scanned_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "plugin_version": __version__,
        "policy": policy.describe(),
        "target": target.describe(),
        "coverage": coverage.describe(),
        "packages": _package_rows(resolution),
        "findings": _finding_rows(report, verdict),
        "blocking": [f.id for f in verdict.blocking],
        "ignored": {f.id: reason for f, reason in verdict.ignored},
        "lapsed_ignores": {f.id: why for f, why in verdict.lapsed},
        "not_scanned": [
            {"requirement": n.requirement, "reason": n.reason, "allowed": coverage.allowed.get(n.requirement)}
            for n in coverage.items
        ],
        "denied": [],
        **_trivy_fields(report),
    }


def _finding_rows(report: ScanReport, verdict: Verdict) -> list[dict[str, Any]]:
    blocking = {f.id for f in verdict.blocking}
    ignored = {f.id: reason for f, reason in verdict.ignored}
    rows = []
    for f in report.findings:
        state = "blocking" if f.id in blocking else "ignored" if f.id in ignored else "allowed"
        why = ignored.get(f.id) or ("at or above the threshold" if state == "blocking" else "below the threshold")
        rows.append({**f.__dict__, "chain": list(f.chain), "verdict": state, "reason": why})
    return rows


def _package_rows(resolution: Resolution) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "version": p.version,
            "direct": p.direct,
            "chain": resolution.chain(p.name),
            "depends_on": resolution.children(p.name),
            "hashes": list(p.hashes),
        }
        for p in sorted(resolution.packages.values(), key=lambda p: p.name)
    ]


def _trivy_fields(report: ScanReport) -> dict[str, Any]:
    return {
        "trivy_version": report.trivy_version,
        "db_updated_at": report.db_updated_at,
        "source": report.source,
        "requirements": report.requirements,
        "counts": report.counts(),
    }


def _judge(
    report: ScanReport,
    resolution: Resolution,
    target: Target,
    key: str,
    cached: bool,
    resolution_cached: bool,
    label: str,
    policy: Policy,
    config: GateConfig,
) -> dict[str, Any]:
    today = config.clock().date()
    verdict = evaluate(policy, report, today)
    coverage = _coverage(report, resolution, policy, today)
    document = _document(report, resolution, target, verdict, coverage, label, policy)
    if policy.rego:
        document["denied"] = _rego(policy.rego, document)
    unscanned_blocks = policy.mode == "required" and bool(coverage.blocking)
    passed = verdict.passed and not document["denied"] and not unscanned_blocks
    document |= {"status": "passed" if passed else "failed", "passed": passed}
    paths = _write_evidence(config.report_dir, label, f"{key}{resolution.lock()}", document, resolution, report.raw)
    summary = {**_summary(document, coverage), **paths, "cached": cached, "resolution_cached": resolution_cached}
    _warn(summary, coverage, policy)
    if not passed:
        raise GateFailed(_refusal(label, policy, verdict, coverage, summary), summary)
    logger.info(
        "tcdeploy: dependency gate passed for %s (%s; %s)%s",
        label,
        ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n) or "no findings",
        coverage.line(),
        " [cached report]" if cached else "",
    )
    return summary


def _summary(document: dict[str, Any], coverage: _Coverage) -> dict[str, Any]:
    """What a deployment's result carries of the report (the report itself is on disk)."""
    keys = ("status", "policy", "counts", "coverage", "target", "blocking", "ignored", "denied", "trivy_version")
    return {
        **{key: document[key] for key in keys},
        "db_updated_at": document["db_updated_at"],
        "resolved": len(document["packages"]),
        "complete": not coverage.items,
        "lapsed": document["lapsed_ignores"],
        "not_scanned": [f"{n.requirement} ({n.reason})" for n in coverage.blocking],
        "allowed_unscanned": coverage.allowed,
    }


def _warn(summary: dict[str, Any], coverage: _Coverage, policy: Policy) -> None:
    for item in summary["not_scanned"]:
        logger.warning("tcdeploy: not scanned: %s", item)
    if coverage.blocking and policy.mode != "required":
        logger.warning(
            "tcdeploy: WARNING: %s: what was not scanned goes out UNJUDGED (scan=auto). Set scan=required to block "
            "instead.",
            coverage.line(),
        )
    for ident, why in {**summary["lapsed"], **coverage.lapsed}.items():
        logger.warning("tcdeploy: %s is no longer ignored: %s", ident, why)


def _refusal(label: str, policy: Policy, verdict: Verdict, coverage: _Coverage, summary: dict[str, Any]) -> str:
    parts = [f"The dependency gate refused {label} ({coverage.line()}):"]
    if verdict.blocking:
        lapsed = "".join(f"\n{ident}: {why}, so it counts again." for ident, why in summary["lapsed"].items())
        parts.append(
            f"{len(verdict.blocking)} finding(s) at or above {policy.fail_on}.\n{table(verdict.blocking)}{lapsed}\n"
            "Upgrade the packages to the fixed versions (pin the fixed version in the model's requirements, even for "
            "a package that comes in through another), or accept the risk with scan_ignore / scan_fail_on."
        )
    if coverage.blocking and policy.mode == "required":
        items = "\n".join(f"  {n.requirement}: {n.reason}" for n in coverage.blocking)
        lapsed = "".join(f"\n  {r}: {why}" for r, why in coverage.lapsed.items())
        parts.append(
            f"scan=required, and {len(coverage.blocking)} requirement(s) could not be scanned:\n{items}{lapsed}\n"
            "Make them named requirements the gate can resolve (name==version from the package index), or let them "
            'go out unscanned with scan_allow_unscanned={"<requirement>": {"reason": "…", "expires": "YYYY-MM-DD"}}.'
        )
    if summary["denied"]:
        denied = "\n".join(f"  {m}" for m in summary["denied"])
        parts.append(f"The policy {policy.rego} denies it:\n{denied}")
    parts.append(f"Full report: {summary['report_path']}")
    return "\n".join(parts)


def _rego(path: str, document: dict[str, Any]) -> list[str]:
    from .rego import RegoPolicyError, deny_messages

    try:
        return deny_messages(path, document)
    except RegoPolicyError as exc:
        # The user gave the policy: a policy that cannot run is never a pass, whatever the mode.
        raise GateUnavailable(f"The dependency gate's policy cannot be used: {exc}", INVALID_PARAMETER_VALUE) from exc


def safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_")[:80] or "model"


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


def _write_evidence(
    root: Path, label: str, key: str, document: dict[str, Any], resolution: Resolution, raw: dict[str, Any]
) -> dict[str, str]:
    """The report (with Trivy's own), the CycloneDX SBOM of the resolved set and the hash-pinned lock the image
    installs, side by side; their paths and digests."""
    from .formats import cyclonedx

    stem = root / f"{safe_name(label)}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    report, sbom, lock = (Path(f"{stem}{suffix}") for suffix in (".json", ".cdx.json", ".lock.txt"))
    write_json(report, {**document, "trivy": raw})
    write_json(sbom, cyclonedx(document))
    lock.write_text(resolution.lock())

    def digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    return {
        "report_path": str(report),
        "report_sha256": digest(report),
        "sbom_path": str(sbom),
        "sbom_sha256": digest(sbom),
        "lock_path": str(lock),
        "lock_sha256": digest(lock),
    }


# --- the DB --------------------------------------------------------------------------------------------------------
def _db_age(info: trivy.TrivyInfo, config: GateConfig) -> float | None:
    """Days since the DB was built, or None when Trivy reports no DB (or a date it cannot be read from)."""
    try:
        built = datetime.fromisoformat(info.db_updated_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if built.tzinfo is None:
        built = built.replace(tzinfo=timezone.utc)
    return (config.clock() - built).total_seconds() / 86400


def judge_db(info: trivy.TrivyInfo, config: GateConfig) -> None:
    """A verdict from an old DB misses what was published since: ``required`` refuses it, ``auto`` warns."""
    age, limit = _db_age(info, config), config.policy.max_db_age_days
    if age is not None and age <= limit:
        return
    where = f" --cache-dir {config.trivy.cache_dir}" if config.trivy.cache_dir else ""
    if age is None:
        problem = "Trivy reports no vulnerability DB date, so the DB's age cannot be judged"
    else:
        problem = (
            f"Trivy's vulnerability DB is {age:.1f} days old (built {info.db_updated_at}); scan_max_db_age is "
            f"{limit:g} days"
        )
    fix = (
        f"Update it with `trivy image{where} --download-db-only` (Trivy rebuilds it every 6 hours), or raise "
        "scan_max_db_age"
    )
    if config.policy.mode == "required":
        raise trivy.GateError(f"{problem}. {fix}")
    logger.warning("tcdeploy: WARNING: %s: findings published since may be missing. %s.", problem, fix)


def registry_tags(summary: dict[str, Any]) -> dict[str, str]:
    """The outcome as model-version tags."""
    coverage = summary.get("coverage") or {}
    return {
        "tcdeploy.scan.status": summary["status"],
        "tcdeploy.scan.counts": json.dumps(summary.get("counts", {})),
        "tcdeploy.scan.coverage": (
            f"{coverage['scanned']}/{coverage['total']} ({coverage['percent']:g}%)" if coverage else "none (no verdict)"
        ),
        "tcdeploy.scan.trivy_version": summary.get("trivy_version", ""),
        "tcdeploy.scan.db_updated_at": summary.get("db_updated_at", ""),
        "tcdeploy.scan.report_sha256": summary.get("report_sha256", ""),
        "tcdeploy.scan.sbom_sha256": summary.get("sbom_sha256", ""),
        "tcdeploy.scan.sbom_path": summary.get("sbom_path", ""),
    }
