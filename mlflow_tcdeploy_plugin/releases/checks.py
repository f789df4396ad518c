"""A release's checks around its deploy: what verification sends (found before anything is deployed), what the
endpoint answered before the release, then the ``verify`` stage, or the ``rollout`` stage that verifies at each
step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_STATE

from .. import options as opt
from ..errors import TcDeployError, invalid
from ..log import get_logger
from . import verify

if TYPE_CHECKING:
    from ..backends.base import Backend, Deployment, Endpoint
    from .record import ReleaseRecord

logger = get_logger(__name__)


@dataclass
class Checks:
    """What a release verifies with, and how."""

    model_path: str
    payload: str | None
    source: str
    calls: int
    tolerance: float
    required: bool = False
    unverifiable: str = "the model has no input example (verify_input gives one)"
    """Why there is no payload (what a skipped verify stage records)."""
    baseline: list[Any] = field(default_factory=list)
    """What the endpoint answered the payload before the release (while it still serves other versions)."""

    @classmethod
    def plan(cls, model_path: str, options: dict[str, Any], rollout: bool) -> Checks:
        """Refuses, before anything is deployed, a release that must verify and has nothing to verify with."""
        mode = opt.value(options, "verify")
        try:
            found = None if mode == "off" else verify.payload_for(model_path, options.get("verify_input"))
        except ImportError as exc:  # mlflow-skinny alone: no numpy or pandas to load a model with
            if mode == "required" or rollout:
                raise invalid(f"Verification loads the model here, and {exc.name} is missing: {verify.SKINNY}") from exc
            return cls(model_path, None, "", 0, 0.0, unverifiable=f"{exc.name} is missing here ({verify.SKINNY})")
        if found is None and (mode == "required" or rollout):
            why = "a rollout checks each step with it" if rollout else "verify=required"
            raise invalid(
                f"The model has no input example to verify the deployment with, and {why}: log the model with "
                "input_example=..., or give -C verify_input=<a JSON scoring payload file>."
            )
        payload, source = found or (None, "")
        calls, tolerance = opt.value(options, "verify_calls"), opt.value(options, "verify_tolerance")
        return cls(model_path, payload, source, calls, tolerance, mode == "required")

    def note_baseline(self, backend: Backend, endpoint: Endpoint | None, besides: str | None = None) -> None:
        """The endpoint's answers now, when it already serves versions the new one will share it with (``besides``:
        the version being updated, whose answers now are not the new model's)."""
        others = [d for d in endpoint.deployments if d.service_id != besides] if endpoint else []
        if self.payload is None or endpoint is None or not any(d.ready_replicas for d in others):
            return
        for _ in range(self.calls):
            try:
                answer = dict(verify.caller(backend, endpoint.group_id)(self.payload))
            except MlflowException:
                continue
            if answer not in self.baseline:
                self.baseline.append(answer)

    def verify_stage(self, record: ReleaseRecord, backend: Backend, deployment: Deployment) -> None:
        """Calls through the endpoint's address; a failed check fails the release (the deployment keeps running)."""
        if self.payload is None:
            record.skip("verify", self.unverifiable)
            return
        if deployment.weight == 0:
            why = "it takes no traffic (weight 0): no call would reach it"
            if self.required:
                with record.stage("verify"):
                    raise TcDeployError(
                        f"{deployment.service_id} cannot be verified: {why}. Deploy it with a rollout, or give it "
                        "traffic (update-endpoint -C traffic=...) and release again.",
                        error_code=INVALID_STATE,
                    )
            record.skip("verify", why)
            return
        with record.stage("verify"):
            example = self.example(record)
            group_id = str(deployment.group_id)
            outcome = verify.check(verify.caller(backend, group_id), example, self.calls, self.tolerance, self.baseline)
            record.text(json.dumps(outcome.answers), "evidence/verify/answers.json")
            record.note(verify=outcome.text())
            if not outcome.passed:
                raise TcDeployError(
                    f"{deployment.service_id} is deployed but does not answer as the model does on {example.source}: "
                    f"{outcome.text()}. It keeps running: delete it or deploy a fixed version.",
                    error_code=INVALID_STATE,
                )

    def example(self, record: ReleaseRecord) -> verify.Example:
        """The payload and the model's own answer, kept as the release's evidence."""
        example = verify.example_for(self.model_path, str(self.payload), self.source)
        texts = [example.payload, json.dumps(example.expected), json.dumps(self.baseline)]
        for name, text in zip(verify.EVIDENCE, texts, strict=True):
            record.text(text, f"evidence/verify/{name}")
        record.fix(verify_evidence=verify.evidence_digest(texts))
        return example


def roll_out(
    record: ReleaseRecord,
    backend: Backend,
    checks: Checks,
    deployment: Deployment,
    previous: dict[str, int],
    options: dict[str, Any],
) -> str:
    """The rollout stage, from its first step: "done", or "paused" (hold "manual")."""
    from .rollout import Rollout

    spec = options["rollout"]
    with record.stage("rollout") as stage:
        record.fix(rollout=json.dumps(spec), previous_weights=json.dumps(previous), verify_source=checks.source)
        record.fix(verify_calls=checks.calls, verify_tolerance=checks.tolerance)
        where = (str(deployment.group_id), deployment.service_id, previous, spec)
        waiting = (opt.value(options, "timeout"), opt.value(options, "poll_interval"))
        rollout = Rollout(backend, record, *where, checks.calls, checks.tolerance, checks.baseline, *waiting)
        try:
            rollout.example = checks.example(record)
        except MlflowException as exc:
            rollout.rollback(f"before its first step: {exc.message}")
        state = rollout.run()
        if state == "paused" and not record.writing:
            rollout.rollback("at its first step: the release is not recorded, so its held rollout could not go on")
        if state == "paused":
            stage.paused = f"held at {spec['steps'][0]}% for `tcdeploy rollout promote {record.run_id}`"
    return state
