"""Fault injection: latency, throttling, HTTP 5xx, dropped connections, lost answers and an off-standard
Content-Type, at set rates, per action if wanted; a hostile invocation address in the call-info answers; and
versions that answer their calls wrongly or fail them (``answers``), for release verification and rollback.

A rule can also be limited to its next ``times`` matching requests, which makes retry tests deterministic
("throttle the next two CreateMLModelServices, then answer").
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

ANSWERS = ("wrong", "error")


@dataclass
class FaultRule:
    latency: float = 0.0
    """Seconds added before the answer."""
    jitter: float = 0.0
    """Up to this many seconds more, drawn at random for each request."""
    throttle_rate: float = 0.0
    """Share of requests answered with ``RequestLimitExceeded``."""
    error_rate: float = 0.0
    """Share of requests answered with HTTP 502 (the SDK raises ``ServerNetworkError``)."""
    drop_rate: float = 0.0
    """Share of requests whose connection is closed without an answer (``ClientNetworkError``)."""
    lose_rate: float = 0.0
    """Share of requests carried out whose answer is then lost (the connection closes): the case where a
    client must not blindly re-send a create."""
    charset_rate: float = 0.0
    """Share of answers sent with ``Content-Type: application/json; charset=utf-8``, on which the SDK returns an
    error envelope instead of raising."""
    rate_limit: float = 0.0
    """Requests per second each action answers (0: no limit); more are answered ``RequestLimitExceeded``, as the
    cloud's per-action limits do. Unlike ``throttle_rate``, a client that slows down is throttled less."""
    times: int | None = None
    """Apply to this many more matching requests only (None: no limit)."""

    def __post_init__(self) -> None:
        for name in ("throttle_rate", "error_rate", "drop_rate", "lose_rate", "charset_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.latency < 0 or self.jitter < 0 or self.rate_limit < 0:
            raise ValueError("latency, jitter and rate_limit must not be negative")


@dataclass
class Faults:
    default: FaultRule = field(default_factory=FaultRule)
    actions: dict[str, FaultRule] = field(default_factory=dict)
    invocation_address: str | None = None
    """Handed out as ``InternetEndpoint`` instead of the emulator's own address (a cloud answer not to trust)."""
    answers: dict[str, str] = field(default_factory=dict)
    """Versions that misbehave when called, by ServiceId (either API's) or ``<group name>/<version>``: ``wrong``
    (each prediction changed) or ``error`` (HTTP 500). The key may name a version before it exists."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """``{"latency": 0.1, "throttle_rate": 0.2, …, "actions": {"GetMLModelService": {"drop_rate": 1}},
        "invocation_address": "https://…"}``."""
        known = {f.name for f in fields(FaultRule)}
        unknown = set(data) - known - {"actions", "invocation_address", "answers"}
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        actions = {name: FaultRule(**rule) for name, rule in (data.get("actions") or {}).items()}
        address = data.get("invocation_address")
        if address is not None and not isinstance(address, str):
            raise ValueError("invocation_address must be a string")
        answers = data.get("answers") or {}
        if not isinstance(answers, dict) or any(v not in ANSWERS for v in answers.values()):
            raise ValueError(f"answers must map versions to one of {', '.join(ANSWERS)}")
        return cls(FaultRule(**{k: v for k, v in data.items() if k in known}), actions, address, dict(answers))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.default),
            "actions": {k: asdict(v) for k, v in self.actions.items()},
            "invocation_address": self.invocation_address,
            "answers": dict(self.answers),
        }


@dataclass(frozen=True)
class Decision:
    latency: float = 0.0
    fault: str | None = None
    """None, ``"drop"``, ``"error"``, ``"throttle"``, ``"lose"`` or ``"charset"``."""


class FaultInjector:
    def __init__(self, faults: Faults | None = None, seed: int | None = None) -> None:
        self._faults = faults or Faults()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        """Per action: the requests it may still answer under its rate limit, and when that was counted."""

    @property
    def faults(self) -> Faults:
        return self._faults

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def decide(self, action: str) -> Decision:
        with self._lock:
            rule = self._faults.actions.get(action, self._faults.default)
            if rule.times is not None:
                if rule.times <= 0:
                    return Decision()
                rule.times -= 1
            fault = "throttle" if rule.rate_limit and self._over_limit(action, rule.rate_limit) else None
            for name, rate in (
                ("drop", rule.drop_rate),
                ("error", rule.error_rate),
                ("throttle", rule.throttle_rate),
                ("lose", rule.lose_rate),
                ("charset", rule.charset_rate),
            ):
                if fault is None and rate and self._random.random() < rate:
                    fault = name
            return Decision(rule.latency + rule.jitter * self._random.random(), fault)

    def _over_limit(self, action: str, per_second: float) -> bool:
        """A token bucket per action (a burst of one second's requests)."""
        now = time.monotonic()
        tokens, counted = self._buckets.get(action, (per_second, now))
        tokens = min(per_second, tokens + (now - counted) * per_second)
        self._buckets[action] = (tokens - 1 if tokens >= 1 else tokens, now)
        return tokens < 1
