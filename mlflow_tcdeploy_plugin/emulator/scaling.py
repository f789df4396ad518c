"""TI-ONE's autoscaling members on a service version (``HorizontalPodAutoscaler``, ``ScaleStrategy``,
``CronScaleJobs``), checked as the API documents them (reference §5.1, §6.5): metric names and target ranges,
replica bounds, five-field cron schedules, at most 3 excluded dates. That ``ScaleMode=AUTO`` needs a policy and a
strategy its member is inferred (docs/emulator.md)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from .cron import parse
from .errors import invalid_value
from .version_specs import check_range

METRICS = {
    "cpu-util": (10, 100),
    "gpu-util": (10, 100),
    "memory-util": (10, 100),
    "service-qps": (1, 5000),
    "concurrency-util": (1, 100000),
}
"""HPA metric names and the range of their ``Value`` (reference §6.5)."""
MAX_WINDOW, MAX_EXCLUDED = 3600, 3

STRATEGY_MEMBER = {"HPA": "HorizontalPodAutoscaler", "CRON": "CronScaleJobs"}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_hpa(hpa: dict[str, Any]) -> None:
    check_range("HorizontalPodAutoscaler.MinReplicas", hpa["MinReplicas"], 1, 100)
    check_range("HorizontalPodAutoscaler.MaxReplicas", hpa["MaxReplicas"], 1, 100)
    if hpa["MinReplicas"] > hpa["MaxReplicas"]:
        raise invalid_value("HorizontalPodAutoscaler.MinReplicas", "must not be more than MaxReplicas.")
    names = [m["Name"] for m in hpa["HpaMetrics"]]
    if not names or len(names) != len(set(names)):
        raise invalid_value("HorizontalPodAutoscaler.HpaMetrics", "must name at least one metric, each once.")
    for n, metric in enumerate(hpa["HpaMetrics"]):
        if metric["Name"] not in METRICS:
            raise invalid_value(f"HorizontalPodAutoscaler.HpaMetrics.{n}.Name", f"{metric['Name']!r} is unknown.")
        check_range(f"HorizontalPodAutoscaler.HpaMetrics.{n}.Value", metric["Value"], *METRICS[metric["Name"]])
    for window in ("ScaleUpStabilizationWindowSeconds", "ScaleDownStabilizationWindowSeconds"):
        check_range(f"HorizontalPodAutoscaler.{window}", hpa.get(window), 0, MAX_WINDOW)


def _check_job(n: int, job: dict[str, Any]) -> None:
    where = f"CronScaleJobs.{n}"
    if parse(job["Schedule"]) is None:
        raise invalid_value(f"{where}.Schedule", f"{job['Schedule']!r} is not a five-field cron expression.")
    for member in ("TargetReplicas", "MinReplicas", "MaxReplicas"):
        check_range(f"{where}.{member}", job.get(member), 1, 100)
    low, high = job.get("MinReplicas"), job.get("MaxReplicas")
    if "TargetReplicas" not in job and (low is None or high is None):
        raise invalid_value(where, "a job needs TargetReplicas, or MinReplicas and MaxReplicas.")
    if low is not None and high is not None and low > high:
        raise invalid_value(f"{where}.MinReplicas", "must not be more than MaxReplicas.")
    excluded = job.get("ExcludeDates") or []
    if len(excluded) > MAX_EXCLUDED:
        raise invalid_value(f"{where}.ExcludeDates", f"takes at most {MAX_EXCLUDED} dates.")
    for day in excluded:
        try:
            date.fromisoformat(day if _DATE_RE.match(day) else "")
        except ValueError:
            raise invalid_value(f"{where}.ExcludeDates", f"{day!r} is not a date (YYYY-MM-DD).") from None


def check_scaling(spec: dict[str, Any]) -> None:
    """A version's scaling members, as stored after a create or a modify."""
    if spec.get("HorizontalPodAutoscaler"):
        _check_hpa(spec["HorizontalPodAutoscaler"])
    for n, job in enumerate(spec.get("CronScaleJobs") or []):
        _check_job(n, job)
    if spec.get("ScaleMode") != "AUTO":
        return
    strategy = spec.get("ScaleStrategy")
    if strategy not in STRATEGY_MEMBER:
        raise invalid_value("ScaleStrategy", "ScaleMode AUTO needs ScaleStrategy HPA or CRON.")
    if not spec.get(STRATEGY_MEMBER[strategy]):
        raise invalid_value(STRATEGY_MEMBER[strategy], f"ScaleStrategy {strategy} needs it.")
