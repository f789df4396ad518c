"""One function per emulated WeData action (TI-ONE's are in ``tione``): validated members in, the response payload
out. No HTTP here.

WeData handlers return what goes under ``Response.Data``; TI-ONE handlers return the ``Response`` members.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import random
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import billing, catalog
from . import lifecycle as lc
from .errors import ApiError, invalid_value, not_found
from .lifecycle import Supervisor
from .state import Store
from .views import group_view, local_time, rfc3339, routing_weights, service_view

Handler = Callable[["Context", dict[str, Any]], dict[str, Any]]
HANDLERS: dict[tuple[str, str], Handler] = {}
"""By (product, action): both APIs have a CreateModelServiceAuthToken."""

GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$")
LOG_LIMIT_DEFAULT, LOG_LIMIT_MAX, LOG_CONTEXT_LIMIT = 100, 1000, 10_000
POD_URL_TTL = 600.0
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
# Members of CreateServiceInfos / UpdateMLModelService kept on the service version.
SERVICE_MEMBERS = (
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


@dataclass
class Context:
    store: Store
    supervisor: Supervisor
    workspace_id: str
    region: str
    tracking_uri: str | None
    registry_uri: str | None
    public_url: str = ""
    pod_urls: dict[str, tuple[str, float]] = field(default_factory=dict)
    _round_robin: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_workspace(self, params: dict[str, Any]) -> None:
        ws = params.get("WorkspaceId")
        if ws and ws != self.workspace_id:
            raise ApiError("InvalidParameter.WorkspaceNotExist", f"The workspace {ws!r} does not exist.")

    def group(self, group_id: str) -> dict[str, Any]:
        group = self.store.group(group_id)
        if group is None or group["workspace_id"] != self.workspace_id:
            raise not_found("service group", group_id)
        return group

    def service(self, service_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        service = self.store.service(service_id)
        group = self.store.group(service["group_id"]) if service else None
        if service is None or group is None or group["workspace_id"] != self.workspace_id:
            raise not_found("service", service_id)
        return service, group

    def next_pod(self, service_id: str, pods: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            turn = self._round_robin.get(service_id, 0)
            self._round_robin[service_id] = turn + 1
        return pods[turn % len(pods)]


def action(name: str, service: str = "wedata") -> Callable[[Handler], Handler]:
    """Register a handler; every WeData request naming another workspace is refused before it runs."""

    def register(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def checked(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
            ctx.check_workspace(params)
            return fn(ctx, params)

        HANDLERS[(service, name)] = checked
        return fn

    return register


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


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


# --- service groups and services -------------------------------------------------------------------------------


@action("CreateMLModelServices")
def create_ml_model_services(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    services = params.get("Services") or []
    if not services:
        raise ApiError("MissingParameter", "The request is missing the required parameter Services.")
    if params.get("ServiceAction") not in (None, "START", "STOP"):
        raise invalid_value("ServiceAction", "a new service can only be created with START or STOP.")
    model_source = params.get("ModelSource") or "MODEL"
    if params.get("ServiceGroupId"):
        group = ctx.group(params["ServiceGroupId"])
        if params.get("NewVersion") is False:
            for i, info in enumerate(services):
                if not info.get("ServiceId"):
                    raise ApiError("MissingParameter", f"NewVersion=false updates versions: Services.{i}.ServiceId.")
                update_ml_model_service(ctx, {**info, "ModelSource": model_source})
            return group_view(ctx.store, ctx.group(group["id"]), ctx.region)
    else:
        name = params.get("ServiceName")
        if not name:
            raise ApiError("MissingParameter", "The request is missing the required parameter ServiceName.")
        if not GROUP_NAME_RE.match(name):
            raise invalid_value(
                "ServiceName", "use at most 60 letters, digits, '_' or '-', starting with a letter or digit."
            )
        if ctx.store.group_by_name(ctx.workspace_id, name):
            raise ApiError("InvalidParameter.DuplicateName", f"A service group named {name!r} already exists.")
        group = None
    specs = []
    for i, info in enumerate(services):
        spec = service_spec(f"Services.{i}.", info, model_source)
        spec.setdefault("ChargeType", "POSTPAID_BY_HOUR")
        spec.setdefault("ScaleMode", "MANUAL")
        spec.setdefault("Replicas", 1)
        check_runnable(f"Services.{i}.", spec)
        for key in GROUP_SETTINGS:
            if params.get(key) is not None:
                spec.setdefault(key, params[key])
        spec["Description"] = params.get("ServiceDescription", "")
        specs.append(spec)
    if group is None:
        settings = {k: params[k] for k in GROUP_SETTINGS if params.get(k) is not None}
        group = add_group(ctx, params["ServiceName"], params.get("ServiceDescription", ""), settings)
    add_versions(ctx, group, specs, "stopped" if params.get("ServiceAction") == "STOP" else "running")
    return group_view(ctx.store, ctx.group(group["id"]), ctx.region)


def add_group(ctx: Context, name: str, description: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A new service group (with a default auth token when authorization is on)."""
    settings = {**settings, "AuthTokens": [_new_token("default", "")] if settings.get("AuthorizationEnable") else []}
    group = {
        "id": str(uuid.uuid4()),
        "workspace_id": ctx.workspace_id,
        "name": name,
        "description": description,
        "tione_id": _random_id("ms-"),
        "settings": settings,
        "created": time.time(),
    }
    ctx.store.add_group(group)
    return group


def add_versions(
    ctx: Context, group: dict[str, Any], specs: list[dict[str, Any]], desired: str
) -> list[dict[str, Any]]:
    """New versions of ``group``, numbered on from its last one; the supervisor starts them."""
    version = ctx.store.max_version(group["id"])
    added = []
    for spec in specs:
        version += 1
        spec["_TiOneServiceId"] = f"{group['tione_id']}-{version}"
        service = {
            "id": f"{group['id']}-{version}",
            "group_id": group["id"],
            "version": version,
            "status": lc.NEW,
            "desired": desired,
            "spec": spec,
            "created": time.time(),
        }
        ctx.store.add_service(service)
        added.append(ctx.store.service(service["id"]) or service)
    ctx.store.update_group(group["id"])
    ctx.supervisor.wake()
    return added


@action("UpdateMLModelService")
def update_ml_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, group = ctx.service(params["ServiceId"])
    sid, spec = service["id"], dict(service["spec"])
    service_action = params.get("ServiceAction")
    # As TI-ONE's ModifyModelService: with a ServiceAction, every other update member is ignored.
    if service_action == "STOP":
        ctx.store.update_service(sid, desired="stopped")
        ctx.store.set_status(sid, lc.STOPPING)
    elif service_action in ("START", "RESUME"):
        ctx.store.update_service(sid, desired="running")
        ctx.store.set_status(sid, lc.CREATING)
    elif service_action == "SCALE":
        replicas = params.get("Replicas")
        if replicas is None:
            raise ApiError("MissingParameter", "ServiceAction SCALE needs Replicas.")
        check_range("Replicas", replicas, 1, 100)
        ctx.store.update_service(sid, spec={**spec, "Replicas": replicas})
        if service["desired"] == "running":
            ctx.store.set_status(sid, lc.CREATING)
    else:
        changes = service_spec("", params, params.get("ModelSource") or spec.get("ModelSource", "MODEL"))
        if "ServiceDescription" in params:
            changes["Description"] = params["ServiceDescription"]
        new_spec = {**spec, **changes}
        check_runnable("", new_spec)
        if params.get("AuthorizationEnable") is not None:
            _set_authorization(ctx, group, params["AuthorizationEnable"])
        replace = any(new_spec.get(k) != spec.get(k) for k in RUNTIME_MEMBERS)
        ctx.supervisor.respec(sid, new_spec, replace)
        if service["desired"] == "running" and (
            replace
            or new_spec.get("Replicas") != spec.get("Replicas")
            or service["status"] in (lc.CREATE_FAILED, lc.TIMEOUT_EXCEPTION)
        ):
            ctx.store.set_status(sid, lc.CREATING)
    ctx.supervisor.wake()
    service, group = ctx.service(sid)
    return service_view(ctx.store, service, group, ctx.region)


@action("DeleteMLModelService")
def delete_ml_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, group = ctx.service(params["ServiceId"])
    ctx.supervisor.stop_service(service["id"])
    ctx.store.delete_service(service["id"])
    ctx.store.update_group(group["id"])
    return {"Status": True}


@action("DeleteMLModelServiceGroup")
def delete_ml_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.group(params["ServiceGroupId"])
    for service in ctx.store.services(group["id"]):
        ctx.supervisor.stop_service(service["id"])
        ctx.store.delete_service(service["id"])
    ctx.store.delete_group(group["id"])
    return {"Status": True}


@action("GetMLModelService")
def get_ml_model_service(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, group = ctx.service(params["ServiceId"])
    return service_view(ctx.store, service, group, ctx.region)


@action("GetMLModelServiceGroup")
def get_ml_model_service_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return group_view(ctx.store, ctx.group(params["ServiceGroupId"]), ctx.region)


GROUP_FILTERS: dict[str, Callable[[dict[str, Any], list[str]], bool]] = {
    "ServiceGroupName": lambda g, vs: g["ServiceGroupName"] in vs,
    "ServiceGroupId": lambda g, vs: g["ServiceGroupId"] in vs,
    "ServiceId": lambda g, vs: any(s["ServiceId"] in vs for s in g["Services"]),
    "Status": lambda g, vs: g["Status"] in vs,
}


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
    order = params.get("OrderField") or {}
    order_name = order.get("Name") or "CreateTime"
    if order_name not in ("CreateTime", "UpdateTime"):
        raise invalid_value("OrderField.Name", "must be CreateTime or UpdateTime.")
    groups = ctx.store.groups(ctx.workspace_id)
    if params.get("ServiceType") not in (None, "", "ML", "MACHINE_LEARNING"):
        groups = []
    column = {"CreateTime": "created", "UpdateTime": "updated"}[order_name]
    groups.sort(key=lambda g: g[column], reverse=order.get("Direction", "DESC") == "DESC")
    rows = [group_view(ctx.store, g, ctx.region) for g in groups]
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
    group = ctx.group(params["ServiceGroupId"])
    if params.get("Description") is not None:
        ctx.store.update_group(group["id"], description=params["Description"])
    return {"Status": True}


# --- call addresses and auth tokens ----------------------------------------------------------------------------


def _new_token(name: str, description: str) -> dict[str, Any]:
    # Real token values look like 15 hex digits ("1f70c8590d3b5e7").
    return {
        "Id": str(uuid.uuid4()),
        "Name": name,
        "Description": description,
        "Value": secrets.token_hex(8)[:15],
        "Status": "Enabled",
        "CreateTime": local_time(time.time()),
        "Limits": [],
    }


def _set_authorization(ctx: Context, group: dict[str, Any], enable: bool) -> None:
    settings = {**group["settings"], "AuthorizationEnable": enable}
    if enable and not settings.get("AuthTokens"):
        settings["AuthTokens"] = [_new_token("default", "")]
    ctx.store.update_group(group["id"], settings=settings)


def _ti_one_request() -> dict[str, Any]:
    return {"TiOneRequestId": str(uuid.uuid4())}


@action("GetModelServiceCallInfo")
def get_model_service_call_info(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ServiceGroupId"):
        group = ctx.group(params["ServiceGroupId"])
    elif params.get("ServiceId"):
        group = ctx.service(params["ServiceId"])[1]
    else:
        raise ApiError("MissingParameter", "The request needs ServiceGroupId or ServiceId.")
    settings = group["settings"]
    enabled = [t["Value"] for t in settings.get("AuthTokens") or [] if t["Status"] == "Enabled"]
    return {
        "ServiceCallInfo": {
            "ServiceGroupId": group["tione_id"],
            "InternetEndpoint": f"{ctx.public_url}/{group['tione_id']}",
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
    _set_authorization(ctx, ctx.group(params["ServiceGroupId"]), params["AuthorizationEnable"])
    return _ti_one_request()


@action("CreateModelServiceAuthToken")
def create_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.group(params["ServiceGroupId"])
    name = params.get("Name")
    if not name:
        raise ApiError("MissingParameter", "The request is missing the required parameter Name.")
    tokens = list(group["settings"].get("AuthTokens") or [])
    if any(t["Name"] == name for t in tokens):
        raise ApiError("InvalidParameter.DuplicateName", f"The service group already has a token named {name!r}.")
    tokens.append(_new_token(name, params.get("Description") or ""))
    ctx.store.update_group(group["id"], settings={**group["settings"], "AuthTokens": tokens})
    return _ti_one_request()


def _token_index(group: dict[str, Any], value: str | None, member: str) -> int:
    if not value:
        raise ApiError("MissingParameter", f"The request is missing the required parameter {member}.")
    for i, token in enumerate(group["settings"].get("AuthTokens") or []):
        if token["Value"] == value:
            return i
    raise ApiError("ResourceNotFound", "The service group has no such auth token.")


@action("UpdateModelServiceAuthToken")
def update_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.group(params["ServiceGroupId"])
    base = params["AuthToken"]["Base"]
    index = _token_index(group, base.get("Value"), "AuthToken.Base.Value")
    tokens = list(group["settings"]["AuthTokens"])
    changes = {k: base[k] for k in ("Name", "Description") if base.get(k) is not None}
    if params["AuthToken"].get("Limits") is not None:
        changes["Limits"] = params["AuthToken"]["Limits"]
    tokens[index] = {**tokens[index], **changes}
    ctx.store.update_group(group["id"], settings={**group["settings"], "AuthTokens": tokens})
    return _ti_one_request()


@action("DeleteModelServiceAuthToken")
def delete_model_service_auth_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = ctx.group(params["ServiceGroupId"])
    index = _token_index(group, params["AuthTokenValue"], "AuthTokenValue")
    tokens = [t for i, t in enumerate(group["settings"]["AuthTokens"]) if i != index]
    ctx.store.update_group(group["id"], settings={**group["settings"], "AuthTokens": tokens})
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


def _authorized(group: dict[str, Any], token: str | None) -> bool:
    if not group["settings"].get("AuthorizationEnable"):
        return True
    enabled = {t["Value"] for t in group["settings"].get("AuthTokens") or [] if t["Status"] == "Enabled"}
    return bool(token) and token in enabled


def _routed(ctx: Context, group: dict[str, Any]) -> list[dict[str, Any]]:
    """The versions a call may go to: every running one, or, once a traffic split is set, one drawn by weight."""
    running = [s for s in ctx.store.services(group["id"]) if s["status"] == lc.RUNNING]
    split = routing_weights(group)
    if split is None:
        return running
    ready = [s for s in running if split.get(s["id"], 0) > 0 and any(p["ready"] for p in ctx.store.pods(s["id"]))]
    if not ready:
        return []
    return random.choices(ready, weights=[split[s["id"]] for s in ready])


def forward(
    ctx: Context,
    group: dict[str, Any],
    service: dict[str, Any] | None,
    path: str,
    body: str | None,
    token: str | None,
) -> tuple[int, dict[str, str], str]:
    """What the gateway does with a call: check the token, pick a ready replica (round robin), relay the call."""
    if not _authorized(group, token):
        return (
            401,
            {"Content-Type": "application/json"},
            json.dumps({"error": "missing or invalid authorization token"}),
        )
    candidates = [service] if service else _routed(ctx, group)
    pods = [p for s in reversed(candidates) for p in ctx.store.pods(s["id"]) if p["ready"]]
    if not pods:
        return 503, {"Content-Type": "text/plain"}, "no healthy upstream"
    pod = ctx.next_pod(group["id"], pods)
    conn = http.client.HTTPConnection("127.0.0.1", pod["port"], timeout=120)
    try:
        conn.request(
            "POST" if body else "GET",
            path,
            body=body.encode() if body else None,
            headers={"Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8", "replace")
    except OSError as exc:
        return 502, {"Content-Type": "text/plain"}, f"upstream connect error: {exc}"
    finally:
        conn.close()


@action("ModelServiceInterfaceCallTest")
def model_service_interface_call_test(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _check_relative_url(params["RelativeUrl"])
    # For historical reasons ServiceId carries the group ID; a version's own ID is accepted too.
    target = params["ServiceId"]
    service = ctx.store.service(target)
    group = ctx.group(service["group_id"] if service else target)
    if params.get("ServiceGroupId") and params["ServiceGroupId"] != group["id"]:
        raise invalid_value("ServiceGroupId", f"does not match the group of {target!r}.")
    answer = forward(ctx, group, service, params["RelativeUrl"], params.get("CurlData"), params.get("AuthTokenValue"))
    return _curl_response(*answer)


def _pod(ctx: Context, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    service, _ = ctx.service(params["ServiceId"])
    pod = ctx.store.pod(params["PodName"])
    if pod is None or pod["service_id"] != service["id"]:
        raise not_found("pod", params["PodName"])
    return service, pod


@action("CreateModelServicePodUrl")
def create_model_service_pod_url(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _, pod = _pod(ctx, params)
    token = secrets.token_urlsafe(24)
    now = time.time()
    for old in [t for t, (_, expires) in ctx.pod_urls.items() if expires < now]:
        del ctx.pod_urls[old]
    ctx.pod_urls[token] = (pod["name"], now + POD_URL_TTL)
    return {"Url": f"{ctx.public_url}/_emulator/pods/{pod['name']}/shell?authToken={token}"}


@action("RebuildModelServicePod")
def rebuild_model_service_pod(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    service, pod = _pod(ctx, params)
    ctx.supervisor.rebuild_pod(service, pod)
    return {"TiOneRebuildServiceRequestId": str(uuid.uuid4())}


# --- logs and events -------------------------------------------------------------------------------------------


def _time_window(params: dict[str, Any]) -> tuple[float, float]:
    now = time.time()
    window = []
    for member, default in (("StartTime", now - 3600), ("EndTime", now)):
        raw = params.get(member)
        if not raw:
            window.append(default)
            continue
        try:
            window.append(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp())
        except ValueError as exc:
            raise invalid_value(member, "must be an RFC 3339 time such as 2025-10-16T14:00:55+08:00.") from exc
    return window[0], window[1]


def _cursor(token: str) -> tuple[int, int]:
    try:
        last, _, seen = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(last), int(seen)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_value("Context", "is not a Context this API returned.") from exc


@action("ListMLServiceLogs")
def list_ml_service_logs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ServiceId"):
        ctx.service(params["ServiceId"])
    limit = params.get("Limit", LOG_LIMIT_DEFAULT)
    check_range("Limit", limit, 1, LOG_LIMIT_MAX)
    cursor, seen = _cursor(params["Context"]) if params.get("Context") else (None, 0)
    offset = params.get("Offset", 0)
    if seen + offset + limit > LOG_CONTEXT_LIMIT:
        raise ApiError(
            "FailedOperation.ContextLimitError",
            f"Paging past {LOG_CONTEXT_LIMIT} log entries is not allowed; narrow the time range.",
        )
    rows = ctx.store.logs(
        params.get("ServiceId"),
        params.get("PodName"),
        _time_window(params),
        params.get("Key"),
        params.get("Order", "DESC") == "DESC",
        cursor,
        offset,
        limit,
    )
    next_context = ""
    if len(rows) == limit:
        next_context = base64.urlsafe_b64encode(f"{rows[-1]['id']}:{seen + offset + limit}".encode()).decode()
    return {
        "Context": next_context,
        "Content": [
            {"Id": str(r["id"]), "Message": r["message"], "PodName": r["pod_name"], "Timestamp": rfc3339(r["ts"])}
            for r in rows
        ],
    }


_EVENT_FILTERS = {"ResourceKind": "resource_kind", "Type": "type"}


@action("ListModelServiceEvents")
def list_model_service_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ServiceId"):
        ctx.service(params["ServiceId"])
    for f in params.get("Filters") or []:
        if f["Name"] not in _EVENT_FILTERS:
            raise ApiError(
                "InvalidParameter.InvalidFilterParameter", f"Unknown filter {f['Name']!r}; use ResourceKind or Type."
            )
    start, end = _time_window(params)
    pattern = params.get("ResourceName")
    events = [
        e
        for e in ctx.store.events(params.get("ServiceId"))
        if start <= e["ts"] <= end
        and (not pattern or re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), e["resource_name"]))
        and all(e[_EVENT_FILTERS[f["Name"]]] in (f.get("Values") or []) for f in params.get("Filters") or [])
    ]
    if params.get("Order", "DESC") == "DESC":
        events.reverse()
    offset, limit = params.get("Offset", 0), params.get("Limit", 20)
    check_range("Limit", limit, 1, 100)
    return {
        "TotalCount": len(events),
        "Events": [
            {
                "Id": str(e["id"]),
                "Message": e["message"],
                "FirstTimestamp": rfc3339(e["ts"]),
                "LastTimestamp": rfc3339(e["ts"]),
                "Count": 1,
                "Type": e["type"],
                "ResourceKind": e["resource_kind"],
                "ResourceName": e["resource_name"],
            }
            for e in events[offset : offset + limit]
        ],
    }


# --- catalog and billing ---------------------------------------------------------------------------------------


@action("ListModelVersions")
def list_model_versions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return catalog.list_model_versions(ctx.tracking_uri, ctx.registry_uri, params)


@action("GetBillingSpecs")
def get_billing_specs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"SpecInfos": billing.specs(params.get("ResourceType") or "")}
