"""Finding what a user names: endpoints and deployments by ID or name, instance types, auth tokens, and the
versions a traffic split names."""

from __future__ import annotations

from collections.abc import Mapping
from difflib import get_close_matches
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, RESOURCE_EXHAUSTED

from .backends.base import Backend, Deployment, Endpoint
from .cloud.errors import CloudError
from .errors import TcDeployError, invalid
from .log import get_logger
from .rules import check_name

logger = get_logger(__name__)


def _missing(message: str) -> TcDeployError:
    return TcDeployError(message, error_code=RESOURCE_DOES_NOT_EXIST)


class Lookup:
    """Look-ups through one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def endpoint(self, endpoint: str) -> Endpoint:
        """A service group by ID, or by name."""
        check_name("endpoint", endpoint)
        try:
            return self.backend.get_endpoint(endpoint)
        except CloudError as exc:
            if not exc.no_such_id:
                raise
        matches = [e for e in self.backend.iter_endpoints() if e.name == endpoint]
        if not matches:
            raise _missing(
                f"No endpoint (service group) has the ID or name {endpoint!r}; "
                "`mlflow deployments list-endpoints -t tcdeploy` lists them."
            )
        if len(matches) > 1:
            raise invalid(
                f"Several endpoints are named {endpoint!r}: {', '.join(e.group_id for e in matches)}. Use the ID."
            )
        return self.backend.get_endpoint(matches[0].group_id)

    def deployment(self, name: str, endpoint: str | None = None) -> Deployment:
        """A service version by ServiceId, or by name when that names exactly one version."""
        check_name("deployment", name)
        group_id = self.endpoint(endpoint).group_id if endpoint else None
        try:
            found = self.backend.get_deployment(name)
            if group_id is None or found.group_id == group_id:
                return found
        except CloudError as exc:
            if not exc.no_such_id:
                raise
        candidates = [
            d
            for e in self.backend.iter_endpoints()
            if group_id in (None, e.group_id)
            for d in e.deployments
            if name in (d.group_name, e.name)
        ]
        if not candidates:
            where = f" in endpoint {endpoint!r}" if endpoint else ""
            raise _missing(
                f"No deployment has the ID or name {name!r}{where}; `mlflow deployments list -t tcdeploy` lists them."
            )
        if len(candidates) > 1:
            listed = "; ".join(f"{d.service_id} (version {d.version}, {d.status})" for d in candidates)
            raise invalid(f"{name!r} names {len(candidates)} deployments: {listed}. Use a ServiceId.")
        return self.backend.get_deployment(candidates[0].service_id)

    def group_id_for(self, target: str, endpoint: str | None) -> str:
        """What predict calls: a group ID or name first, then a ServiceId or service name."""
        if endpoint is None:
            try:
                return self.endpoint(target).group_id
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        return str(self.deployment(target, endpoint).group_id)

    def instance_type(self, wanted: str | None, charge_type: str, region: str) -> str:
        """The spec asked for, checked against the live list; by default the first available CPU spec."""
        specs = self.backend.specs(charge_type)
        if wanted is None:
            cpu = [s for s in specs if s.available and s.type == "CPU"]
            if not cpu:
                raise TcDeployError(
                    "No CPU instance type is available; set instance_type (`list_instance_types()` lists them).",
                    error_code=RESOURCE_EXHAUSTED,
                )
            logger.info("tcdeploy: instance_type not given; using %s (%s)", cpu[0].name, cpu[0].alias or "")
            return cpu[0].name
        found = next((s for s in specs if s.name == wanted), None)
        if found is None:
            names = [s.name for s in specs]
            hint = get_close_matches(wanted, names, n=1)
            maybe = f" Did you mean {hint[0]!r}?" if hint else ""
            raise invalid(f"Unknown instance_type {wanted!r}.{maybe} Available: {', '.join(names)}.")
        if not found.available:
            regions = ", ".join(found.available_region) or "no other region"
            raise TcDeployError(
                f"instance_type {wanted!r} is sold out in {region}; it is available in {regions}.",
                error_code=RESOURCE_EXHAUSTED,
            )
        return wanted


def token(group: Endpoint, endpoint: str, name: str) -> dict[str, Any]:
    """The endpoint's auth token named ``name``."""
    found = group.token_named(name)
    if found is None:
        names = ", ".join(group.token_names()) or "(none)"
        raise _missing(f"The endpoint {endpoint!r} has no auth token named {name!r}; its tokens: {names}.")
    return found


def traffic_weights(traffic: Mapping[str, int], endpoint: Endpoint) -> dict[str, int]:
    """The weights by ServiceId for every version of ``endpoint`` (those not named get 0)."""
    by_name: dict[str, str] = {}
    for deployment in endpoint.deployments:
        by_name[deployment.service_id] = deployment.service_id
        by_name[str(deployment.version)] = deployment.service_id
    weights = {d.service_id: 0 for d in endpoint.deployments}
    named: dict[str, str] = {}
    for key, weight in traffic.items():
        service_id = by_name.get(key)
        if service_id is None:
            known = ", ".join(f"{d.version} ({d.service_id})" for d in endpoint.deployments) or "none"
            raise invalid(f"traffic: {key!r} is not a version of endpoint {endpoint.group_id}; its versions: {known}.")
        if service_id in named:
            raise invalid(f"traffic: {named[service_id]!r} and {key!r} name the same version ({service_id}).")
        named[service_id] = key
        weights[service_id] = weight
    return weights
