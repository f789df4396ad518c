"""The gateway in front of the replicas: checks a call's auth token, picks a ready replica of the group (by traffic
weight, then round robin) and relays the call to it over HTTP.

Used by ``ModelServiceInterfaceCallTest`` and by the invocation addresses the emulator serves.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from . import lifecycle as lc
from .resources import Pod, ServiceGroup, ServiceVersion
from .state import Store
from .views import routing_weights

Answer = tuple[int, dict[str, str], str]
"""An upstream answer: HTTP status, headers, body."""
RELAY_TIMEOUT = 120.0


def authorized(group: ServiceGroup, token: str | None) -> bool:
    """Whether a call may reach the group: authorization off, or ``token`` one of its enabled tokens."""
    if not group.settings.get("AuthorizationEnable"):
        return True
    enabled = {t.Value for t in group.tokens if t.Status == "Enabled"}
    return bool(token) and token in enabled


def _changed(value: Any) -> Any:
    """A prediction made wrong: numbers moved by one, text reversed, containers changed item by item."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value[::-1] + "?"
    if isinstance(value, list):
        return [_changed(v) for v in value]
    if isinstance(value, dict):
        return {k: _changed(v) for k, v in value.items()}
    return value


def misanswered(kind: str, answer: Answer) -> Answer:
    """What a version under an ``answers`` fault returns instead of ``answer``."""
    if kind == "error":
        return 500, {"Content-Type": "application/json"}, json.dumps({"error_code": "INTERNAL_ERROR"})
    status, headers, text = answer
    try:
        body = json.loads(text)
    except ValueError:
        return answer
    return status, headers, json.dumps(_changed(body))


class Meter(Protocol):
    """What counts the calls each version gets (the autoscaler's load)."""

    def begin(self, service_id: str) -> None: ...

    def end(self, service_id: str) -> None: ...


class Relay:
    def __init__(
        self, store: Store, answers: Callable[[], Mapping[str, str]] = dict, meter: Meter | None = None
    ) -> None:
        self._store = store
        self._meter = meter
        self._answers = answers
        """The ``answers`` faults in force (versions that answer wrongly or fail)."""
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._turns.clear()

    def call(
        self, group: ServiceGroup, service: ServiceVersion | None, path: str, body: str | None, token: str | None
    ) -> Answer:
        """What the gateway does with a call to ``group`` (or one version of it, ``service``)."""
        if not authorized(group, token):
            return (
                401,
                {"Content-Type": "application/json"},
                json.dumps({"error": "missing or invalid authorization token"}),
            )
        candidates = [service] if service else self._routed(group)
        pods = [p for s in reversed(candidates) for p in self._store.pods(s.id) if p.ready]
        if not pods:
            return 503, {"Content-Type": "text/plain"}, "no healthy upstream"
        pod = self._next_pod(group.id, pods)
        fault = self._fault(group, next(s for s in candidates if s.id == pod.service_id))
        if fault == "error":
            return misanswered(fault, (500, {}, ""))
        answer = self._metered(pod, path, body)
        return misanswered(fault, answer) if fault else answer

    def _metered(self, pod: Pod, path: str, body: str | None) -> Answer:
        if self._meter is None:
            return _send(pod.port, path, body)
        self._meter.begin(pod.service_id)
        try:
            return _send(pod.port, path, body)
        finally:
            self._meter.end(pod.service_id)

    def _fault(self, group: ServiceGroup, service: ServiceVersion) -> str | None:
        answers = self._answers()
        keys = (service.id, service.spec.get("_TiOneServiceId", service.id), f"{group.name}/{service.version}")
        return next((answers[k] for k in keys if k in answers), None)

    def _routed(self, group: ServiceGroup) -> list[ServiceVersion]:
        """The versions a call may go to: every running one, or, once a traffic split is set, one drawn by weight."""
        running = [s for s in self._store.services(group.id) if s.status == lc.RUNNING]
        split = routing_weights(group)
        if split is None:
            return running
        ready = [s for s in running if split.get(s.id, 0) > 0 and any(p.ready for p in self._store.pods(s.id))]
        if not ready:
            return []
        return random.choices(ready, weights=[split[s.id] for s in ready])

    def _next_pod(self, group_id: str, pods: list[Pod]) -> Pod:
        with self._lock:
            turn = self._turns.get(group_id, 0)
            self._turns[group_id] = turn + 1
        return pods[turn % len(pods)]


def _send(port: int | None, path: str, body: str | None) -> Answer:
    """One call to a replica on loopback: POST with a JSON body, or GET without one."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=RELAY_TIMEOUT)
    try:
        conn.request(
            "POST" if body else "GET",
            path,
            body=body.encode() if body else None,
            headers={"Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8", "replace")
    except OSError as exc:
        return 502, {"Content-Type": "text/plain"}, f"upstream connect error: {exc}"
    finally:
        conn.close()
