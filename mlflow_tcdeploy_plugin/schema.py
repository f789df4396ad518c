"""Typed values of the option table: scalar coercion of CLI strings, and nested objects whose keys may be
written in snake_case or PascalCase at any depth (``{"enable_instance_rps_limit": true}`` or
``{"EnableInstanceRpsLimit": true}``), lists included. Every object comes out snake_case; the backends write it with
their APIs' member names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from .errors import invalid
from .naming import snake

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")
SCALARS = ("str", "int", "float", "bool")


@dataclass(frozen=True)
class Member:
    """One key of an object option."""

    name: str
    """snake_case, as users write it (PascalCase is accepted too)."""
    type: str | Struct | ListOf
    required: bool = False
    choices: tuple[str, ...] = ()
    secret: bool = False
    """Its value is a credential: never logged, never shown."""


@dataclass(frozen=True)
class Struct:
    name: str
    members: tuple[Member, ...]

    def keys(self) -> list[str]:
        return [snake(m.name) for m in self.members]


@dataclass(frozen=True)
class ListOf:
    item: str | Struct


def _canonical(key: str) -> str:
    """``enable_instance_rps_limit``, ``EnableInstanceRpsLimit`` and ``enableInstanceRpsLimit`` are one key."""
    return key.replace("_", "").replace("-", "").lower()


def _shown(value: Any, hide: bool) -> str:
    """How an error message quotes a value: never a secret's."""
    return "(a hidden value)" if hide else repr(value)


def coerce_scalar(
    label: str,
    kind: str,
    value: Any,
    choices: tuple[str, ...] = (),
    bounds: tuple[float, float] | None = None,
    hide: bool = False,
) -> Any:
    """A ``str``, ``int``, ``float`` or ``bool`` from a Python value or a CLI string; ``label`` names it in errors,
    which quote the value unless ``hide``."""
    shown = _shown(value, hide)
    if kind == "bool":
        return _coerce_bool(label, value, shown)
    if kind in ("int", "float"):
        return _coerce_number(label, kind, value, bounds, shown)
    return _coerce_string(label, value, choices, shown)


def _coerce_bool(label: str, value: Any, shown: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise invalid(f"Option {label!r} must be true or false, not {shown}.")


def _coerce_number(label: str, kind: str, value: Any, bounds: tuple[float, float] | None, shown: str) -> int | float:
    # Python's int() and float() also read other scripts' digits ("\uff11" is 1): only ASCII is a number here.
    if isinstance(value, bool) or (isinstance(value, str) and not value.isascii()):
        raise invalid(f"Option {label!r} must be a number, not {shown}.")
    try:
        number = int(value) if kind == "int" else float(value)
    except (TypeError, ValueError) as exc:
        what = "an integer" if kind == "int" else "a number"
        raise invalid(f"Option {label!r} must be {what}, not {shown}.") from exc
    if kind == "int" and isinstance(value, float) and not value.is_integer():
        raise invalid(f"Option {label!r} must be an integer, not {shown}.")
    if bounds and not bounds[0] <= number <= bounds[1]:
        raise invalid(f"Option {label!r} must be from {bounds[0]:g} to {bounds[1]:g}, not {number:g}.")
    return number


def _coerce_string(label: str, value: Any, choices: tuple[str, ...], shown: str) -> str:
    """The stripped string; with ``choices``, the choice it names in any case."""
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"Option {label!r} must be a non-empty string, not {shown}.")
    value = value.strip()
    if choices:
        chosen = next((c for c in choices if c.upper() == value.upper()), None)
        if chosen is None:
            raise invalid(f"Option {label!r} must be one of {', '.join(choices)}, not {shown}.")
        return chosen
    return value


def parse_json(label: str, value: Any, hide: bool = False) -> Any:
    """CLI values arrive as text: JSON objects and lists are decoded; Python values pass through."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise invalid(
            f"Option {label!r} must be JSON, not {_shown(value, hide)} ({exc.msg} at character {exc.pos})."
        ) from exc


def normalize(
    label: str, value: Any, type_: str | Struct | ListOf, choices: tuple[str, ...] = (), hide: bool = False
) -> Any:
    """Check ``value`` against ``type_`` and return it with the keys as ``type_`` names them, recursively. Errors
    quote no value of an object that holds a secret."""
    hide = hide or bool(secrets_in(type_))
    if isinstance(type_, Struct):
        return _normalize_struct(label, value, type_, hide)
    if isinstance(type_, ListOf):
        if not isinstance(value, list):
            raise invalid(f"Option {label!r} must be a JSON list, not {_shown(value, hide)}.")
        return [normalize(f"{label}[{i}]", item, type_.item, hide=hide) for i, item in enumerate(value)]
    return coerce_scalar(label, type_, value, choices, hide=hide)


def _normalize_struct(label: str, value: Any, struct: Struct, hide: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(
            f"Option {label!r} must be a JSON object with the keys {', '.join(struct.keys())}, "
            f"not {_shown(value, hide)}."
        )
    by_key = {_canonical(m.name): m for m in struct.members}
    out: dict[str, Any] = {}
    for key, item in value.items():
        member = by_key.get(_canonical(str(key)))
        if member is None:
            hint = get_close_matches(snake(str(key)), struct.keys(), n=1)
            maybe = f" Did you mean {hint[0]!r}?" if hint else ""
            raise invalid(
                f"Unknown key {key!r} in option {label!r}.{maybe} Allowed keys: {', '.join(struct.keys())} "
                "(snake_case or PascalCase)."
            )
        if member.name in out:
            raise invalid(f"Option {label!r} gives {snake(member.name)!r} twice.")
        if item is not None:
            out[member.name] = normalize(
                f"{label}.{snake(member.name)}", item, member.type, member.choices, hide or member.secret
            )
    missing = [snake(m.name) for m in struct.members if m.required and m.name not in out]
    if missing:
        raise invalid(f"Option {label!r} needs the keys {', '.join(missing)}.")
    return out


def secrets_in(type_: str | Struct | ListOf) -> set[str]:
    """The names of the secret members anywhere inside ``type_``."""
    if isinstance(type_, ListOf):
        return secrets_in(type_.item)
    if not isinstance(type_, Struct):
        return set()
    found = {m.name for m in type_.members if m.secret}
    for member in type_.members:
        found |= secrets_in(member.type)
    return found


def describe(type_: str | Struct | ListOf) -> str:
    """``{cpu, memory, gpu, gpu_type}`` for the option reference."""
    if isinstance(type_, ListOf):
        return f"[{describe(type_.item)}]"
    if isinstance(type_, Struct):
        return "{" + ", ".join(f"{snake(m.name)}{'*' if m.required else ''}" for m in type_.members) + "}"
    return type_
