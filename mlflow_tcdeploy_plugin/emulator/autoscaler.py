"""TI-ONE's autoscaling at work: the replica count a service's policy wants at each supervisor pass.

- ``HPA``: each metric proposes ``ceil(load / target)`` replicas (``service-qps``: the calls the gateway relayed to
  the version over the last ``Timing.metric_window`` seconds, per second; ``concurrency-util``: the calls in flight;
  the utilisation metrics: ``ceil(replicas * value / target)`` from a value a test sets, as Kubernetes computes
  them), the largest wins, within ``MinReplicas``-``MaxReplicas``. As Kubernetes' HorizontalPodAutoscaler, a rise
  applies the least proposal of the scale-up window (default 0 s) and a fall the largest of the scale-down window
  (default 300 s).
- ``CronScaleJobs``: a job fires once in each minute its five-field schedule names, on the emulator's clock (China
  Standard Time, as TI-ONE's regions; tests move it forward), unless the day is one of its ``ExcludeDates``. Under
  ``CRON`` it sets the replicas to ``TargetReplicas``; under ``HPA`` it moves the policy's bounds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from .cron import due

CHINA = timezone(timedelta(hours=8))
DEFAULT_UP_WINDOW, DEFAULT_DOWN_WINDOW = 0, 300


class Autoscaler:
    def __init__(self, metric_window: float, clock: Callable[[], float] = time.time) -> None:
        self._window = metric_window
        self._clock = clock
        self._offset = 0.0
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}
        self._values: dict[tuple[str, str], float] = {}
        self._proposals: dict[str, deque[tuple[float, int]]] = {}
        self._fired: set[tuple[str, int, int]] = set()

    # --- what the gateway and the tests tell it ------------------------------------------------------------------
    def begin(self, service_id: str) -> None:
        """A call relayed to a replica of ``service_id`` starts."""
        with self._lock:
            self._calls.setdefault(service_id, deque()).append(self._clock())
            self._in_flight[service_id] = self._in_flight.get(service_id, 0) + 1

    def end(self, service_id: str) -> None:
        with self._lock:
            self._in_flight[service_id] -= 1

    def set_metric(self, service_id: str, name: str, value: float) -> None:
        """A utilisation metric's value (``cpu-util``, ``gpu-util``, ``memory-util``), as a test drives it."""
        with self._lock:
            self._values[(service_id, name)] = value

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
            for table in (self._calls, self._in_flight, self._values, self._proposals):
                table.clear()
            self._fired.clear()

    # --- the supervisor's pass -----------------------------------------------------------------------------------
    def scheduled(self, service_id: str, spec: dict[str, Any]) -> dict[str, Any] | None:
        """The spec after the scheduled jobs due now (None: none fired)."""
        at = datetime.fromtimestamp(self.now(), CHINA)
        minute = int(self.now() // 60)
        changed = None
        for n, job in enumerate(spec.get("CronScaleJobs") or []):
            key = (service_id, n, minute)
            if key in self._fired or at.date().isoformat() in (job.get("ExcludeDates") or []):
                continue
            if due(job["Schedule"], at):
                self._fired.add(key)
                changed = _applied(changed or dict(spec), job)
        return changed

    def wanted(self, service_id: str, spec: dict[str, Any], replicas: int) -> int:
        """The replica count the HPA policy wants now, from ``replicas``."""
        hpa = spec.get("HorizontalPodAutoscaler") or {}
        if spec.get("ScaleStrategy") != "HPA" or not hpa:
            return replicas
        now = self._clock()
        proposal = max(self._proposal(service_id, m["Name"], m["Value"], replicas, now) for m in hpa["HpaMetrics"])
        proposal = min(max(proposal, hpa["MinReplicas"]), hpa["MaxReplicas"])
        up = hpa.get("ScaleUpStabilizationWindowSeconds", DEFAULT_UP_WINDOW)
        down = hpa.get("ScaleDownStabilizationWindowSeconds", DEFAULT_DOWN_WINDOW)
        history = self._proposals.setdefault(service_id, deque())
        history.append((now, proposal))
        while history[0][0] < now - max(up, down):
            history.popleft()
        rise = min(p for t, p in history if t >= now - up)
        fall = max(p for t, p in history if t >= now - down)
        if rise > replicas:
            return rise
        return fall if fall < replicas else replicas

    def _proposal(self, service_id: str, name: str, target: float, replicas: int, now: float) -> int:
        with self._lock:
            calls = self._calls.get(service_id, deque())
            while calls and calls[0] < now - self._window:
                calls.popleft()
            load = {"service-qps": len(calls) / self._window, "concurrency-util": self._in_flight.get(service_id, 0)}
            value = self._values.get((service_id, name))
        if name in load:
            return math.ceil(load[name] / target)
        return replicas if value is None else math.ceil(replicas * value / target)


def _applied(spec: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """A fired job's effect on the spec: the replicas under CRON, the policy's bounds (and a start) under HPA."""
    hpa = spec.get("HorizontalPodAutoscaler")
    if spec.get("ScaleStrategy") == "HPA" and hpa:
        bounds = {k: job[k] for k in ("MinReplicas", "MaxReplicas") if k in job}
        spec["HorizontalPodAutoscaler"] = {**hpa, **bounds}
    if "TargetReplicas" in job:
        spec["Replicas"] = job["TargetReplicas"]
    return spec
