"""TI-ONE's autoscaling at work: the replica count a service's policy wants at each supervisor pass.

- ``HPA``: each metric proposes ``ceil(load / target)`` replicas (``service-qps``: the calls the gateway relayed to
  the version over the last ``Timing.metric_window`` seconds, per second; ``concurrency-util``: the calls in flight;
  the utilisation metrics: ``ceil(replicas * value / target)`` from a value a test sets, ``replicas`` the count
  when it was set, as Kubernetes computes them), the largest wins. As Kubernetes' HorizontalPodAutoscaler, a rise
  applies the least proposal of the scale-up window (default 0 s) and a fall the largest of the scale-down window
  (default 300 s), within ``MinReplicas``-``MaxReplicas``.
- ``CronScaleJobs``: a job fires once in each minute its five-field schedule names, on the emulator's clock (China
  Standard Time, as TI-ONE's regions; tests move it forward: minutes skipped by a move count, up to two days),
  unless the day is one of its ``ExcludeDates``. Under ``CRON`` it sets the replicas to ``TargetReplicas``; under
  ``HPA`` it moves the policy's bounds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from .cron import parse

CHINA = timezone(timedelta(hours=8))
DEFAULT_UP_WINDOW, DEFAULT_DOWN_WINDOW = 0, 300
CATCH_UP = 2 * 24 * 60
"""Minutes a clock move may skip whose jobs still fire."""
UTILISATION = ("cpu-util", "gpu-util", "memory-util")


class Autoscaler:
    def __init__(self, metric_window: float, clock: Callable[[], float] = time.time) -> None:
        self._window = metric_window
        self._clock = clock
        self._offset = 0.0
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}
        self._values: dict[tuple[str, str], tuple[float, int | None]] = {}
        """A utilisation metric's value, and the replica count it was measured at (known at the next pass)."""
        self._proposals: dict[str, deque[tuple[float, int]]] = {}
        self._checked: dict[str, int] = {}
        """The last minute each version's jobs were checked for."""

    # --- what the gateway and the tests tell it ------------------------------------------------------------------
    def begin(self, service_id: str) -> None:
        """A call relayed to a replica of ``service_id`` starts."""
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(service_id, deque())
            calls.append(now)
            while calls[0] < now - self._window:
                calls.popleft()
            self._in_flight[service_id] = self._in_flight.get(service_id, 0) + 1

    def end(self, service_id: str) -> None:
        with self._lock:
            self._in_flight[service_id] = max(0, self._in_flight.get(service_id, 0) - 1)

    def set_metric(self, service_id: str, name: str, value: float) -> None:
        """A utilisation metric's value (``cpu-util``, ``gpu-util``, ``memory-util``), as a test drives it."""
        if name not in UTILISATION:
            raise ValueError(f"{name!r} is not one of {', '.join(UTILISATION)}")
        with self._lock:
            self._values[(service_id, name)] = (value, None)

    def advance(self, seconds: float) -> float:
        """Move the clock scheduled jobs read forward; the time it shows now."""
        with self._lock:
            self._offset += seconds
        return self.now()

    def now(self) -> float:
        return self._clock() + self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            for table in (self._calls, self._in_flight, self._values, self._proposals, self._checked):
                table.clear()

    # --- the supervisor's pass -----------------------------------------------------------------------------------
    def scheduled(self, service_id: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        """The spec after the scheduled jobs due since the last pass, in the order they fell due (None: none)."""
        minute = int(self.now() // 60)
        last = self._checked.get(service_id, minute - 1)
        self._checked[service_id] = minute
        times = [datetime.fromtimestamp(m * 60, CHINA) for m in range(max(last + 1, minute - CATCH_UP), minute + 1)]
        fired = []
        for job in spec.get("CronScaleJobs") or []:
            schedule = parse(job["Schedule"])
            excluded = set(job.get("ExcludeDates") or [])
            due = [at for at in times if schedule and schedule.due(at) and at.date().isoformat() not in excluded]
            if due:
                fired.append((due[-1], job))
        if not fired:
            return None
        changed = dict(spec)
        for _, job in sorted(fired, key=lambda f: f[0]):
            changed = _applied(changed, job)
        return changed

    def wanted(self, service_id: str, spec: dict[str, Any], replicas: int) -> int:
        """The replica count the HPA policy wants now, from ``replicas``."""
        hpa = spec.get("HorizontalPodAutoscaler") or {}
        if spec.get("ScaleStrategy") != "HPA" or not hpa:
            return replicas
        now = self._clock()
        proposal = max(self._proposal(service_id, m["Name"], m["Value"], replicas, now) for m in hpa["HpaMetrics"])
        up = hpa.get("ScaleUpStabilizationWindowSeconds", DEFAULT_UP_WINDOW)
        down = hpa.get("ScaleDownStabilizationWindowSeconds", DEFAULT_DOWN_WINDOW)
        history = self._proposals.setdefault(service_id, deque())
        history.append((now, proposal))
        while history[0][0] < now - max(up, down):
            history.popleft()
        rise = min(p for t, p in history if t >= now - up)
        fall = max(p for t, p in history if t >= now - down)
        wanted = rise if rise > replicas else fall if fall < replicas else replicas
        return min(max(wanted, hpa["MinReplicas"]), hpa["MaxReplicas"])

    def _proposal(self, service_id: str, name: str, target: float, replicas: int, now: float) -> int:
        with self._lock:
            calls = self._calls.get(service_id, deque())
            while calls and calls[0] < now - self._window:
                calls.popleft()
            load = {"service-qps": len(calls) / self._window, "concurrency-util": self._in_flight.get(service_id, 0)}
            value, measured_at = self._values.get((service_id, name), (None, None))
            if value is not None and measured_at is None:
                measured_at = replicas
                self._values[(service_id, name)] = (value, replicas)
        if name in load:
            return math.ceil(load[name] / target)
        return replicas if value is None or measured_at is None else math.ceil(measured_at * value / target)


def _applied(spec: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """A fired job's effect on the spec: the replicas under CRON, the policy's bounds (and a start) under HPA."""
    hpa = spec.get("HorizontalPodAutoscaler")
    if spec.get("ScaleStrategy") == "HPA" and hpa:
        bounds = {k: job[k] for k in ("MinReplicas", "MaxReplicas") if k in job}
        spec["HorizontalPodAutoscaler"] = {**hpa, **bounds}
    if "TargetReplicas" in job:
        spec["Replicas"] = job["TargetReplicas"]
    return spec
