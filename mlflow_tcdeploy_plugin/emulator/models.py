"""The emulated account's model services, apart from any wire format (moto's ``models.py``): the resources, and one
backend with a snake_case method per operation: Python arguments in, ``ApiError`` out, no HTTP.

Both APIs' handlers (``wedata``, ``tione``) call it. The resources (``resources``) are kept in the SQLite store;
the replicas are the supervisor's (``lifecycle``), which moves versions through their statuses.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import lifecycle as lc
from .errors import ApiError, invalid_value, not_found
from .lifecycle import Supervisor
from .resources import AuthToken, Pod, ServiceGroup, ServiceVersion, TrafficWeights
from .state import Store
from .version_specs import GROUP_NAME_RE, RUNTIME_MEMBERS, check_range, check_runnable, service_spec
from .views import weights

POD_URL_TTL = 600.0


@dataclass(frozen=True)
class PodUrl:
    """A pod shell address handed out by CreateModelServicePodUrl, valid until ``expires``."""

    pod_name: str
    expires: float


def _random_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


class ModelServiceBackend:
    """One workspace's service groups, their versions, pods, auth tokens and traffic weights."""

    def __init__(self, store: Store, supervisor: Supervisor, workspace_id: str, region: str) -> None:
        self.store = store
        self.supervisor = supervisor
        self.workspace_id = workspace_id
        self.region = region
        self.public_url = ""
        """Where the emulator answers; call and pod addresses start with it."""
        self._pod_urls: dict[str, PodUrl] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget all state and stop every replica."""
        self.supervisor.reset()
        with self._lock:
            self._pod_urls.clear()

    # --- lookups ------------------------------------------------------------------------------------------------

    def check_workspace(self, workspace_id: str | None) -> None:
        if workspace_id and workspace_id != self.workspace_id:
            raise ApiError("InvalidParameter.WorkspaceNotExist", f"The workspace {workspace_id!r} does not exist.")

    def get_group(self, group_id: str) -> ServiceGroup:
        group = self.store.group(group_id)
        if group is None or group.workspace_id != self.workspace_id:
            raise not_found("service group", group_id)
        return group

    def get_service(self, service_id: str) -> tuple[ServiceVersion, ServiceGroup]:
        service = self.store.service(service_id)
        group = self.store.group(service.group_id) if service else None
        if service is None or group is None or group.workspace_id != self.workspace_id:
            raise not_found("service", service_id)
        return service, group

    def get_group_by_tione_id(self, tione_id: str) -> ServiceGroup:
        group = self.store.group_by_tione_id(tione_id)
        if group is None or group.workspace_id != self.workspace_id:
            raise not_found("service group", tione_id)
        return group

    def get_service_by_tione_id(self, tione_service_id: str) -> tuple[ServiceVersion, ServiceGroup]:
        tione_id, _, version = tione_service_id.rpartition("-")
        group = self.store.group_by_tione_id(tione_id) if version.isdigit() else None
        found = [s for s in self.store.services(group.id) if s.version == int(version)] if group else []
        if not found or group is None or group.workspace_id != self.workspace_id:
            raise not_found("service", tione_service_id)
        return found[0], group

    def find_group_by_name(self, name: str) -> ServiceGroup | None:
        return self.store.group_by_name(self.workspace_id, name)

    def find_service(self, service_id: str) -> ServiceVersion | None:
        """A version by its ID, or None (for actions where the ID may name a group instead)."""
        return self.store.service(service_id)

    def find_pod(self, pod_name: str) -> Pod | None:
        return self.store.pod(pod_name)

    def last_log_lines(self, pod_name: str, count: int) -> list[str]:
        return self.store.last_logs(pod_name, count)

    def list_groups(self) -> list[ServiceGroup]:
        return self.store.groups(self.workspace_id)

    def list_services(self, group_id: str) -> list[ServiceVersion]:
        return self.store.services(group_id)

    def get_pod(self, service_id: str, pod_name: str) -> tuple[ServiceVersion, Pod]:
        service, _ = self.get_service(service_id)
        pod = self.store.pod(pod_name)
        if pod is None or pod.service_id != service.id:
            raise not_found("pod", pod_name)
        return service, pod

    # --- groups and versions ------------------------------------------------------------------------------------

    def check_new_group_name(self, member: str, name: str | None, duplicate_code: str) -> str:
        """``name`` if a new group may take it; ``duplicate_code`` is the API's error for a name in use."""
        if not name:
            raise ApiError("MissingParameter", f"The request is missing the required parameter {member}.")
        if not GROUP_NAME_RE.match(name):
            raise invalid_value(member, "use at most 60 letters, digits, '_' or '-', starting with a letter or digit.")
        if self.find_group_by_name(name):
            raise ApiError(duplicate_code, f"A service group named {name!r} already exists.")
        return name

    def create_group(
        self, name: str, description: str, settings: dict[str, Any], tokens: list[AuthToken] | None = None
    ) -> ServiceGroup:
        """A new service group with ``tokens``; by default a token named ``default`` when authorization is on."""
        if tokens is None:
            tokens = [AuthToken.new("default", "")] if settings.get("AuthorizationEnable") else []
        group_id = str(uuid.uuid4())
        now = time.time()
        stored = {**settings, "AuthTokens": [t.to_dict() for t in tokens]}
        group = ServiceGroup(group_id, self.workspace_id, name, description, _random_id("ms-"), stored, now, now)
        self.store.add_group(group)
        return group

    def add_versions(
        self,
        group: ServiceGroup,
        specs: list[dict[str, Any]],
        desired: str,
        status: str = lc.NEW,
        reason: str = "",
    ) -> list[ServiceVersion]:
        """New versions of ``group``, numbered on from its last one, in ``status``; the supervisor carries them on."""
        version = self.store.max_version(group.id)
        added = []
        for spec in specs:
            version += 1
            spec["_TiOneServiceId"] = f"{group.tione_id}-{version}"
            now = time.time()
            service = ServiceVersion(
                f"{group.id}-{version}", group.id, version, status, reason, now, desired, spec, now, now
            )
            self.store.add_service(service)
            added.append(self.store.service(service.id) or service)
        self.store.update_group(group.id)
        self.supervisor.wake()
        return added

    def update_group_description(self, group_id: str, description: str | None) -> None:
        group = self.get_group(group_id)
        if description is not None:
            self.store.update_group(group.id, description=description)

    def delete_group(self, group_id: str) -> None:
        group = self.get_group(group_id)
        for service in self.store.services(group.id):
            self.supervisor.stop_service(service.id)
            self.store.delete_service(service.id)
        self.store.delete_group(group.id)

    def delete_service(self, service_id: str) -> None:
        service, group = self.get_service(service_id)
        self.supervisor.stop_service(service.id)
        self.store.delete_service(service.id)
        self.store.update_group(group.id)

    # --- a version's life ---------------------------------------------------------------------------------------

    def stop_service(self, service_id: str) -> None:
        self.get_service(service_id)
        self.store.update_service(service_id, desired="stopped")
        self.store.set_status(service_id, lc.STOPPING)
        self.supervisor.wake()

    def start_service(self, service_id: str) -> None:
        """START or RESUME: replicas again, through CREATING."""
        self.get_service(service_id)
        self.store.update_service(service_id, desired="running")
        self.store.set_status(service_id, lc.CREATING)
        self.supervisor.wake()

    def scale_service(self, service_id: str, replicas: int | None) -> None:
        if replicas is None:
            raise ApiError("MissingParameter", "ServiceAction SCALE needs Replicas.")
        check_range("Replicas", replicas, 1, 100)
        service, _ = self.get_service(service_id)
        self.store.update_service(service_id, spec={**service.spec, "Replicas": replicas})
        if service.desired == "running":
            self.store.set_status(service_id, lc.CREATING)
        self.supervisor.wake()

    def act_on_service(self, service_id: str, action: str | None, replicas: int | None) -> bool:
        """A ServiceAction (STOP, START or RESUME, SCALE) on a version; False when ``action`` is none of them. Both
        APIs' update actions ignore every other member when one is given."""
        if action == "STOP":
            self.stop_service(service_id)
        elif action in ("START", "RESUME"):
            self.start_service(service_id)
        elif action == "SCALE":
            self.scale_service(service_id, replicas)
        else:
            return False
        return True

    def update_service(
        self, service_id: str, members: dict[str, Any], model_source: str | None, authorization: bool | None
    ) -> None:
        """Change a version's members (a request's, as ``service_spec`` reads them); replicas are replaced when
        what they run changes, and a failed version starts again."""
        service, group = self.get_service(service_id)
        spec = dict(service.spec)
        changes = service_spec("", members, model_source or spec.get("ModelSource", "MODEL"))
        if "ServiceDescription" in members:
            changes["Description"] = members["ServiceDescription"]
        new_spec = {**spec, **changes}
        check_runnable("", new_spec)
        if authorization is not None:
            self.set_authorization(group.id, authorization)
        replace = any(new_spec.get(k) != spec.get(k) for k in RUNTIME_MEMBERS)
        self.supervisor.respec(service_id, new_spec, replace)
        if service.desired == "running" and (
            replace
            or new_spec.get("Replicas") != spec.get("Replicas")
            or service.status in (lc.CREATE_FAILED, lc.TIMEOUT_EXCEPTION)
        ):
            self.store.set_status(service_id, lc.CREATING)
        self.supervisor.wake()

    def rebuild_pod(self, service_id: str, pod_name: str) -> None:
        service, pod = self.get_pod(service_id, pod_name)
        self.supervisor.rebuild_pod(service, pod)

    # --- auth tokens and traffic weights ------------------------------------------------------------------------

    def _save_tokens(self, group: ServiceGroup, tokens: list[AuthToken], **settings: Any) -> None:
        stored = {**group.settings, **settings, "AuthTokens": [t.to_dict() for t in tokens]}
        self.store.update_group(group.id, settings=stored)

    def set_authorization(self, group_id: str, enable: bool) -> None:
        """Turn authorization on or off; turning it on makes a ``default`` token if the group has none."""
        group = self.get_group(group_id)
        tokens = group.tokens
        if enable and not tokens:
            tokens = [AuthToken.new("default", "")]
        self._save_tokens(group, tokens, AuthorizationEnable=enable)

    def create_auth_token(self, group_id: str, name: str | None, description: str) -> AuthToken:
        group = self.get_group(group_id)
        if not name:
            raise ApiError("MissingParameter", "The request is missing the required parameter Name.")
        tokens = group.tokens
        if any(t.Name == name for t in tokens):
            raise ApiError("InvalidParameter.DuplicateName", f"The service group already has a token named {name!r}.")
        token = AuthToken.new(name, description)
        self._save_tokens(group, [*tokens, token])
        return token

    def _token_index(self, tokens: list[AuthToken], value: str | None, member: str) -> int:
        if not value:
            raise ApiError("MissingParameter", f"The request is missing the required parameter {member}.")
        for i, token in enumerate(tokens):
            if token.Value == value:
                return i
        raise ApiError("ResourceNotFound", "The service group has no such auth token.")

    def update_auth_token(self, group_id: str, value: str | None, member: str, changes: dict[str, Any]) -> None:
        """Change ``Name``, ``Description`` or ``Limits`` of the token whose value is ``value``."""
        group = self.get_group(group_id)
        tokens = group.tokens
        index = self._token_index(tokens, value, member)
        tokens[index] = AuthToken(**{**tokens[index].to_dict(), **changes})
        self._save_tokens(group, tokens)

    def delete_auth_token(self, group_id: str, value: str | None, member: str) -> None:
        group = self.get_group(group_id)
        tokens = group.tokens
        index = self._token_index(tokens, value, member)
        self._save_tokens(group, [t for i, t in enumerate(tokens) if i != index])

    def set_weights(self, group_id: str, wanted: dict[str, int]) -> None:
        """A new traffic split by version ID (versions not named get 0); it applies after the new-service delay."""
        group = self.get_group(group_id)
        services = self.store.services(group.id)
        current, _ = weights(group, services)
        split = TrafficWeights(
            {s.id: wanted.get(s.id, 0) for s in services},
            current,
            time.time() + self.supervisor.timing.new_delay,
        )
        self.store.update_group(group.id, settings={**group.settings, **split.settings()})

    # --- pods, logs and events ----------------------------------------------------------------------------------

    def create_pod_url(self, service_id: str, pod_name: str) -> str:
        _, pod = self.get_pod(service_id, pod_name)
        token = secrets.token_urlsafe(24)
        now = time.time()
        with self._lock:
            for old in [t for t, url in self._pod_urls.items() if url.expires < now]:
                del self._pod_urls[old]
            self._pod_urls[token] = PodUrl(pod.name, now + POD_URL_TTL)
        return f"{self.public_url}/_emulator/pods/{pod.name}/shell?authToken={token}"

    def pod_url_valid(self, pod_name: str, token: str) -> bool:
        granted = self._pod_urls.get(token)
        return granted is not None and granted.pod_name == pod_name and granted.expires >= time.time()

    def list_logs(
        self,
        service_id: str | None,
        pod_name: str | None,
        window: tuple[float, float],
        key: str | None,
        descending: bool,
        cursor: int | None,
        offset: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        """A page of log lines (callers check ``service_id`` first: its error comes before any paging error)."""
        return self.store.logs(service_id, pod_name, window, key, descending, cursor, offset, limit)

    def list_events(self, service_id: str | None) -> list[dict[str, Any]]:
        if service_id:
            self.get_service(service_id)
        return self.store.events(service_id)
