"""Actions started from the pages (a release, a version's scan or build, a rollout moved on or back) run in the
background and answer at once with the record they write: it is their state, so the page follows it, and a reload
(or another administrator) finds it again."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

from ..log import get_logger

logger = get_logger(__name__)

STARTED_WITHIN = 120.0
"""Seconds a release has to be recorded (its input checked, its run created) before the request gives up."""


def start_release(
    user: str, target: str, name: str, model_uri: str, endpoint: str | None, config: dict[str, Any]
) -> str:
    """A create_deployment in the background, exactly as the CLI runs it; returns its release ID once recorded, or
    raises what refused it (bad options, a model that cannot be found…) before anything was sent."""
    from .. import TcDeploymentClient

    def release() -> None:
        client = TcDeploymentClient(target)
        client.create_deployment(name, model_uri, config={**config, "record": "required"}, endpoint=endpoint)

    return _recorded(user, f"tcdeploy-release-{name}", release, model_uri)


def start_task(user: str, kind: str, model_uri: str, config: dict[str, Any]) -> str:
    """A version scanned, or built into its image, in the background (``tasks``); its options are checked here,
    before it starts; returns its record's ID."""
    from .. import tasks

    options = tasks.parse(kind, config)
    return _recorded(user, f"tcdeploy-{kind}", lambda: tasks.run(kind, model_uri, options), model_uri)


def _recorded(user: str, thread: str, work: Callable[[], Any], model_uri: str) -> str:
    """``work`` in a thread, as ``user``; the ID of the record it starts, as soon as it is written, or what stopped
    it before."""
    from ..releases.record import ACTOR, ANNOUNCE

    started: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        ANNOUNCE.set(lambda run_id: started.put(("release", run_id)))
        ACTOR.set(user)
        try:
            work()
        except Exception as exc:  # the record has its own failure; the request hears of it if it is waiting
            logger.info("tcdeploy: %s of %s ended with %s", thread, model_uri, exc)
            started.put(("error", exc))

    threading.Thread(target=run, name=thread, daemon=True).start()
    try:
        kind, value = started.get(timeout=STARTED_WITHIN)
    except queue.Empty:
        raise MlflowException("The action was not recorded in time: see the server log.", INTERNAL_ERROR) from None
    if kind == "error":
        raise value
    return str(value)


def rollout(verb: str, release_id: str) -> str:
    """``promote`` or ``rollback`` of a release's rollout in the background; its record is checked first, here."""
    from ..releases import actions

    actions.read(release_id)
    threading.Thread(
        target=_logged, args=(getattr(actions, verb), release_id), name=f"tcdeploy-{verb}", daemon=True
    ).start()
    return release_id


def _logged(action: Any, release_id: str) -> None:
    try:
        action(release_id)
    except Exception as exc:  # recorded in the release; the server log says it too
        logger.info("tcdeploy: %s of %s ended with %s", action.__name__, release_id, exc)
