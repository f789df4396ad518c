"""A deployment, top to bottom: resolve the model → gate it → build its image (when asked) → the backend's request
→ wait → the result. Input has been checked (``rules``) before a step runs; the client adapts MLflow's API onto
these steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

from . import options as opt
from . import prepare, results
from .backends.base import Plan, State
from .cloud import waiters
from .cloud.errors import CloudError
from .errors import TcDeployError, invalid
from .log import get_logger
from .resolve import ResolvedModel, resolve

if TYPE_CHECKING:
    from .backends.base import Deployment, Endpoint
    from .image import BuiltImage, ImageRef
    from .lookup import Lookup

logger = get_logger(__name__)


@dataclass
class Prepared:
    """A model through the gate and, with image_repository, built into an image."""

    model: ResolvedModel
    scan: dict[str, Any]
    built: BuiltImage | None = None
    image: ImageRef | None = None


def prepare_model(model_uri: str, options: dict[str, Any], lookup: Lookup) -> Prepared:
    """Resolve, gate and (with image_repository) build and push the model's image."""
    model = resolve(model_uri, lookup.backend)
    scan = prepare.gate(model, options)
    if "image_repository" not in options:
        return Prepared(model, scan)
    built, image_options = prepare.image(model, options, scan)
    return Prepared(model, scan, built, image_options.pull(built.reference))


def wait(lookup: Lookup, service_id: str, goal: State, options: dict[str, Any]) -> Deployment:
    return waiters.wait_for_service(
        lookup.backend,
        service_id,
        goal,
        timeout=opt.value(options, "timeout"),
        interval=opt.value(options, "poll_interval"),
    )


def create(
    lookup: Lookup, name: str, model_uri: str, options: dict[str, Any], endpoint: str | None, region: str
) -> dict[str, Any]:
    """A new group ``name`` with one version, or a new version in ``endpoint``; waits unless wait=false."""
    charge_type = opt.value(options, "charge_type")
    if charge_type != "PREPAID" or "instance_type" in options:
        options["instance_type"] = lookup.instance_type(options.get("instance_type"), charge_type, region)
    prepared = prepare_model(model_uri, options, lookup)
    existing = lookup.endpoint(endpoint) if endpoint is not None else None
    created, deployment = _create(lookup, name, existing, Plan(options, prepared.model, prepared.image))
    logger.info(
        "tcdeploy: created %s (endpoint %s, version %s)", deployment.service_id, created.group_id, deployment.version
    )
    if opt.value(options, "wait"):
        goal = State.STOPPED if options.get("service_action") == "STOP" else State.RUNNING
        deployment = wait(lookup, deployment.service_id, goal, options)
    summary = results.deployment_summary(deployment, created.name)
    if prepared.built is not None:
        summary["image"] = prepared.built.summary()
    return {**summary, "model_uri": prepared.model.model_uri, "scan": prepared.scan}


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


def act(lookup: Lookup, deployment: Deployment, options: dict[str, Any]) -> dict[str, Any]:
    """STOP, RESUME or SCALE a deployment; waits unless wait=false."""
    action = str(options["service_action"])
    replicas = scale_to(deployment, options) if action == "SCALE" else None
    updated = lookup.backend.act(deployment, action, replicas)
    logger.info("tcdeploy: updated %s (%s)", deployment.service_id, action)
    if opt.value(options, "wait"):
        goal = State.STOPPED if action == "STOP" else State.RUNNING
        updated = wait(lookup, deployment.service_id, goal, options)
    return results.deployment_summary(updated)


def update(
    lookup: Lookup, deployment: Deployment, model_uri: str | None, options: dict[str, Any], region: str
) -> dict[str, Any]:
    """Send the given options (and the model, gated and built as on create); waits unless wait=false."""
    if "instance_type" in options:
        lookup.instance_type(options["instance_type"], opt.value(options, "charge_type"), region)
    prepared = prepare_model(model_uri, options, lookup) if model_uri is not None else None
    plan = Plan(options, prepared.model, prepared.image) if prepared else Plan(options)
    updated = lookup.backend.update(deployment, plan)
    logger.info("tcdeploy: updated %s (%s)", deployment.service_id, ", ".join(sorted(options)))
    if opt.value(options, "wait"):
        goal = State.STOPPED if updated.state is State.STOPPED else State.RUNNING
        updated = wait(lookup, deployment.service_id, goal, options)
    summary = results.deployment_summary(updated)
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
