"""What a service version runs: its stored spec, built from a request's members and checked the way create and
update both need (ranges, billing specs, resource groups, what each model source requires). No HTTP here."""

from __future__ import annotations

import re
from typing import Any

from . import billing
from .errors import ApiError, invalid_value

GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")
# Members of a service version that change what its replicas run: changing one replaces the replicas.
RUNTIME_MEMBERS = (
    "MlModelInfo",
    "ImageInfo",
    "Command",
    "Env",
    "ServicePort",
    "InstanceType",
    "ModelSource",
    "Resources",
)
SCALING_MEMBERS = ("HorizontalPodAutoscaler", "ScaleStrategy", "CronScaleJobs")
"""TI-ONE's autoscaling members (checked by ``scaling``)."""
# Members of CreateServiceInfos / UpdateMLModelService kept on the service version.
SERVICE_MEMBERS = (
    *SCALING_MEMBERS,
    "ChargeType",
    "InstanceType",
    "ScaleMode",
    "Replicas",
    "ServicePort",
    "ImageInfo",
    "MlModelInfo",
    "ResourceGroupId",
    "Command",
    "ServiceLimit",
    "ScheduledAction",
    "CatalogName",
    "SchemaName",
    "Env",
    "Resources",
    "LogEnable",
    "LogConfig",
    "AuthorizationEnable",
    "InferenceTablePushEnable",
    "InferenceTableCosBucket",
    "CosRegion",
    "CatalogPath",
    "SchemaPath",
    "PayloadPath",
    "ModelSource",
    "WeDataRegion",
)
GROUP_SETTINGS = (
    "AuthorizationEnable",
    "LogEnable",
    "LogConfig",
    "InferenceTablePushEnable",
    "CatalogPath",
    "SchemaPath",
    "PayloadPath",
)


def check_range(member: str, value: Any, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise invalid_value(member, f"must be from {low} to {high}, not {value}.")


def service_spec(prefix: str, info: dict[str, Any], model_source: str) -> dict[str, Any]:
    """Check one version's members the way create and update both need, and give its stored spec."""
    spec = {k: info[k] for k in SERVICE_MEMBERS if info.get(k) is not None}
    spec["ModelSource"] = model_source
    if info.get("EnvVar"):
        spec["Env"] = [info["EnvVar"]]
    if info.get("TioneResourceInfo"):
        spec["Resources"] = info["TioneResourceInfo"]
    check_range(prefix + "Replicas", spec.get("Replicas"), 1, 100)
    check_range(prefix + "ServicePort", spec.get("ServicePort"), 1, 65535)
    group_id = spec.get("ResourceGroupId")
    if group_id is not None:
        found_group = billing.resource_group(group_id)
        if found_group is None:
            raise ApiError("ResourceNotFound.ResourceGroupNotFound", f"The resource group {group_id!r} does not exist.")
        for member in ("Cpu", "Memory", "Gpu"):
            wanted = (spec.get("Resources") or {}).get(member) or 0
            if wanted > found_group[member]:
                raise ApiError(
                    "ResourceInsufficient",
                    f"One replica asks for {member} {wanted}, more than the resource group {group_id!r} has "
                    f"({found_group[member]}).",
                )
    instance_type = spec.get("InstanceType")
    if instance_type is not None:
        found = billing.find(instance_type)
        if found is None:
            raise ApiError(
                "FailedOperation.UnknownInstanceType",
                f"The instance type {instance_type!r} is unknown; GetBillingSpecs lists the valid ones.",
            )
        if not found["Available"]:
            raise ApiError(
                "ResourceInsufficient",
                f"The instance type {instance_type!r} is sold out in this region; it is available in "
                f"{', '.join(found['AvailableRegion'])}.",
            )
    return spec


def check_runnable(prefix: str, spec: dict[str, Any]) -> None:
    if spec.get("ChargeType") == "PREPAID":
        # A prepaid service runs in a resource group, sized by its resources rather than by a billing spec.
        if not spec.get("ResourceGroupId"):
            raise ApiError("MissingParameter", f"A PREPAID service needs {prefix}ResourceGroupId.")
        resources = spec.get("Resources") or {}
        if not (resources.get("Cpu") and resources.get("Memory")) and not spec.get("InstanceType"):
            raise ApiError("MissingParameter", f"A PREPAID service needs Cpu and Memory in {prefix}TioneResourceInfo.")
    elif not spec.get("InstanceType"):
        raise ApiError("MissingParameter", f"The request is missing the required parameter {prefix}InstanceType.")
    if spec["ModelSource"] == "IMAGE" and not (spec.get("ImageInfo") or {}).get("ImageUrl"):
        raise ApiError("MissingParameter", f"An IMAGE-source service needs {prefix}ImageInfo.ImageUrl.")
    if spec["ModelSource"] == "MODEL" and not (spec.get("MlModelInfo") or {}).get("ModelPath"):
        raise ApiError("MissingParameter", f"A MODEL-source service needs {prefix}MlModelInfo.ModelPath.")


def new_version_spec(prefix: str, info: dict[str, Any], model_source: str, params: dict[str, Any]) -> dict[str, Any]:
    """A new version's stored spec: its members, the defaults, and the group settings of the request."""
    spec = service_spec(prefix, info, model_source)
    spec.setdefault("ChargeType", "POSTPAID_BY_HOUR")
    spec.setdefault("ScaleMode", "MANUAL")
    spec.setdefault("Replicas", 1)
    check_runnable(prefix, spec)
    for key in GROUP_SETTINGS:
        if params.get(key) is not None:
            spec.setdefault(key, params[key])
    spec["Description"] = params.get("ServiceDescription", "")
    return spec
