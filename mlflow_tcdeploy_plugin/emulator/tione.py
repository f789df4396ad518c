"""The TI-ONE ``2021-11-11`` online-service actions, over the same state as WeData's (WeData runs on TI-ONE: a
group made through either API is seen by both, under its TI-ONE IDs ``ms-xxxxxxxx`` and ``ms-xxxxxxxx-<n>``).

TI-ONE services run images only here (``ImageInfo``); TI-ONE's model-repository ``ModelInfo`` is not emulated.
"""

from __future__ import annotations

import time
from typing import Any

from . import actions as wd
from . import billing
from . import lifecycle as lc
from .actions import Context, action
from .errors import ApiError, invalid_value, not_found
from .views import local_time, masked_image, pod_infos, weights, workload_status

TIONE = "tione"
SERVICE_STATUS = {
    lc.NEW: "CREATING",
    lc.CREATING: "Waiting",
    lc.RUNNING: "Normal",
    lc.CREATE_FAILED: "CREATE_FAILED",
    lc.TIMEOUT_EXCEPTION: "TIMEOUT_EXCEPTION",
    lc.ABNORMAL: "Abnormal",
    lc.STOPPING: "Stopping",
    lc.STOPPED: "Stopped",
}
WORKLOAD_STATUS = {
    lc.NEW: "Pending",
    lc.RUNNING: "Normal",
    lc.STOPPED: "Stopped",
    lc.STOPPING: "Stopping",
    lc.ABNORMAL: "Abnormal",
    lc.CREATE_FAILED: "Abnormal",
    lc.TIMEOUT_EXCEPTION: "Abnormal",
}
FAILED = (lc.CREATE_FAILED, lc.TIMEOUT_EXCEPTION)
# Members of CreateModelService / ModifyModelService kept on the service (the same names as WeData's).
MEMBERS = (
    "ChargeType",
    "InstanceType",
    "ScaleMode",
    "Replicas",
    "ServicePort",
    "ImageInfo",
    "ResourceGroupId",
    "Resources",
    "Command",
    "ServiceLimit",
    "ScheduledAction",
    "Env",
    "LogEnable",
    "LogConfig",
)


def _project(ctx: Context, params: dict[str, Any]) -> None:
    project = params.get("TiProjectId")
    if project and project != ctx.workspace_id:
        raise invalid_value("TiProjectId", f"the project {project!r} does not exist.")


def tione_action(name: str) -> Any:
    """Register a TI-ONE handler; a request naming another project is refused before it runs."""

    def register(fn: Any) -> Any:
        def checked(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
            _project(ctx, params)
            return fn(ctx, {k: v for k, v in params.items() if k != "TiProjectId"})

        action(name, TIONE)(checked)
        return fn

    return register


def _group(ctx: Context, tione_id: str) -> dict[str, Any]:
    group = ctx.store.group_by_tione_id(tione_id)
    if group is None or group["workspace_id"] != ctx.workspace_id:
        raise not_found("service group", tione_id)
    return group


def _service(ctx: Context, tione_service_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tione_id, _, version = tione_service_id.rpartition("-")
    group = ctx.store.group_by_tione_id(tione_id) if version.isdigit() else None
    found = [s for s in ctx.store.services(group["id"]) if s["version"] == int(version)] if group else []
    if not found or group is None or group["workspace_id"] != ctx.workspace_id:
        raise not_found("service", tione_service_id)
    return found[0], group


def _pod(info: dict[str, Any]) -> dict[str, Any]:
    """TI-ONE's Pod: the container's state under ``Status``, the address as ``IP``."""
    state = ("RestartCount", "State", "Ready", "Reason", "Message")
    containers = [
        {**{k: v for k, v in c.items() if k not in state}, "Status": {k: c.get(k) for k in state}}
        for c in info.get("ContainerInfos") or []
    ]
    pod = {k: v for k, v in info.items() if k != "Ip"}
    return {**pod, "IP": info.get("Ip"), "ContainerInfos": containers}


def service_view(ctx: Context, service: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    spec = service["spec"]
    pods = ctx.store.pods(service["id"])
    services = ctx.store.services(group["id"])
    status = service["status"]
    workload = workload_status(service, pods)
    workload["Status"] = WORKLOAD_STATUS.get(status, "Waiting")
    settings = group["settings"]
    return {
        "ServiceGroupId": group["tione_id"],
        "ServiceId": spec["_TiOneServiceId"],
        "ServiceGroupName": group["name"],
        "ServiceDescription": spec.get("Description", ""),
        "ClusterId": "emulator",
        "Region": ctx.region,
        "Namespace": "default",
        "ChargeType": spec.get("ChargeType"),
        "ResourceGroupId": spec.get("ResourceGroupId"),
        "CreatedBy": "emulator",
        "CreateTime": local_time(service["created"]),
        "UpdateTime": local_time(service["updated"]),
        "BusinessStatus": "CREATE_FAILED" if status in FAILED else "CREATE_SUCCEED",
        "CreateFailedReason": service["reason"] if status in FAILED else "",
        "Status": SERVICE_STATUS.get(status, "Waiting"),
        "Weight": weights(group, services)[0].get(service["id"], 0),
        "Version": str(service["version"]),
        "LatestVersion": str(max(s["version"] for s in services)),
        "ServiceInfo": {
            "Replicas": workload["Replicas"],
            "ImageInfo": masked_image(spec.get("ImageInfo")),
            "Env": spec.get("Env") or [],
            "Resources": spec.get("Resources"),
            "InstanceType": spec.get("InstanceType"),
            "LogEnable": bool(spec.get("LogEnable")),
            "LogConfig": spec.get("LogConfig"),
            "AuthorizationEnable": bool(settings.get("AuthorizationEnable")),
            "Status": workload,
            "ScaleMode": spec.get("ScaleMode"),
            "ScheduledAction": spec.get("ScheduledAction"),
            "ServiceLimit": spec.get("ServiceLimit"),
            "Command": spec.get("Command"),
            "ServicePort": spec.get("ServicePort"),
            "PodInfos": [
                _pod(p)
                for p in pod_infos(pods, spec.get("ChargeType", ""), (spec.get("ImageInfo") or {}).get("ImageUrl"))
            ],
        },
    }


def group_view(ctx: Context, group: dict[str, Any]) -> dict[str, Any]:
    services = ctx.store.services(group["id"])
    views = [service_view(ctx, s, group) for s in services]
    _, updating = weights(group, services)
    settings = group["settings"]
    tokens = [
        {
            "Base": {k: t[k] for k in ("Id", "Name", "Description", "Value", "Status", "CreateTime")},
            "Limits": t["Limits"],
        }
        for t in settings.get("AuthTokens") or []
    ]
    running = sum(1 for s in services if s["status"] == lc.RUNNING)
    return {
        "ServiceGroupId": group["tione_id"],
        "ServiceGroupName": group["name"],
        "CreatedBy": "emulator",
        "CreateTime": local_time(group["created"]),
        "UpdateTime": local_time(group["updated"]),
        "ServiceCount": len(services),
        "RunningServiceCount": running,
        "Services": views,
        "Status": "Normal" if running else (views[-1]["Status"] if views else "CREATING"),
        "LatestVersion": str(max((s["version"] for s in services), default=0)),
        "BusinessStatus": "CREATE_SUCCEED",
        "WeightUpdateStatus": "UPDATING" if updating else "UPDATED",
        "ReplicasCount": sum(v["ServiceInfo"]["Replicas"] for v in views),
        "AvailableReplicasCount": sum(v["ServiceInfo"]["Status"]["AvailableReplicas"] for v in views),
        "AuthorizationEnable": bool(settings.get("AuthorizationEnable")),
        "AuthTokens": tokens,
    }


# --- services and groups ----------------------------------------------------------------------------------------


@tione_action("CreateModelService")
def create_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if not (params.get("ImageInfo") or {}).get("ImageUrl"):
        raise ApiError(
            "UnsupportedOperation",
            "The emulator runs TI-ONE services from ImageInfo.ImageUrl only (ModelInfo is not emulated).",
        )
    if params.get("ServiceGroupId"):
        group = _group(ctx, params["ServiceGroupId"])
        if params.get("NewVersion") is not True:
            raise invalid_value("NewVersion", "must be true to add a version to the service group.")
    else:
        name = params.get("ServiceGroupName")
        if not name:
            raise ApiError(
                "MissingParameter", "The request needs ServiceGroupName (or ServiceGroupId to add a version)."
            )
        if not wd.GROUP_NAME_RE.match(name):
            raise invalid_value(
                "ServiceGroupName", "use at most 60 letters, digits, '_' or '-', starting with a letter or digit."
            )
        if ctx.store.group_by_name(ctx.workspace_id, name):
            raise ApiError("FailedOperation.DuplicateName", f"A service group named {name!r} already exists.")
        group = None
    spec = wd.service_spec("", {k: params[k] for k in MEMBERS if k in params}, "IMAGE")
    spec.setdefault("ChargeType", "POSTPAID_BY_HOUR")
    spec.setdefault("ScaleMode", "MANUAL")
    spec.setdefault("Replicas", 1)
    spec.setdefault("ServicePort", 8501)
    wd.check_runnable("", spec)
    spec["Description"] = params.get("ServiceDescription", "")
    if group is None:
        settings = {"AuthorizationEnable": bool(params.get("AuthorizationEnable"))}
        group = wd.add_group(ctx, params["ServiceGroupName"], params.get("ServiceDescription", ""), settings)
    service = wd.add_versions(ctx, group, [spec], "running")[0]
    return {"Service": service_view(ctx, service, ctx.group(group["id"]))}


@tione_action("DescribeModelService")
def describe_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Service": service_view(ctx, *_service(ctx, params["ServiceId"]))}


@tione_action("DescribeModelServiceGroup")
def describe_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"ServiceGroup": group_view(ctx, _group(ctx, params["ServiceGroupId"]))}


@tione_action("DescribeModelServiceGroups")
def describe_model_service_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    offset, limit = params.get("Offset", 0), params.get("Limit", 20)
    wd.check_range("Offset", offset, 0, 1_000_000)
    wd.check_range("Limit", limit, 1, 100)
    filters = params.get("Filters") or []
    for f in filters:
        if f["Name"] not in wd.GROUP_FILTERS:
            raise invalid_value("Filters.Name", f"{f['Name']!r} is not one of {', '.join(wd.GROUP_FILTERS)} here.")
    groups = ctx.store.groups(ctx.workspace_id)
    column = {"CreateTime": "created", "UpdateTime": "updated"}[params.get("OrderField") or "CreateTime"]
    groups.sort(key=lambda g: g[column], reverse=params.get("Order", "DESC") == "DESC")
    views = [group_view(ctx, g) for g in groups]
    matching = [g for g in views if all(wd.GROUP_FILTERS[f["Name"]](g, f.get("Values") or []) for f in filters)]
    return {
        "TotalCount": len(matching),
        "ServiceGroups": matching[offset : offset + limit],
        "GlobalTotalCount": len(views),
    }


@tione_action("ModifyModelService")
def modify_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, _ = _service(ctx, params["ServiceId"])
    changes = {k: params[k] for k in (*MEMBERS, "ServiceAction", "ServiceDescription") if k in params}
    wd.update_ml_model_service(ctx, {**changes, "ServiceId": service["id"], "ModelSource": "IMAGE"})
    return {"Service": service_view(ctx, *_service(ctx, params["ServiceId"]))}


@tione_action("DeleteModelService")
def delete_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, _ = _service(ctx, params["ServiceId"])
    wd.delete_ml_model_service(ctx, {"ServiceId": service["id"]})
    return {}


@tione_action("DeleteModelServiceGroup")
def delete_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    wd.delete_ml_model_service_group(ctx, {"ServiceGroupId": _group(ctx, params["ServiceGroupId"])["id"]})
    return {}


# --- calling, tokens, weights -----------------------------------------------------------------------------------


@tione_action("DescribeModelServiceCallInfo")
def describe_model_service_call_info(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = _group(ctx, params["ServiceGroupId"])
    settings = group["settings"]
    enabled = [t["Value"] for t in settings.get("AuthTokens") or [] if t["Status"] == "Enabled"]
    auth = bool(settings.get("AuthorizationEnable"))
    address = f"{ctx.public_url}/{group['tione_id']}"
    return {
        "ServiceCallInfo": {
            "ServiceGroupId": group["tione_id"],
            "OuterHttpAddr": address,
            "AuthorizationEnable": auth,
        },
        "ServiceCallInfoV2": {
            "ServiceGroupId": group["tione_id"],
            "InternetEndpoint": address,
            "AuthorizationEnable": auth,
            "AuthToken": enabled[0] if auth and enabled else "",
            "AuthTokens": [
                {"Base": {"Name": t["Name"], "Value": t["Value"]}} for t in settings.get("AuthTokens") or []
            ],
            "EnableLimit": False,
        },
    }


@tione_action("CreateModelServiceAuthToken")
def create_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = _group(ctx, params["ServiceGroupId"])
    wd.create_model_service_auth_token(ctx, {**params, "ServiceGroupId": group["id"]})
    return {}


@tione_action("ModifyServiceGroupWeights")
def modify_service_group_weights(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = _group(ctx, params["ServiceGroupId"])
    services = {s["spec"]["_TiOneServiceId"]: s["id"] for s in ctx.store.services(group["id"])}
    wanted: dict[str, int] = {}
    for i, item in enumerate(params["Weights"]):
        if item["ServiceId"] not in services:
            raise invalid_value(f"Weights.{i}.ServiceId", f"{item['ServiceId']!r} is not a service of this group.")
        wd.check_range(f"Weights.{i}.Weight", item["Weight"], 0, 100)
        wanted[services[item["ServiceId"]]] = item["Weight"]
    if sum(wanted.values()) != 100:
        raise invalid_value("Weights", f"the weights must add up to 100, not {sum(wanted.values())}.")
    current, _ = weights(group, ctx.store.services(group["id"]))
    settings = {
        **group["settings"],
        "Weights": {sid: wanted.get(sid, 0) for sid in services.values()},
        "PreviousWeights": current,
        "WeightsAt": time.time() + ctx.supervisor.timing.new_delay,
    }
    ctx.store.update_group(group["id"], settings=settings)
    return {"ServiceGroup": group_view(ctx, ctx.group(group["id"]))}


# --- logs and billing -------------------------------------------------------------------------------------------


@tione_action("DescribeLogs")
def describe_logs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    query: dict[str, Any] = {
        k: params[k] for k in ("StartTime", "EndTime", "Limit", "Offset", "Context", "Order", "PodName") if k in params
    }
    if params.get("ServiceId"):
        query["ServiceId"] = _service(ctx, params["ServiceId"])[0]["id"]
    keys = [v for f in params.get("Filters") or [] for v in f.get("Values") or [] if f["Name"] == "Key"]
    if any(f["Name"] != "Key" for f in params.get("Filters") or []):
        raise invalid_value("Filters.Name", "only Key is supported.")
    if len(keys) > 1:
        raise invalid_value("Filters", "the emulator matches one Key value.")
    if keys:
        query["Key"] = keys[0]
    return wd.list_ml_service_logs(ctx, query)


@tione_action("DescribeBillingSpecs")
def describe_billing_specs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Specs": billing.specs(params.get("ResourceType") or "")}
