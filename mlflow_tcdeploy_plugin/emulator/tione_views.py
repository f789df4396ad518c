"""TI-ONE's response objects (Service, ServiceGroup, Pod) from the state: its status names, its IDs
(``ms-xxxxxxxx``, ``ms-xxxxxxxx-<n>``) and its shapes."""

from __future__ import annotations

from typing import Any

from . import lifecycle as lc
from .models import ModelServiceBackend
from .resources import Pod, ServiceGroup, ServiceVersion
from .times import local_time
from .version_specs import SCALING_MEMBERS
from .views import masked_image, pod_infos, weights, workload_status

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


def _pod(info: dict[str, Any]) -> dict[str, Any]:
    """TI-ONE's Pod: the container's state under ``Status``, the address as ``IP``."""
    state = ("RestartCount", "State", "Ready", "Reason", "Message")
    containers = [
        {**{k: v for k, v in c.items() if k not in state}, "Status": {k: c.get(k) for k in state}}
        for c in info.get("ContainerInfos") or []
    ]
    pod = {k: v for k, v in info.items() if k != "Ip"}
    return {**pod, "IP": info.get("Ip"), "ContainerInfos": containers}


def service_view(backend: ModelServiceBackend, service: ServiceVersion, group: ServiceGroup) -> dict[str, Any]:
    spec = service.spec
    pods = backend.store.pods(service.id)
    services = backend.store.services(group.id)
    status = service.status
    workload = workload_status(service, pods)
    workload["Status"] = WORKLOAD_STATUS.get(status, "Waiting")
    return {
        "ServiceGroupId": group.tione_id,
        "ServiceId": spec["_TiOneServiceId"],
        "ServiceGroupName": group.name,
        "ServiceDescription": spec.get("Description", ""),
        "ClusterId": "emulator",
        "Region": backend.region,
        "Namespace": "default",
        "ChargeType": spec.get("ChargeType"),
        "ResourceGroupId": spec.get("ResourceGroupId"),
        "CreatedBy": "emulator",
        "CreateTime": local_time(service.created),
        "UpdateTime": local_time(service.updated),
        "BusinessStatus": "CREATE_FAILED" if status in FAILED else "CREATE_SUCCEED",
        "CreateFailedReason": service.reason if status in FAILED else "",
        "Status": SERVICE_STATUS.get(status, "Waiting"),
        "Weight": weights(group, services)[0].get(service.id, 0),
        "Version": str(service.version),
        "LatestVersion": str(max(s.version for s in services)),
        "ServiceInfo": _service_info(spec, workload, pods, group.settings),
    }


def _service_info(
    spec: dict[str, Any], workload: dict[str, Any], pods: list[Pod], settings: dict[str, Any]
) -> dict[str, Any]:
    """TI-ONE's ServiceInfo: the version's members as stored, its workload and its pods."""
    return {
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
        **{k: spec.get(k) for k in SCALING_MEMBERS},
        "ScheduledAction": spec.get("ScheduledAction"),
        "ServiceLimit": spec.get("ServiceLimit"),
        "Command": spec.get("Command"),
        "ServicePort": spec.get("ServicePort"),
        "PodInfos": [
            _pod(p) for p in pod_infos(pods, spec.get("ChargeType", ""), (spec.get("ImageInfo") or {}).get("ImageUrl"))
        ],
    }


def group_view(backend: ModelServiceBackend, group: ServiceGroup) -> dict[str, Any]:
    services = backend.store.services(group.id)
    views = [service_view(backend, s, group) for s in services]
    _, updating = weights(group, services)
    settings = group.settings
    tokens = [
        {
            "Base": {k: t[k] for k in ("Id", "Name", "Description", "Value", "Status", "CreateTime")},
            "Limits": t["Limits"],
        }
        for t in settings.get("AuthTokens") or []
    ]
    running = sum(1 for s in services if s.status == lc.RUNNING)
    return {
        "ServiceGroupId": group.tione_id,
        "ServiceGroupName": group.name,
        "CreatedBy": "emulator",
        "CreateTime": local_time(group.created),
        "UpdateTime": local_time(group.updated),
        "ServiceCount": len(services),
        "RunningServiceCount": running,
        "Services": views,
        "Status": "Normal" if running else (views[-1]["Status"] if views else "CREATING"),
        "LatestVersion": str(max((s.version for s in services), default=0)),
        "BusinessStatus": "CREATE_SUCCEED",
        "WeightUpdateStatus": "UPDATING" if updating else "UPDATED",
        "ReplicasCount": sum(v["ServiceInfo"]["Replicas"] for v in views),
        "AvailableReplicasCount": sum(v["ServiceInfo"]["Status"]["AvailableReplicas"] for v in views),
        "AuthorizationEnable": bool(settings.get("AuthorizationEnable")),
        "AuthTokens": tokens,
    }
