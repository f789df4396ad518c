"""Autoscaling options (TI-ONE's ``HorizontalPodAutoscaler`` and ``CronScaleJobs``): reading and checking them
(cron schedules included, which the emulator checks too), and the rules they follow with the other options.

Ranges are TI-ONE's (reference §6.5): utilisation metrics 10-100 %, ``service-qps`` 1-5000 requests per second and
replica, ``concurrency-util`` 1-100000; replicas 1-100 as the ``replicas`` option; stabilization windows up to an
hour, as Kubernetes' HorizontalPodAutoscaler takes them; at most 3 excluded dates per scheduled job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from .errors import invalid
from .schema import parse_json

METRICS: dict[str, tuple[int, int]] = {
    "cpu-util": (10, 100),
    "gpu-util": (10, 100),
    "memory-util": (10, 100),
    "service-qps": (1, 5000),
    "concurrency-util": (1, 100000),
}
"""Metric name → the range of its target."""
MAX_REPLICAS = 100
MAX_WINDOW = 3600
MAX_EXCLUDED = 3
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_ITEM_RE = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AUTOSCALING_EXAMPLE = '{"min_replicas": 1, "max_replicas": 3, "metrics": {"service-qps": 5}}'
SCHEDULE_EXAMPLE = '[{"schedule": "0 8 * * 1-5", "target_replicas": 3}]'


def _whole(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{where} must be a whole number from {low} to {high}, not {value!r}.")
    if not low <= value <= high:
        raise invalid(f"{where} must be from {low} to {high}, not {value}.")
    return value


def _object(where: str, value: Any, allowed: tuple[str, ...], example: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"{where} must be a JSON object such as {example}, not {value!r}.")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise invalid(f"{where}: unknown member(s) {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}.")
    return value


def _bounds(where: str, value: Mapping[str, Any], required: bool) -> dict[str, int]:
    """``min_replicas`` and ``max_replicas`` (both, when ``required``), checked and in order."""
    given = {
        k: _whole(f"{where}.{k}", value[k], 1, MAX_REPLICAS) for k in ("min_replicas", "max_replicas") if k in value
    }
    if required and len(given) < 2:
        raise invalid(f"{where} needs min_replicas and max_replicas (1-{MAX_REPLICAS}), e.g. {AUTOSCALING_EXAMPLE}.")
    if len(given) == 2 and given["min_replicas"] > given["max_replicas"]:
        raise invalid(
            f"{where}: min_replicas ({given['min_replicas']}) is more than max_replicas ({given['max_replicas']})."
        )
    return given


def _metrics(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise invalid('autoscaling.metrics must name at least one metric and its target, e.g. {"service-qps": 5}.')
    metrics = {}
    for name, target in value.items():
        if name not in METRICS:
            known = ", ".join(f"{n} ({low}-{high})" for n, (low, high) in METRICS.items())
            raise invalid(f"autoscaling.metrics: unknown metric {name!r}; known: {known}.")
        metrics[name] = _whole(f"autoscaling.metrics[{name!r}]", target, *METRICS[name])
    return metrics


def parse_autoscaling(value: Any) -> dict[str, Any]:
    """``{"min_replicas", "max_replicas", "metrics": {name: target}, "scale_up_window"?, "scale_down_window"?}``."""
    allowed = ("min_replicas", "max_replicas", "metrics", "scale_up_window", "scale_down_window")
    value = _object("autoscaling", parse_json("autoscaling", value), allowed, AUTOSCALING_EXAMPLE)
    parsed: dict[str, Any] = {**_bounds("autoscaling", value, required=True), "metrics": _metrics(value.get("metrics"))}
    for key in ("scale_up_window", "scale_down_window"):
        if key in value:
            parsed[key] = _whole(f"autoscaling.{key} (seconds)", value[key], 0, MAX_WINDOW)
    return parsed


def _excluded(where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_EXCLUDED:
        raise invalid(f"{where}.exclude_dates must be a list of at most {MAX_EXCLUDED} dates (YYYY-MM-DD).")
    for day in value:
        try:
            date.fromisoformat(day if isinstance(day, str) and _DATE_RE.match(day) else "")
        except ValueError:
            raise invalid(f"{where}.exclude_dates: {day!r} is not a date (YYYY-MM-DD).") from None
    return list(value)


def _schedule(where: str, value: Any) -> dict[str, Any]:
    allowed = ("schedule", "name", "target_replicas", "min_replicas", "max_replicas", "exclude_dates")
    value = _object(where, value, allowed, SCHEDULE_EXAMPLE.strip("[]"))
    if not isinstance(value.get("schedule"), str):
        raise invalid(f'{where} needs a schedule: a cron expression such as "0 8 * * 1-5" (08:00, Monday-Friday).')
    parsed: dict[str, Any] = {"schedule": check_cron(where, value["schedule"])}
    if "name" in value:
        name = value["name"]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,59}", name):
            raise invalid(f"{where}.name {name!a} must be up to 60 letters, digits, '_' or '-'.")
        parsed["name"] = name
    if "target_replicas" in value:
        parsed["target_replicas"] = _whole(f"{where}.target_replicas", value["target_replicas"], 1, MAX_REPLICAS)
    parsed.update(_bounds(where, value, required=False))
    if "target_replicas" not in parsed and len(parsed) - ("name" in parsed) < 3:
        raise invalid(f"{where} needs target_replicas, or min_replicas and max_replicas (with autoscaling).")
    target = parsed.get("target_replicas")
    if target is not None and not parsed.get("min_replicas", target) <= target <= parsed.get("max_replicas", target):
        raise invalid(f"{where}: target_replicas ({target}) is outside min_replicas-max_replicas.")
    if "exclude_dates" in value:
        parsed["exclude_dates"] = _excluded(where, value["exclude_dates"])
    return parsed


def parse_schedules(value: Any) -> list[dict[str, Any]]:
    """A list of scheduled jobs: ``{"schedule", "name"?, "target_replicas"?, "min_replicas"?, "max_replicas"?,
    "exclude_dates"?}``."""
    value = parse_json("scale_schedules", value)
    if not isinstance(value, list) or not value:
        raise invalid(f"scale_schedules must be a non-empty JSON list such as {SCHEDULE_EXAMPLE}, not {value!r}.")
    jobs = [_schedule(f"scale_schedules[{n}]", job) for n, job in enumerate(value)]
    names = [j["name"] for j in jobs if "name" in j]
    if len(names) != len(set(names)):
        raise invalid(f"scale_schedules: job names must differ ({', '.join(names)}).")
    return jobs


def check_cron(where: str, text: str) -> str:
    """A five-field cron expression (minute hour day-of-month month day-of-week) of numbers, ``*``, ranges, lists
    and steps; returned as given."""
    fields = text.split()
    if len(fields) != len(CRON_FIELDS):
        raise invalid(
            f"{where}.schedule {text!a} is not a cron expression: five fields (minute hour day-of-month month "
            'day-of-week), such as "0 8 * * 1-5".'
        )
    for field, spec in zip(fields, CRON_FIELDS, strict=True):
        _cron_values(where, field, *spec)
    return text


def _cron_values(where: str, field: str, what: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for item in field.split(","):
        match = _CRON_ITEM_RE.match(item)
        if not match:
            raise invalid(f"{where}.schedule: {item!a} is not a {what} (numbers, *, a-b, lists and /steps).")
        span, step = match.group(1), int(match.group(2) or 1)
        start, _, end = span.partition("-")
        first, last = (low, high) if span == "*" else (int(start), int(end or start))
        if step < 1:
            raise invalid(f"{where}.schedule: {item!a} has a step of 0; a step is 1 or more.")
        if match.group(2) and span.isdigit():
            raise invalid(f"{where}.schedule: {item!a}: a step goes after * or a range (such as 5-59/15).")
        if not low <= first <= last <= high:
            raise invalid(f"{where}.schedule: {item!a} is outside the {what}'s range {low}-{high}.")
        values.update(range(first, last + 1, step))
    return values


def check_options(options: Mapping[str, Any]) -> None:
    """How the autoscaling options go with ``scale_mode`` and ``replicas``, refused before anything is sent."""
    policy = [k for k in ("autoscaling", "scale_schedules") if k in options]
    mode = options.get("scale_mode")
    if mode == "AUTO" and not policy:
        raise invalid(
            f"scale_mode=AUTO needs a policy: -C autoscaling='{AUTOSCALING_EXAMPLE}' (replicas follow the load) or "
            f"-C scale_schedules='{SCHEDULE_EXAMPLE}' (replicas on a schedule); both on the tione backend."
        )
    if mode == "MANUAL" and policy:
        raise invalid(f"{' and '.join(policy)} scale(s) the service automatically: drop scale_mode=MANUAL.")
    if "autoscaling" in options and "replicas" in options:
        raise invalid(
            "With autoscaling the policy sets the replica count between min_replicas and max_replicas: drop replicas."
        )
    bounded = [n for n, job in enumerate(options.get("scale_schedules") or []) if "target_replicas" not in job]
    if bounded and "autoscaling" not in options:
        raise invalid(
            f"scale_schedules[{bounded[0]}] sets min_replicas and max_replicas, which bound an autoscaling policy: "
            "give autoscaling too, or target_replicas."
        )
