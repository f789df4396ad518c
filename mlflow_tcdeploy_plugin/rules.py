"""The refusal rules of the client's methods: input refused before the first request, with what to do instead.

The option table checks each value; these rules check names, combinations, and what the chosen backend's
capabilities allow.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from .backends.base import Deployment
from .backends.capabilities import Capabilities
from .errors import TcDeployError, invalid
from .resolve import check_syntax, is_catalog
from .results import FLAVOR

GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")
POD_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,251}[a-z0-9])?$")
POD_PATTERN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,251}\*$")
WITH_ACTION = ("service_action", "replicas", "wait", "timeout", "poll_interval")
"""Options that go along with a service_action (the service ignores the others, so they are refused)."""
ENDPOINT_CHANGES = (
    "description",
    "authorization_enable",
    "create_auth_token",
    "update_auth_token",
    "delete_auth_token",
    "traffic",
)
ENDPOINT_FEATURES = (
    ("description", "set_description"),
    ("authorization_enable", "set_authorization"),
    ("update_auth_token", "update_auth_token"),
    ("delete_auth_token", "delete_auth_token"),
)


def check_flavor(flavor: str | None) -> None:
    if flavor not in (None, FLAVOR):
        raise invalid(f"Flavor {flavor!r} is not supported: the model services serve the {FLAVOR} flavor.")


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"The {kind} name must be a non-empty string, not {name!r}.")
    if not name.isprintable() or len(name) > 200:
        raise invalid(f"The {kind} name {name!a} has control characters or is too long.")
    return name


def check_group_name(name: Any) -> None:
    if not (isinstance(name, str) and GROUP_NAME_RE.match(name)):
        raise invalid(
            f"The deployment name {name!a} is not a valid service group name: use at most 60 "
            "letters, digits, '_' or '-', starting with a letter or digit."
        )


def deployment_arg(method: str, deployment_name: str | None, service_id: str | None) -> str:
    """The pod methods take the deployment as ``deployment_name`` or, as 1.0.3 documented, ``service_id``."""
    if deployment_name is not None and service_id is not None:
        raise invalid(f"{method}() takes the deployment once: as deployment_name or as service_id, not both.")
    name = deployment_name if deployment_name is not None else service_id
    if name is None:
        raise invalid(f"{method}() needs the deployment: deployment_name=<ServiceId or name> (or service_id=…).")
    return name


def check_pod_name(pod_name: Any, wildcard: bool = False) -> None:
    valid = isinstance(pod_name, str) and (POD_NAME_RE.match(pod_name) or (wildcard and POD_PATTERN_RE.match(pod_name)))
    if not valid:
        raise invalid(f"{pod_name!a} is not a pod name (get_deployment(...)['pod_infos'] lists them).")


def check_model_uri(model_uri: str, options: Mapping[str, Any], can: Capabilities, has_image: bool = False) -> None:
    """What the chosen backend cannot take, refused before anything is sent (``has_image``: the image is given
    otherwise, as a promotion's)."""
    check_syntax(model_uri)
    if is_catalog(model_uri):
        can.require("catalog_models")
    if not can.runs_models and not (has_image or "image_repository" in options or "image_info" in options):
        raise invalid(
            f"On the {can.backend} backend a model runs as a container image: add -C "
            "image_repository=<registry>/<namespace>/<name> (tcdeploy builds, scans and pushes the model's "
            'image), or -C image_info=\'{"image_type": "CCR", "image_url": "…"}\' to run an image you built.'
        )


def create_action(options: Mapping[str, Any], can: Capabilities) -> str:
    """The service_action of a create: START (default) or STOP, where the backend can create stopped."""
    action = str(options.get("service_action", "START"))
    if action not in ("START", "STOP"):
        raise invalid(f"service_action={action} is for updates; a new deployment takes START or STOP.")
    if action == "STOP":
        can.require("create_stopped")
    return action


def check_rollout(options: Mapping[str, Any], endpoint: str | None) -> None:
    """A rollout adds a running, verified version to an endpoint that serves already."""
    if "rollout" not in options:
        return
    if endpoint is None:
        raise invalid(
            "A rollout moves an endpoint's traffic to a new version: give the endpoint it joins (--endpoint NAME, "
            "endpoint=NAME). A new endpoint takes all its traffic at once."
        )
    if options["rollout"]["hold"] == "manual" and options.get("record") == "off":
        raise invalid(
            'A rollout held by hand ("hold": "manual") is moved on from its record (tcdeploy rollout promote): '
            "drop record=off."
        )
    blocking = [f"{k}={options[k]}" for k in ("wait", "verify", "service_action") if k in options]
    blocking = [b for b in blocking if b in ("wait=False", "verify=off", "service_action=STOP")]
    if blocking:
        raise invalid(
            f"A rollout waits for the new version, verifies it at each step and moves traffic to it: drop "
            f"{' and '.join(blocking)}."
        )


def check_verify(options: Mapping[str, Any]) -> None:
    """verify=required needs a running service to call once the deploy is done."""
    if options.get("verify") != "required":
        return
    blocking = ["wait=false"] if options.get("wait") is False else []
    blocking += ["service_action=STOP"] if options.get("service_action") == "STOP" else []
    if blocking:
        raise invalid(f"verify=required calls the running service after the deploy: drop {' and '.join(blocking)}.")


def check_update(options: Mapping[str, Any], model_uri: str | None, sent: Collection[str]) -> None:
    """An update's combinations: an action goes alone; without one there must be something to change (a model,
    or an option among ``sent``, those the backend's requests carry)."""
    if "image_repository" in options and model_uri is None:
        raise invalid("image_repository builds an image of a model: give the model URI (-m) too.")
    action = options.get("service_action")
    if action is None:
        if model_uri is None and not set(options) & set(sent):
            raise invalid("Nothing to update: give a model URI (-m) or options (-C key=value).")
        return
    extra = sorted(set(options) - set(WITH_ACTION))
    if extra or model_uri is not None:
        ignored = ", ".join(extra + (["model_uri"] if model_uri is not None else []))
        raise invalid(
            f"service_action={action} makes the service ignore the other changes ({ignored}): "
            "send them in a separate update."
        )
    if action != "SCALE" and "replicas" in options:
        raise invalid(f"replicas goes with service_action=SCALE, not {action}.")
    if action == "START":
        raise invalid("service_action=START is for a new deployment; resume a stopped one with RESUME.")


def check_update_of(deployment: Deployment, options: Mapping[str, Any]) -> None:
    """Combinations an update refuses, given what the service already has."""
    check_scaling_of(deployment, options)
    if options.get("charge_type") == "PREPAID" and not (
        options.get("resource_group_id") or deployment.resource_group_id
    ):
        raise invalid(
            f"charge_type=PREPAID runs {deployment.service_id} in a prepaid resource group, and it has none: "
            "give resource_group_id (and resources)."
        )
    if options.get("model_source") == "IMAGE" and not (options.get("image_info") or deployment.has_image):
        raise invalid(f"model_source=IMAGE needs image_info: {deployment.service_id} has no image to run.")


def _policy_owns_the_count(deployment: Deployment) -> TcDeployError:
    return invalid(
        f"{deployment.service_id} scales automatically: its policy sets the replica count. Change its bounds with "
        '-C autoscaling=\'{"min_replicas": …, "max_replicas": …, "metrics": {…}}\' (tione), or scale it by hand '
        "again with -C scale_mode=MANUAL -C replicas=N."
    )


def check_action_of(deployment: Deployment, options: Mapping[str, Any]) -> None:
    """An action the service's scaling refuses: SCALE of an autoscaled service, whose policy owns the count."""
    if options.get("service_action") == "SCALE" and deployment.scaling.get("mode") == "AUTO":
        raise _policy_owns_the_count(deployment)


def check_scaling_of(deployment: Deployment, options: Mapping[str, Any]) -> None:
    """Scaling changes an autoscaled service refuses: a replica count while the policy owns it, and scheduled jobs
    alone on a metric policy (sent without it, they would replace it)."""
    if deployment.scaling.get("mode") != "AUTO" or options.get("scale_mode") == "MANUAL":
        return
    if "replicas" in options:
        raise _policy_owns_the_count(deployment)
    if "scale_schedules" in options and "autoscaling" not in options and deployment.scaling.get("strategy") == "HPA":
        raise invalid(
            f"{deployment.service_id} follows a metric policy, and scale_schedules alone would replace it with the "
            "schedule: send the policy with them (-C autoscaling='…', as get_deployment shows it under scaling)."
        )


def endpoint_changes(options: Mapping[str, Any], can: Capabilities) -> list[str]:
    """The changes an update_endpoint asks for, each one the backend can make."""
    changes = sorted(set(options) & set(ENDPOINT_CHANGES))
    if not changes:
        raise invalid(f"Nothing to change: give one of {', '.join(ENDPOINT_CHANGES)} (-C key=value).")
    for change, feature in ENDPOINT_FEATURES:
        if change in options:
            can.require(feature)
    return changes


def check_request_size(size: int, limit: int | None, backend: str) -> None:
    if limit is not None and size > limit:
        raise invalid(
            f"The input makes a {size / 2**20:.1f} MiB request; the {backend} API takes at most "
            f"{limit / 2**20:.0f} MiB. Split it into smaller batches."
        )
