"""How options become request members: each backend's table maps an option to the member it fills, and values
(snake_case objects, as the option table gives them) are written with the APIs' PascalCase names.

Also the names of the members that carry credentials in either API, for the redaction of every log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SECRET_MEMBERS = frozenset(
    {"SecretKey", "Token", "SessionToken", "AuthTokenValue", "Password", "AuthToken", "RegistryPassword"}
)
"""Members whose value is a credential wherever they appear."""
TOKEN_CONTAINERS = frozenset({"AuthToken", "AuthTokens"})
"""Objects whose ``Value`` members are token values."""
PRIVATE_FLAG, VALUE = "IsPrivate", "Value"
"""An environment variable marked ``IsPrivate`` has a secret ``Value``."""


@dataclass(frozen=True)
class Field:
    """The member one option fills."""

    member: str
    on_update: str | None = None
    """The member on an update, where it differs from the create's."""
    group: bool = False
    """On WeData's create, a member of the request itself rather than of ``Services[0]``."""
    write: Callable[[Any], Any] | None = None
    """How the option's value becomes the member's, where the API's shape is not the option's with PascalCase
    names."""

    def name(self, update: bool) -> str:
        return (self.on_update or self.member) if update else self.member


def pascal(name: str) -> str:
    """``gpu_type`` → ``GpuType``; a PascalCase name stays as it is."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def to_pascal(value: Any) -> Any:
    """An option's value with the API's member names, recursively (lists included)."""
    if isinstance(value, dict):
        return {pascal(str(k)): to_pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_pascal(v) for v in value]
    return value


def request_members(
    table: Mapping[str, Field], options: Mapping[str, Any], update: bool, group: bool | None = None
) -> dict[str, Any]:
    """The members the given options fill, by ``table``; ``group`` selects request-level or per-version ones."""
    return {
        fld.name(update): fld.write(options[key]) if fld.write else to_pascal(options[key])
        for key, fld in table.items()
        if key in options and (group is None or fld.group == group)
    }
