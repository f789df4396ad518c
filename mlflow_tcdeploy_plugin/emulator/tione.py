"""The TI-ONE ``2021-11-11`` online-service actions (moto's ``responses.py``), over the same backend as WeData's
(WeData runs on TI-ONE: a group made through either API is seen by both, under its TI-ONE IDs ``ms-xxxxxxxx`` and
``ms-xxxxxxxx-<n>``). Each handler reads the members, calls the backend and shapes the ``Response`` members.

TI-ONE services run images only here (``ImageInfo``); TI-ONE's model-repository ``ModelInfo`` is not emulated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import billing
from .dispatch import Context, Handler, register
from .errors import ApiError, invalid_value
from .logs import log_page
from .scaling import check_scaling
from .tione_views import group_view, service_view
from .version_specs import SCALING_MEMBERS, check_range, check_runnable, service_spec
from .views import GROUP_FILTERS

TIONE = "tione"
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
    *SCALING_MEMBERS,
)


def tione_action(name: str) -> Callable[[Handler], Handler]:
    """Register a TI-ONE handler; a request naming another project is refused before it runs."""

    def add(fn: Handler) -> Handler:
        def checked(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
            project = params.get("TiProjectId")
            if project and project != ctx.backend.workspace_id:
                raise invalid_value("TiProjectId", f"the project {project!r} does not exist.")
            return fn(ctx, {k: v for k, v in params.items() if k != "TiProjectId"})

        register(TIONE, name, checked)
        return fn

    return add


def _service_answer(ctx: Context, tione_service_id: str) -> dict[str, Any]:
    return {"Service": service_view(ctx.backend, *ctx.backend.get_service_by_tione_id(tione_service_id))}


# --- services and groups ----------------------------------------------------------------------------------------


def _check_image(params: dict[str, Any]) -> None:
    if not (params.get("ImageInfo") or {}).get("ImageUrl"):
        raise ApiError(
            "UnsupportedOperation",
            "The emulator runs TI-ONE services from ImageInfo.ImageUrl only (ModelInfo is not emulated).",
        )


def _new_version_spec(params: dict[str, Any]) -> dict[str, Any]:
    spec = service_spec("", {k: params[k] for k in MEMBERS if k in params}, "IMAGE")
    spec.setdefault("ChargeType", "POSTPAID_BY_HOUR")
    spec.setdefault("ScaleMode", "MANUAL")
    spec.setdefault("Replicas", 1)
    spec.setdefault("ServicePort", 8501)
    check_runnable("", spec)
    check_scaling(spec)
    spec["Description"] = params.get("ServiceDescription", "")
    return spec


@tione_action("CreateModelService")
def create_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    backend = ctx.backend
    _check_image(params)
    if params.get("ServiceGroupId"):
        group = backend.get_group_by_tione_id(params["ServiceGroupId"])
        if params.get("NewVersion") is not True:
            raise invalid_value("NewVersion", "must be true to add a version to the service group.")
    else:
        if not params.get("ServiceGroupName"):
            raise ApiError(
                "MissingParameter", "The request needs ServiceGroupName (or ServiceGroupId to add a version)."
            )
        backend.check_new_group_name("ServiceGroupName", params["ServiceGroupName"], "FailedOperation.DuplicateName")
        group = None
    spec = _new_version_spec(params)
    if group is None:
        settings = {"AuthorizationEnable": bool(params.get("AuthorizationEnable"))}
        group = backend.create_group(params["ServiceGroupName"], params.get("ServiceDescription", ""), settings)
    service = backend.add_versions(group, [spec], "running")[0]
    return {"Service": service_view(backend, service, backend.get_group(group.id))}


@tione_action("DescribeModelService")
def describe_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _service_answer(ctx, params["ServiceId"])


@tione_action("DescribeModelServiceGroup")
def describe_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"ServiceGroup": group_view(ctx.backend, ctx.backend.get_group_by_tione_id(params["ServiceGroupId"]))}


@tione_action("DescribeModelServiceGroups")
def describe_model_service_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    offset, limit = params.get("Offset", 0), params.get("Limit", 20)
    check_range("Offset", offset, 0, 1_000_000)
    check_range("Limit", limit, 1, 100)
    filters = params.get("Filters") or []
    for f in filters:
        if f["Name"] not in GROUP_FILTERS:
            raise invalid_value("Filters.Name", f"{f['Name']!r} is not one of {', '.join(GROUP_FILTERS)} here.")
    groups = ctx.backend.list_groups()
    column = {"CreateTime": "created", "UpdateTime": "updated"}[params.get("OrderField") or "CreateTime"]
    groups.sort(key=lambda g: getattr(g, column), reverse=params.get("Order", "DESC") == "DESC")
    views = [group_view(ctx.backend, g) for g in groups]
    matching = [g for g in views if all(GROUP_FILTERS[f["Name"]](g, f.get("Values") or []) for f in filters)]
    return {
        "TotalCount": len(matching),
        "ServiceGroups": matching[offset : offset + limit],
        "GlobalTotalCount": len(views),
    }


@tione_action("ModifyModelService")
def modify_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    backend = ctx.backend
    service, _ = backend.get_service_by_tione_id(params["ServiceId"])
    if not backend.act_on_service(service.id, params.get("ServiceAction"), params.get("Replicas")):
        changes = {k: params[k] for k in (*MEMBERS, "ServiceDescription") if k in params}
        check_scaling({**service.spec, **changes})
        backend.update_service(service.id, changes, "IMAGE", None)
    return _service_answer(ctx, params["ServiceId"])


@tione_action("DeleteModelService")
def delete_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, _ = ctx.backend.get_service_by_tione_id(params["ServiceId"])
    ctx.backend.delete_service(service.id)
    return {}


@tione_action("DeleteModelServiceGroup")
def delete_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.delete_group(ctx.backend.get_group_by_tione_id(params["ServiceGroupId"]).id)
    return {}


# --- calling, tokens, weights -----------------------------------------------------------------------------------


@tione_action("DescribeModelServiceCallInfo")
def describe_model_service_call_info(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.backend.get_group_by_tione_id(params["ServiceGroupId"])
    settings = group.settings
    enabled = [t["Value"] for t in settings.get("AuthTokens") or [] if t["Status"] == "Enabled"]
    auth = bool(settings.get("AuthorizationEnable"))
    address = f"{ctx.backend.public_url}/{group.tione_id}"
    return {
        "ServiceCallInfo": {
            "ServiceGroupId": group.tione_id,
            "OuterHttpAddr": address,
            "AuthorizationEnable": auth,
        },
        "ServiceCallInfoV2": {
            "ServiceGroupId": group.tione_id,
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
    group = ctx.backend.get_group_by_tione_id(params["ServiceGroupId"])
    ctx.backend.create_auth_token(group.id, params.get("Name"), params.get("Description") or "")
    return {}


@tione_action("ModifyServiceGroupWeights")
def modify_service_group_weights(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.backend.get_group_by_tione_id(params["ServiceGroupId"])
    services = {s.spec["_TiOneServiceId"]: s.id for s in ctx.backend.list_services(group.id)}
    wanted: dict[str, int] = {}
    for i, item in enumerate(params["Weights"]):
        if item["ServiceId"] not in services:
            raise invalid_value(f"Weights.{i}.ServiceId", f"{item['ServiceId']!r} is not a service of this group.")
        check_range(f"Weights.{i}.Weight", item["Weight"], 0, 100)
        wanted[services[item["ServiceId"]]] = item["Weight"]
    if sum(wanted.values()) != 100:
        raise invalid_value("Weights", f"the weights must add up to 100, not {sum(wanted.values())}.")
    ctx.backend.set_weights(group.id, wanted)
    return {"ServiceGroup": group_view(ctx.backend, ctx.backend.get_group(group.id))}


# --- logs and billing -------------------------------------------------------------------------------------------


@tione_action("DescribeLogs")
def describe_logs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service_id = None
    if params.get("ServiceId"):
        service_id = ctx.backend.get_service_by_tione_id(params["ServiceId"])[0].id
    keys = [v for f in params.get("Filters") or [] for v in f.get("Values") or [] if f["Name"] == "Key"]
    if any(f["Name"] != "Key" for f in params.get("Filters") or []):
        raise invalid_value("Filters.Name", "only Key is supported.")
    if len(keys) > 1:
        raise invalid_value("Filters", "the emulator matches one Key value.")
    return log_page(ctx.backend, service_id, keys[0] if keys else None, params)


@tione_action("DescribeBillingSpecs")
def describe_billing_specs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Specs": billing.specs(params.get("ResourceType") or "")}
