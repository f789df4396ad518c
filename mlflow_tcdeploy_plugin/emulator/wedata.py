"""The WeData ``2025-10-10`` actions (moto's ``responses.py``): each handler reads the validated members, calls the
backend and shapes what goes under ``Response.Data``."""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from . import billing, catalog
from .dispatch import Context, Handler, register
from .errors import ApiError, invalid_value
from .logs import log_page, time_window
from .times import rfc3339
from .version_specs import GROUP_SETTINGS, check_range, new_version_spec
from .views import GROUP_FILTERS, group_view, service_view

WEDATA = "wedata"
_EVENT_FILTERS = {"ResourceKind": "resource_kind", "Type": "type"}


def action(name: str) -> Callable[[Handler], Handler]:
    """Register a handler; every request naming another workspace is refused before it runs."""

    def add(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def checked(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
            ctx.backend.check_workspace(params.get("WorkspaceId"))
            return fn(ctx, params)

        register(WEDATA, name, checked)
        return fn

    return add


def _group_answer(ctx: Context, group_id: str) -> dict[str, Any]:
    return group_view(ctx.backend.store, ctx.backend.get_group(group_id), ctx.backend.region)


def _service_answer(ctx: Context, service_id: str) -> dict[str, Any]:
    service, group = ctx.backend.get_service(service_id)
    return service_view(ctx.backend.store, service, group, ctx.backend.region)


def _ti_one_request() -> dict[str, Any]:
    return {"TiOneRequestId": str(uuid.uuid4())}


# --- service groups and services -------------------------------------------------------------------------------


@action("CreateMLModelServices")
def create_ml_model_services(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    backend = ctx.backend
    services = params.get("Services") or []
    if not services:
        raise ApiError("MissingParameter", "The request is missing the required parameter Services.")
    if params.get("ServiceAction") not in (None, "START", "STOP"):
        raise invalid_value("ServiceAction", "a new service can only be created with START or STOP.")
    model_source = params.get("ModelSource") or "MODEL"
    group = backend.get_group(params["ServiceGroupId"]) if params.get("ServiceGroupId") else None
    if group is not None and params.get("NewVersion") is False:
        return _update_versions(ctx, group.id, services, model_source)
    if group is None:
        backend.check_new_group_name("ServiceName", params.get("ServiceName"), "InvalidParameter.DuplicateName")
    specs = [new_version_spec(f"Services.{i}.", info, model_source, params) for i, info in enumerate(services)]
    if group is None:
        settings = {k: params[k] for k in GROUP_SETTINGS if params.get(k) is not None}
        group = backend.create_group(params["ServiceName"], params.get("ServiceDescription", ""), settings)
    backend.add_versions(group, specs, "stopped" if params.get("ServiceAction") == "STOP" else "running")
    return _group_answer(ctx, group.id)


def _update_versions(ctx: Context, group_id: str, services: list[dict[str, Any]], model_source: str) -> dict[str, Any]:
    """``NewVersion=false``: update the versions named by ``Services[].ServiceId``."""
    for i, info in enumerate(services):
        if not info.get("ServiceId"):
            raise ApiError("MissingParameter", f"NewVersion=false updates versions: Services.{i}.ServiceId.")
        update_ml_model_service(ctx, {**info, "ModelSource": model_source})
    return _group_answer(ctx, group_id)


@action("UpdateMLModelService")
def update_ml_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    backend = ctx.backend
    service, _ = backend.get_service(params["ServiceId"])
    if not backend.act_on_service(service.id, params.get("ServiceAction"), params.get("Replicas")):
        backend.update_service(service.id, params, params.get("ModelSource"), params.get("AuthorizationEnable"))
    return _service_answer(ctx, service.id)


@action("DeleteMLModelService")
def delete_ml_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.delete_service(params["ServiceId"])
    return {"Status": True}


@action("DeleteMLModelServiceGroup")
def delete_ml_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.delete_group(params["ServiceGroupId"])
    return {"Status": True}


@action("GetMLModelService")
def get_ml_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _service_answer(ctx, params["ServiceId"])


@action("GetMLModelServiceGroup")
def get_ml_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _group_answer(ctx, params["ServiceGroupId"])


def _group_order(params: dict[str, Any]) -> tuple[str, bool]:
    """``OrderField``: the column to sort groups by, and whether newest first."""
    order = params.get("OrderField") or {}
    order_name = order.get("Name") or "CreateTime"
    if order_name not in ("CreateTime", "UpdateTime"):
        raise invalid_value("OrderField.Name", "must be CreateTime or UpdateTime.")
    return {"CreateTime": "created", "UpdateTime": "updated"}[order_name], order.get("Direction", "DESC") == "DESC"


@action("ListMLModelServiceGroups")
def list_ml_model_service_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    page, size = params.get("PageNumber", 1), params.get("PageSize", 10)
    check_range("PageNumber", page, 1, 1_000_000)
    check_range("PageSize", size, 1, 100)
    filters = params.get("Filters") or []
    for f in filters:
        if f["Name"] not in GROUP_FILTERS:
            raise ApiError(
                "InvalidParameter.InvalidFilterParameter",
                f"Unknown filter {f['Name']!r}; use one of {', '.join(GROUP_FILTERS)}.",
            )
    column, descending = _group_order(params)
    groups = ctx.backend.list_groups()
    if params.get("ServiceType") not in (None, "", "ML", "MACHINE_LEARNING"):
        groups = []
    groups.sort(key=lambda g: getattr(g, column), reverse=descending)
    rows = [group_view(ctx.backend.store, g, ctx.backend.region) for g in groups]
    rows = [g for g in rows if all(GROUP_FILTERS[f["Name"]](g, f.get("Values") or []) for f in filters)]
    total = len(rows)
    return {
        "PageNumber": page,
        "PageSize": size,
        "Rows": rows[(page - 1) * size : page * size],
        "TotalCount": total,
        "TotalPageNumber": (total + size - 1) // size,
    }


@action("UpdateModelServiceGroup")
def update_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.update_group_description(params["ServiceGroupId"], params.get("Description"))
    return {"Status": True}


# --- call addresses and auth tokens ----------------------------------------------------------------------------


@action("GetModelServiceCallInfo")
def get_model_service_call_info(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ServiceGroupId"):
        group = ctx.backend.get_group(params["ServiceGroupId"])
    elif params.get("ServiceId"):
        group = ctx.backend.get_service(params["ServiceId"])[1]
    else:
        raise ApiError("MissingParameter", "The request needs ServiceGroupId or ServiceId.")
    settings = group.settings
    enabled = [t["Value"] for t in settings.get("AuthTokens") or [] if t["Status"] == "Enabled"]
    return {
        "ServiceCallInfo": {
            "ServiceGroupId": group.tione_id,
            "InternetEndpoint": f"{ctx.backend.public_url}/{group.tione_id}",
            "AuthorizationEnable": bool(settings.get("AuthorizationEnable")),
            "AuthToken": enabled[0] if settings.get("AuthorizationEnable") and enabled else "",
        },
        "IntranetCallInfo": {
            "DefaultInnerCallInfos": None,
            "IngressPrivateLinkInfo": None,
            "PrivateLinkInfos": None,
            "PrivateLinkInfosV2": [],
            "ServiceEIPInfo": None,
        },
    }


@action("UpdateModelServiceAuthorization")
def update_model_service_authorization(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.set_authorization(params["ServiceGroupId"], params["AuthorizationEnable"])
    return _ti_one_request()


@action("CreateModelServiceAuthToken")
def create_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.create_auth_token(params["ServiceGroupId"], params.get("Name"), params.get("Description") or "")
    return _ti_one_request()


@action("UpdateModelServiceAuthToken")
def update_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    base = params["AuthToken"]["Base"]
    changes = {k: base[k] for k in ("Name", "Description") if base.get(k) is not None}
    if params["AuthToken"].get("Limits") is not None:
        changes["Limits"] = params["AuthToken"]["Limits"]
    ctx.backend.update_auth_token(params["ServiceGroupId"], base.get("Value"), "AuthToken.Base.Value", changes)
    return _ti_one_request()


@action("DeleteModelServiceAuthToken")
def delete_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.delete_auth_token(params["ServiceGroupId"], params["AuthTokenValue"], "AuthTokenValue")
    return _ti_one_request()


# --- calling a service and its pods ----------------------------------------------------------------------------


def _curl_response(status: int, headers: dict[str, str], body: str) -> dict[str, Any]:
    gateway = {
        "X-TiGateway-Upstream-Status": str(status),
        "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
    }
    return {"CurlResponseRaw": json.dumps({"status": status, "headers": {**headers, **gateway}, "body": body})}


def _check_relative_url(url: str) -> None:
    # The gateway only forwards a path on the service itself.
    if not url.startswith("/") or url.startswith("//") or any(c.isspace() or ord(c) < 32 for c in url) or "@" in url:
        raise invalid_value("RelativeUrl", "must be a path on the service starting with a single '/'.")


@action("ModelServiceInterfaceCallTest")
def model_service_interface_call_test(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _check_relative_url(params["RelativeUrl"])
    # For historical reasons ServiceId carries the group ID; a version's own ID is accepted too.
    target = params["ServiceId"]
    service = ctx.backend.find_service(target)
    group = ctx.backend.get_group(service.group_id if service else target)
    if params.get("ServiceGroupId") and params["ServiceGroupId"] != group.id:
        raise invalid_value("ServiceGroupId", f"does not match the group of {target!r}.")
    answer = ctx.relay.call(group, service, params["RelativeUrl"], params.get("CurlData"), params.get("AuthTokenValue"))
    return _curl_response(*answer)


@action("CreateModelServicePodUrl")
def create_model_service_pod_url(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Url": ctx.backend.create_pod_url(params["ServiceId"], params["PodName"])}


@action("RebuildModelServicePod")
def rebuild_model_service_pod(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ctx.backend.rebuild_pod(params["ServiceId"], params["PodName"])
    return {"TiOneRebuildServiceRequestId": str(uuid.uuid4())}


# --- logs and events -------------------------------------------------------------------------------------------


@action("ListMLServiceLogs")
def list_ml_service_logs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ServiceId"):
        ctx.backend.get_service(params["ServiceId"])
    return log_page(ctx.backend, params.get("ServiceId"), params.get("Key"), params)


def _event_matches(event: dict[str, Any], window: tuple[float, float], params: dict[str, Any]) -> bool:
    pattern = params.get("ResourceName")
    return (
        window[0] <= event["ts"] <= window[1]
        and (not pattern or re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), event["resource_name"]) is not None)
        and all(event[_EVENT_FILTERS[f["Name"]]] in (f.get("Values") or []) for f in params.get("Filters") or [])
    )


def _event_view(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "Id": str(event["id"]),
        "Message": event["message"],
        "FirstTimestamp": rfc3339(event["ts"]),
        "LastTimestamp": rfc3339(event["ts"]),
        "Count": 1,
        "Type": event["type"],
        "ResourceKind": event["resource_kind"],
        "ResourceName": event["resource_name"],
    }


@action("ListModelServiceEvents")
def list_model_service_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stored = ctx.backend.list_events(params.get("ServiceId"))
    for f in params.get("Filters") or []:
        if f["Name"] not in _EVENT_FILTERS:
            raise ApiError(
                "InvalidParameter.InvalidFilterParameter", f"Unknown filter {f['Name']!r}; use ResourceKind or Type."
            )
    window = time_window(params)
    events = [e for e in stored if _event_matches(e, window, params)]
    if params.get("Order", "DESC") == "DESC":
        events.reverse()
    offset, limit = params.get("Offset", 0), params.get("Limit", 20)
    check_range("Limit", limit, 1, 100)
    return {"TotalCount": len(events), "Events": [_event_view(e) for e in events[offset : offset + limit]]}


# --- catalog and billing ---------------------------------------------------------------------------------------


@action("ListModelVersions")
def list_model_versions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return catalog.list_model_versions(ctx.tracking_uri, ctx.registry_uri, params)


@action("GetBillingSpecs")
def get_billing_specs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"SpecInfos": billing.specs(params.get("ResourceType") or "")}
