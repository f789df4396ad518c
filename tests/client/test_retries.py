"""The retry policy through the emulator: a call ends within its time budget and says what it spent; in adaptive
mode, clients that meet an API rate limit slow themselves down and are throttled less than at a fixed backoff."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import Cloud

THREADS, CALLS = 6, 30
LIMIT = 15.0
"""Requests per second the emulator answers ListMLModelServiceGroups with (more are throttled)."""


def test_a_call_ends_within_its_time_budget_and_says_what_it_spent(cloud: Cloud) -> None:
    client = TcDeploymentClient("tcdeploy:/ap-guangzhou?retry_timeout=3&max_attempts=50")
    cloud.emulator.set_faults({"throttle_rate": 1.0})
    started = time.monotonic()
    try:
        with pytest.raises(MlflowException) as exc:
            client.list_endpoints()
    finally:
        cloud.emulator.set_faults({})
    spent = time.monotonic() - started
    assert exc.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    message = exc.value.message
    assert "ListMLModelServiceGroups failed" in message and "retry budget 50 attempts, 3s" in message
    attempts = int(message.split("gave up after ")[1].split(" attempts")[0])
    assert 1 < attempts < 50
    assert spent < 3 + 5  # the budget, and a margin for one slow request on a busy machine


def _throttled_share(cloud: Cloud, mode: str) -> float:
    """``THREADS`` threads sharing one client list the endpoints ``CALLS`` times each; every call must succeed.
    The share of requests the rate limit refused."""
    client = TcDeploymentClient(f"tcdeploy:/ap-guangzhou?retry_mode={mode}")
    cloud.emulator.clear_request_log()
    with ThreadPoolExecutor(THREADS) as pool:
        done = list(pool.map(lambda _: [client.list_endpoints() for _ in range(CALLS)], range(THREADS)))
    assert len(done) == THREADS
    codes = [r["code"] for r in cloud.requests() if r["action"] == "ListMLModelServiceGroups"]
    return codes.count("RequestLimitExceeded") / len(codes)


def test_adaptive_clients_slow_down_under_a_rate_limit(cloud: Cloud) -> None:
    """A new adaptive client is given a second run when its first shows no pacing: a bet judged lost (answers slowed
    by a busy machine look like pacing that costs throughput) turns pacing off for a 20 s calm, longer than a run.
    This was seen once in a full suite run (59% against 61%) and never alone (23-26% in 8 runs)."""
    cloud.emulator.set_faults({"actions": {"ListMLModelServiceGroups": {"rate_limit": LIMIT}}})
    try:
        standard = _throttled_share(cloud, "standard")
        adaptive = [_throttled_share(cloud, "adaptive")]
        if adaptive[0] >= standard * 0.7:
            adaptive.append(_throttled_share(cloud, "adaptive"))
    finally:
        cloud.emulator.set_faults({})
    shown = ", ".join(f"{a:.0%}" for a in adaptive)
    print(f"\nthrottled at {LIMIT:g} requests/s: standard {standard:.0%}, adaptive {shown}")
    assert standard > 0.2  # the limit really bites
    assert adaptive[-1] < standard * 0.7
