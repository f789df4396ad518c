"""The emulator's own routes under ``/_emulator/``, apart from the cloud's API: health, connection count, the
request log, faults, and, as moto's ``/moto-api/reset`` and ``/moto-api/static``, reset and seed of the state.

Each route takes the server and the request body and answers ``(HTTP status, JSON payload)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from .dispatch import Context
from .faults import FaultInjector, Faults
from .seeding import SeedError, seed


class ServerState(Protocol):
    """What the routes read of the server (``server.EmulatorHTTPServer`` has it)."""

    ctx: Context
    injector: FaultInjector
    connections: int


AdminRoute = Callable[[ServerState, bytes], tuple[int, Any]]
OK = {"status": "ok"}


def _health(server: ServerState, body: bytes) -> tuple[int, Any]:
    return 200, OK


def _stats(server: ServerState, body: bytes) -> tuple[int, Any]:
    return 200, {"connections": server.connections}


def _requests(server: ServerState, body: bytes) -> tuple[int, Any]:
    return 200, server.ctx.backend.store.requests()


def _clear_requests(server: ServerState, body: bytes) -> tuple[int, Any]:
    server.ctx.backend.store.clear_requests()
    return 200, OK


def _faults(server: ServerState, body: bytes) -> tuple[int, Any]:
    return 200, server.injector.faults.to_dict()


def _set_faults(server: ServerState, body: bytes) -> tuple[int, Any]:
    try:
        server.injector.set(Faults.from_dict(json.loads(body or b"{}")))
    except (ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}
    return 200, server.injector.faults.to_dict()


def _reset(server: ServerState, body: bytes) -> tuple[int, Any]:
    """Every replica stopped; groups, versions, tokens, weights, logs, events and the request log gone; no faults."""
    server.ctx.reset()
    server.injector.set(Faults())
    return 200, OK


def _seed(server: ServerState, body: bytes) -> tuple[int, Any]:
    try:
        return 200, seed(server.ctx.backend, json.loads(body or b"{}"))
    except SeedError as exc:
        return 400, {"error": str(exc)}
    except ValueError:
        return 400, {"error": "The body is not valid JSON."}


ROUTES: dict[tuple[str, str], AdminRoute] = {
    ("GET", "/_emulator/health"): _health,
    ("GET", "/_emulator/stats"): _stats,
    ("GET", "/_emulator/requests"): _requests,
    ("DELETE", "/_emulator/requests"): _clear_requests,
    ("GET", "/_emulator/faults"): _faults,
    ("POST", "/_emulator/faults"): _set_faults,
    ("POST", "/_emulator/reset"): _reset,
    ("POST", "/_emulator/seed"): _seed,
}
