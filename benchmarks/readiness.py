"""7. Time to RUNNING of a MODEL service in the emulator, with its breakdown, read from the emulator's events and the
replica's own log lines."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

from mlflow_tcdeploy_plugin import TcDeploymentClient

from .figures import Figure
from .setup import Bench, sdk

PHASES = (
    ("scheduled", "the create call → the pod is created (NEW → CREATING, the supervisor's tick)"),
    ("process start", "pod created → the replica logs 'loading model' (Python and MLflow imports)"),
    ("model load", "'loading model' → 'model loaded' (mlflow.pyfunc.load_model)"),
    ("health check", "'model loaded' → the replica answers HTTP (server start, the supervisor's probe)"),
    ("running", "ready → the service is RUNNING"),
)


def _logged_at(message: str) -> float:
    return datetime.strptime(message[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _events(raw: Any, service_id: str) -> dict[str, float]:
    answer = raw.call_json("ListModelServiceEvents", {"ServiceId": service_id, "Order": "ASC", "Limit": 100})
    return {
        e["Message"]: datetime.fromisoformat(e["FirstTimestamp"].replace("Z", "+00:00")).timestamp()
        for e in answer["Response"]["Data"]["Events"]
    }


def run(bench: Bench, rounds: int) -> list[Figure]:
    client = TcDeploymentClient()
    raw = sdk(bench, "wedata")
    samples: list[list[float]] = []
    for i in range(rounds):
        started = time.time()
        made = client.create_deployment(
            f"bench-ready-{i}", bench.catalog_uri, config={"scan": "off", "poll_interval": "0.05"}
        )
        returned = time.time()
        events = _events(raw, made["name"])
        logs = [line["message"] for line in client.iter_pod_logs(made["name"])]
        loading = next(_logged_at(m) for m in logs if "loading model" in m)
        loaded = next(_logged_at(m) for m in logs if "model loaded" in m)
        marks = [
            started,
            events["Created pod"],
            loading,
            loaded,
            events["Replica is ready"],
            events["All replicas are available"],
        ]
        samples.append([b - a for a, b in itertools.pairwise(marks)] + [returned - started])
        client.delete_endpoint(f"bench-ready-{i}")
    medians = [sorted(column)[len(column) // 2] for column in zip(*samples, strict=True)]
    breakdown = ", ".join(f"{name} {value:.2f} s" for (name, _), value in zip(PHASES, medians, strict=False))
    return [
        Figure(
            "7 readiness",
            "MODEL service: create_deployment call until RUNNING (emulator, no NEW delay)",
            medians[-1],
            "s",
            None,
            "",
            f"median of {rounds}: {breakdown}",
        )
    ]
