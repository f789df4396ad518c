"""What a backend can do, declared in one record per backend; every refusal of what it cannot do, and its message,
derives from that record here, before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import NOT_IMPLEMENTED

from ..errors import invalid

FEATURES: dict[str, str] = {
    "events": "Deployment events",
    "catalog_models": "A TCLake model (models:/Catalog.Schema.Model/…)",
    "set_description": "Changing an endpoint's description",
    "set_authorization": "Turning authorization on or off on an existing endpoint",
    "update_auth_token": "Changing an auth token",
    "delete_auth_token": "Deleting an auth token",
    "set_weights": "Traffic split",
    "pod_url": "A pod's debug shell",
    "rebuild_pod": "Restarting one pod",
    "create_stopped": "Creating a stopped deployment",
}
"""Optional features, by name: what each does."""


@dataclass(frozen=True)
class Capabilities:
    """One backend's abilities: the features it lacks and the options it cannot honour, each with why."""

    backend: str
    lacks: Mapping[str, str] = field(default_factory=dict)
    """Feature (a key of ``FEATURES``) → why this backend cannot, and what to do instead."""
    refuses: Mapping[str, str] = field(default_factory=dict)
    """Option key → why its API cannot honour it ("" when the option's name says enough)."""
    runs_models: bool = True
    """False: the API runs container images only, so a model goes as the image tcdeploy builds of it."""

    def has(self, feature: str) -> bool:
        return feature not in self.lacks

    def require(self, feature: str) -> None:
        """Refuse a feature this backend lacks, naming the backend (``NOT_IMPLEMENTED``)."""
        if feature in self.lacks:
            raise unsupported(self.backend, FEATURES[feature], self.lacks[feature])

    def takes(self, key: str) -> bool:
        return key not in self.refuses

    def refuse_option(self, key: str, offered_by: list[str]) -> MlflowException:
        """The refusal of an option this backend cannot honour; ``offered_by``: the backends that can."""
        why = f" {self.refuses[key]}" if self.refuses.get(key) else ""
        return invalid(
            f"Option {key!r} is not available on the {self.backend} backend (it is for {', '.join(offered_by)}).{why}"
        )


def unsupported(backend: str, what: str, why: str) -> MlflowException:
    return MlflowException(f"{what} is not available on the {backend} backend: {why}", error_code=NOT_IMPLEMENTED)
