"""Times as the APIs write them."""

from __future__ import annotations

from datetime import datetime, timezone


def local_time(ts: float) -> str:
    """WeData's ML objects carry ISO-like local times without a zone (``2025-10-16T14:00:55``)."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
