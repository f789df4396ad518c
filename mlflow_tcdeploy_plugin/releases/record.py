"""A release as an MLflow run, written as its stages run: the user's tracking store is the database of releases.

Layout (docs/releases.md): one run per release in the experiment ``tcdeploy-releases`` (``release_experiment``);
tags ``tcdeploy.release.status`` (running, succeeded, failed, interrupted), ``tcdeploy.release.stage`` (the stage
reached) and ``tcdeploy.release.reason``; per stage ``tcdeploy.stage.<name>`` (its status) and the metric
``stage.<name>.seconds``; what the release learned as ``tcdeploy.*`` tags; its evidence as artifacts. A store that
cannot be written warns and stops recording (``record=auto``), or stops the release before anything is changed
(``record=required``).
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from ..errors import TcDeployError
from ..log import get_logger

logger = get_logger(__name__)

STAGES = ("resolve", "gate", "build", "deploy", "wait", "verify", "rollout")
"""A release's stages in order (build only with image_repository, wait only with wait=true, verify when the model
has an input example, rollout with the rollout option)."""
STATUS, STAGE, REASON = "tcdeploy.release.status", "tcdeploy.release.stage", "tcdeploy.release.reason"
PID, HOST = "tcdeploy.release.pid", "tcdeploy.release.host"
KIND = "tcdeploy.kind"
"""What a record is: a release (a deployment; the tag is absent), or a version scanned or built on its own."""
RELEASE, SCAN, BUILD = "release", "scan", "build"
IMAGE_TAG = "tcdeploy.image"
"""The registry version's tag naming the image a release or a build last built it into."""
RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"
PAUSED, ROLLED_BACK, SKIPPED = "paused", "rolled_back", "skipped"
MAX_TAG = 5000
"""MLflow's limit on a tag value (longer reasons are cut)."""


ANNOUNCE: ContextVar[Callable[[str], None] | None] = ContextVar("tcdeploy_release_announce", default=None)
"""Told each release's run ID as soon as it is recorded (the release page answers with it at once)."""
ACTOR: ContextVar[str | None] = ContextVar("tcdeploy_release_actor", default=None)
"""Who starts the releases of this context, when it is not this process's user (a page's signed-in user)."""


def stage_tag(name: str) -> str:
    return f"tcdeploy.stage.{name}"


class Stage:
    """A running stage: set ``paused`` (why) to leave the release paused at it rather than done with it."""

    paused: str = ""


class ReleaseRecord:
    """Writes one release's run; with ``record=off`` (or after a failed write under ``auto``) it writes nothing."""

    def __init__(self, client: Any, run_id: str | None, required: bool) -> None:
        self._client = client
        self.run_id = run_id
        self._required = required

    @property
    def writing(self) -> bool:
        """Whether the release is being recorded (not with record=off, nor after a failed write under auto)."""
        return self._client is not None and self.run_id is not None

    def attach(self) -> ReleaseRecord:
        """Go on writing a release recorded earlier (a rollout promoted or rolled back by hand), from this process."""
        self._tags({PID: str(os.getpid()), HOST: socket.gethostname(), STATUS: RUNNING, REASON: ""})
        return self

    @classmethod
    def start(cls, mode: str, experiment: str, facts: Mapping[str, str]) -> ReleaseRecord:
        """The release's run, created now with its facts; under ``required`` a store that cannot be written (or
        that this MLflow cannot use: mlflow-skinny has no SQL store) stops the release here."""
        record = cls(None, None, mode == "required")
        if mode == "off":
            return record
        tags = {**facts, STATUS: RUNNING, PID: str(os.getpid()), HOST: socket.gethostname(), "mlflow.user": _user()}
        record.run_id = record._guarded(lambda: record._create(experiment, tags))
        if record.run_id:
            logger.info("tcdeploy: recording release %s in experiment %s", record.run_id, experiment)
            announce = ANNOUNCE.get()
            if announce is not None:
                announce(record.run_id)
        return record

    def _create(self, experiment: str, tags: Mapping[str, str]) -> str:
        from mlflow import MlflowClient

        client = MlflowClient()
        run_id = str(client.create_run(_experiment_id(client, experiment), tags=dict(tags)).info.run_id)
        self._client = client
        return run_id

    def _write(self, write: Any) -> Any:
        """A write after the first, while recording goes on."""
        client = self._client
        return None if client is None else self._guarded(lambda: write(client))

    def _guarded(self, action: Any) -> Any:
        try:
            return action()
        except (MlflowException, OSError) as exc:
            if self._required:
                raise TcDeployError(
                    f"The release cannot be recorded in the MLflow tracking store ({exc}); record=required stops it. "
                    "Check MLFLOW_TRACKING_URI, or deploy with record=auto to go on without a record.",
                    error_code=TEMPORARILY_UNAVAILABLE,
                ) from exc
            logger.warning("tcdeploy: WARNING: the release is not recorded (any further): %s", exc)
            self._client = None
            return None

    def note(self, **facts: Any) -> None:
        """Facts learned on the way (deployment, endpoint, image), as ``tcdeploy.<name>`` tags."""
        self._tags({f"tcdeploy.{k}": str(v) for k, v in facts.items() if v not in (None, "")})

    def fix(self, **facts: Any) -> None:
        """Facts later actions rely on (rollout promote and rollback, promote to another target): tags, and params,
        which MLflow never lets change, so that a tag edited to point elsewhere is found out (``actions.read``)."""
        facts = {f"tcdeploy.{k}": str(v) for k, v in facts.items() if v not in (None, "")}
        if self.run_id and facts:
            from mlflow.entities import Param, RunTag

            params, tags = [Param(k, v) for k, v in facts.items()], [RunTag(k, v) for k, v in facts.items()]
            self._write(lambda c: c.log_batch(self.run_id, params=params, tags=tags))

    def text(self, text: str, path: str) -> None:
        """A piece of evidence written here (verification payloads and answers)."""
        if self.run_id:
            self._write(lambda c: c.log_text(self.run_id, text, path))

    def _tags(self, tags: Mapping[str, str]) -> None:
        if self.run_id and tags:
            from mlflow.entities import RunTag

            batch = [RunTag(k, v[:MAX_TAG]) for k, v in tags.items()]
            self._write(lambda c: c.log_batch(self.run_id, tags=batch))

    def evidence(self, paths: list[str], folder: str) -> None:
        """Files the release stands on (gate report, SBOM, lock, Dockerfiles, build log), under ``folder``."""
        for path in (Path(p) for p in paths if p):
            if path.is_file() and self.run_id:
                self._write(lambda c, path=path: c.log_artifact(self.run_id, str(path), folder))

    @contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """Record ``name`` running, then its outcome and duration; a failure ends the release at this stage (its
        status from the exception's ``release_status``: failed, or rolled_back); a stage can pause the release."""
        self._tags({STAGE: name, stage_tag(name): RUNNING})
        started = time.monotonic()
        handle = Stage()
        try:
            yield handle
        except (KeyboardInterrupt, SystemExit) as exc:
            self._end(name, INTERRUPTED, f"interrupted ({type(exc).__name__})", started)
            raise
        except Exception as exc:
            status = getattr(exc, "release_status", FAILED)
            self._end(name, status, getattr(exc, "message", None) or str(exc) or type(exc).__name__, started)
            raise
        if handle.paused:
            self._pause(name, started, handle.paused)
        else:
            self._stage_done(name, started)

    def skip(self, name: str, why: str) -> None:
        """A stage that had nothing to do, and why (a model without an input example is not verified)."""
        self._tags({stage_tag(name): SKIPPED, f"tcdeploy.{name}": why})

    def _pause(self, name: str, started: float, why: str) -> None:
        """The release waits for a person (a rollout held for ``tcdeploy rollout promote``): it stays open."""
        if self.run_id:
            self._seconds(name, started)
            self._tags({stage_tag(name): PAUSED, STATUS: PAUSED, STAGE: name, REASON: why})

    def _stage_done(self, name: str, started: float) -> None:
        if self.run_id:
            self._seconds(name, started)
            self._tags({stage_tag(name): SUCCEEDED})

    def _seconds(self, name: str, started: float) -> None:
        from mlflow.entities import Metric

        metric = Metric(f"stage.{name}.seconds", round(time.monotonic() - started, 3), int(time.time() * 1000), 0)
        self._write(lambda c: c.log_batch(self.run_id, metrics=[metric]))

    def _end(self, name: str, status: str, reason: str, started: float) -> None:
        if not self.run_id:
            return
        self._seconds(name, started)
        self._tags({stage_tag(name): status, STATUS: status, REASON: reason})
        self._write(lambda c: c.set_terminated(self.run_id, "KILLED" if status == INTERRUPTED else "FAILED"))

    def succeed(self) -> None:
        self._tags({STATUS: SUCCEEDED, STAGE: "done"})
        if self.run_id:
            self._write(lambda c: c.set_terminated(self.run_id, "FINISHED"))


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _user() -> str:
    """The MLflow user where the tracking store has one, else this machine's."""
    try:
        return ACTOR.get() or os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
