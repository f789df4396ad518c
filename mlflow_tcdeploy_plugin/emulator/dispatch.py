"""The handler registry the server dispatches on: (product, action) → handler, and what handlers are given.

Handlers (``wedata``, ``tione``) read a request's validated members, call the backend, and shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import ModelServiceBackend
from .relay import Relay


@dataclass
class Context:
    """What a handler may use: the backend (state), the relay to the replicas, and the model registry."""

    backend: ModelServiceBackend
    relay: Relay
    tracking_uri: str | None
    registry_uri: str | None

    def reset(self) -> None:
        """Forget all state and stop every replica (POST /_emulator/reset)."""
        self.backend.reset()
        self.relay.reset()


Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]
HANDLERS: dict[tuple[str, str], Handler] = {}
"""By (product, action): both APIs have a CreateModelServiceAuthToken."""


def register(service: str, name: str, handler: Handler) -> None:
    HANDLERS[(service, name)] = handler
