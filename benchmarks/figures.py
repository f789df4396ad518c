"""What a benchmark reports: one figure, measured side by side with its baseline in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Figure:
    group: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    """The same thing done the reference way, measured in the same run (None: an absolute figure)."""
    target: str = ""
    """E.g. ``ratio <= 1.05`` or ``value <= 20``; empty when there is none."""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def met(self) -> bool | None:
        if not self.target:
            return None
        subject, op, bound = self.target.split()
        measured = self.ratio if subject == "ratio" else self.value
        if measured is None:
            return None
        return measured <= float(bound) if op == "<=" else measured >= float(bound)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def interleaved(candidates: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Run each candidate once per round, in turn, ``rounds`` times; the median of each (so drift in the machine's
    load hits all of them alike). The order turns each round, so that no candidate always follows the same one."""
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for turn in range(rounds):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(candidates[name]())
    return {name: statistics.median(values) for name, values in samples.items()}


def alternating(value: Callable[[], Any], baseline: Callable[[], Any], calls: int) -> tuple[float, float]:
    """The median time of one call of each, called one after the other ``calls`` times, the first of each pair
    alternating: a machine whose speed drifts within milliseconds (a shared virtual machine) then slows both alike,
    where rounds of many calls each land apart by several percent."""
    value_times: list[float] = []
    baseline_times: list[float] = []
    sides = ((value, value_times), (baseline, baseline_times))
    for i in range(calls):
        for fn, times in sides if i % 2 else sides[::-1]:
            times.append(timed(fn))
    return statistics.median(value_times), statistics.median(baseline_times)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
