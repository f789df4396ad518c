"""PascalCase API objects → snake_case dicts, recursively (lists included)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_BOUNDARY_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@lru_cache(maxsize=2048)  # the APIs' member names are a small set, met on every call
def snake(name: str) -> str:
    """``ServiceGroupId`` → ``service_group_id``; ``TiOneServiceId`` → ``ti_one_service_id``."""
    return _BOUNDARY_RE.sub("_", name).lower()


_LEAVES = frozenset({str, int, float, bool, type(None)})
"""JSON's scalar types: kept as they are without a call (most of an answer's values; this runs on every read)."""


def to_snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k): v if type(v) in _LEAVES else to_snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _LEAVES else to_snake(v) for v in value]
    return value
