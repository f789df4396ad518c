"""What the client's methods return: MLflow-shaped summaries of the backends' resources, snake_case, token values
masked."""

from __future__ import annotations

from typing import Any

from .backends.base import CallInfo, Deployment, Endpoint
from .naming import to_snake

FLAVOR = "python_function"
SHOWN_TAIL = 4
_SECRET_KEYS = ("auth_token", "app_secret")


def mask(value: str) -> str:
    """A secret with only its last 4 characters shown (fully hidden when it is too short to show any)."""
    return "****" + value[-SHOWN_TAIL:] if len(value) >= 3 * SHOWN_TAIL else "****"


def deployment_summary(deployment: Deployment, group_name: str | None = None) -> dict[str, Any]:
    return {
        "name": deployment.service_id,
        "flavor": FLAVOR,
        "service_id": deployment.service_id,
        "endpoint": deployment.group_id,
        "service_group_id": deployment.group_id,
        "service_group_name": group_name or deployment.group_name,
        "version": deployment.version,
        "status": deployment.status,
        "instance_type": deployment.instance_type,
        "replicas": deployment.replicas,
        "scaling": deployment.scaling,
        "weight": deployment.weight,
        "model_path": deployment.model_path,
        "model_version": deployment.model_version,
    }


def deployment_detail(deployment: Deployment) -> dict[str, Any]:
    return {
        "name": deployment.service_id,
        "flavor": FLAVOR,
        **to_snake(deployment.shown),
        "scaling": deployment.scaling,
    }


def traffic(endpoint: Endpoint) -> dict[str, Any]:
    return {d.service_id: d.weight for d in endpoint.deployments}


def endpoint_summary(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.group_id,
        "service_group_name": endpoint.name,
        "description": endpoint.description,
        "status": endpoint.status,
        "authorization_enable": endpoint.authorization_enable,
        "service_count": endpoint.service_count,
        "running_service_count": endpoint.running_service_count,
        "latest_version": endpoint.latest_version,
        "deployments": [d.service_id for d in endpoint.deployments],
        "traffic": traffic(endpoint),
        "weight_update_status": endpoint.weight_update_status,
    }


def _masked(value: Any) -> Any:
    """Every token value in an API object (``auth_token``, ``auth_tokens[].base.value``, ``app_secret``)."""
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _SECRET_KEYS and isinstance(item, str) and item:
            out[key] = mask(item)
        elif key == "base" and isinstance(item, dict) and item.get("value"):
            out[key] = {**_masked(item), "value": mask(str(item["value"]))}
        else:
            out[key] = _masked(item)
    return out


def endpoint_detail(endpoint: Endpoint, call_info: CallInfo, reveal_tokens: bool) -> dict[str, Any]:
    """The whole group, its traffic split and its call addresses; token values masked unless ``reveal_tokens``."""
    detail = {
        "name": endpoint.group_id,
        **to_snake(endpoint.shown),
        "call_info": to_snake(call_info.shown),
        "traffic": traffic(endpoint),
        "weight_update_status": endpoint.weight_update_status,
    }
    return detail if reveal_tokens else _masked(detail)
