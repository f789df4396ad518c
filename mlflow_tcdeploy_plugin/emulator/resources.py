"""The emulated resources, as the store keeps them: service groups, their versions (services), pods (replicas),
and the auth tokens and traffic split kept in a group's settings. Plain data; the backend (``models``) acts on them.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from .times import local_time


@dataclass
class ServiceGroup:
    id: str
    workspace_id: str
    name: str
    description: str
    tione_id: str
    """TI-ONE's ID of the group, ``ms-xxxxxxxx``."""
    settings: dict[str, Any]
    """Group-wide members as requested (``AuthorizationEnable``, ``LogConfig``…), ``AuthTokens`` and the split."""
    created: float
    updated: float

    @property
    def tokens(self) -> list[AuthToken]:
        return [AuthToken(**t) for t in self.settings.get("AuthTokens") or []]

    @property
    def traffic(self) -> TrafficWeights | None:
        """The traffic split last set (ModifyServiceGroupWeights), or None: equal shares."""
        chosen = self.settings.get("Weights")
        if not chosen:
            return None
        return TrafficWeights(chosen, self.settings.get("PreviousWeights") or {}, self.settings.get("WeightsAt", 0))


@dataclass
class ServiceVersion:
    """One version of a group (WeData's MLModelService, TI-ONE's Service)."""

    id: str
    group_id: str
    version: int
    status: str
    reason: str
    status_since: float
    desired: str
    """``running`` or ``stopped``: what the supervisor works towards."""
    spec: dict[str, Any]
    """The version's members as requested, plus ``_TiOneServiceId``."""
    created: float
    updated: float


@dataclass
class Pod:
    """One replica of a version: a process or a container, found again by ``pid`` or ``container_id``."""

    name: str
    service_id: str
    uid: str
    created: float
    log_path: str
    """Where a process replica's output goes."""
    restart_count: int = 0
    pid: int | None = None
    container_id: str | None = None
    port: int | None = None
    """Chosen when the replica starts."""
    log_offset: int = 0
    """How much of the replica's output has been read into the logs."""
    ready: int = 0
    crashes: int = 0
    """Crash restarts so far; past the limit the replica is given up."""
    restart_at: float | None = None


@dataclass
class AuthToken:
    """A named token a group's calls may carry (``Authorization: Bearer …``); field names as the API spells them."""

    Id: str
    Name: str
    Description: str
    Value: str
    Status: str = "Enabled"
    CreateTime: str = ""
    Limits: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def new(cls, name: str, description: str, value: str | None = None) -> AuthToken:
        # Real token values look like 15 hex digits ("1f70c8590d3b5e7").
        token = value or secrets.token_hex(8)[:15]
        return cls(str(uuid.uuid4()), name, description, token, "Enabled", local_time(time.time()))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrafficWeights:
    """A traffic split set on a group: each version's share, the split it replaces, and when the new one applies
    (until then WeightUpdateStatus is UPDATING and calls keep the previous split)."""

    weights: dict[str, int]
    previous: dict[str, int]
    applies_at: float

    @property
    def applying(self) -> bool:
        """Whether the split is still being applied (calls keep the previous one meanwhile)."""
        return time.time() < self.applies_at

    def settings(self) -> dict[str, Any]:
        """The members the split is stored as in the group's settings."""
        return {"Weights": self.weights, "PreviousWeights": self.previous, "WeightsAt": self.applies_at}
