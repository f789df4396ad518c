"""WeData's model-service API (``2025-10-10``): its requests, its answers, its quirks.

Quirks kept here: ``CreateServiceInfos`` takes one ``EnvVar`` (more go in a follow-up update), a version is added
to a group with ``NewVersion``, a lost create answer is recovered by looking the group up, and
``ModelServiceInterfaceCallTest`` answers with the upstream reply as a JSON string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, ErrorCode

from ..cloud.errors import CloudError
from ..cloud.retry import Safety
from ..cloud.transport import MAX_MESSAGE, Product, Transport
from ..log import get_logger
from ..resolve import CatalogVersion
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
    model_info,
    weights_state,
)
from .capabilities import Capabilities
from .members import Field, request_members, to_pascal

logger = get_logger(__name__)

NAME = "wedata"
PRODUCT = Product("wedata", "2025-10-10", "WorkspaceId", payload_in_data=True)
MEMBERS: dict[str, Field] = {
    "instance_type": Field("InstanceType"),
    "replicas": Field("Replicas"),
    "charge_type": Field("ChargeType"),
    "resource_group_id": Field("ResourceGroupId"),
    "resources": Field("TioneResourceInfo", on_update="Resources"),
    "scale_mode": Field("ScaleMode"),
    "service_description": Field("ServiceDescription", group=True),
    "model_source": Field("ModelSource", group=True),
    "image_info": Field("ImageInfo"),
    "service_port": Field("ServicePort"),
    "command": Field("Command"),
    "env": Field("Env"),
    "log_enable": Field("LogEnable", group=True),
    "log_config": Field("LogConfig", group=True),
    "authorization_enable": Field("AuthorizationEnable", group=True),
    "scheduled_action": Field("ScheduledAction"),
    "service_limit": Field("ServiceLimit"),
    "status": Field("Status", group=True),
    "service_action": Field("ServiceAction", group=True),
    "inference_table_push_enable": Field("InferenceTablePushEnable", group=True),
    "catalog_path": Field("CatalogPath", group=True),
    "schema_path": Field("SchemaPath", group=True),
    "payload_path": Field("PayloadPath", group=True),
    "inference_table_cos_bucket": Field("InferenceTableCosBucket"),
    "cos_region": Field("CosRegion"),
    "catalog_name": Field("CatalogName"),
    "schema_name": Field("SchemaName"),
}
"""The create (``CreateMLModelServices``) and update (``UpdateMLModelService``) members each option fills."""
SENT_AS = {
    "authorization_enable": "`AuthorizationEnable`; `UpdateModelServiceAuthorization` (endpoint)",
    "relative_url": "`RelativeUrl`",
    "auth_token": "`AuthTokenValue`",
    "description": "`Description` (UpdateModelServiceGroup)",
    "create_auth_token": "`CreateModelServiceAuthToken`",
    "update_auth_token": "`UpdateModelServiceAuthToken`",
    "delete_auth_token": "`DeleteModelServiceAuthToken`",
}
"""What the other options send, for the reference."""
CAPABILITIES = Capabilities(
    NAME,
    lacks={"set_weights": "its API has no weights action."},
    refuses={
        "traffic": "WeData's 2025-10-10 API has no weights action (its groups show WeightUpdateStatus read-only). "
        "Split traffic on the tione backend: tcdeploy:/<region>?backend=tione.",
        "rollout": "A rollout moves traffic weights, and WeData's 2025-10-10 API has no weights action: roll out on "
        "the tione backend (tcdeploy:/<region>?backend=tione).",
        **dict.fromkeys(
            ("autoscaling", "scale_schedules"),
            "WeData's published members have no autoscaling settings: autoscale on the tione backend "
            "(tcdeploy:/<region>?backend=tione).",
        ),
    },
)
GROUP_PAGE_SIZE = 100
RUNNING = frozenset({"RUNNING", "Normal"})
STOPPED = frozenset({"Stopped", "STOPPED"})


def state_of(status: str) -> State:
    """WeData's ``Status`` is a free string: the observed values and TI-ONE's vocabulary (reference §6.1)."""
    if status in RUNNING:
        return State.RUNNING
    if status in STOPPED:
        return State.STOPPED
    if status.upper().endswith("FAILED") or status in ("TIMEOUT_EXCEPTION", "Abnormal"):
        return State.FAILED
    return State.PENDING


def read_deployment(service: dict[str, Any], group_name: str | None = None) -> Deployment:
    workload = service.get("WorkloadStatus") or {}
    info = service.get("MlModelInfo") or {}
    status = str(service.get("Status") or "")
    return Deployment(
        service_id=service["ServiceId"],
        group_id=service.get("ServiceGroupId"),
        group_name=group_name or service.get("ServiceName"),
        version=service.get("Version"),
        status=status,
        state=state_of(status),
        reason=str(workload.get("Reason") or ""),
        replicas=int(service.get("Replicas") or 0),
        ready_replicas=workload.get("ReadyReplicas"),
        instance_type=service.get("InstanceType"),
        model_path=info.get("ModelPath"),
        model_version=info.get("Version"),
        weight=service.get("Weight"),
        resource_group_id=service.get("ResourceGroupId"),
        has_image=bool(service.get("ImageInfo")),
        pods=tuple(str(p.get("Name")) for p in service.get("PodInfos") or []),
        raw=service,
        scaling={"mode": service.get("ScaleMode") or "MANUAL", "replicas": int(service.get("Replicas") or 0)},
    )


def read_endpoint(group: dict[str, Any]) -> Endpoint:
    name = group.get("ServiceGroupName")
    return Endpoint(
        group_id=group["ServiceGroupId"],
        name=name,
        description=group.get("Description"),
        status=group.get("Status"),
        authorization_enable=group.get("AuthorizationEnable"),
        service_count=group.get("ServiceCount"),
        running_service_count=group.get("RunningServiceCount"),
        latest_version=group.get("LatestVersion"),
        weight_update_status=group.get("WeightUpdateStatus"),
        weights_state=weights_state(group.get("WeightUpdateStatus")),
        deployments=tuple(read_deployment(s, name) for s in group.get("Services") or []),
        auth_tokens=tuple(group.get("AuthTokens") or []),
        raw=group,
    )


def read_catalog_version(item: dict[str, Any]) -> CatalogVersion:
    """An item of ``ListModelVersions``."""
    props = {p.get("Key", ""): p.get("Value", "") for p in item.get("Properties") or []}
    return CatalogVersion(item.get("Version"), tuple(item.get("Aliases") or ()), str(item.get("Uri") or ""), props)


class WeDataBackend(Backend):
    """WeData model services in one workspace and region."""

    name = NAME
    capabilities = CAPABILITIES
    members = MEMBERS
    max_request = 10 * 1024 * 1024
    """The TC3 limit on a request body (reference §2.1): the input travels inside it as ``CurlData``."""
    ENVELOPE = 1024
    """Bytes of the other members of ModelServiceInterfaceCallTest, generously."""

    def request_size(self, body: str) -> int:
        return len(json.dumps(body).encode("utf-8")) + self.ENVELOPE

    def __init__(self, settings: Settings, **transport: Any) -> None:
        self.transport = Transport(settings, PRODUCT, **transport)
        self._call = self.transport.call

    def __repr__(self) -> str:
        return f"WeDataBackend({self.transport!r})"

    # --- reads -----------------------------------------------------------------------------------------------------
    def get_deployment(self, service_id: str) -> Deployment:
        return read_deployment(self._call("GetMLModelService", {"ServiceId": service_id}))

    def get_endpoint(self, group_id: str) -> Endpoint:
        return read_endpoint(self._call("GetMLModelServiceGroup", {"ServiceGroupId": group_id}))

    def iter_endpoints(self, page_size: int = GROUP_PAGE_SIZE) -> Iterator[Endpoint]:
        """Every service group, following PageNumber/PageSize to the last page."""
        page = 1
        while True:
            data = self._call("ListMLModelServiceGroups", {"PageNumber": page, "PageSize": page_size})
            yield from (read_endpoint(g) for g in data.get("Rows") or [])
            if page >= int(data.get("TotalPageNumber") or 0) or not data.get("Rows"):
                return
            page += 1

    def specs(self, charge_type: str = "POSTPAID_BY_HOUR") -> list[Spec]:
        data = self._call("GetBillingSpecs", {"ChargeType": charge_type})
        return [Spec.read(s) for s in data.get("SpecInfos") or []]

    def call_info(self, group_id: str) -> CallInfo:
        data = self._call("GetModelServiceCallInfo", {"ServiceGroupId": group_id})
        return CallInfo.read(data, "ServiceCallInfo")

    def logs_page(self, query: LogQuery, limit: int, context: str | None = None) -> LogPage:
        params = query.members(limit, context)
        if query.keyword:
            params["Key"] = query.keyword
        data = self._call("ListMLServiceLogs", params)
        return LogPage.read(data)

    def events(self, service_id: str, limit: int, warnings_only: bool = False) -> list[dict[str, Any]]:
        """The service's latest events, newest first."""
        params: dict[str, Any] = {"Service": "INFER", "ServiceId": service_id, "Limit": limit, "Order": "DESC"}
        if warnings_only:
            params["Filters"] = [{"Name": "Type", "Values": ["Warning"]}]
        return list(self._call("ListModelServiceEvents", params).get("Events") or [])

    def diagnostics(self, deployment: Deployment) -> list[tuple[str, list[str]]]:
        found: list[tuple[str, list[str]]] = []
        try:
            events = [
                f"  {e.get('LastTimestamp', '')} {e.get('ResourceKind', '')}/{e.get('ResourceName', '')}: "
                f"{e.get('Message', '')}"
                for e in reversed(self.events(deployment.service_id, 5, warnings_only=True))
            ]
        except MlflowException as exc:
            events = [f"  (the events could not be read: {exc.message})"]
        if events:
            found.append(("Latest warning events", events))
        return found

    def iter_model_versions(
        self, catalog: str, schema: str, model: str, page_size: int = 1000
    ) -> Iterator[CatalogVersion]:
        """Every version of a TCLake model, following NextPageToken to the end."""
        params = {"CatalogName": catalog, "SchemaName": schema, "ModelName": model, "MaxResults": str(page_size)}
        while True:
            data = self._call("ListModelVersions", params)
            yield from (read_catalog_version(item) for item in data.get("Items") or [])
            if not data.get("NextPageToken"):
                return
            params["PageToken"] = data["NextPageToken"]

    # --- deployments -----------------------------------------------------------------------------------------------
    @staticmethod
    def _service_info(plan: Plan, update: bool) -> dict[str, Any]:
        """The members of one version: ``Services[0]`` of a create, the update request itself."""
        info: dict[str, Any] = {}
        model = plan.model
        if model is not None:
            info["MlModelInfo"] = model_info(model)
            if model.catalog:
                info["CatalogName"], info["SchemaName"] = model.catalog, model.schema
        info.update(request_members(MEMBERS, plan.options, update, group=None if update else False))
        if not update:
            for key in ("charge_type", "scale_mode", "replicas"):
                info.setdefault(MEMBERS[key].member, plan.value(key))
        if plan.image is not None:
            info["ImageInfo"] = image_info(plan.image)
        return info

    @staticmethod
    def _group_members(plan: Plan, model_source: str) -> dict[str, Any]:
        """The request-level members of a create."""
        return {
            "Status": plan.value("status"),
            "ServiceAction": plan.options.get("service_action", "START"),
            **request_members(MEMBERS, plan.options, update=False, group=True),
            "ModelSource": model_source,
        }

    def create(self, name: str, endpoint: Endpoint | None, plan: Plan) -> tuple[Endpoint, Deployment]:
        model_source = "IMAGE" if plan.runs_image else plan.value("model_source")
        service_info = self._service_info(plan, update=False)
        if model_source == "IMAGE":
            service_info.setdefault("ServicePort", self.default_port)
        env = service_info.pop("Env", None)
        if env and len(env) == 1:
            service_info["EnvVar"] = env[0]  # CreateServiceInfos takes a single EnvVar; more go in an update
            env = None
        params = {**self._group_members(plan, model_source), "Services": [service_info]}
        before = {d.service_id for d in endpoint.deployments} if endpoint is not None else set()
        if endpoint is not None:
            params = {"ServiceGroupId": endpoint.group_id, "NewVersion": True, **params}
            params.pop("ServiceDescription", None)
        else:
            params = {"ServiceName": name, **params}
        recover = self._recover_create(name, endpoint, before)
        created = read_endpoint(self._call("CreateMLModelServices", params, Safety.CREATE, recover))
        deployment = self._new_version(created, before, name if endpoint is None else (endpoint.name or name))
        if env:
            self._set_env(deployment.service_id, env)
        return created, deployment

    def _recover_create(
        self, name: str, endpoint: Endpoint | None, before: set[str]
    ) -> Callable[[], dict[str, Any] | None]:
        """How a lost create answer is found again: the group with a version it did not have, or by name."""
        if endpoint is None:
            return lambda: next((e.raw for e in self.iter_endpoints() if e.name == name), None)
        group_id = endpoint.group_id

        def recover() -> dict[str, Any] | None:
            again = self._call("GetMLModelServiceGroup", {"ServiceGroupId": group_id})
            return again if {s["ServiceId"] for s in again.get("Services") or []} - before else None

        return recover

    @staticmethod
    def _new_version(created: Endpoint, before: set[str], endpoint: str) -> Deployment:
        """The version a create added; a group that lists none (an answer lost and the group found by name, say,
        when a group of that name already existed) is an error that says how to look."""
        new = [d for d in created.deployments if d.service_id not in before]
        if not new:
            listed = ", ".join(d.service_id for d in created.deployments) or "none"
            raise MlflowException(
                f"CreateMLModelServices answered with endpoint {created.group_id!r} ({endpoint}), but it lists no new "
                f"deployment (its deployments: {listed}). If the first answer was lost, an endpoint of that name may "
                f"have existed already. Check with `mlflow deployments get-endpoint -t tcdeploy --endpoint "
                f"{endpoint}` before creating again; add a version with --endpoint {endpoint}.",
                error_code=INTERNAL_ERROR,
            )
        return max(new, key=lambda d: int(d.version or 0))

    def _set_env(self, service_id: str, env: list[dict[str, str]]) -> None:
        """The second environment variable onwards, set right after the create (CreateServiceInfos takes one)."""
        try:
            self._call("UpdateMLModelService", {"ServiceId": service_id, "Env": env})
        except MlflowException as exc:
            names = ", ".join(p["Name"] for p in env)
            raise MlflowException(
                f"The deployment {service_id} was created and exists, but setting its environment variables "
                f"({names}) failed: {exc.message} Set them with `mlflow deployments update -t tcdeploy --name "
                f"{service_id} -C env='{{...}}'`, or delete it with `mlflow deployments delete -t tcdeploy --name "
                f"{service_id}`.",
                error_code=ErrorCode.Value(exc.error_code),
            ) from exc

    def update(self, deployment: Deployment, plan: Plan) -> Deployment:
        params = {"ServiceId": deployment.service_id, **self._service_info(plan, update=True)}
        if plan.runs_image and "model_source" not in plan.options:
            params["ModelSource"] = "IMAGE"
        if plan.image is not None:
            params.setdefault("ServicePort", self.default_port)
        return read_deployment(self._call("UpdateMLModelService", params))

    def act(self, deployment: Deployment, action: str, replicas: int | None) -> Deployment:
        params: dict[str, Any] = {"ServiceId": deployment.service_id, "ServiceAction": action}
        if replicas is not None:
            params["Replicas"] = replicas
        return read_deployment(self._call("UpdateMLModelService", params))

    def delete_deployment(self, service_id: str) -> None:
        self._call("DeleteMLModelService", {"ServiceId": service_id})

    def delete_endpoint(self, group_id: str) -> None:
        self._call("DeleteMLModelServiceGroup", {"ServiceGroupId": group_id})

    # --- calling an endpoint ---------------------------------------------------------------------------------------
    def predict(self, group_id: str, relative_url: str, body: str, auth_token: str | None) -> dict[str, Any]:
        """Through ``ModelServiceInterfaceCallTest``, whose ServiceId carries the group ID (reference §4.6)."""
        params = {"ServiceId": group_id, "ServiceGroupId": group_id, "RelativeUrl": relative_url, "CurlData": body}
        if auth_token:
            params["AuthTokenValue"] = auth_token
        raw = self._call("ModelServiceInterfaceCallTest", params).get("CurlResponseRaw")
        try:
            upstream = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            upstream = None
        if not isinstance(upstream, dict) or "status" not in upstream:
            raise CloudError(
                "ModelServiceInterfaceCallTest",
                "InternalError",
                f"CurlResponseRaw is not the expected JSON object: {str(raw)[:MAX_MESSAGE]!r}",
            )
        return upstream

    # --- endpoint settings and auth tokens -------------------------------------------------------------------------
    def set_description(self, group_id: str, description: str) -> None:
        self._call("UpdateModelServiceGroup", {"ServiceGroupId": group_id, "Description": description})

    def set_authorization(self, group_id: str, enable: bool) -> None:
        self._call("UpdateModelServiceAuthorization", {"ServiceGroupId": group_id, "AuthorizationEnable": enable})

    def create_auth_token(self, group_id: str, token: dict[str, Any]) -> None:
        """Add a named token; a lost answer is recovered by finding the name among the group's tokens."""

        def recover() -> dict[str, Any] | None:
            return {} if self.get_endpoint(group_id).token_named(token["name"]) else None

        params = {"ServiceGroupId": group_id, **to_pascal(token)}
        self._call("CreateModelServiceAuthToken", params, Safety.CREATE, recover)

    def update_auth_token(self, group_id: str, token: dict[str, Any], value: Any) -> None:
        """``token``: the option's name, description and limits; ``value``: the token's value (names it)."""
        change: dict[str, Any] = {"Base": {"Name": token["name"], "Value": value}}
        if "description" in token:
            change["Base"]["Description"] = token["description"]
        if "limits" in token:
            change["Limits"] = to_pascal(token["limits"])
        self._call("UpdateModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthToken": change})

    def delete_auth_token(self, group_id: str, value: str) -> None:
        self._call("DeleteModelServiceAuthToken", {"ServiceGroupId": group_id, "AuthTokenValue": value})

    # --- pods ------------------------------------------------------------------------------------------------------
    def pod_url(self, service_id: str, pod_name: str) -> tuple[dict[str, Any], str]:
        params = {"ServiceId": service_id, "PodName": pod_name}
        return self.transport.call_with_request_id("CreateModelServicePodUrl", params)

    def rebuild_pod(self, service_id: str, pod_name: str) -> tuple[dict[str, Any], str]:
        params = {"ServiceId": service_id, "PodName": pod_name}
        return self.transport.call_with_request_id("RebuildModelServicePod", params, Safety.ONCE)
