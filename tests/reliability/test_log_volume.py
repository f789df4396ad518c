"""Walking a deployment's logs past the APIs' 10,000-entry cursor limit: every line once, in order."""

from __future__ import annotations

import time

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import Cloud

LINES = 12_345


def test_iter_pod_logs_walks_past_the_cursor_limit(cloud: Cloud) -> None:
    client = TcDeploymentClient()
    made = client.create_deployment(
        "many-lines", f"models:/{cloud.registry.model_name}/1", config={"wait": "false", "service_action": "STOP"}
    )
    start = time.time() - 1800
    cloud.emulator.seed_logs(made["name"], "pod-a", [(start + i * 0.1, f"line {i}") for i in range(LINES)])
    cloud.emulator.clear_request_log()
    walked = [line["message"] for line in client.iter_pod_logs(made["name"])]
    assert walked == [f"line {i}" for i in range(LINES)]  # each once, oldest first, across a restarted query
    codes = [r["code"] for r in cloud.requests() if r["action"] == "ListMLServiceLogs"]
    assert codes.count("FailedOperation.ContextLimitError") == 1 and codes.count("Success") == 13
    newest = client.iter_pod_logs(made["name"], order="DESC")
    assert [next(newest)["message"] for _ in range(3)] == [f"line {LINES - 1 - i}" for i in range(3)]
    client.delete_endpoint("many-lines")
