"""Log paging as ListMLServiceLogs and TI-ONE's DescribeLogs share it: the time window, the opaque ``Context``
cursor, the limits, and the lines' shape."""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Any

from .errors import ApiError, invalid_value
from .models import ModelServiceBackend
from .times import rfc3339
from .version_specs import check_range

LOG_LIMIT_DEFAULT, LOG_LIMIT_MAX, LOG_CONTEXT_LIMIT = 100, 1000, 10_000


def time_window(params: dict[str, Any]) -> tuple[float, float]:
    """``StartTime``/``EndTime`` (RFC 3339) as Unix times; the last hour by default."""
    now = time.time()
    window = []
    for member, default in (("StartTime", now - 3600), ("EndTime", now)):
        raw = params.get(member)
        if not raw:
            window.append(default)
            continue
        try:
            window.append(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp())
        except ValueError as exc:
            raise invalid_value(member, "must be an RFC 3339 time such as 2025-10-16T14:00:55+08:00.") from exc
    return window[0], window[1]


def _cursor(token: str) -> tuple[int, int]:
    try:
        last, _, seen = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(last), int(seen)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_value("Context", "is not a Context this API returned.") from exc


def log_page(
    backend: ModelServiceBackend, service_id: str | None, key: str | None, params: dict[str, Any]
) -> dict[str, Any]:
    """One page of a (checked) service's log lines, or every service's; ``params`` holds the paging members
    (``Limit``, ``Offset``, ``Context``, ``Order``, ``StartTime``, ``EndTime``, ``PodName``)."""
    limit = params.get("Limit", LOG_LIMIT_DEFAULT)
    check_range("Limit", limit, 1, LOG_LIMIT_MAX)
    cursor, seen = _cursor(params["Context"]) if params.get("Context") else (None, 0)
    offset = params.get("Offset", 0)
    if seen + offset + limit > LOG_CONTEXT_LIMIT:
        raise ApiError(
            "FailedOperation.ContextLimitError",
            f"Paging past {LOG_CONTEXT_LIMIT} log entries is not allowed; narrow the time range.",
        )
    rows = backend.list_logs(
        service_id,
        params.get("PodName"),
        time_window(params),
        key,
        params.get("Order", "DESC") == "DESC",
        cursor,
        offset,
        limit,
    )
    next_context = ""
    if len(rows) == limit:
        next_context = base64.urlsafe_b64encode(f"{rows[-1]['id']}:{seen + offset + limit}".encode()).decode()
    return {
        "Context": next_context,
        "Content": [
            {"Id": str(r["id"]), "Message": r["message"], "PodName": r["pod_name"], "Timestamp": rfc3339(r["ts"])}
            for r in rows
        ],
    }
