"""Acting on a recorded release: a held rollout promoted, or a rollout rolled back, by hand. A record is acted on
only as it was written: the facts later actions rely on are params, which MLflow never lets change, and the
verification evidence is checked against the digest recorded with it; a tag edited to point elsewhere, or evidence
replaced, refuses the action before any cloud request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_STATE, RESOURCE_DOES_NOT_EXIST

from .. import options as opt
from ..errors import TcDeployError
from .record import FAILED, INTERRUPTED, PAUSED, STATUS, SUCCEEDED, ReleaseRecord
from .rollout import RolledBack, Rollout
from .steps import WEIGHT
from .verify import EVIDENCE, Example, evidence_digest

if TYPE_CHECKING:
    from ..backends.base import Backend


@dataclass(frozen=True)
class Recorded:
    """A release read back: its run, and the facts it fixed when it ran."""

    run: Any
    facts: dict[str, str]

    @property
    def id(self) -> str:
        return str(self.run.info.run_id)

    @property
    def status(self) -> str:
        return str(self.run.data.tags.get(STATUS, ""))


def read(release_id: str) -> Recorded:
    """The release, refused when it is unknown, not a release, or edited since it was written."""
    from mlflow import MlflowClient

    from .history import _quoted, _settled

    client = MlflowClient()
    try:
        run = _settled(client, client.get_run(_quoted(release_id)))
    except MlflowException as exc:
        raise TcDeployError(f"No release {release_id!r}: {exc.message}", error_code=RESOURCE_DOES_NOT_EXIST) from exc
    if STATUS not in run.data.tags:
        raise TcDeployError(f"The run {release_id!r} is not a release.", error_code=RESOURCE_DOES_NOT_EXIST)
    params, tags = run.data.params, run.data.tags
    for key, value in sorted(params.items()):
        if key.startswith("tcdeploy.") and key in tags and tags[key] != value:
            raise TcDeployError(
                f"The release {release_id} was edited after it was recorded: its tag {key} says {tags[key]!r}, "
                f"but the release recorded {value!r}. Nothing is done on an edited record.",
                error_code=INVALID_STATE,
            )
    return Recorded(run, {k.removeprefix("tcdeploy."): v for k, v in params.items() if k.startswith("tcdeploy.")})


def _evidence(release: Recorded) -> list[str]:
    from mlflow.artifacts import load_text

    try:
        texts = [load_text(f"runs:/{release.id}/evidence/verify/{name}") for name in EVIDENCE]
    except (MlflowException, OSError) as exc:
        raise TcDeployError(
            f"The release {release.id} has no verification evidence to check its rollout with ({exc}).",
            error_code=INVALID_STATE,
        ) from exc
    if evidence_digest(texts) != release.facts.get("verify_evidence"):
        raise TcDeployError(
            f"The verification evidence of release {release.id} was replaced after it was recorded: nothing is done "
            "on an edited record.",
            error_code=INVALID_STATE,
        )
    return texts


def _backend(release: Recorded) -> Backend:
    """The backend of the release's target, as its settings resolve here; refused when they resolve to another
    backend or region than the release ran on (a bare ``tcdeploy`` target follows the environment)."""
    from ..backends import make_backend
    from ..settings import Settings

    facts = release.facts
    settings = Settings.resolve(facts["target"])
    ran_on = (facts.get("backend"), facts.get("region"))
    if (settings.backend, settings.region) != ran_on:
        raise TcDeployError(
            f"The release {release.id} ran on the {ran_on[0]} backend in {ran_on[1]}, but its target "
            f"{facts['target']!r} resolves here to {settings.backend} in {settings.region}: set the environment as it "
            "was when the release ran.",
            error_code=INVALID_STATE,
        )
    return make_backend(settings)


def _rollout(release: Recorded, allowed: tuple[str, ...], done: str) -> Rollout:
    """The release's rollout, ready to go on, after every check that needs no cloud request; the record is taken
    over by this process only then."""
    facts = release.facts
    if "rollout" not in facts:
        raise TcDeployError(f"The release {release.id} has no rollout.", error_code=INVALID_STATE)
    if release.status not in allowed:
        raise TcDeployError(
            f"The release {release.id} is {release.status}: only a {' or '.join(allowed)} rollout can be {done}.",
            error_code=INVALID_STATE,
        )
    payload, expected, baseline = _evidence(release)
    backend = _backend(release)
    from mlflow import MlflowClient

    return Rollout(
        backend,
        ReleaseRecord(MlflowClient(), release.id, True),
        facts["endpoint"],
        facts["deployment"],
        {k: int(v) for k, v in json.loads(facts["previous_weights"]).items()},
        json.loads(facts["rollout"]),
        int(facts["verify_calls"]),
        float(facts["verify_tolerance"]),
        json.loads(baseline),
        opt.BY_KEY["timeout"].default,
        opt.BY_KEY["poll_interval"].default,
        Example(payload, json.loads(expected), facts.get("verify_source", "")),
    )


def _held_weight(release: Recorded, rollout: Rollout) -> int:
    """The step the rollout is held at, as recorded and as the endpoint has it."""
    steps = rollout.spec["steps"]
    recorded = release.run.data.tags.get(WEIGHT, "")
    if not recorded.isdigit() or int(recorded) not in steps:
        raise TcDeployError(
            f"The release {release.id} records weight {recorded!r}, which is not one of its steps {steps}.",
            error_code=INVALID_STATE,
        )
    live = next(
        (
            d.weight
            for d in rollout.backend.get_endpoint(rollout.group_id).deployments
            if d.service_id == rollout.service_id
        ),
        None,
    )
    if live != int(recorded):
        raise TcDeployError(
            f"{rollout.service_id} takes {live}% of the traffic now, not the {recorded}% its release {release.id} "
            "left it at: the endpoint was changed since. Roll back (tcdeploy rollout rollback) and release again.",
            error_code=INVALID_STATE,
        )
    return int(recorded)


def promote(release_id: str) -> dict[str, Any]:
    """Check the held step and move on (to the next step, held again under hold "manual", or to the end)."""
    release = read(release_id)
    rollout = _rollout(release, (PAUSED,), "promoted")
    rollout.weight = _held_weight(release, rollout)
    steps = rollout.spec["steps"]
    record = rollout.record.attach()
    with record.stage("rollout") as stage:
        state = rollout.run(steps.index(rollout.weight), held=True)
        if state == "paused":
            stage.paused = f"held at {rollout.weight}% for `tcdeploy rollout promote {release.id}`"
    if state == "done":
        record.succeed()
        _tag_version(release)
    return {"release": release.id, "rollout": state, "weight": rollout.weight}


def _tag_version(release: Recorded) -> None:
    """The model version names the deployment it now runs and this release (as a release that ends by itself)."""
    from ..prepare import tag_registered

    name, version = release.facts.get("model_name"), release.facts.get("model_version")
    if name and version:
        tag_registered((name, version), {f"tcdeploy.deployment.{release.facts['deployment']}": release.id})


def rollback(release_id: str) -> dict[str, Any]:
    """Weights back as before the release, the new version stopped (or deleted, as the rollout said): of a held,
    interrupted, failed or even succeeded rollout."""
    release = read(release_id)
    rollout = _rollout(release, (PAUSED, INTERRUPTED, FAILED, SUCCEEDED), "rolled back")
    rollout.record.attach()
    message = ""
    try:
        with rollout.record.stage("rollout"):
            rollout.rollback("by hand (tcdeploy rollout rollback)")
    except RolledBack as done:
        message = done.message
    return {"release": release.id, "rollout": "rolled_back", "weight": 0, "message": message}
