"""What the client's methods return: MLflow-shaped summaries of API objects, snake_case, token values masked."""

from __future__ import annotations

from typing import Any

from .naming import to_snake

FLAVOR = "python_function"
SHOWN_TAIL = 4


def mask(value: str) -> str:
    """A secret with only its last 4 characters shown (fully hidden when it is too short to show any)."""
    return "****" + value[-SHOWN_TAIL:] if len(value) >= 3 * SHOWN_TAIL else "****"


def deployment_summary(service: dict[str, Any], group_name: str | None = None) -> dict[str, Any]:
    info = service.get("MlModelInfo") or {}
    return {
        "name": service["ServiceId"],
        "flavor": FLAVOR,
        "service_id": service["ServiceId"],
        "endpoint": service.get("ServiceGroupId"),
        "service_group_id": service.get("ServiceGroupId"),
        "service_group_name": group_name or service.get("ServiceName"),
        "version": service.get("Version"),
        "status": service.get("Status"),
        "instance_type": service.get("InstanceType"),
        "replicas": service.get("Replicas"),
        "model_path": info.get("ModelPath"),
        "model_version": info.get("Version"),
    }


def deployment_detail(service: dict[str, Any]) -> dict[str, Any]:
    return {"name": service["ServiceId"], "flavor": FLAVOR, **to_snake(service)}


def endpoint_summary(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": group["ServiceGroupId"],
        "service_group_name": group.get("ServiceGroupName"),
        "description": group.get("Description"),
        "status": group.get("Status"),
        "authorization_enable": group.get("AuthorizationEnable"),
        "service_count": group.get("ServiceCount"),
        "running_service_count": group.get("RunningServiceCount"),
        "latest_version": group.get("LatestVersion"),
        "deployments": [s["ServiceId"] for s in group.get("Services") or []],
    }


def endpoint_detail(group: dict[str, Any], call_info: dict[str, Any], reveal_tokens: bool) -> dict[str, Any]:
    """The whole group plus its call addresses; token values masked unless ``reveal_tokens``."""
    detail = {"name": group["ServiceGroupId"], **to_snake(group), "call_info": to_snake(call_info)}
    if not reveal_tokens:
        for token in detail.get("auth_tokens") or []:
            base = token.get("base") or {}
            if base.get("value"):
                base["value"] = mask(str(base["value"]))
        service_call = detail["call_info"].get("service_call_info") or {}
        if service_call.get("auth_token"):
            service_call["auth_token"] = mask(str(service_call["auth_token"]))
    return detail


def token_named(group: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((t for t in group.get("AuthTokens") or [] if (t.get("Base") or {}).get("Name") == name), None)


def token_names(group: dict[str, Any]) -> list[str]:
    return [str((t.get("Base") or {}).get("Name")) for t in group.get("AuthTokens") or []]
