"""The cloud APIs a deployment can go through: WeData's model service (default) and TI-ONE's online services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..settings import Settings
    from .base import Backend


def make_backend(settings: Settings, **transport: Any) -> Backend:
    """The backend ``settings.backend`` names; ``transport`` goes to its ``Transport`` (retry policy, sleep…)."""
    if settings.backend == "tione":
        from .tione import TioneBackend

        return TioneBackend(settings, **transport)
    from .wedata import WeDataBackend

    return WeDataBackend(settings, **transport)
