"""Resources → WeData's response objects (MLModelService, MLModelServiceGroup), and the pieces TI-ONE's objects
share with them: workload status, pods, traffic weights, masked secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import lifecycle as lc
from .resources import Pod, ServiceGroup, ServiceVersion
from .state import Store
from .times import local_time

SECRET_MASK = "******"

# Spec members echoed as they were sent (the rest are derived below).
_ECHOED = (
    "ChargeType",
    "MlModelInfo",
    "InstanceType",
    "ScaleMode",
    "ServicePort",
    "Command",
    "ServiceLimit",
    "ScheduledAction",
    "LogEnable",
    "LogConfig",
    "InferenceTablePushEnable",
    "InferenceTableCosBucket",
    "AuthorizationEnable",
    "ResourceGroupId",
    "ModelSource",
    "CatalogName",
    "SchemaName",
    "CatalogPath",
    "SchemaPath",
    "PayloadPath",
)


# The group filters of ListMLModelServiceGroups and DescribeModelServiceGroups, over either API's group object.
GROUP_FILTERS: dict[str, Callable[[dict[str, Any], list[str]], bool]] = {
    "ServiceGroupName": lambda g, vs: g["ServiceGroupName"] in vs,
    "ServiceGroupId": lambda g, vs: g["ServiceGroupId"] in vs,
    "ServiceId": lambda g, vs: any(s["ServiceId"] in vs for s in g["Services"]),
    "Status": lambda g, vs: g["Status"] in vs,
}


def masked_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if not image or not image.get("ImageSecret"):
        return image
    secret = {**image["ImageSecret"], "Password": SECRET_MASK}
    return {**image, "ImageSecret": secret}


def workload_status(service: ServiceVersion, pods: list[Pod]) -> dict[str, Any]:
    ready = sum(1 for p in pods if p.ready)
    wanted = 0 if service.desired == "stopped" else int(service.spec.get("Replicas") or 1)
    status = {
        lc.RUNNING: "Available",
        lc.STOPPED: "Stopped",
        lc.STOPPING: "Stopping",
        lc.CREATE_FAILED: "Failed",
        lc.TIMEOUT_EXCEPTION: "Failed",
        lc.ABNORMAL: "Abnormal",
    }.get(service.status, "Progressing")
    return {
        "Replicas": wanted,
        "UpdatedReplicas": len(pods),
        "ReadyReplicas": ready,
        "AvailableReplicas": ready,
        "UnavailableReplicas": max(wanted - ready, 0),
        "Status": status,
        "Reason": service.reason,
        "Conditions": [
            {
                "Type": "Available",
                "Status": "True" if status == "Available" else "False",
                "Reason": service.status,
                "Message": service.reason,
                "LastTransitionTime": local_time(service.status_since),
            }
        ],
    }


def weights(group: ServiceGroup, services: list[ServiceVersion]) -> tuple[dict[str, int], bool]:
    """Each version's traffic share as last set (ModifyServiceGroupWeights), else equal shares; and whether a new
    split is still being applied (WeightUpdateStatus UPDATING)."""
    traffic = group.traffic
    if traffic is not None:
        return {s.id: int(traffic.weights.get(s.id, 0)) for s in services}, traffic.applying
    shares = {s.id: 100 // len(services) for s in services}
    if services:
        shares[services[-1].id] += 100 - sum(shares.values())
    return shares, False


def routing_weights(group: ServiceGroup) -> dict[str, int] | None:
    """What the gateway routes by: None until a split is set; the previous split while a new one is applied."""
    traffic = group.traffic
    if traffic is None:
        return None
    if traffic.applying:
        return traffic.previous or None
    return dict(traffic.weights)


def pod_infos(pods: list[Pod], charge_type: str, image: str | None = None) -> list[dict[str, Any]]:
    return [_pod_info(p, charge_type, image) for p in pods]


def _pod_info(pod: Pod, charge_type: str, image: str | None) -> dict[str, Any]:
    return {
        "Name": pod.name,
        "Uid": pod.uid,
        "Phase": "Running" if pod.ready else "Pending",
        "Status": "Running" if pod.ready else "ContainerCreating",
        "Ip": "127.0.0.1",
        "CreateTime": local_time(pod.created),
        "ChargeType": charge_type,
        "ContainerInfos": [
            {
                "Name": "model-service",
                "ContainerId": pod.container_id or f"pid://{pod.pid or ''}",
                "Image": image or "",
                "State": "Running" if pod.ready else "Waiting",
                "Ready": bool(pod.ready),
                "Reason": "CrashLoopBackOff" if pod.crashes and not pod.ready else "",
                "RestartCount": pod.restart_count,
                "Message": "",
            }
        ],
    }


def service_view(store: Store, service: ServiceVersion, group: ServiceGroup, region: str) -> dict[str, Any]:
    spec = service.spec
    pods = store.pods(service.id)
    started = service.status != lc.NEW
    running = service.status == lc.RUNNING
    replicas = 0 if service.desired == "stopped" else int(spec.get("Replicas") or 1)
    view = {key: spec.get(key) for key in _ECHOED}
    view.update(
        {
            "ServiceId": service.id,
            "ServiceName": group.name,
            "Description": spec.get("Description", ""),
            "ImageInfo": masked_image(spec.get("ImageInfo")),
            "Resources": spec.get("Resources"),
            "Env": spec.get("Env") or [],
            "LogStatus": "RUNNING" if spec.get("LogEnable") else "NOT_ENABLED",
            "PodInfos": pod_infos(pods, spec.get("ChargeType", ""), (spec.get("ImageInfo") or {}).get("ImageUrl")),
            "WorkloadStatus": workload_status(service, pods),
            "Status": service.status,
            "CreateBy": "emulator",
            "CreateTime": local_time(service.created),
            "UpdateTime": local_time(service.updated),
            "Region": region,
            "Replicas": replicas,
            "TiOneServiceId": spec["_TiOneServiceId"] if started else None,
            "TiOneServiceGroupId": group.tione_id if started else None,
            "BillingStatus": "BILLING" if running else "",
            "BillingUnits": [{"SpecName": spec.get("InstanceType"), "SpecCount": replicas}] if running else [],
            "ServiceType": "MACHINE_LEARNING",
            "WorkspaceId": group.workspace_id,
            "Version": service.version,
            "ServiceGroupId": group.id,
            "Weight": weights(group, store.services(group.id))[0].get(service.id, 0),
        }
    )
    return view


def group_status(services: list[ServiceVersion]) -> str:
    statuses = [s.status for s in services]
    if lc.RUNNING in statuses:
        return lc.RUNNING
    return statuses[-1] if statuses else lc.NEW


def group_view(store: Store, group: ServiceGroup, region: str) -> dict[str, Any]:
    services = store.services(group.id)
    settings = group.settings
    started = any(s.status != lc.NEW for s in services)
    tokens = [
        {
            "Base": {k: t[k] for k in ("Id", "Name", "Description", "Value", "Status", "CreateTime")},
            "Limits": t["Limits"],
        }
        for t in settings.get("AuthTokens") or []
    ]
    return {
        "ServiceGroupId": group.id,
        "ServiceGroupName": group.name,
        "Description": group.description,
        "Services": [service_view(store, s, group, region) for s in services],
        "TiOneServiceGroupId": group.tione_id if started else None,
        "ServiceCount": len(services),
        "RunningServiceCount": sum(1 for s in services if s.status == lc.RUNNING),
        "Status": group_status(services),
        "LatestVersion": str(max((s.version for s in services), default=0)),
        "BusinessStatus": "CREATE_SUCCEED" if started else "CREATING",
        "WeightUpdateStatus": "UPDATING" if weights(group, services)[1] else "UPDATED",
        "CreateBy": "emulator",
        "CreateTime": local_time(group.created),
        "UpdateTime": local_time(group.updated),
        "ServiceType": "MACHINE_LEARNING",
        "WorkspaceId": group.workspace_id,
        "AuthorizationEnable": bool(settings.get("AuthorizationEnable")),
        "AuthTokens": tokens,
        "LogEnable": bool(settings.get("LogEnable")),
        "LogConfig": settings.get("LogConfig"),
        "InferenceTablePushEnable": bool(settings.get("InferenceTablePushEnable")),
        "CatalogPath": settings.get("CatalogPath"),
        "SchemaPath": settings.get("SchemaPath"),
        "PayloadPath": settings.get("PayloadPath"),
        "PermissionType": "MANAGE",
    }
