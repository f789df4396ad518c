"""The environment image, judged: ``trivy image`` reads every package it really has. Its Python packages must be the
set the gate resolved and judged (a difference is an error, never a silent pass); its OS packages (the base image's
distribution) are judged under their own threshold and reported apart, and the base image's own installers under the
gate's policy.

Cached by the environment key with Trivy's version and DB date: a new model version on the same environment costs no
scan, and nothing is pulled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

from ..log import get_logger
from . import trivy
from .cache import ScanCache
from .gate import GateConfig, GateFailed, GateUnavailable, judge_db, no_verdict, safe_name, write_json
from .policy import Verdict, evaluate
from .report import ReportError, ScanReport, listed_packages, parse, table
from .requirements import normalize

logger = get_logger(__name__)

BASE_TOOLING = frozenset({"pip", "setuptools", "wheel"})
"""What a Python base image carries besides the lock: installers, scanned with the rest, not part of the match."""


def _lock_pins(lock: str) -> set[tuple[str, str]]:
    pins = set()
    for line in lock.splitlines():
        if line and not line[0].isspace() and "==" in line:
            name, _, version = line.split(" ", 1)[0].partition("==")
            pins.add((normalize(name), version))
    return pins


def differences(lock: str, installed: set[tuple[str, str]]) -> list[str]:
    """How the image's Python packages differ from the lock: missing, another version, or not asked for."""
    wanted = dict(_lock_pins(lock))
    have: dict[str, str] = {}
    for name, version in installed:
        have[name] = version
    problems = [
        f"{name}=={version}: " + (f"the image has {have[name]}" if name in have else "not in the image")
        for name, version in sorted(wanted.items())
        if have.get(name) != version
    ]
    problems += [
        f"{name}=={version}: in the image, not in the judged set"
        for name, version in sorted(have.items())
        if name not in wanted and name not in BASE_TOOLING
    ]
    return problems


def _image_report(reference: str, env_key: str, config: GateConfig, ensure_local: Callable[[], None]) -> ScanReport:
    binary = trivy.find_binary(config.trivy)
    info = trivy.version_info(config.trivy, binary)
    judge_db(info, config)
    cache = ScanCache(config.cache_dir)
    key = hashlib.sha256(f"image\0{env_key}\0{info.version}\0{info.db_updated_at}".encode()).hexdigest()
    raw = cache.report(key) if info.db_updated_at else None
    if raw is None:
        ensure_local()
        logger.info("tcdeploy: scanning the environment image %s (trivy image)", reference)
        raw = trivy.scan_image(config.trivy, binary, reference, list_all=True)
        parse(raw)  # only a readable report is cached
        if info.db_updated_at:
            cache.store(key, raw)
    return ScanReport(
        parse(raw),
        [],
        info.version,
        info.db_updated_at,
        reference,
        raw=json.loads(raw),
        listed=listed_packages(raw, kind="python-pkg"),
    )


def check(
    reference: str, env_key: str, lock: str, config: GateConfig, ensure_local: Callable[[], None]
) -> dict[str, Any]:
    """Judge the environment image ``reference`` built from ``lock``; return the summary, or raise."""
    policy, label = config.policy, f"the environment image {reference}"
    try:
        report = _image_report(reference, env_key, config, ensure_local)
    except (trivy.GateError, ReportError, OSError) as exc:
        return no_verdict(exc, label, policy)
    mismatch = differences(lock, report.listed)
    if mismatch:
        # Whatever the mode: the image would ship what nobody judged.
        raise GateUnavailable(
            f"{label} does not hold the set the dependency gate judged ({len(mismatch)} difference(s)):\n  "
            + "\n  ".join(mismatch[:30])
            + "\nA base_image with its own Python packages, or another Python than the model's, causes this: use a "
            "plain Python base image of the model's version.",
            INTERNAL_ERROR,
        )
    # The lock's packages were judged by the gate (with the model's own .trivyignore); here: what the image adds.
    judged = {name for name, _ in _lock_pins(lock)}
    report.findings = [f for f in report.findings if f.kind == "os-pkgs" or normalize(f.package) not in judged]
    verdict = evaluate(policy, report, config.clock().date())
    path = config.report_dir / f"{safe_name(reference)}-{env_key[:12]}.json"
    write_json(path, {"image": reference, "passed": verdict.passed, "trivy": report.raw})
    summary = _summary(report, verdict, path)
    if not verdict.passed:
        raise GateFailed(
            f"The dependency gate refused {label}: {len(verdict.blocking)} finding(s) at or above "
            f"{policy.fail_on} (OS packages: fixed ones at or above {policy.os_fail_on}).\n{table(verdict.blocking)}\n"
            f"Update the base image (base_image) or the packages, or set scan_os_fail_on. Full report: {path}",
            summary,
        )
    logger.info(
        "tcdeploy: %s holds the judged set (%d Python packages); OS packages: %s",
        reference,
        summary["python_packages"],
        ", ".join(f"{n} {s}" for s, n in summary["os_counts"].items() if n) or "no findings",
    )
    return summary


def _summary(report: ScanReport, verdict: Verdict, path: Path) -> dict[str, Any]:
    os_findings = [f for f in report.findings if f.kind == "os-pkgs"]
    return {
        "status": "passed" if verdict.passed else "failed",
        "matches_lock": True,
        "python_packages": len(report.listed),
        "counts": report.counts(),
        "os_counts": {s: sum(1 for f in os_findings if f.severity == s) for s in report.counts()},
        "os_unfixed": sum(1 for f in os_findings if not f.fixed),
        "blocking": [f.id for f in verdict.blocking],
        "report_path": str(path),
    }
