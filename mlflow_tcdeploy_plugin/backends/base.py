"""What the client needs from a cloud API, as small typed resources and one base class.

A backend reads its API's objects into these resources (keeping the object itself in ``raw``, and how users see it
in ``layout``, applied when ``shown`` is read), builds every request member from its own member table, follows its
pagination and maps its status vocabulary onto ``State``. What an API cannot do is declared in its ``Capabilities``
and refused before anything is sent.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

from .. import options
from ..cloud.errors import CloudError
from ..log import get_logger
from .capabilities import Capabilities
from .members import Field

if TYPE_CHECKING:
    from ..image import ImageRef
    from ..resolve import CatalogVersion, ResolvedModel


logger = get_logger(__name__)

Layout = Callable[[dict[str, Any]], dict[str, Any]]
"""An API object laid out as both backends show it to users (one set of keys)."""

LOG_PAGE = 1000
"""Lines a page: the APIs' maximum."""


class State(Enum):
    """Where a deployment, or an endpoint's traffic split, is in every backend's terms."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"
    APPLIED = "applied"
    """A traffic split in force."""


@dataclass(frozen=True)
class Deployment:
    """One service version."""

    service_id: str
    group_id: str | None
    group_name: str | None
    version: str | None
    status: str
    """The API's own status word (shown to users as is)."""
    state: State
    reason: str
    replicas: int
    ready_replicas: int | None
    instance_type: str | None
    model_path: str | None
    model_version: str | None
    weight: int | None
    resource_group_id: str | None
    has_image: bool
    pods: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False)
    layout: Layout | None = field(default=None, repr=False, compare=False)
    """How the backend shows ``raw`` to users (None: as it is)."""
    scaling: dict[str, Any] = field(default_factory=dict)
    """How it scales: ``mode``, ``strategy``, ``autoscaling`` and ``scale_schedules`` (the options' shape),
    ``replicas``."""

    @property
    def shown(self) -> dict[str, Any]:
        """The API object as users see it, laid out when read (a listing never reads it)."""
        return self.layout(self.raw) if self.layout else self.raw


@dataclass(frozen=True)
class Endpoint:
    """One service group and its versions."""

    group_id: str
    name: str | None
    description: str | None
    status: str | None
    authorization_enable: bool | None
    service_count: int | None
    running_service_count: int | None
    latest_version: str | None
    weight_update_status: str | None
    weights_state: State
    """APPLIED, PENDING or FAILED: where the last traffic split is."""
    deployments: tuple[Deployment, ...]
    auth_tokens: tuple[dict[str, Any], ...]
    """``{"Base": {"Name", "Value", …}, "Limits": […]}``, the same shape in both APIs."""
    raw: dict[str, Any] = field(repr=False)
    layout: Layout | None = field(default=None, repr=False, compare=False)
    """How the backend shows ``raw`` to users (None: as it is), its versions as ``Deployment.shown``."""

    @property
    def shown(self) -> dict[str, Any]:
        return self.layout(self.raw) if self.layout else self.raw

    def token_named(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.auth_tokens if (t.get("Base") or {}).get("Name") == name), None)

    def token_names(self) -> list[str]:
        return [str((t.get("Base") or {}).get("Name")) for t in self.auth_tokens]

    @staticmethod
    def token_value(token: dict[str, Any]) -> Any:
        """The token's value as the API lists it (None when it lists none)."""
        return (token.get("Base") or {}).get("Value")


@dataclass(frozen=True)
class CallInfo:
    """Where and how an endpoint is called."""

    address: str | None
    authorization_enable: bool
    auth_token: str | None = field(repr=False)
    shown: dict[str, Any] = field(repr=False)
    """``{"ServiceCallInfo": {…}}`` on both backends."""

    @classmethod
    def read(cls, data: dict[str, Any], member: str) -> CallInfo:
        """From the call-info answer's ``member`` (``ServiceCallInfo`` on WeData, ``ServiceCallInfoV2`` on TI-ONE),
        which both give ``InternetEndpoint``, ``AuthorizationEnable`` and ``AuthToken``."""
        call = data.get(member) or {}
        shown = {("ServiceCallInfo" if k == member else k): v for k, v in data.items()}
        return cls(
            call.get("InternetEndpoint"), bool(call.get("AuthorizationEnable")), call.get("AuthToken") or None, shown
        )


@dataclass(frozen=True)
class LogLine:
    id: str
    timestamp: str
    pod_name: str
    message: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def read(cls, line: dict[str, Any]) -> LogLine:
        """``{"Id", "Timestamp", "PodName", "Message"}``, the same in both APIs."""
        return cls(
            str(line.get("Id")),
            str(line.get("Timestamp")),
            str(line.get("PodName", "")),
            str(line.get("Message", "")),
            line,
        )


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    context: str

    @classmethod
    def read(cls, data: dict[str, Any]) -> LogPage:
        """Both log actions answer ``Content`` and a ``Context`` cursor."""
        return cls([LogLine.read(line) for line in data.get("Content") or []], str(data.get("Context") or ""))


@dataclass(frozen=True)
class Spec:
    name: str
    alias: str | None
    type: str | None
    available: bool
    available_region: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def read(cls, spec: dict[str, Any]) -> Spec:
        """Both APIs describe a spec with the same members (``SpecInfos[]`` / ``Specs[]``)."""
        return cls(
            name=str(spec.get("SpecName")),
            alias=spec.get("SpecAlias"),
            type=spec.get("SpecType"),
            available=bool(spec.get("Available")),
            available_region=tuple(spec.get("AvailableRegion") or ()),
            raw=spec,
        )


@dataclass(frozen=True)
class LogQuery:
    service_id: str
    pod_name: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    keyword: str | None = None
    order: str = "DESC"

    def members(self, limit: int, context: str | None) -> dict[str, Any]:
        """The members both log actions share (the keyword is sent differently by each)."""
        params: dict[str, Any] = {"Service": "INFER", "ServiceId": self.service_id, "Order": self.order, "Limit": limit}
        for key, val in (
            ("PodName", self.pod_name),
            ("StartTime", self.start_time),
            ("EndTime", self.end_time),
            ("Context", context),
        ):
            if val:
                params[key] = val
        return params


@dataclass
class Plan:
    """What a create or an update sends, beyond the options: the model and, when one was built, its image."""

    options: dict[str, Any]
    model: ResolvedModel | None = None
    image: ImageRef | None = None

    @property
    def runs_image(self) -> bool:
        return self.image is not None or "image_info" in self.options

    def value(self, key: str) -> Any:
        return options.value(self.options, key)


def weights_state(status: str | None) -> State:
    """Both APIs' ``WeightUpdateStatus``: UPDATED (or none given, or empty) is in force, UPDATE_FAILED failed."""
    if not status:
        return State.APPLIED
    return {"UPDATED": State.APPLIED, "UPDATE_FAILED": State.FAILED}.get(status, State.PENDING)


def model_info(model: ResolvedModel) -> dict[str, str]:
    """``MlModelInfo``: the same in both APIs."""
    return {"Id": model.model_id, "Name": model.name, "Version": model.version, "ModelPath": model.model_path}


def image_info(image: ImageRef) -> dict[str, Any]:
    """The ``ImageInfo`` that runs ``image``, the same in both APIs (a registry password goes base64-encoded)."""
    host = image.registry or ""
    kind = "CCR" if host.endswith(".tencentyun.com") else "TCR" if host.endswith(".tencentcloudcr.com") else "CUSTOM"
    info: dict[str, Any] = {"ImageType": kind, "ImageUrl": image.reference}
    if image.username and image.password:
        password = base64.b64encode(image.password.encode()).decode()
        info["ImageSecret"] = {"Username": image.username, "Password": password}
    return info


class Backend(ABC):
    """One cloud API. Subclasses implement what their API offers; the rest is refused, naming the backend."""

    name = ""
    capabilities = Capabilities("")
    members: Mapping[str, Field] = {}
    """Its member table: the request member each option fills."""
    default_port = 8080
    """MLflow's scoring server port, as in the images tcdeploy builds."""
    max_request: int | None = None
    """Bytes a predict request may take, where the API says (None: no limit known)."""

    def request_size(self, body: str) -> int:
        """Bytes of the request that carries ``body`` to the endpoint."""
        return len(body.encode("utf-8"))

    def _lacks(self, feature: str) -> NotImplementedError:
        """An optional method called on a backend without it: its Capabilities refuse it (a backend that claims
        the feature and does not implement it is a bug)."""
        self.capabilities.require(feature)
        return NotImplementedError(f"{self.name} claims {feature} but does not implement it")

    # --- reads -----------------------------------------------------------------------------------------------------
    @abstractmethod
    def get_deployment(self, service_id: str) -> Deployment:
        raise NotImplementedError

    @abstractmethod
    def get_endpoint(self, group_id: str) -> Endpoint:
        raise NotImplementedError

    @abstractmethod
    def iter_endpoints(self) -> Iterator[Endpoint]:
        raise NotImplementedError

    @abstractmethod
    def specs(self, charge_type: str = "POSTPAID_BY_HOUR") -> list[Spec]:
        raise NotImplementedError

    @abstractmethod
    def call_info(self, group_id: str) -> CallInfo:
        raise NotImplementedError

    @abstractmethod
    def logs_page(self, query: LogQuery, limit: int, context: str | None = None) -> LogPage:
        raise NotImplementedError

    def iter_logs(self, query: LogQuery) -> Iterator[LogLine]:
        """Every log line matching ``query``, following the cursor to the end, one page in memory at a time.

        Both APIs refuse to page past 10,000 entries (``FailedOperation.ContextLimitError``): the query then starts
        again at the last timestamp given, skipping the lines of that timestamp it gave already.
        """
        context: str | None = None
        edge: str | None = None
        at_edge: set[str] = set()
        while True:
            try:
                page = self.logs_page(query, LOG_PAGE, context)
            except CloudError as exc:
                bound = "start_time" if query.order == "ASC" else "end_time"
                if exc.code != "FailedOperation.ContextLimitError" or edge is None or getattr(query, bound) == edge:
                    raise  # (the last case: more than 10,000 lines share one timestamp; no window can split them)
                logger.info("tcdeploy: the log cursor's limit is reached; continuing from %s", edge)
                query, context = replace(query, **{bound: edge}), None
                continue
            for line in page.lines:
                stamp, ident = line.timestamp, line.id
                if stamp == edge and ident in at_edge:
                    continue
                if stamp != edge:
                    edge, at_edge = stamp, set()
                at_edge.add(ident)
                yield line
            if not page.context or not page.lines:
                return
            context = page.context

    def events(self, service_id: str, limit: int, warnings_only: bool = False) -> list[dict[str, Any]]:
        raise self._lacks("events")

    @abstractmethod
    def diagnostics(self, deployment: Deployment) -> list[tuple[str, list[str]]]:
        """Titled groups of lines that explain a failure (events, conditions, last log lines)."""
        raise NotImplementedError

    def iter_model_versions(self, catalog: str, schema: str, model: str) -> Iterator[CatalogVersion]:
        raise self._lacks("catalog_models")

    # --- writes ----------------------------------------------------------------------------------------------------
    @abstractmethod
    def create(self, name: str, endpoint: Endpoint | None, plan: Plan) -> tuple[Endpoint, Deployment]:
        """A new group named ``name`` with one version, or a new version in ``endpoint``."""
        raise NotImplementedError

    @abstractmethod
    def update(self, deployment: Deployment, plan: Plan) -> Deployment:
        raise NotImplementedError

    @abstractmethod
    def act(self, deployment: Deployment, action: str, replicas: int | None) -> Deployment:
        """STOP, RESUME or SCALE (with ``replicas``)."""
        raise NotImplementedError

    @abstractmethod
    def delete_deployment(self, service_id: str) -> None:
        raise NotImplementedError

    @abstractmethod
    def delete_endpoint(self, group_id: str) -> None:
        raise NotImplementedError

    @abstractmethod
    def predict(self, group_id: str, relative_url: str, body: str, auth_token: str | None) -> dict[str, Any]:
        """Send ``body`` to the endpoint; the upstream ``{"status", "headers", "body"}``."""
        raise NotImplementedError

    def set_description(self, group_id: str, description: str) -> None:
        raise self._lacks("set_description")

    def set_authorization(self, group_id: str, enable: bool) -> None:
        raise self._lacks("set_authorization")

    @abstractmethod
    def create_auth_token(self, group_id: str, token: dict[str, Any]) -> None:
        raise NotImplementedError

    def update_auth_token(self, group_id: str, token: dict[str, Any], value: Any) -> None:
        raise self._lacks("update_auth_token")

    def delete_auth_token(self, group_id: str, value: str) -> None:
        raise self._lacks("delete_auth_token")

    def set_weights(self, endpoint: Endpoint, weights: dict[str, int]) -> Endpoint:
        raise self._lacks("set_weights")

    def pod_url(self, service_id: str, pod_name: str) -> tuple[dict[str, Any], str]:
        raise self._lacks("pod_url")

    def rebuild_pod(self, service_id: str, pod_name: str) -> tuple[dict[str, Any], str]:
        raise self._lacks("rebuild_pod")
