"""Five-field cron schedules as the emulator reads ``CronScaleJobs[].Schedule``: minute, hour, day of month, month,
day of week (0 or 7 is Sunday), each ``*``, a number or a range, a ``/step`` after ``*`` or a range, in comma
lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_PART_RE = re.compile(r"^(?:\*|(\d+)(?:-(\d+))?)(?:/([1-9]\d*))?$")


def _field(field: str, low: int, high: int) -> set[int] | None:
    named: set[int] = set()
    for part in field.split(","):
        match = _PART_RE.match(part)
        if match is None or (match.group(3) and match.group(1) and not match.group(2)):
            return None  # a step needs * or a range: cron implementations differ on N/step
        first = int(match.group(1)) if match.group(1) else low
        last = int(match.group(2) or match.group(1) or high)
        if not low <= first <= last <= high:
            return None
        named.update(range(first, last + 1, int(match.group(3) or 1)))
    return named


@dataclass(frozen=True)
class Schedule:
    minutes: set[int]
    hours: set[int]
    days: set[int]
    months: set[int]
    weekdays: set[int]
    either_day: bool
    """Both day fields restricted: either matches (cron's rule)."""

    def due(self, at: datetime) -> bool:
        """Whether the schedule names the minute ``at`` is in."""
        on_day, on_weekday = at.day in self.days, at.isoweekday() % 7 in self.weekdays
        days = (on_day or on_weekday) if self.either_day else (on_day and on_weekday)
        return at.minute in self.minutes and at.hour in self.hours and at.month in self.months and days


def parse(schedule: str) -> Schedule | None:
    """The schedule; None when it is not a five-field expression in range."""
    fields = schedule.split()
    if len(fields) != len(RANGES):
        return None
    sets = [_field(f, low, high) for f, (low, high) in zip(fields, RANGES, strict=True)]
    if any(s is None for s in sets):
        return None
    minutes, hours, days, months, weekdays = (s or set() for s in sets)
    either = fields[2] != "*" and fields[4] != "*"
    return Schedule(minutes, hours, days, months, {d % 7 for d in weekdays}, either)
