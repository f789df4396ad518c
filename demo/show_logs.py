"""Print the last log lines of a deployment's pods, through the plugin's Python API."""

from __future__ import annotations

import sys

from mlflow.deployments import get_deploy_client


def main(deployment: str, lines: int = 8) -> None:
    client = get_deploy_client("tcdeploy")
    page = client.get_pod_logs(deployment, limit=lines)
    for entry in reversed(page["logs"]):
        print(f"  {entry['timestamp']} {entry['pod_name']}: {entry['message']}")


if __name__ == "__main__":
    main(sys.argv[1])
