"""Cost of one SDK call against the emulator, as a ratio to a bare loopback JSON server in the same process.

Run: .venv/bin/python benchmarks/bench_emulator_calls.py [calls]
Both servers are answered through the same SDK CommonClient (keep-alive, TC3 signing on the client side), so the
ratio is what the emulator's own work (signature check, validation, SQLite request log, the action) adds.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from mlflow_tcdeploy_plugin.emulator import Emulator, EmulatorConfig, Timing

BODY = json.dumps({"Response": {"Data": {"SpecInfos": []}, "RequestId": "r"}}).encode()


class _Bare(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
        )

    def log_message(self, *args: Any) -> None:
        pass


def _client(endpoint: str) -> CommonClient:
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"), language="en-US")
    return CommonClient("wedata", "2025-10-10", credential.Credential("AKIDbench", "key"), "ap-guangzhou", profile)


def _per_call_ms(client: CommonClient, action: str, params: dict[str, Any], calls: int) -> float:
    client.call_json(action, params)  # warm the connection
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls // 5):
            client.call_json(action, params)
        rounds.append((time.perf_counter() - start) / (calls // 5) * 1000)
    return statistics.median(rounds)


def main(calls: int = 500) -> None:
    bare = ThreadingHTTPServer(("127.0.0.1", 0), _Bare)
    threading.Thread(target=bare.serve_forever, daemon=True).start()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Emulator(
            EmulatorConfig(data_dir=Path(tmp), secret_id="AKIDbench", secret_key="key", timing=Timing(new_delay=3600))
        ) as emu,
    ):
        base = _per_call_ms(
            _client(f"127.0.0.1:{bare.server_address[1]}"), "GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"}, calls
        )
        client = _client(emu.endpoint)
        specs = _per_call_ms(client, "GetBillingSpecs", {"ChargeType": "POSTPAID_BY_HOUR"}, calls)
        groups = _per_call_ms(client, "ListMLModelServiceGroups", {"PageSize": 10}, calls)
    bare.shutdown()
    print(f"bare loopback JSON server:          {base:6.2f} ms/call (baseline)")
    print(f"emulator GetBillingSpecs:           {specs:6.2f} ms/call ({specs / base:4.1f}x baseline)")
    print(f"emulator ListMLModelServiceGroups:  {groups:6.2f} ms/call ({groups / base:4.1f}x baseline)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
