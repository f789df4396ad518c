"""6. The emulator under load: signed calls per second from 8 concurrent SDK clients, against the SDK's TC3 signing
alone, to show where a call's time goes."""

from __future__ import annotations

import hashlib
import threading
import time

from .figures import Figure
from .setup import SECRET_KEY, Bench, sdk

CLIENTS = 8


def _signing_per_second(seconds: float) -> float:
    """The SDK's own TC3 signature of a typical request body, as many times as fit in ``seconds``."""
    from tencentcloud.common.sign import Sign

    body = '{"ChargeType": "POSTPAID_BY_HOUR", "WorkspaceId": "100000001"}'
    canonical = "POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1\n\ncontent-type;host\n"
    count, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        digest = hashlib.sha256(body.encode()).hexdigest()
        to_sign = (
            "TC3-HMAC-SHA256\n1700000000\n2023-11-14/wedata/tc3_request\n"
            + hashlib.sha256((canonical + digest).encode()).hexdigest()
        )
        Sign.sign_tc3(SECRET_KEY, "2023-11-14", "wedata", to_sign)
        count += 1
    return count / seconds


def run(bench: Bench, seconds: float) -> list[Figure]:
    counts = [0] * CLIENTS
    stop = threading.Event()

    def work(i: int) -> None:
        client = sdk(bench, "wedata")
        while not stop.is_set():
            client.call_json("GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"})
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    calls = sum(counts) / (time.perf_counter() - start)
    signing = _signing_per_second(min(seconds, 2.0))
    return [
        Figure(
            "6 emulator",
            f"signed GetBillingSpecs calls/s, {CLIENTS} concurrent SDK clients (all in one process)",
            calls,
            "calls/s",
            signing,
            "",
            f"baseline: the SDK's TC3 signing alone, one thread; signing is {100 * calls / signing:.1f}% of a call's "
            "cost (the rest: HTTP, JSON, the emulator's checks, the SQLite request log, the GIL shared by both sides)",
        )
    ]
