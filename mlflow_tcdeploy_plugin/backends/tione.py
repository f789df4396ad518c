"""TI-ONE's public online-service API (``2021-11-11``): its requests, its answers, its status words.

Models go as images (``ImageInfo``; the image tcdeploy builds serves on 8080). ``predict`` calls the group's
invocation address, checked first (``invocation.check_address``), with the group's auth token when authorization
is on. Traffic between versions is split with ``ModifyServiceGroupWeights``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, RESOURCE_DOES_NOT_EXIST

from ..cloud.errors import CloudError
from ..cloud.retry import Safety
from ..cloud.transport import Product, Transport
from ..invocation import check_address, post
from ..log import get_logger
from ..naming import to_snake
from ..redact import add_secret
from ..settings import Settings
from .base import (
    Backend,
    CallInfo,
    Deployment,
    Endpoint,
    LogPage,
    LogQuery,
    Plan,
    Spec,
    State,
    image_info,
    weights_state,
)
from .capabilities import Capabilities
from .members import Field, request_members, to_pascal

logger = get_logger(__name__)

NAME = "tione"
PRODUCT = Product("tione", "2021-11-11", "TiProjectId", payload_in_data=False)
WINDOWS = {
    "scale_up_window": "ScaleUpStabilizationWindowSeconds",
    "scale_down_window": "ScaleDownStabilizationWindowSeconds",
}
"""The autoscaling option's window keys and their ``HorizontalPodAutoscaler`` members."""


def hpa_member(policy: dict[str, Any]) -> dict[str, Any]:
    """The ``autoscaling`` option as ``HorizontalPodAutoscaler`` (metrics as ``HpaMetrics`` name/value pairs)."""
    return {
        "MinReplicas": policy["min_replicas"],
        "MaxReplicas": policy["max_replicas"],
        "HpaMetrics": [{"Name": name, "Value": target} for name, target in policy["metrics"].items()],
        **{member: policy[key] for key, member in WINDOWS.items() if key in policy},
    }


MEMBERS: dict[str, Field] = {
    "instance_type": Field("InstanceType"),
    "replicas": Field("Replicas"),
    "charge_type": Field("ChargeType"),
    "resource_group_id": Field("ResourceGroupId"),
    "resources": Field("Resources"),
    "scale_mode": Field("ScaleMode"),
    "autoscaling": Field("HorizontalPodAutoscaler", write=hpa_member),
    "scale_schedules": Field("CronScaleJobs"),
    "service_description": Field("ServiceDescription"),
    "image_info": Field("ImageInfo"),
    "service_port": Field("ServicePort"),
    "command": Field("Command"),
    "env": Field("Env"),
    "log_enable": Field("LogEnable"),
    "log_config": Field("LogConfig"),
    "authorization_enable": Field("AuthorizationEnable"),
    "scheduled_action": Field("ScheduledAction"),
    "service_limit": Field("ServiceLimit"),
    "service_action": Field("ServiceAction"),
}
"""The create (``CreateModelService``) and modify (``ModifyModelService``) members each option fills."""
SENT_AS = {
    "relative_url": "the path called on the group's invocation address",
    "auth_token": "the `Authorization` header of the call",
    "create_auth_token": "`CreateModelServiceAuthToken`",
    "traffic": "`ModifyServiceGroupWeights`",
}
"""What the other options send, for the reference."""
NO_ACTION = "its API has no action for it."
CAPABILITIES = Capabilities(
    NAME,
    lacks={
        "events": "its API has no events action.",
        "catalog_models": "TCLake models resolve through WeData's catalog. Use a model of your MLflow registry "
        "(models:/<name>/<version>), a runs:/ URI, or the wedata backend.",
        "set_description": NO_ACTION,
        "set_authorization": "its API has no action for it; set authorization_enable when creating the deployment.",
        "update_auth_token": NO_ACTION,
        "delete_auth_token": NO_ACTION,
        "pod_url": "its public API has no web-shell action.",
        "rebuild_pod": "its public API has no pod restart action; restart the deployment with service_action=STOP, "
        "then RESUME.",
        "create_stopped": "its create action has no ServiceAction; create it, then update it with service_action=STOP.",
    },
    refuses=dict.fromkeys(
        (
            "model_source",
            "status",
            "inference_table_push_enable",
            "catalog_path",
            "schema_path",
            "payload_path",
            "inference_table_cos_bucket",
            "cos_region",
            "catalog_name",
            "schema_name",
            "description",
            "update_auth_token",
            "delete_auth_token",
        ),
        "",
    ),
    runs_models=False,
)
GROUP_PAGE_SIZE = 100
FAILED = frozenset({"CREATE_FAILED", "TIMEOUT_EXCEPTION", "Abnormal"})


def state_of(status: str) -> State:
    """TI-ONE's ``Service.Status`` (reference §6.1): Normal runs; CREATING, Pending, Waiting, Stopping move."""
    if status == "Normal":
        return State.RUNNING
    if status == "Stopped":
        return State.STOPPED
    if status in FAILED or status.upper().endswith("FAILED"):
        return State.FAILED
    return State.PENDING


def flat_service(service: dict[str, Any]) -> dict[str, Any]:
    """A service as WeData lays one out: the members TI-ONE nests in ``ServiceInfo`` beside the service's own, its
    workload status (``ServiceInfo.Status``) as ``WorkloadStatus``."""
    info = dict(service.get("ServiceInfo") or {})
    workload = info.pop("Status", None)
    flat = {**info, **{k: v for k, v in service.items() if k != "ServiceInfo"}}
    if workload is not None:
        flat["WorkloadStatus"] = workload
    return flat


def flat_group(group: dict[str, Any]) -> dict[str, Any]:
    """A service group with its services laid out as ``flat_service`` does."""
    return {**group, "Services": [flat_service(s) for s in group.get("Services") or []]}


def scaling_members(options: dict[str, Any], update: bool) -> dict[str, Any]:
    """What a scaling policy adds to its own members: ``ScaleMode=AUTO`` and the strategy (``HPA`` with a metric
    policy, whose scheduled jobs then move its bounds; ``CRON`` with scheduled jobs alone); a new service starts at
    the policy's floor (an update leaves the count to the policy)."""
    hpa = options.get("autoscaling")
    if hpa is None and "scale_schedules" not in options:
        return {}
    members: dict[str, Any] = {"ScaleMode": "AUTO", "ScaleStrategy": "HPA" if hpa else "CRON"}
    if hpa is not None and not update:
        members["Replicas"] = hpa["min_replicas"]
    return members


def read_scaling(info: dict[str, Any], replicas: int) -> dict[str, Any]:
    """How a service scales, in the autoscaling options' own shape: the mode, the strategy, the policy, the
    replica count now."""
    hpa = info.get("HorizontalPodAutoscaler") or None
    autoscaling = hpa and {
        "min_replicas": hpa.get("MinReplicas"),
        "max_replicas": hpa.get("MaxReplicas"),
        "metrics": {m.get("Name"): m.get("Value") for m in hpa.get("HpaMetrics") or []},
        **{key: hpa[member] for key, member in WINDOWS.items() if member in hpa},
    }
    jobs = info.get("CronScaleJobs") or None
    mode = info.get("ScaleMode") or "MANUAL"
    if mode != "AUTO":  # a policy kept from before scaling by hand does nothing
        return {"mode": mode, "strategy": None, "autoscaling": None, "scale_schedules": None, "replicas": replicas}
    return {
        "mode": mode,
        "strategy": info.get("ScaleStrategy") or None,
        "autoscaling": autoscaling,
        "scale_schedules": jobs and to_snake(jobs),
        "replicas": replicas,
    }


def read_deployment(service: dict[str, Any]) -> Deployment:
    info = service.get("ServiceInfo") or {}
    workload = info.get("Status") or {}
    image = info.get("ImageInfo") or {}
    status = str(service.get("Status") or "")
    reason = str(service.get("CreateFailedReason") or workload.get("Reason") or "")
    return Deployment(
        service_id=service["ServiceId"],
        group_id=service.get("ServiceGroupId"),
        group_name=service.get("ServiceGroupName"),
        version=service.get("Version"),
        status=status,
        state=state_of(status),
        reason=reason,
        replicas=int(info.get("Replicas") or 0),
        ready_replicas=workload.get("ReadyReplicas"),
        instance_type=info.get("InstanceType"),
        model_path=None,
        model_version=None,
        weight=service.get("Weight"),
        resource_group_id=service.get("ResourceGroupId"),
        has_image=bool(image.get("ImageUrl")),
        pods=tuple(str(p.get("Name")) for p in info.get("PodInfos") or []),
        raw=service,
        layout=flat_service,
        scaling=read_scaling(info, int(info.get("Replicas") or 0)),
    )


def read_endpoint(group: dict[str, Any]) -> Endpoint:
    return Endpoint(
        group_id=group["ServiceGroupId"],
        name=group.get("ServiceGroupName"),
        description=None,
        status=group.get("Status"),
        authorization_enable=group.get("AuthorizationEnable"),
        service_count=group.get("ServiceCount"),
        running_service_count=group.get("RunningServiceCount"),
        latest_version=group.get("LatestVersion"),
        weight_update_status=group.get("WeightUpdateStatus"),
        weights_state=weights_state(group.get("WeightUpdateStatus")),
        deployments=tuple(read_deployment(s) for s in group.get("Services") or []),
        auth_tokens=tuple(group.get("AuthTokens") or []),
        raw=group,
        layout=flat_group,
    )


class TioneBackend(Backend):
    """TI-ONE online services in one project (``TiProjectId``, or the default one) and region."""

    name = NAME
    capabilities = CAPABILITIES
    members = MEMBERS

    def __init__(self, settings: Settings, **transport: Any) -> None:
        import requests

        self.transport = Transport(settings, PRODUCT, **transport)
        self._call = self.transport.call
        self._emulator = settings.endpoint if settings.emulated else None
        self._http = requests.Session()

    def __repr__(self) -> str:
        return f"TioneBackend({self.transport!r})"

    # --- reads -----------------------------------------------------------------------------------------------------
    def get_deployment(self, service_id: str) -> Deployment:
        return read_deployment(self._call("DescribeModelService", {"ServiceId": service_id})["Service"])

    def get_endpoint(self, group_id: str) -> Endpoint:
        group = self._call("DescribeModelServiceGroup", {"ServiceGroupId": group_id}).get("ServiceGroup")
        if not group:  # the answer's ServiceGroup is nullable
            raise CloudError("DescribeModelServiceGroup", "ResourceNotFound", f"No service group {group_id!r}.")
        return read_endpoint(group)

    def iter_endpoints(self, page_size: int = GROUP_PAGE_SIZE) -> Iterator[Endpoint]:
        """Every service group, following Offset/Limit until TotalCount."""
        offset = 0
        while True:
            params = {"Offset": offset, "Limit": page_size, "Order": "DESC", "OrderField": "CreateTime"}
            data = self._call("DescribeModelServiceGroups", params)
            groups = data.get("ServiceGroups") or []
            yield from (read_endpoint(g) for g in groups)
            offset += len(groups)
            if not groups or offset >= int(data.get("TotalCount") or 0):
                return

    def specs(self, charge_type: str = "POSTPAID_BY_HOUR") -> list[Spec]:
        data = self._call("DescribeBillingSpecs", {"ChargeType": charge_type, "TaskType": "INFERENCE"})
        return [Spec.read(s) for s in data.get("Specs") or []]

    def call_info(self, group_id: str) -> CallInfo:
        data = self._call("DescribeModelServiceCallInfo", {"ServiceGroupId": group_id})
        return CallInfo.read(data, "ServiceCallInfoV2")

    def logs_page(self, query: LogQuery, limit: int, context: str | None = None) -> LogPage:
        params = query.members(limit, context)
        if query.keyword:
            params["Filters"] = [{"Name": "Key", "Values": [query.keyword]}]
        data = self._call("DescribeLogs", params)
        return LogPage.read(data)

    def diagnostics(self, deployment: Deployment) -> list[tuple[str, list[str]]]:
        """TI-ONE has no events action: the workload's conditions and the containers' last states say why."""
        info = deployment.raw.get("ServiceInfo") or {}
        conditions = [
            f"  {c.get('Type', '')}={c.get('Status', '')} {c.get('Reason', '')}: {c.get('Message', '')}"
            for c in (info.get("Status") or {}).get("Conditions") or []
            if c.get("Message") or c.get("Reason")
        ]
        containers = [
            f"  {p.get('Name', '')}/{c.get('Name', '')}: {(c.get('Status') or {}).get('Reason', '')} "
            f"(restarts {(c.get('Status') or {}).get('RestartCount', 0)})"
            for p in info.get("PodInfos") or []
            for c in p.get("ContainerInfos") or []
            if (c.get("Status") or {}).get("Reason")
        ]
        return [(title, lines) for title, lines in (("Conditions", conditions), ("Containers", containers)) if lines]

    # --- deployments -----------------------------------------------------------------------------------------------
    def _members(self, plan: Plan, update: bool) -> dict[str, Any]:
        members = {**request_members(MEMBERS, plan.options, update), **scaling_members(plan.options, update)}
        if plan.image is not None:
            members["ImageInfo"] = image_info(plan.image)
            members.setdefault("ServicePort", self.default_port)
        return members

    def create(self, name: str, endpoint: Endpoint | None, plan: Plan) -> tuple[Endpoint, Deployment]:
        params = self._members(plan, update=False)
        for key in ("charge_type", "scale_mode", "replicas"):
            params.setdefault(MEMBERS[key].member, plan.value(key))
        if endpoint is not None:
            params.update({"ServiceGroupId": endpoint.group_id, "NewVersion": True})
        else:
            params["ServiceGroupName"] = name
        recover = self._recover_create(name, endpoint)
        service = self._call("CreateModelService", params, Safety.CREATE, recover).get("Service")
        if not service:
            raise MlflowException(
                f"CreateModelService answered without the service it made (endpoint {name}); check with "
                f"`mlflow deployments list -t tcdeploy --endpoint {name}` before creating again.",
                error_code=INTERNAL_ERROR,
            )
        deployment = read_deployment(service)
        return self.get_endpoint(str(deployment.group_id)), deployment

    def _recover_create(self, name: str, endpoint: Endpoint | None) -> Callable[[], dict[str, Any] | None]:
        """How a lost create answer is found again: a version the group did not have, or the group by name."""
        if endpoint is not None:
            group_id = endpoint.group_id
            before = {d.service_id for d in endpoint.deployments}

            def recover_version() -> dict[str, Any] | None:
                new = [d for d in self.get_endpoint(group_id).deployments if d.service_id not in before]
                return {"Service": new[-1].raw} if new else None

            return recover_version

        def recover_group() -> dict[str, Any] | None:
            filters = [{"Name": "ServiceGroupName", "Values": [name]}]
            found = self._call("DescribeModelServiceGroups", {"Filters": filters}).get("ServiceGroups") or []
            services = [s for g in found for s in g.get("Services") or []]
            return {"Service": services[-1]} if services else None

        return recover_group

    def _modified(self, service_id: str, params: dict[str, Any]) -> Deployment:
        service = self._call("ModifyModelService", {"ServiceId": service_id, **params}).get("Service")
        return read_deployment(service) if service else self.get_deployment(service_id)

    def update(self, deployment: Deployment, plan: Plan) -> Deployment:
        return self._modified(deployment.service_id, self._members(plan, update=True))

    def act(self, deployment: Deployment, action: str, replicas: int | None) -> Deployment:
        params: dict[str, Any] = {"ServiceAction": action}
        if replicas is not None:
            params["Replicas"] = replicas
        return self._modified(deployment.service_id, params)

    def delete_deployment(self, service_id: str) -> None:
        self._call("DeleteModelService", {"ServiceId": service_id})

    def delete_endpoint(self, group_id: str) -> None:
        self._call("DeleteModelServiceGroup", {"ServiceGroupId": group_id})

    # --- calling an endpoint ---------------------------------------------------------------------------------------
    def predict(self, group_id: str, relative_url: str, body: str, auth_token: str | None) -> dict[str, Any]:
        call = self.call_info(group_id)
        address = check_address(call.address, self._emulator)
        token = auth_token or (call.auth_token if call.authorization_enable else None)
        if call.authorization_enable and not token:
            raise MlflowException(
                f"The endpoint {group_id} requires an auth token and none is enabled: add one with "
                f"`mlflow deployments update-endpoint -t tcdeploy --endpoint {group_id} "
                "-C create_auth_token=<name>`.",
                error_code=RESOURCE_DOES_NOT_EXIST,
            )
        add_secret(token)
        return post(self._http, address + relative_url, body, token)

    # --- endpoint settings -----------------------------------------------------------------------------------------
    def create_auth_token(self, group_id: str, token: dict[str, Any]) -> None:
        """Add a named token (the answer has only a RequestId); a lost answer is recovered by its name."""

        def recover() -> dict[str, Any] | None:
            return {} if self.get_endpoint(group_id).token_named(token["name"]) else None

        params = {"ServiceGroupId": group_id, **to_pascal(token)}
        self._call("CreateModelServiceAuthToken", params, Safety.CREATE, recover)

    def set_weights(self, endpoint: Endpoint, weights: dict[str, int]) -> Endpoint:
        params = {
            "ServiceGroupId": endpoint.group_id,
            "Weights": [{"ServiceId": sid, "Weight": weight} for sid, weight in weights.items()],
        }
        group = self._call("ModifyServiceGroupWeights", params).get("ServiceGroup")
        return read_endpoint(group) if group else self.get_endpoint(endpoint.group_id)
