"""A deployment, top to bottom: resolve the model → gate it → build its image (when asked) → the backend's request
→ wait → verify, or roll out in steps → the result. Input has been checked (``rules``) before a step runs; the
client adapts MLflow's API onto these steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

from . import options as opt
from . import prepare, results
from .backends.base import Plan, State
from .cloud import waiters
from .cloud.errors import CloudError
from .errors import TcDeployError, invalid
from .log import get_logger
from .releases.checks import Checks, roll_out
from .releases.record import IMAGE_TAG, ReleaseRecord
from .resolve import ResolvedModel, named, resolve

if TYPE_CHECKING:
    from .backends.base import Deployment, Endpoint
    from .image import BuiltImage, ImageOptions, ImageRef
    from .lookup import Lookup

logger = get_logger(__name__)
BUILT = "evidence/build"


@dataclass
class Prepared:
    """A model through the gate and, with image_repository, built into an image."""

    model: ResolvedModel
    scan: dict[str, Any]
    checks: Checks
    built: BuiltImage | None = None
    image: ImageRef | None = None


@dataclass
class Release:
    """What one release runs against, and its record."""

    lookup: Lookup
    region: str
    target: str
    record: ReleaseRecord = field(default_factory=lambda: ReleaseRecord(None, None, False))

    @classmethod
    def start(cls, lookup: Lookup, region: str, target: str, options: dict[str, Any], **facts: Any) -> Release:
        """Its record begins now (under record=required, a store that cannot be written stops it here)."""
        name, version = named(facts.get("model_uri"))
        facts = {"model_name": name or None, "model_version": version or None, **facts}
        tags = {f"tcdeploy.{k}": str(v) for k, v in facts.items() if v is not None}
        tags |= {"tcdeploy.target": target, "tcdeploy.backend": lookup.backend.name}
        record = ReleaseRecord.start(opt.value(options, "record"), opt.value(options, "release_experiment"), tags)
        record.fix(model_uri=facts.get("model_uri"), target=target, backend=lookup.backend.name, region=region)
        return cls(lookup, region, target, record)

    def succeed(self, model: ResolvedModel | None, service_id: str) -> None:
        """The release is done; the model's registry version names the deployment it now runs and this release."""
        self.record.succeed()
        if model is not None and self.record.run_id:
            prepare.tag_version(model, {f"tcdeploy.deployment.{service_id}": self.record.run_id})


def prepare_model(
    release: Release, model_uri: str, options: dict[str, Any], check: Callable[[], None] = lambda: None
) -> Prepared:
    """Resolve (after ``check``, the look-ups that refuse early), gate and (with image_repository) build and push
    the model's image, each a stage of the release."""
    record = release.record
    with record.stage("resolve"):
        check()
        model = resolve(model_uri, release.lookup.backend)
        checks = Checks.plan(model.model_path, options, "rollout" in options)
    fix_model(record, model)
    scan = gate(record, model, options)
    if "image_info" in options:
        record.fix(image=options["image_info"]["image_url"], image_source="image_info")
    if "image_repository" not in options:
        return Prepared(model, scan, checks)
    built, image_options = build(record, model, options, scan)
    return Prepared(model, scan, checks, built, image_options.pull(built.reference))


def fix_model(record: ReleaseRecord, model: ResolvedModel) -> None:
    """The registry version (or catalog version) and run the record's model resolved to."""
    registered = prepare.label(model)[1]
    record.fix(model_name=registered and registered[0], model_version=registered and registered[1], run=model.run_id)


def build(
    record: ReleaseRecord, model: ResolvedModel, options: dict[str, Any], scan: dict[str, Any]
) -> tuple[BuiltImage, ImageOptions]:
    """The build stage: the image, its Dockerfiles and the logs this build wrote as evidence (a failed build's log
    too), and the model's registry version tagged with the image it was built into."""
    from .image import ImageError

    try:
        with record.stage("build"):
            built, image_options = prepare.image(model, options, scan)
            record.fix(image=built.reference, image_digest=built.digest)
            # Dockerfiles are written by every build; logs only by what was built or pushed this time.
            record.evidence([str(p) for p in (*sorted(built.build_dir.glob("Dockerfile*")), *built.logs)], BUILT)
    except ImageError as exc:
        record.evidence([exc.log_path], BUILT)
        raise
    prepare.tag_version(model, {IMAGE_TAG: built.reference})
    return built, image_options


def gate(record: ReleaseRecord, model: ResolvedModel, options: dict[str, Any]) -> dict[str, Any]:
    """The gate's stage; its verdict and evidence are recorded whether it passes or refuses the model."""
    from .scan.gate import GateFailed

    try:
        with record.stage("gate"):
            scan = prepare.gate(model, options)
    except GateFailed as exc:
        _gate_evidence(record, exc.summary)
        raise
    _gate_evidence(record, scan)
    return scan


def _gate_evidence(record: ReleaseRecord, scan: dict[str, Any]) -> None:
    record.fix(
        gate_status=scan.get("status"), gate_coverage=prepare.coverage_text(scan), gate_db=scan.get("db_updated_at")
    )
    record.evidence([scan.get(k, "") for k in ("report_path", "sbom_path", "lock_path")], "evidence/gate")


def wait(release: Release, service_id: str, goal: State, options: dict[str, Any]) -> Deployment:
    with release.record.stage("wait"):
        return waiters.wait_for_service(
            release.lookup.backend,
            service_id,
            goal,
            timeout=opt.value(options, "timeout"),
            interval=opt.value(options, "poll_interval"),
        )


Preparer = Callable[[Release, str, dict[str, Any], Callable[[], None]], Prepared]
"""What takes a model to its deploy: ``prepare_model`` (resolve, gate, build), or a promotion's (``promotion``)."""


def create(
    release: Release,
    name: str,
    model_uri: str,
    options: dict[str, Any],
    endpoint: str | None,
    prepare: Preparer | None = None,
) -> dict[str, Any]:
    """A new group ``name`` with one version, or a new version in ``endpoint``; waits unless wait=false."""
    lookup = release.lookup
    charge_type = opt.value(options, "charge_type")

    def check() -> None:
        if charge_type != "PREPAID" or "instance_type" in options:
            options["instance_type"] = lookup.instance_type(options.get("instance_type"), charge_type, release.region)

    prepared = (prepare or prepare_model)(release, model_uri, options, check)
    with release.record.stage("deploy"):
        existing = lookup.endpoint(endpoint) if endpoint is not None else None
        previous = _pin(lookup, existing, options) if "rollout" in options and existing else {}
        prepared.checks.note_baseline(lookup.backend, existing)
        created, deployment = _create(lookup, name, existing, Plan(options, prepared.model, prepared.image))
    release.record.fix(deployment=deployment.service_id, endpoint=created.group_id)
    logger.info(
        "tcdeploy: created %s (endpoint %s, version %s)", deployment.service_id, created.group_id, deployment.version
    )
    state = "done"
    if opt.value(options, "wait"):
        goal = State.STOPPED if options.get("service_action") == "STOP" else State.RUNNING
        deployment = wait(release, deployment.service_id, goal, options)
        state = _check(release, prepared.checks, deployment, previous, options)
    summary = results.deployment_summary(deployment, created.name)
    if state == "done":
        release.succeed(prepared.model, deployment.service_id)
    else:
        summary["rollout"] = {"state": state, "weight": options["rollout"]["steps"][0]}
    if prepared.built is not None:
        summary["image"] = prepared.built.summary()
    return {**summary, "model_uri": prepared.model.model_uri, "scan": prepared.scan, "release": release.record.run_id}


def _pin(lookup: Lookup, existing: Endpoint, options: dict[str, Any]) -> dict[str, int]:
    """The endpoint's split before the release, set explicitly so that the new version joins it at 0%."""
    previous = {d.service_id: int(d.weight or 0) for d in existing.deployments}
    lookup.backend.set_weights(existing, previous)
    waiters.wait_for_weights(
        lookup.backend, existing.group_id, opt.value(options, "timeout"), opt.value(options, "poll_interval")
    )
    return previous


def _check(
    release: Release, checks: Checks, deployment: Deployment, previous: dict[str, int], options: dict[str, Any]
) -> str:
    """The verify stage, or the rollout stage (which verifies at each step): "done" or "paused"."""
    if deployment.state is not State.RUNNING:
        return "done"
    if "rollout" in options:
        return roll_out(release.record, release.lookup.backend, checks, deployment, previous, options)
    checks.verify_stage(release.record, release.lookup.backend, deployment)
    return "done"


def _create(lookup: Lookup, name: str, existing: Endpoint | None, plan: Plan) -> tuple[Endpoint, Deployment]:
    try:
        return lookup.backend.create(name, existing, plan)
    except CloudError as exc:
        if exc.error_code == "RESOURCE_ALREADY_EXISTS":
            raise TcDeployError(
                f"An endpoint named {name!r} already exists: add a version with --endpoint {name} "
                f"(endpoint={name!r}) or update an existing deployment. ({exc.message})",
                error_code=RESOURCE_ALREADY_EXISTS,
            ) from exc
        raise


def act(release: Release, deployment: Deployment, options: dict[str, Any]) -> dict[str, Any]:
    """STOP, RESUME or SCALE a deployment; waits unless wait=false."""
    action = str(options["service_action"])
    with release.record.stage("deploy"):
        replicas = scale_to(deployment, options) if action == "SCALE" else None
        updated = release.lookup.backend.act(deployment, action, replicas)
    logger.info("tcdeploy: updated %s (%s)", deployment.service_id, action)
    if opt.value(options, "wait"):
        goal = State.STOPPED if action == "STOP" else State.RUNNING
        updated = wait(release, deployment.service_id, goal, options)
    release.succeed(None, deployment.service_id)
    return {**results.deployment_summary(updated), "release": release.record.run_id}


def update(release: Release, deployment: Deployment, model_uri: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """Send the given options (and the model, gated and built as on create); waits unless wait=false."""
    lookup = release.lookup

    def check() -> None:
        if "instance_type" in options:
            lookup.instance_type(options["instance_type"], opt.value(options, "charge_type"), release.region)

    prepared = prepare_model(release, model_uri, options, check) if model_uri is not None else None
    with release.record.stage("deploy"):
        if prepared is None:
            check()
        else:
            endpoint = lookup.endpoint(str(deployment.group_id))
            prepared.checks.note_baseline(lookup.backend, endpoint, besides=deployment.service_id)
        plan = Plan(options, prepared.model, prepared.image) if prepared else Plan(options)
        updated = lookup.backend.update(deployment, plan)
    logger.info("tcdeploy: updated %s (%s)", deployment.service_id, ", ".join(sorted(options)))
    if opt.value(options, "wait"):
        goal = State.STOPPED if updated.state is State.STOPPED else State.RUNNING
        updated = wait(release, deployment.service_id, goal, options)
        if prepared is not None:
            _check(release, prepared.checks, updated, {}, options)
    release.succeed(prepared.model if prepared else None, deployment.service_id)
    summary = {**results.deployment_summary(updated), "release": release.record.run_id}
    if prepared is None:
        return summary
    summary["model_uri"] = prepared.model.model_uri
    if prepared.built is not None:
        summary["image"] = prepared.built.summary()
    return {**summary, "scan": prepared.scan}


def scale_to(deployment: Deployment, options: dict[str, Any]) -> int:
    """SCALE's replica count: the one given, else (as 1.0.3 accepted ``SCALE`` alone) the current one."""
    if "replicas" in options:
        return int(options["replicas"])
    if deployment.replicas < 1:
        raise invalid(
            f"service_action=SCALE needs replicas (-C replicas=N): {deployment.service_id} runs no replica now "
            f"(status {deployment.status}), so there is no current count to keep."
        )
    logger.info("tcdeploy: service_action=SCALE without replicas: sending the current count, %d", deployment.replicas)
    return deployment.replicas
