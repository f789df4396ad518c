"""When to retry a call and how long to wait: capped exponential backoff with full jitter, within a number of
attempts and a time budget per call; in ``adaptive`` mode throttling answers also slow the client's own request
rate (``ratelimit``)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from .errors import CloudError


class Safety(Enum):
    """How an action may be re-sent after a failure whose outcome is unknown (a network error or a 5xx)."""

    READ = "read"
    """Reads and idempotent writes: always safe to re-send."""
    CREATE = "create"
    """Re-sent only after checking by name that the first attempt did not create anything."""
    ONCE = "once"
    """Not idempotent (a pod restart): re-sent only when the API refused it (throttling)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 15
    """With ``timeout``, enough for calls to come through when a third of all requests fail (docs/reliability.md)."""
    timeout: float = 120.0
    """Seconds a call may spend on retries: no retry starts that would end after it."""
    base_delay: float = 0.1
    max_delay: float = 20.0
    mode: str = "adaptive"
    """``adaptive`` (backoff, and a request rate per action that throttling answers lower while that lowers the
    throttling: ``ratelimit``) or ``standard`` (backoff only)."""

    def delay(self, attempt: int, rand: float) -> float:
        """Seconds before attempt ``attempt + 1`` (``attempt`` counts from 1); ``rand`` in [0, 1)."""
        return rand * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

    def retryable(self, error: CloudError, safety: Safety) -> bool:
        """Whether sending the action again is safe and may succeed (the budget is the caller's to check)."""
        if error.throttled:
            return True  # refused before any work was done: safe for every action
        return error.network and safety is Safety.READ


def jitter() -> float:
    return random.random()
