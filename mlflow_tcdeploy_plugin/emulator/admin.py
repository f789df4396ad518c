"""The emulator's own routes under ``/_emulator/``, apart from the cloud's API: health, connection count, the
request log, faults, the autoscaling clock and metrics, and, as moto's ``/moto-api/reset`` and
``/moto-api/static``, reset and seed of the state.

Each route takes the server and the request body and answers ``(HTTP status, JSON payload)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from .autoscaler import CHINA, UTILISATION
from .dispatch import Context
from .errors import ApiError
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


MAX_ADVANCE = 366 * 24 * 3600
MAX_UTILISATION = 1000.0


def _number(body: bytes, key: str, low: float, high: float) -> float | None:
    """A finite number from ``low`` to ``high`` under ``key`` of a JSON body; None when there is none."""
    try:
        value = float(json.loads(body or b"{}")[key])
    except (ValueError, KeyError, TypeError):
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def _clock(server: ServerState, body: bytes) -> tuple[int, Any]:
    seconds = _number(body, "advance", 0, MAX_ADVANCE)
    if seconds is None:
        return 400, {"error": f'Give {{"advance": <seconds>}}, from 0 (the clock only moves forward) to {MAX_ADVANCE}.'}
    now = server.ctx.backend.supervisor.autoscaler.advance(seconds)
    return 200, {"now": datetime.fromtimestamp(now, CHINA).isoformat()}


def _metrics(server: ServerState, body: bytes) -> tuple[int, Any]:
    value = _number(body, "value", 0, MAX_UTILISATION)
    try:
        given = json.loads(body or b"{}")
        service_id, name = str(given["service_id"]), str(given["name"])
    except (ValueError, KeyError, TypeError):
        service_id = name = ""
    if value is None or name not in UTILISATION:
        return 400, {
            "error": f'Give {{"service_id": …, "name": one of {", ".join(UTILISATION)}, "value": <percent, 0-1000>}}.'
        }
    backend = server.ctx.backend
    service = backend.find_service(service_id)
    if service is None:
        try:
            service = backend.get_service_by_tione_id(service_id)[0]
        except ApiError:
            return 404, {"error": f"No service {service_id!r}."}
    backend.supervisor.autoscaler.set_metric(service.id, name, value)
    return 200, OK


ROUTES: dict[tuple[str, str], AdminRoute] = {
    ("POST", "/_emulator/clock"): _clock,
    ("POST", "/_emulator/metrics"): _metrics,
    ("GET", "/_emulator/health"): _health,
    ("GET", "/_emulator/stats"): _stats,
    ("GET", "/_emulator/requests"): _requests,
    ("DELETE", "/_emulator/requests"): _clear_requests,
    ("GET", "/_emulator/faults"): _faults,
    ("POST", "/_emulator/faults"): _set_faults,
    ("POST", "/_emulator/reset"): _reset,
    ("POST", "/_emulator/seed"): _seed,
}
