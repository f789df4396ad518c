"""A rollout's plan, as the ``rollout`` option gives it: its steps, hold and failure action checked, and the traffic
split at each step. Pure: the option table reads it without loading anything of the rollout itself."""

from __future__ import annotations

import itertools
import re
from typing import Any

from ..errors import invalid

MANUAL = "manual"
ON_FAILURE = ("stop", "delete")
MAX_HOLD = 86400.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
WEIGHT = "tcdeploy.rollout_weight"
"""The tag holding the new version's current weight."""


def hold_seconds(hold: str) -> float | None:
    """``"60s"``, ``"2m"``, ``"500ms"``, ``"1h"`` → seconds; ``"manual"`` → None."""
    if hold == MANUAL:
        return None
    found = _DURATION.match(hold)
    if not found:
        raise invalid(f'rollout: hold {hold!r} is not a duration such as "30s", "5m", "1h" or "500ms", nor "manual".')
    seconds = float(found[1]) * _UNIT[found[2]]
    if seconds > MAX_HOLD:
        raise invalid(f'rollout: hold {hold!r} is longer than a day; hold "manual" waits for a person instead.')
    return seconds


def parse_rollout(value: Any) -> dict[str, Any]:
    """``{"steps": [10, 50, 100], "hold": "60s", "on_failure": "stop"}``, checked; hold and on_failure default."""
    if not isinstance(value, dict) or "steps" not in value:
        raise invalid(
            'Option \'rollout\' must be a JSON object such as {"steps": [10, 50, 100], "hold": "60s"}, '
            f"not {value!r}."
        )
    unknown = sorted(set(value) - {"steps", "hold", "on_failure"})
    if unknown:
        raise invalid(f"rollout: unknown member(s) {', '.join(unknown)}; it takes steps, hold and on_failure.")
    steps = value["steps"]
    if not isinstance(steps, list) or not steps or any(isinstance(s, bool) or not isinstance(s, int) for s in steps):
        raise invalid(f"rollout: steps must be a list of whole numbers (traffic percentages), not {steps!r}.")
    if any(not 1 <= s <= 100 for s in steps) or any(a >= b for a, b in itertools.pairwise(steps)):
        raise invalid(f"rollout: steps must increase, each from 1 to 100, not {steps}.")
    if steps[-1] != 100:
        raise invalid(f"rollout: the last step must be 100 (the new version takes all the traffic), not {steps[-1]}.")
    hold = value.get("hold", "60s")
    if isinstance(hold, bool) or not isinstance(hold, (str, int, float)):
        raise invalid(f'rollout: hold must be a duration such as "60s" or "manual", not {hold!r}.')
    hold = f"{hold}s" if isinstance(hold, (int, float)) else hold.strip()
    hold_seconds(hold)
    on_failure = value.get("on_failure", "stop")
    if on_failure not in ON_FAILURE:
        raise invalid(f"rollout: on_failure must be stop or delete, not {on_failure!r}.")
    return {"steps": list(steps), "hold": hold, "on_failure": on_failure}


def weights_at(previous: dict[str, int], new_id: str, step: int) -> dict[str, int]:
    """The split with ``new_id`` at ``step`` percent and the other versions sharing the rest as they did."""
    rest = 100 - step
    total = sum(previous.values())
    if not previous or total == 0:
        shares = {sid: 0 for sid in previous}
        if previous and rest:
            shares[next(iter(previous))] = rest
    else:
        shares = {sid: weight * rest // total for sid, weight in previous.items()}
        largest = max(previous, key=lambda sid: previous[sid])
        shares[largest] += rest - sum(shares.values())
    return {**shares, new_id: step}


MAX_CALLS_FACTOR = 10


def calls_at(calls: int, step: int) -> int:
    """Verification calls at ``step`` percent: enough that some reach the new version (about ``calls`` of them, up
    to ten times as many calls at small weights)."""
    return min(calls * MAX_CALLS_FACTOR, -(-calls * 100 // step))
