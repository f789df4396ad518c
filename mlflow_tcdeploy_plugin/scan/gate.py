"""The dependency gate: requirements → Trivy (or its cached report) → policy → pass, or a refusal with a table.

Fail closed: an error anywhere in the gate is never a pass. Under ``scan=required`` it blocks; under ``auto`` it
is a loud warning and the summary says ``error``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

from ..log import get_logger
from . import trivy
from .cache import ScanCache, scan_key
from .policy import Policy, Verdict, evaluate, parse_trivyignore
from .report import ReportError, ScanReport, parse, table
from .requirements import Dependencies, from_files, read_model_files

logger = get_logger(__name__)

EMPTY_REPORT = json.dumps({"SchemaVersion": 2, "Results": []})


class GateFailed(MlflowException):
    """The policy refused the model."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)
        self.summary = summary


class GateUnavailable(MlflowException):
    """The gate could not reach a verdict and the policy requires one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INTERNAL_ERROR)


@dataclass(frozen=True)
class GateConfig:
    policy: Policy
    trivy: trivy.TrivyConfig
    cache_dir: Path
    report_dir: Path
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    """Now (UTC): when ignores expire and how old the DB is."""


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
        deps = from_files(read_files(model_path))
        policy = replace(policy, ignore={**parse_trivyignore(deps.ignore_file), **policy.ignore})
        report, key, cached = _report(deps, config)
    except (trivy.GateError, ReportError, OSError, MlflowException) as exc:
        return _no_verdict(exc, label, policy)
    return _judge(report, key, cached, label, policy, config)


def check_image(reference: str, label: str, config: GateConfig) -> dict[str, Any]:
    """The same policy on ``trivy image`` of a built image (OS packages and every Python package in it)."""
    policy = config.policy
    if policy.mode == "off":
        return {"status": "off", "policy": policy.describe()}
    try:
        binary = trivy.find_binary(config.trivy)
        info = trivy.version_info(config.trivy, binary)
        _judge_db(info, config)
        raw = trivy.scan_image(config.trivy, binary, reference)
        report = ScanReport(parse(raw), [], info.version, info.db_updated_at, reference, "", json.loads(raw))
    except (trivy.GateError, ReportError, OSError) as exc:
        return _no_verdict(exc, label, policy)
    key = hashlib.sha256(f"{reference}\0{info.version}\0{info.db_updated_at}".encode()).hexdigest()
    return _judge(report, key, False, label, policy, config)


def _no_verdict(exc: Exception, label: str, policy: Policy) -> dict[str, Any]:
    """Fail closed: ``required`` blocks; ``auto`` goes on with a loud warning and an ``error`` status."""
    reason = (getattr(exc, "message", None) or str(exc)).rstrip(".")
    if policy.mode == "required":
        raise GateUnavailable(
            f"The dependency gate could not scan {label} and scan=required blocks the deployment: {reason}."
        ) from exc
    logger.warning(
        "tcdeploy: WARNING: the dependency gate could not scan %s, so it is deployed UNSCANNED "
        "(scan=auto): %s. Set scan=required to block instead.",
        label,
        reason,
    )
    return {"status": "error", "reason": reason, "policy": policy.describe()}


def _judge(
    report: ScanReport, key: str, cached: bool, label: str, policy: Policy, config: GateConfig
) -> dict[str, Any]:
    verdict = evaluate(policy, report, config.clock().date())
    path = _write_report(config.report_dir, label, key, report, verdict, policy)
    summary = {
        "status": "passed" if verdict.passed else "failed",
        "policy": policy.describe(),
        "counts": report.counts(),
        "blocking": [f.id for f in verdict.blocking],
        "ignored": {f.id: reason for f, reason in verdict.ignored},
        "lapsed": {f.id: why for f, why in verdict.lapsed},
        "not_scanned": [f"{n.requirement} ({n.reason})" for n in report.not_scanned],
        "trivy_version": report.trivy_version,
        "db_updated_at": report.db_updated_at,
        "report_path": str(path),
        "report_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "cached": cached,
    }
    for item in summary["not_scanned"]:
        logger.warning("tcdeploy: not scanned: %s", item)
    for ident, why in summary["lapsed"].items():
        logger.warning("tcdeploy: %s is no longer ignored: %s", ident, why)
    if not verdict.passed:
        lapsed = "".join(f"\n{ident}: {why}, so it counts again." for ident, why in summary["lapsed"].items())
        raise GateFailed(
            f"The dependency gate refused {label}: {len(verdict.blocking)} finding(s) at or above "
            f"{policy.fail_on}.\n{table(verdict.blocking)}{lapsed}\nUpgrade the packages to the fixed versions, or "
            f"accept the risk with scan_ignore / scan_fail_on. Full report: {path}",
            summary,
        )
    logger.info(
        "tcdeploy: dependency gate passed for %s (%s)%s",
        label,
        ", ".join(f"{n} {s}" for s, n in summary["counts"].items() if n) or "no findings",
        " [cached report]" if cached else "",
    )
    return summary


def _db_age(info: trivy.TrivyInfo, config: GateConfig) -> float | None:
    """Days since the DB was built, or None when Trivy reports no DB (or a date it cannot be read from)."""
    try:
        built = datetime.fromisoformat(info.db_updated_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if built.tzinfo is None:
        built = built.replace(tzinfo=timezone.utc)
    return (config.clock() - built).total_seconds() / 86400


def _judge_db(info: trivy.TrivyInfo, config: GateConfig) -> None:
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


def _report(deps: Dependencies, config: GateConfig) -> tuple[ScanReport, str, bool]:
    binary = trivy.find_binary(config.trivy)
    info = trivy.version_info(config.trivy, binary)
    if info.db_updated_at:
        _judge_db(info, config)
    requirements = deps.requirements_txt()
    cache = ScanCache(config.cache_dir)
    key = scan_key(requirements, info.version, info.db_updated_at)
    raw = cache.report(key) if info.db_updated_at else None
    cached = raw is not None
    if raw is None:
        if requirements:
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "requirements.txt").write_text(requirements)
                raw = trivy.scan(config.trivy, binary, Path(tmp))
            if not info.db_updated_at or not config.trivy.offline:
                # The scan may have downloaded the first DB or a newer one: the report is that DB's.
                before, info = info, trivy.version_info(config.trivy, binary)
                if info.db_updated_at and info.db_updated_at != before.db_updated_at:
                    _judge_db(info, config)
                key = scan_key(requirements, info.version, info.db_updated_at)
        else:
            raw = EMPTY_REPORT  # nothing pinned: nothing Trivy could match; the not-scanned list says why
        findings = parse(raw)  # only a readable report is cached
        if info.db_updated_at:
            cache.store(key, raw)
        else:
            _judge_db(info, config)
            logger.warning("tcdeploy: Trivy reports no DB date, so this report is not cached (it will be redone).")
    else:
        logger.debug("tcdeploy: cached report %s (Trivy %s, DB %s)", key[:12], info.version, info.db_updated_at)
        findings = parse(raw)
    report = ScanReport(
        findings, deps.not_scanned, info.version, info.db_updated_at, deps.source, requirements, json.loads(raw)
    )
    return report, key, cached


def _write_report(root: Path, label: str, key: str, report: ScanReport, verdict: Verdict, policy: Policy) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_")[:80] or "model"
    path = root / f"{safe}-{key[:12]}.json"
    root.mkdir(parents=True, exist_ok=True)
    document = {
        "model": label,
        "scanned_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "policy": policy.describe(),
        "passed": verdict.passed,
        "blocking": [f.id for f in verdict.blocking],
        "ignored": {f.id: reason for f, reason in verdict.ignored},
        "lapsed_ignores": {f.id: why for f, why in verdict.lapsed},
        **report.to_json(),
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def registry_tags(summary: dict[str, Any]) -> dict[str, str]:
    """The outcome as model-version tags."""
    return {
        "tcdeploy.scan.status": summary["status"],
        "tcdeploy.scan.counts": json.dumps(summary.get("counts", {})),
        "tcdeploy.scan.trivy_version": summary.get("trivy_version", ""),
        "tcdeploy.scan.db_updated_at": summary.get("db_updated_at", ""),
        "tcdeploy.scan.report_sha256": summary.get("report_sha256", ""),
    }
