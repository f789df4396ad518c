"""``POST /_emulator/seed``: resources written straight into the state, for tests and demos (as moto's
``/moto-api/static`` routes), without going through the API's create-then-wait.

    {"groups": [{"name": "demo", "description": "…", "authorization": true,
                 "tokens": [{"name": "ci", "value": "0123456789abcde", "description": "…"}],
                 "versions": [{"status": "Stopped", "reason": "", "model_source": "MODEL",
                               "service": {<CreateServiceInfos members>}}]}]}

A seeded version goes on from its status as any other does: RUNNING and CREATING ones get replicas, NEW ones wait
the new-service delay, Stopped and failed ones stay as they are. The whole body is checked before anything is
written, so a refused seed leaves the state as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import lifecycle as lc
from .errors import ApiError
from .models import ModelServiceBackend
from .resources import AuthToken
from .spec import CREATE_SERVICE_INFOS, check_members
from .version_specs import GROUP_NAME_RE, new_version_spec

STATUSES = (lc.NEW, lc.CREATING, lc.RUNNING, lc.CREATE_FAILED, lc.TIMEOUT_EXCEPTION, lc.ABNORMAL, lc.STOPPED)
MODEL_SOURCES = ("MODEL", "IMAGE")
_GROUP_MEMBERS = {"name", "description", "authorization", "tokens", "versions"}
_VERSION_MEMBERS = {"status", "reason", "model_source", "service"}
_TOKEN_MEMBERS = {"name", "value", "description"}
_KIND_NAMES: dict[type, str] = {str: "a string", bool: "true or false", list: "a list"}


class SeedError(ValueError):
    """A seed body the emulator cannot take; the message names the member and says why."""


@dataclass(frozen=True)
class _Version:
    spec: dict[str, Any]
    status: str
    reason: str


@dataclass(frozen=True)
class _Group:
    name: str
    description: str
    settings: dict[str, Any]
    tokens: list[AuthToken] | None
    versions: list[_Version]


def seed(backend: ModelServiceBackend, body: Any) -> dict[str, Any]:
    """Create what ``body`` describes; answer the IDs of what was made, group by group."""
    groups = _groups(backend, body)
    return {"groups": [_create(backend, group) for group in groups]}


def _create(backend: ModelServiceBackend, seeded: _Group) -> dict[str, Any]:
    group = backend.create_group(seeded.name, seeded.description, seeded.settings, seeded.tokens)
    services = []
    for version in seeded.versions:
        desired = "stopped" if version.status == lc.STOPPED else "running"
        services += backend.add_versions(group, [version.spec], desired, version.status, version.reason)
    return {
        "ServiceGroupId": group.id,
        "TiOneServiceGroupId": group.tione_id,
        "ServiceIds": [s.id for s in services],
        "TiOneServiceIds": [s.spec["_TiOneServiceId"] for s in services],
    }


def _groups(backend: ModelServiceBackend, body: Any) -> list[_Group]:
    members = _object(body, "the body", {"groups"})
    groups = [
        _group(backend, f"groups.{i}", raw) for i, raw in enumerate(_non_empty_list(members.get("groups"), "groups"))
    ]
    names = [g.name for g in groups]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise SeedError(f"groups: the name {twice!r} is given twice.")
    return groups


def _group(backend: ModelServiceBackend, where: str, raw: Any) -> _Group:
    members = _object(raw, where, _GROUP_MEMBERS)
    name = _typed(members.get("name"), str, f"{where}.name", "")
    if not GROUP_NAME_RE.match(name):
        raise SeedError(f"{where}.name must be 1 to 60 letters, digits, '_' or '-', starting with a letter or digit.")
    if backend.find_group_by_name(name):
        raise SeedError(f"{where}.name: a service group named {name!r} already exists.")
    settings = {"AuthorizationEnable": _typed(members.get("authorization"), bool, f"{where}.authorization", False)}
    raw_tokens = members.get("tokens")
    tokens = None if raw_tokens is None else _tokens(f"{where}.tokens", raw_tokens)
    versions = _non_empty_list(members.get("versions"), f"{where}.versions")
    return _Group(
        name,
        _typed(members.get("description"), str, f"{where}.description", ""),
        settings,
        tokens,
        [_version(f"{where}.versions.{i}", v, settings) for i, v in enumerate(versions)],
    )


def _tokens(where: str, raw: Any) -> list[AuthToken]:
    tokens: list[AuthToken] = []
    for i, item in enumerate(_typed(raw, list, where, [])):
        members = _object(item, f"{where}.{i}", _TOKEN_MEMBERS)
        name = _typed(members.get("name"), str, f"{where}.{i}.name", "")
        if not name or any(t.Name == name for t in tokens):
            raise SeedError(f"{where}.{i}.name must be a name no other token of the group has.")
        value = _typed(members.get("value"), str, f"{where}.{i}.value", "") or None
        tokens.append(
            AuthToken.new(name, _typed(members.get("description"), str, f"{where}.{i}.description", ""), value)
        )
    return tokens


def _version(where: str, raw: Any, settings: dict[str, Any]) -> _Version:
    members = _object(raw, where, _VERSION_MEMBERS)
    status = members.get("status", lc.NEW)
    if status not in STATUSES:
        raise SeedError(f"{where}.status must be one of {', '.join(STATUSES)}, not {status!r}.")
    source = members.get("model_source", "MODEL")
    if source not in MODEL_SOURCES:
        raise SeedError(f"{where}.model_source must be MODEL or IMAGE, not {source!r}.")
    service = _object(members.get("service"), f"{where}.service", set(CREATE_SERVICE_INFOS.members))
    problem = check_members(f"{where}.service.", service, CREATE_SERVICE_INFOS.members)
    if problem is not None:
        raise SeedError(problem[1])
    try:
        # The same checks and defaults as CreateMLModelServices, with the group's settings as its request had them.
        spec = new_version_spec(f"{where}.service.", service, source, settings)
    except ApiError as exc:
        raise SeedError(exc.message) from exc
    return _Version(spec, status, _typed(members.get("reason"), str, f"{where}.reason", ""))


def _object(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"{where} must be a JSON object.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise SeedError(f"{where}: unknown member {', '.join(unknown)}; known: {', '.join(sorted(allowed))}.")
    return value


def _non_empty_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise SeedError(f"{where} must be a non-empty list.")
    return value


def _typed(value: Any, kind: type, where: str, default: Any) -> Any:
    if value is None:
        return default
    # A JSON true is not a number here, nor a number a string.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise SeedError(f"{where} must be {_KIND_NAMES[kind]}.")
    return value
