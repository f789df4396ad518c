"""5. Memory: peak RSS of a process that walks every log line of a deployment with iter_pod_logs, across pages (and
past the API's 10,000-entry cursor limit), for 5,000 and for 50,000 lines. Flat means the lines are not kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from mlflow_tcdeploy_plugin import TcDeploymentClient

from .figures import Figure
from .setup import Bench

SIZES = (5_000, 50_000)
CHILD = """
import json, resource, sys
from mlflow_tcdeploy_plugin import TcDeploymentClient
lines = TcDeploymentClient().iter_pod_logs(sys.argv[1])
count, first = 0, None
for line in lines:
    count += 1
    if count == 1000:
        first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"lines": count, "after_first_page_kb": first,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _walk(service_id: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, service_id], env=dict(os.environ), capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(bench: Bench) -> list[Figure]:
    client = TcDeploymentClient()
    walked = {}
    for size in SIZES:
        made = client.create_deployment(
            f"bench-logs-{size}", bench.catalog_uri, config={"wait": "false", "scan": "off", "service_action": "STOP"}
        )
        start = time.time() - 3000  # inside the default one-hour window, one line every few milliseconds
        step = 2900 / size
        lines = [(start + i * step, f"line {i} " + "x" * 80) for i in range(size)]
        bench.emulator.seed_logs(made["name"], f"{made['name']}-pod", lines)
        walked[size] = _walk(made["name"])
        assert walked[size]["lines"] == size, walked[size]
        client.delete_endpoint(f"bench-logs-{size}")
    small, large = walked[SIZES[0]], walked[SIZES[1]]
    return [
        Figure(
            "5 memory",
            f"peak RSS walking {SIZES[1]:,} log lines vs {SIZES[0]:,}",
            large["peak_kb"] / 1024,
            "MiB",
            small["peak_kb"] / 1024,
            "ratio <= 1.10",
            f"1000 lines a page; RSS after the first page: {small['after_first_page_kb'] / 1024:.1f} / "
            f"{large['after_first_page_kb'] / 1024:.1f} MiB",
        )
    ]
