"""A rollout: the new version joins its endpoint in traffic steps (TI-ONE's weights); at each step the weight is set
and applied, held, then checked (the version's state, and verification calls through the invocation address); a
failed check puts the weights back as they were before the release and stops (or deletes) the new version."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_STATE

from ..errors import TcDeployError
from ..log import get_logger
from . import verify
from .record import ROLLED_BACK, ReleaseRecord
from .steps import calls_at, hold_seconds, weights_at

if TYPE_CHECKING:
    from ..backends.base import Backend

logger = get_logger(__name__)


class RolledBack(TcDeployError):
    """A rollout check failed: the weights are back as they were and the new version is stopped or deleted."""

    release_status = ROLLED_BACK


@dataclass
class Rollout:
    """One release's rollout, resumable from any step (``tcdeploy rollout promote`` goes on from the record)."""

    backend: Backend
    record: ReleaseRecord
    group_id: str
    service_id: str
    previous: dict[str, int]
    spec: dict[str, Any]
    calls: int
    tolerance: float
    baseline: Sequence[Any]
    """What the endpoint answered before the release (accepted below 100%)."""
    timeout: float
    interval: float
    example: verify.Example | None = None
    weight: int = 0
    """The new version's weight as last set."""

    def run(self, start: int = 0, held: bool = False) -> str:
        """Steps from index ``start`` (``held``: its weight is set and was held by a person); "done" or "paused".
        Any failure on the way (a check, a weight that is not applied in time, a cloud error) rolls back."""
        try:
            return self._steps(start, held)
        except RolledBack:
            raise
        except MlflowException as exc:
            self.rollback(f"at {self.weight}%: {exc.message}")

    def _steps(self, start: int, held: bool) -> str:
        from ..cloud import waiters

        hold = hold_seconds(self.spec["hold"])
        steps = self.spec["steps"]
        for index in range(start, len(steps)):
            step = steps[index]
            if not (held and index == start):
                self._set(weights_at(self.previous, self.service_id, step), waiters)
                self.weight = step
                self.record.note(rollout_weight=step)
                if hold is None:
                    return "paused"
                logger.info("tcdeploy: rollout: %s at %d%%; holding %s", self.service_id, step, self.spec["hold"])
                time.sleep(hold)
            self.check(step)
        return "done"

    def _set(self, weights: dict[str, int], waiters: Any) -> None:
        endpoint = self.backend.get_endpoint(self.group_id)
        self.backend.set_weights(endpoint, weights)
        waiters.wait_for_weights(self.backend, self.group_id, self.timeout, self.interval)

    def check(self, step: int) -> None:
        """The new version runs, and every verification call answers as the model does (below 100%, calls that
        reach the versions the endpoint had may answer as they did before the release)."""
        from ..backends.base import State

        deployment = self.backend.get_deployment(self.service_id)
        if deployment.state is not State.RUNNING:
            self.rollback(f"at {step}%: {self.service_id} is {deployment.status} ({deployment.reason or 'no reason'})")
        assert self.example is not None, "the example is computed before the first step"
        outcome = verify.check(
            verify.caller(self.backend, self.group_id),
            self.example,
            calls_at(self.calls, step),
            self.tolerance,
            self.baseline if step < 100 else (),
        )
        self.record.text(json.dumps(outcome.answers), f"evidence/verify/answers-{step}.json")
        if not outcome.passed:
            self.rollback(f"at {step}%: {outcome.text()}")
        logger.info("tcdeploy: rollout: check at %d%% passed (%s)", step, outcome.text())

    def rollback(self, reason: str) -> NoReturn:
        """Weights back as before the release, the new version stopped or deleted; raises ``RolledBack``."""
        from ..cloud import waiters

        logger.warning("tcdeploy: rollout of %s failed %s: rolling back", self.service_id, reason)
        self._set({**self.previous, self.service_id: 0}, waiters)
        self.weight = 0
        self.record.note(rollout_weight=0)
        if self.spec["on_failure"] == "delete":
            self.backend.delete_deployment(self.service_id)
        else:
            self.backend.act(self.backend.get_deployment(self.service_id), "STOP", None)
        done = "deleted" if self.spec["on_failure"] == "delete" else "stopped"
        raise RolledBack(
            f"The rollout of {self.service_id} was rolled back {reason}. The endpoint's weights are as before the "
            f"release ({self.previous}); the new version was {done}.",
            error_code=INVALID_STATE,
        )
