"""Wait for a service to reach a status: a table of outcomes and one poll loop, with a progress line."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INVALID_STATE

from ..log import get_logger
from .api import CloudApi

logger = get_logger(__name__)

LOG_LINES_ON_FAILURE = 20
WARNINGS_ON_FAILURE = 5


@dataclass(frozen=True)
class Goal:
    """What a wait is for: the statuses that end it well."""

    name: str
    success: frozenset[str]


RUNNING = Goal("running", frozenset({"RUNNING", "Normal"}))
STOPPED = Goal("stopped", frozenset({"Stopped", "STOPPED"}))


def failed(status: str) -> bool:
    """Every goal ends badly on these: ``*FAILED`` (CREATE_FAILED, UPDATE_FAILED, …), TIMEOUT_EXCEPTION, and
    Abnormal (a replica keeps ending), as the API reference's status mapping suggests."""
    return status.upper().endswith("FAILED") or status in ("TIMEOUT_EXCEPTION", "Abnormal")


def _reason(service: dict[str, Any]) -> str:
    workload = service.get("WorkloadStatus") or {}
    return str(workload.get("Reason") or "")


def wait_for_service(
    api: CloudApi,
    service_id: str,
    goal: Goal,
    timeout: float,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll GetMLModelService until ``goal`` is met; raise with the reason and the last log lines if it fails."""
    started = clock()
    last_status = None
    while True:
        service = api.get_service(service_id)
        status = str(service.get("Status") or "")
        elapsed = clock() - started
        if status != last_status:
            ready = (service.get("WorkloadStatus") or {}).get("ReadyReplicas")
            detail = f", {ready}/{service.get('Replicas')} replicas ready" if ready is not None else ""
            logger.info("tcdeploy: %s is %s after %.0fs%s", service_id, status or "(no status)", elapsed, detail)
            last_status = status
        if status in goal.success:
            return service
        if failed(status):
            raise MlflowException(_failure_message(api, service_id, status, _reason(service)), error_code=INVALID_STATE)
        if elapsed >= timeout:
            text = (
                f"{service_id} did not become {goal.name} within {timeout:g}s (status {status}). It may still get "
                f"there: check with `mlflow deployments get -t tcdeploy --name {service_id}`, or raise the "
                "'timeout' option (or pass wait=false to return at once)."
            )
            raise MlflowException(text + _diagnostics(api, service_id), error_code=DEADLINE_EXCEEDED)
        sleep(min(interval, max(timeout - elapsed, 0.05)))


def _failure_message(api: CloudApi, service_id: str, status: str, reason: str) -> str:
    text = f"{service_id} failed with status {status}"
    text += f": {reason}" if reason else "."
    return text + _diagnostics(api, service_id)


def _diagnostics(api: CloudApi, service_id: str) -> str:
    """The service's latest Warning events and last log lines, as far as they can be read."""
    try:
        events = [
            f"  {e.get('LastTimestamp', '')} {e.get('ResourceKind', '')}/{e.get('ResourceName', '')}: "
            f"{e.get('Message', '')}"
            for e in reversed(api.list_events(service_id, WARNINGS_ON_FAILURE, warnings_only=True))
        ]
    except MlflowException as exc:
        events = [f"  (the events could not be read: {exc.message})"]
    try:
        page = api.logs_page({"ServiceId": service_id, "Limit": LOG_LINES_ON_FAILURE, "Order": "DESC"})
        lines = [f"  {e.get('PodName', '')}: {e.get('Message', '')}" for e in reversed(page.get("Content") or [])]
    except MlflowException as exc:
        lines = [f"  (the logs could not be read: {exc.message})"]
    text = "\nLatest warning events:\n" + "\n".join(events) if events else ""
    return text + ("\nLast log lines:\n" + "\n".join(lines) if lines else "")
