"""Waits: a deployment reaching a state, an endpoint's traffic split being applied. One poll loop each, with a
progress line when something changes; a failure says why, with what the backend can show about it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INVALID_STATE

from ..backends.base import LogQuery, State
from ..log import get_logger

if TYPE_CHECKING:
    from ..backends.base import Backend, Deployment

logger = get_logger(__name__)

LOG_LINES_ON_FAILURE = 20


def wait_for_service(
    backend: Backend,
    service_id: str,
    goal: State,
    timeout: float,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Deployment:
    """Poll the deployment until it is in ``goal``; raise with the reason and the last log lines if it fails."""
    started = clock()
    last_status = None
    while True:
        deployment = backend.get_deployment(service_id)
        elapsed = clock() - started
        if deployment.status != last_status:
            ready = deployment.ready_replicas
            detail = f", {ready}/{deployment.replicas} replicas ready" if ready is not None else ""
            logger.info(
                "tcdeploy: %s is %s after %.0fs%s", service_id, deployment.status or "(no status)", elapsed, detail
            )
            last_status = deployment.status
        if deployment.state is goal:
            return deployment
        if deployment.state is State.FAILED:
            text = f"{service_id} failed with status {deployment.status}"
            text += f": {deployment.reason}" if deployment.reason else "."
            raise MlflowException(text + _diagnostics(backend, deployment), error_code=INVALID_STATE)
        if elapsed >= timeout:
            text = (
                f"{service_id} did not become {goal.value} within {timeout:g}s (status {deployment.status}). It may "
                f"still get there: check with `mlflow deployments get -t tcdeploy --name {service_id}`, or raise the "
                "'timeout' option (or pass wait=false to return at once)."
            )
            raise MlflowException(text + _diagnostics(backend, deployment), error_code=DEADLINE_EXCEEDED)
        sleep(min(interval, max(timeout - elapsed, 0.05)))


def _diagnostics(backend: Backend, deployment: Deployment) -> str:
    """What the backend shows about the deployment (events, conditions) and its last log lines, as far as they
    can be read."""
    sections = backend.diagnostics(deployment)
    try:
        page = backend.logs_page(LogQuery(deployment.service_id, order="DESC"), LOG_LINES_ON_FAILURE)
        lines = [f"  {e.get('PodName', '')}: {e.get('Message', '')}" for e in reversed(page.lines)]
    except MlflowException as exc:
        lines = [f"  (the logs could not be read: {exc.message})"]
    if lines:
        sections.append(("Last log lines", lines))
    return "".join(f"\n{title}:\n" + "\n".join(body) for title, body in sections)


def wait_for_weights(
    backend: Backend,
    group_id: str,
    timeout: float,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll the endpoint until its traffic split is applied (``WeightUpdateStatus`` UPDATED)."""
    started = clock()
    last = None
    while True:
        endpoint = backend.get_endpoint(group_id)
        status = endpoint.weight_update_status or "UPDATED"
        elapsed = clock() - started
        if status != last:
            shares = ", ".join(f"{d.service_id}={d.weight}" for d in endpoint.deployments)
            logger.info("tcdeploy: traffic of %s is %s after %.0fs (%s)", group_id, status, elapsed, shares)
            last = status
        if status == "UPDATED":
            return
        if status == "UPDATE_FAILED":
            raise MlflowException(
                f"The traffic split of {group_id} failed to apply (UPDATE_FAILED); the previous split stays. Check "
                f"that every version with a weight is running: `mlflow deployments get-endpoint -t tcdeploy "
                f"--endpoint {group_id}`.",
                error_code=INVALID_STATE,
            )
        if elapsed >= timeout:
            raise MlflowException(
                f"The traffic split of {group_id} was still {status} after {timeout:g}s; it may still apply: check "
                f"with `mlflow deployments get-endpoint -t tcdeploy --endpoint {group_id}`.",
                error_code=DEADLINE_EXCEEDED,
            )
        sleep(min(interval, max(timeout - elapsed, 0.05)))
