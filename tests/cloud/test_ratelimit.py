"""Adaptive mode's request rate, on a clock the tests move: when pacing starts, how it follows the answers, when the
bet that pacing helps is lost; and a simulation of clients against an API rate limit and against scattered
throttling, side by side with backoff alone (seeded, so every run sees the same answers)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

import pytest

from mlflow_tcdeploy_plugin.cloud import ratelimit
from mlflow_tcdeploy_plugin.cloud.ratelimit import CALM, MIN_RATE, AdaptiveRate
from mlflow_tcdeploy_plugin.cloud.retry import RetryPolicy


class _Clock:
    """Time that moves only when the rate limiter sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _answer(rate: AdaptiveRate, clock: _Clock, throttled: bool, after: float = 0.1) -> None:
    sent = rate.acquire()
    clock.now += after
    rate.answered(sent, throttled)


def test_pacing_starts_at_a_throttle_once_the_answers_tell_what_the_api_lets_through() -> None:
    clock = _Clock()
    rate = AdaptiveRate(clock, clock.sleep)
    for n in range(1, 7):
        _answer(rate, clock, throttled=n % 2 == 0)
    assert rate.rate is None  # six answers in 0.6 s: a burst, not a measure
    for n in range(7, 21):
        _answer(rate, clock, throttled=n % 2 == 0)
    assert rate.rate == pytest.approx(ratelimit.DECREASE * 10 / 1.9)  # below 10 successes in the 1.9 s since the first
    clock.slept.clear()
    for _ in range(19):
        rate.acquire()
    assert sum(clock.slept) == pytest.approx(19 / rate.rate, rel=0.01)  # paced


def test_a_small_share_of_throttles_starts_no_pacing() -> None:
    clock = _Clock()
    rate = AdaptiveRate(clock, clock.sleep)
    for n in range(1, 101):
        _answer(rate, clock, throttled=n % 4 == 0)
    assert rate.rate is None  # a quarter throttled: retried with backoff alone


def _paced(clock: _Clock, every: int) -> AdaptiveRate:
    """A limiter that has just started pacing, after answers 0.1 s apart of which every ``every``-th was a throttle
    (at least 20 answers over 1 s, a third of them throttles at least, the last a throttle)."""
    rate = AdaptiveRate(clock, clock.sleep)
    answers = 0
    while rate.rate is None:
        answers += 1
        _answer(rate, clock, throttled=answers % every == 0)
    assert answers == (20 if every == 2 else 21)
    return rate


def test_answers_to_requests_sent_before_a_cut_do_not_cut_again() -> None:
    clock = _Clock()
    rate = _paced(clock, every=2)  # half throttled before pacing: the bet holds through a few throttles
    in_flight = [rate.acquire() for _ in range(3)]
    clock.now += 0.1
    rate.answered(in_flight[0], True)
    first = rate.rate
    for sent in in_flight[1:]:
        rate.answered(sent, True)
    assert rate.rate == first
    _answer(rate, clock, throttled=True)
    assert rate.rate is not None and first is not None and rate.rate < first


def test_the_limit_never_goes_below_its_floor() -> None:
    clock = _Clock()
    rate = _paced(clock, every=2)
    _answer(rate, clock, throttled=True, after=10.0)  # nothing let through over the last seconds
    assert rate.rate == MIN_RATE


def test_a_lost_bet_lifts_the_limit_for_a_calm_period_that_doubles() -> None:
    clock = _Clock()
    rate = _paced(clock, every=3)  # a third throttled before pacing: two paced throttles lose the bet
    _answer(rate, clock, throttled=True)
    _answer(rate, clock, throttled=True)
    assert rate.rate is None
    for n in range(21):
        _answer(rate, clock, throttled=n % 3 == 2)
    assert rate.rate is None  # within the calm period: backoff alone
    clock.now += CALM
    for n in range(21):
        _answer(rate, clock, throttled=n % 3 == 2)
    assert rate.rate is not None  # after it: a new bet
    _answer(rate, clock, throttled=True)
    _answer(rate, clock, throttled=True)
    assert rate.rate is None
    clock.now += CALM
    for n in range(21):
        _answer(rate, clock, throttled=n % 3 == 2)
    assert rate.rate is None  # the second calm period is twice as long


def test_a_bet_that_holds_for_a_round_keeps_pacing() -> None:
    clock = _Clock()
    rate = _paced(clock, every=2)
    for _ in range(ratelimit.ROUND):
        _answer(rate, clock, throttled=False, after=0.0)
        clock.now += 1 / (rate.rate or 1)
    assert rate.rate is not None


Server = Callable[[float, random.Random], bool]
"""Whether the API throttles a request answered at a time."""


def _scattered(share: float) -> Server:
    return lambda now, rnd: rnd.random() < share


def _rate_limit(per_second: float) -> Server:
    bucket = {"tokens": per_second, "at": 0.0}

    def throttles(now: float, rnd: random.Random) -> bool:
        bucket["tokens"] = min(per_second, bucket["tokens"] + (now - bucket["at"]) * per_second)
        bucket["at"] = now
        if bucket["tokens"] >= 1:
            bucket["tokens"] -= 1
            return False
        return True

    return throttles


def _simulate(adaptive: bool, threads: int, server: Server, seed: int, seconds: float = 120.0) -> tuple[int, float]:
    """``threads`` callers that each call again as soon as a call succeeds (retrying with the default backoff),
    each request answered 50 ms after it is sent: the calls completed and the share of requests throttled."""
    rnd, clock, policy = random.Random(seed), _Clock(), RetryPolicy()
    clock.now = 0.0
    rate = AdaptiveRate(clock, clock.sleep) if adaptive else None
    events = [(0.0, caller, "ready", 1, 0.0) for caller in range(threads)]
    completed = sent = throttled = 0
    while events[0][0] < seconds:
        now, caller, kind, attempt, sent_at = heapq.heappop(events)
        clock.now = now
        if kind == "ready":
            sent_at = rate.acquire() if rate else now
            heapq.heappush(events, (sent_at + 0.05, caller, "answer", attempt, sent_at))
            continue
        refused = server(now, rnd)
        sent, throttled = sent + 1, throttled + refused
        if rate:
            rate.answered(sent_at, refused)
        completed += not refused
        delay = policy.delay(attempt, rnd.random()) if refused else 0.0
        heapq.heappush(events, (now + delay, caller, "ready", attempt + 1 if refused else 1, 0.0))
    return completed, throttled / sent


@pytest.mark.parametrize(("threads", "limit"), [(1, 10.0), (6, 15.0)])
def test_under_an_api_rate_limit_pacing_cuts_the_throttling_at_the_same_throughput(threads: int, limit: float) -> None:
    for seed in range(3):
        standard = _simulate(False, threads, _rate_limit(limit), seed)
        adaptive = _simulate(True, threads, _rate_limit(limit), seed)
        print(
            f"\n{threads} thread(s), {limit:g}/s: completed {adaptive[0]} vs {standard[0]}, throttled "
            f"{adaptive[1]:.0%} vs {standard[1]:.0%} (adaptive vs backoff alone)"
        )
        assert adaptive[1] < 0.5 * standard[1]
        assert adaptive[0] >= 0.95 * standard[0]


@pytest.mark.parametrize("threads", [1, 6])
def test_under_scattered_throttling_pacing_is_dropped_and_costs_little(threads: int) -> None:
    ratios = []
    for seed in range(5):
        standard = _simulate(False, threads, _scattered(0.2), seed)
        adaptive = _simulate(True, threads, _scattered(0.2), seed)
        ratios.append(adaptive[0] / standard[0])
    print(f"\n{threads} thread(s), 20% scattered: completed {min(ratios):.2f}-{max(ratios):.2f}x backoff alone")
    assert min(ratios) >= 0.9
