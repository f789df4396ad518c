"""The cloud APIs a deployment can go through: WeData's model service (default) and TI-ONE's online services."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import Settings
    from .base import Backend
    from .capabilities import Capabilities

NAMES = ("wedata", "tione")


def make_backend(settings: Settings, **transport: Any) -> Backend:
    """The backend ``settings.backend`` names; ``transport`` goes to its ``Transport`` (retry policy, sleep…)."""
    if settings.backend == "tione":
        from .tione import TioneBackend

        return TioneBackend(settings, **transport)
    from .wedata import WeDataBackend

    return WeDataBackend(settings, **transport)


def capabilities_of(name: str) -> Capabilities:
    return import_module(f"{__name__}.{name}").CAPABILITIES


def option_refusal(name: str) -> Callable[[str], Exception | None]:
    """For ``options.parse``: the refusal of an option the backend ``name`` cannot honour, else None."""
    own = capabilities_of(name)

    def refusal(key: str) -> Exception | None:
        if own.takes(key):
            return None
        return own.refuse_option(key, [n for n in NAMES if capabilities_of(n).takes(key)])

    return refusal
