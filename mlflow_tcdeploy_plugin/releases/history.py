"""Releases read back from the tracking store: listed with filters, one shown as its timeline. A release left
running by a process that has ended is marked interrupted at the stage it reached, the first time it is read."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from typing import Any

from mlflow import MlflowClient, get_tracking_uri
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST
from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

from ..errors import TcDeployError, invalid
from ..log import get_logger
from .record import (
    FAILED,
    HOST,
    INTERRUPTED,
    KIND,
    PAUSED,
    PID,
    REASON,
    RELEASE,
    ROLLED_BACK,
    RUNNING,
    STAGE,
    STAGES,
    STATUS,
    SUCCEEDED,
    stage_tag,
)

logger = get_logger(__name__)
STATUSES = (RUNNING, PAUSED, SUCCEEDED, FAILED, ROLLED_BACK, INTERRUPTED)
"""Every status a release can be read in."""
FACTS = (
    "model_uri",
    "model_name",
    "model_version",
    "run",
    "backend",
    "target",
    "endpoint",
    "deployment",
    "action",
    "gate_status",
    "gate_coverage",
    "image",
    "image_digest",
    "verify",
    "rollout_weight",
    "promoted_from",
)
"""What a release learned, each a ``tcdeploy.<fact>`` tag (empty when it did not get that far)."""


def _client() -> MlflowClient:
    """MLflow's client for the tracking store in use, made once per store: making one resolves the tracking and
    registry URIs (about 0.06 ms), and get_deployment reads the newest release on every call."""
    return _client_for(get_tracking_uri())


@lru_cache(maxsize=4)
def _client_for(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri)


def _quoted(value: str) -> str:
    if "'" in value or not value.isprintable():
        raise invalid(f"{value!a} cannot be searched for: quotes and control characters are refused.")
    return value


def list_releases(
    experiment: str, model: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest releases first, of one registered model and in one status when given."""
    if status is not None and status not in STATUSES:
        raise invalid(f"status must be one of {', '.join(STATUSES)}, not {status!r}.")
    filters = [f"tags.`tcdeploy.model_name` = '{_quoted(model)}'"] if model else []
    # Running ones may turn out interrupted when read: those are filtered below.
    if status in (SUCCEEDED, FAILED, PAUSED, ROLLED_BACK):
        filters.append(f"tags.`{STATUS}` = '{status}'")
    client = _client()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id], " and ".join(filters), max_results=limit, order_by=["start_time DESC"]
    )
    shown = [summary(_settled(client, run)) for run in runs]
    return [r for r in shown if status is None or r["status"] == status]


def latest_for(deployment_id: str, experiment: str) -> dict[str, Any] | None:
    """The newest release of a deployment (``{id, status, stage}``), when a tracking store is configured and has one;
    a store that cannot be read hides it (get_deployment must not fail on the record)."""
    if not is_tracking_uri_set():  # the default store would be created in the working directory
        return None
    try:
        client = _client()
        found = client.get_experiment_by_name(experiment)
        runs = found and client.search_runs(
            [found.experiment_id],
            f"tags.`tcdeploy.deployment` = '{_quoted(deployment_id)}'",
            max_results=1,
            order_by=["start_time DESC"],
        )
    except MlflowException as exc:
        logger.info("tcdeploy: the releases of %s cannot be read: %s", deployment_id, exc.message)
        return None
    if not runs:
        return None
    tags = runs[0].data.tags
    return {"id": runs[0].info.run_id, "status": tags.get(STATUS), "stage": tags.get(STAGE)}


def show(release_id: str) -> dict[str, Any]:
    """One release with its timeline: each stage's status and seconds, the failing stage's reason."""
    client = _client()
    try:
        run = client.get_run(_quoted(release_id))
    except MlflowException as exc:
        raise TcDeployError(f"No release {release_id!r}: {exc.message}", error_code=RESOURCE_DOES_NOT_EXIST) from exc
    if STATUS not in run.data.tags:
        raise TcDeployError(f"The run {release_id!r} is not a release.", error_code=RESOURCE_DOES_NOT_EXIST)
    release = summary(_settled(client, run))
    release["artifacts"] = _artifacts(client, run.info.run_id, "evidence")
    return release


def _artifacts(client: Any, run_id: str, folder: str) -> list[str]:
    found: list[str] = []
    for item in client.list_artifacts(run_id, folder):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def _settled(client: Any, run: Any) -> Any:
    """``run``, marked interrupted first when it says running but the process that wrote it (here) has ended."""
    tags = run.data.tags
    if tags.get(STATUS) != RUNNING or tags.get(HOST) != socket.gethostname() or _alive(tags.get(PID, "")):
        return run
    stage = tags.get(STAGE, STAGES[0])
    reason = f"interrupted at {stage}: the process recording it ended"
    client.set_tag(run.info.run_id, STATUS, INTERRUPTED)
    client.set_tag(run.info.run_id, stage_tag(stage), INTERRUPTED)
    client.set_tag(run.info.run_id, REASON, reason)
    client.set_terminated(run.info.run_id, "KILLED")
    return client.get_run(run.info.run_id)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def summary(run: Any) -> dict[str, Any]:
    tags, metrics = run.data.tags, run.data.metrics
    stages = [
        {"stage": name, "status": tags[stage_tag(name)], "seconds": metrics.get(f"stage.{name}.seconds")}
        for name in STAGES
        if stage_tag(name) in tags
    ]
    return {
        "id": run.info.run_id,
        "kind": tags.get(KIND) or RELEASE,
        "status": tags.get(STATUS),
        "stage": tags.get(STAGE),
        "reason": tags.get(REASON, ""),
        **{fact: tags.get(f"tcdeploy.{fact}", "") for fact in FACTS},
        "user": tags.get("mlflow.user", ""),
        "started": run.info.start_time,
        "ended": run.info.end_time,
        "stages": stages,
    }
