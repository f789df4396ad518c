"""Waits: a deployment reaching a state, an endpoint's traffic split being applied. Each is a table of what its
states mean plus how to read and describe it; one poll loop runs them all, with a progress line when something
changes. A failure says why, with what the backend can show about it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import DEADLINE_EXCEEDED, INVALID_STATE

from ..backends.base import LogQuery, State
from ..errors import TcDeployError
from ..log import get_logger

if TYPE_CHECKING:
    from ..backends.base import Backend, Deployment, Endpoint

logger = get_logger(__name__)

LOG_LINES_ON_FAILURE = 20
T = TypeVar("T")


@dataclass(frozen=True)
class Watch(Generic[T]):
    """One thing to wait for."""

    read: Callable[[], T]
    state: Callable[[T], State]
    status: Callable[[T], str]
    """The word a progress line shows; a new word makes a new line."""
    progress: Callable[[T, float], None]
    failed: Callable[[T], MlflowException]
    late: Callable[[T], MlflowException]


def poll(
    watch: Watch[T],
    goal: State,
    timeout: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Read until the state is ``goal``; raise at FAILED, or when ``timeout`` seconds have passed."""
    started = clock()
    last: str | None = None
    while True:
        seen = watch.read()
        elapsed = clock() - started
        if watch.status(seen) != last:
            watch.progress(seen, elapsed)
            last = watch.status(seen)
        state = watch.state(seen)
        if state is goal:
            return seen
        if state is State.FAILED:
            raise watch.failed(seen)
        if elapsed >= timeout:
            raise watch.late(seen)
        sleep(min(interval, max(timeout - elapsed, 0.05)))


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

    def progress(deployment: Deployment, elapsed: float) -> None:
        ready = deployment.ready_replicas
        detail = f", {ready}/{deployment.replicas} replicas ready" if ready is not None else ""
        logger.info("tcdeploy: %s is %s after %.0fs%s", service_id, deployment.status or "(no status)", elapsed, detail)

    def failed(deployment: Deployment) -> MlflowException:
        text = f"{service_id} failed with status {deployment.status}"
        text += f": {deployment.reason}" if deployment.reason else "."
        return TcDeployError(text + _diagnostics(backend, deployment), error_code=INVALID_STATE)

    def late(deployment: Deployment) -> MlflowException:
        text = (
            f"{service_id} did not become {goal.value} within {timeout:g}s (status {deployment.status}). It may "
            f"still get there: check with `mlflow deployments get -t tcdeploy --name {service_id}`, or raise the "
            "'timeout' option (or pass wait=false to return at once)."
        )
        return TcDeployError(text + _diagnostics(backend, deployment), error_code=DEADLINE_EXCEEDED)

    watch = Watch(
        lambda: backend.get_deployment(service_id), lambda d: d.state, lambda d: d.status, progress, failed, late
    )
    return poll(watch, goal, timeout, interval, clock, sleep)


def _diagnostics(backend: Backend, deployment: Deployment) -> str:
    """What the backend shows about the deployment (events, conditions) and its last log lines, as far as they
    can be read."""
    sections = backend.diagnostics(deployment)
    try:
        page = backend.logs_page(LogQuery(deployment.service_id, order="DESC"), LOG_LINES_ON_FAILURE)
        lines = [f"  {line.pod_name}: {line.message}" for line in reversed(page.lines)]
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
    """Poll the endpoint until its traffic split is applied."""

    def status(endpoint: Endpoint) -> str:
        return endpoint.weight_update_status or "UPDATED"

    def progress(endpoint: Endpoint, elapsed: float) -> None:
        shares = ", ".join(f"{d.service_id}={d.weight}" for d in endpoint.deployments)
        logger.info("tcdeploy: traffic of %s is %s after %.0fs (%s)", group_id, status(endpoint), elapsed, shares)

    def failed(endpoint: Endpoint) -> MlflowException:
        return TcDeployError(
            f"The traffic split of {group_id} failed to apply ({status(endpoint)}); the previous split stays. Check "
            f"that every version with a weight is running: `mlflow deployments get-endpoint -t tcdeploy "
            f"--endpoint {group_id}`.",
            error_code=INVALID_STATE,
        )

    def late(endpoint: Endpoint) -> MlflowException:
        return TcDeployError(
            f"The traffic split of {group_id} was still {status(endpoint)} after {timeout:g}s; it may still apply: "
            f"check with `mlflow deployments get-endpoint -t tcdeploy --endpoint {group_id}`.",
            error_code=DEADLINE_EXCEEDED,
        )

    watch = Watch(lambda: backend.get_endpoint(group_id), lambda e: e.weights_state, status, progress, failed, late)
    poll(watch, State.APPLIED, timeout, interval, clock, sleep)
