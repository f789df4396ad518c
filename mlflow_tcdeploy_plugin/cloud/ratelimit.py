"""The client's own request rate in ``adaptive`` retry mode, shared by all its calls (botocore's adaptive mode is
the model): unlimited until the API throttles; then a token bucket whose rate starts at 70% of the rate actually
sent, is cut to 70% at each further throttling answer, at most once per round of requests (the answers to requests
sent before the cut say nothing about the new rate), and raised by 15% at each success; far above what is sent, it
is lifted. Under an API rate limit it keeps the client near that limit. Throttling that does not follow the rate
(scattered answers) slows the client as well: measured, a single-threaded client at 20 requests/s with 20% of its
requests throttled at random is paced to 5-8 requests/s; that is why ``standard`` is the default."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

DECREASE, INCREASE = 0.7, 1.15
MIN_RATE = 0.5
"""Requests per second the client never goes below."""
WINDOW = 1.0
"""Seconds over which the rate actually sent is measured."""


class AdaptiveRate:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.rate: float | None = None
        """Requests per second allowed; None: no limit (no throttling answer yet, or the rate climbed back)."""
        self._tokens = 0.0
        self._filled = clock()
        self._last_cut = float("-inf")
        self._sent: deque[float] = deque()

    def acquire(self) -> float:
        """Wait for the right to send one request; its send time (for ``throttled``)."""
        with self._lock:
            now = self._clock()
            wait = self._take(now)
            self._note_sent(now + wait)
        if wait > 0:
            self._sleep(wait)
        return now + wait

    def _take(self, now: float) -> float:
        """Seconds to wait for a token (reserved now, so that waiting callers queue in order)."""
        if self.rate is None:
            return 0.0
        self._tokens = min(max(self.rate, 1.0), self._tokens + (now - self._filled) * self.rate)
        self._filled = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def _note_sent(self, at: float) -> None:
        self._sent.append(at)
        while self._sent and self._sent[0] < at - WINDOW:
            self._sent.popleft()

    def throttled(self, sent_at: float) -> None:
        """A request sent at ``sent_at`` was refused for its rate."""
        with self._lock:
            if sent_at <= self._last_cut:
                return
            current = len(self._sent) / WINDOW if self.rate is None else self.rate
            self.rate = max(MIN_RATE, current * DECREASE)
            self._tokens = min(self._tokens, 0.0)
            self._filled = self._last_cut = self._clock()

    def succeeded(self) -> None:
        with self._lock:
            if self.rate is None:
                return
            self.rate *= INCREASE
            if self.rate > 2 * len(self._sent) / WINDOW + 1:  # far above what is sent: it limits nothing now
                self.rate = None
