"""Five-field cron schedules as the emulator reads ``CronScaleJobs[].Schedule``: minute, hour, day of month, month,
day of week (0 or 7 is Sunday), each ``*``, a number or a range, with an optional ``/step``, in comma lists."""

from __future__ import annotations

import re
from datetime import datetime

RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_PART_RE = re.compile(r"^(?:\*|(\d+)(?:-(\d+))?)(?:/([1-9]\d*))?$")


def values(schedule: str) -> list[set[int]] | None:
    """The values each field names; None when ``schedule`` is not a five-field expression in range."""
    fields = schedule.split()
    if len(fields) != len(RANGES):
        return None
    sets = []
    for field, (low, high) in zip(fields, RANGES, strict=True):
        named: set[int] = set()
        for part in field.split(","):
            match = _PART_RE.match(part)
            if match is None:
                return None
            first = int(match.group(1)) if match.group(1) else low
            last = int(match.group(2) or match.group(1) or high)
            if not low <= first <= last <= high:
                return None
            named.update(range(first, last + 1, int(match.group(3) or 1)))
        sets.append(named)
    return sets


def due(schedule: str, at: datetime) -> bool:
    """Whether ``schedule`` names the minute ``at`` is in (when both day fields are restricted, either matches)."""
    sets = values(schedule)
    if sets is None:
        return False
    minute, hour, day, month, weekday = sets
    on_day, on_weekday = at.day in day, at.isoweekday() % 7 in {d % 7 for d in weekday}
    fields = schedule.split()
    both = fields[2] != "*" and fields[4] != "*"
    days = (on_day or on_weekday) if both else (on_day and on_weekday)
    return at.minute in minute and at.hour in hour and at.month in month and days
