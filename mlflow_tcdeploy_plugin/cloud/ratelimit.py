"""The client's own request rate per action in ``adaptive`` retry mode (the default), shared by all its calls.
botocore's adaptive mode is the model, with one addition: pacing is a bet, checked as it runs.

Unlimited until the API throttles a client that sends enough to be the cause (a third of its recent answers
throttled). Then a token bucket paced at 85% of the rate the API let through lately (successful answers per second
over the last few seconds), cut again at each further throttle (at most once per round of requests: answers to
requests sent before a cut say nothing about the new rate) and raised 2% at each success; far above what the client
sends, the limit is lifted.

The bet is that the throttling follows the client's rate. It is lost, and the limit lifted, when pacing does not at
least halve the share of throttled answers, or when it slows what gets through to under 60% of the rate before it
while holding requests back: the throttling is then not about this client's rate (scattered answers, another client's
load). The next throttles are then only retried with backoff for a calm period (20 s, doubling at each lost bet up to
5 min, reset by a bet that lasts a round). Simulated (tests/cloud/test_ratelimit.py): under an API rate limit the
throttled share falls from 33% to 6-7% (one caller) and from 52-55% to 19-23% (six) at the same throughput; under
20% scattered throttling the client keeps 91-100% of its unpaced throughput."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

DECREASE, INCREASE = 0.85, 1.02
"""The limit at each throttle: this fraction of the rate the API let through, or of the current limit if lower; and
at each success."""
MIN_RATE = 0.5
"""Requests per second the client never goes below."""
WINDOW = 1.0
"""Seconds over which the rate actually sent is measured, and the least span of answers a bet starts from."""
HISTORY = 4.0
"""Seconds of answers the throttled share and the rate let through are measured over (an API's burst allowance
weighs too much in shorter spans, a bursty client's idle time in longer ones)."""
ROUND = 10
"""Paced answers after which a bet is judged."""
MIN_ANSWERS, START_SHARE = 20, 1 / 3
"""Recent answers a bet starts from (at least), and their share of throttles (at least)."""
HELPED = 0.5
"""Pacing must cut the throttled share to at most this fraction of the share before it ..."""
KEPT = 0.6
"""... and, where it holds requests back, keep at least this fraction of the rate let through before it."""
BET_TIME = 5.0
"""Seconds after which a bet is judged with fewer than ``ROUND`` answers (a quarter of them at least)."""
CALM, MAX_CALM = 20.0, 300.0
"""Seconds the limit stays off after a lost bet: the first time, and at most (doubling in between)."""


class AdaptiveRate:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.rate: float | None = None
        """Requests per second allowed; None: no limit (no throttling answer yet, or the limit was lifted)."""
        self._tokens = 0.0
        self._filled = clock()
        self._last_cut = float("-inf")
        self._sent: deque[float] = deque()
        self._answers: deque[tuple[float, bool]] = deque()
        """The answers of the last ``HISTORY`` seconds: when each came, and whether it was a throttle."""
        self._bet = _Bet(0.0, 0.0, 0.0)
        self._calm = CALM
        self._calm_until = float("-inf")

    def acquire(self) -> float:
        """Wait for the right to send one request; its send time (for ``answered``)."""
        with self._lock:
            now = self._clock()
            wait = self._take(now)
            self._bet.waited += wait > 0
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

    def answered(self, sent_at: float, throttled: bool) -> None:
        """The answer to a request sent at ``sent_at``: refused for its rate (``throttled``) or not."""
        with self._lock:
            now = self._clock()
            self._answers.append((now, throttled))
            while self._answers[0][0] < now - HISTORY:
                self._answers.popleft()
            if self.rate is None:
                if throttled and now >= self._calm_until and self._measured(now):
                    self._bet = _Bet(now, self._share(), self._passed(now))
                    self._cut(now)
            elif sent_at > self._last_cut:
                self._paced(now, throttled)

    def _measured(self, now: float) -> bool:
        """Whether the recent answers tell the throttled share and the rate let through: enough of them (a client
        that sends less is no cause of a rate limit), over more than an instant (an API's burst allowance)."""
        enough = len(self._answers) >= MIN_ANSWERS and now - self._answers[0][0] >= WINDOW
        return enough and self._share() >= START_SHARE

    def _share(self) -> float:
        return sum(t for _, t in self._answers) / len(self._answers)

    def _passed(self, now: float) -> float:
        """Requests per second the API answered without throttling lately."""
        return sum(not t for _, t in self._answers) / max(now - self._answers[0][0], 1e-3)

    def _cut(self, now: float) -> None:
        """Pace below the rate the API let through lately and below the current limit."""
        passed = self._passed(now)
        self.rate = max(MIN_RATE, DECREASE * min(passed, self.rate or passed))
        self._tokens = min(self._tokens, 0.0)
        self._filled = self._last_cut = now

    def _paced(self, now: float, throttled: bool) -> None:
        """An answer to a request sent at the current limit: the limit follows it, then the bet is judged."""
        assert self.rate is not None
        if not self._bet.answers:
            self._bet.first = now
        self._bet.answers += 1
        self._bet.throttles += throttled
        if throttled:
            self._cut(now)
        else:
            self.rate *= INCREASE
            if self.rate > 2 * len(self._sent) / WINDOW + 1:  # far above what is sent: it limits nothing now
                self._lift()
                return
        if self._bet.lost(now):
            self._lift()
            self._calm_until = now + self._calm
            self._calm = min(MAX_CALM, 2 * self._calm)
        elif self._bet.answers == ROUND:
            self._calm = CALM

    def _lift(self) -> None:
        self.rate = None
        self._answers.clear()


@dataclass
class _Bet:
    """That pacing cuts the throttled share without cutting the rate the API lets through: what was measured when
    it began, and the answers to paced requests since."""

    started: float
    share: float
    passed: float
    first: float = 0.0
    """When the first paced answer came."""
    answers: int = 0
    throttles: int = 0
    waited: int = 0
    """Paced requests that had to wait: when few did, pacing cost nothing whatever the rate let through."""

    def lost(self, now: float) -> bool:
        if self.throttles > HELPED * self.share * max(self.answers, ROUND):  # lost as soon as it cannot be won
            return True
        judged = self.answers >= ROUND or (now - self.started >= BET_TIME and self.answers >= ROUND // 4)
        return judged and self._throughput(now) < KEPT * self.passed and self.waited >= self.answers / 2

    def _throughput(self, now: float) -> float:
        """Successes per second among the paced answers (``n`` answers are ``n - 1`` intervals apart)."""
        if self.answers < 2 or now <= self.first:
            return float("inf")
        return (self.answers - self.throttles) * (self.answers - 1) / self.answers / (now - self.first)
