"""Secrets out of log records, in one place: by member name inside the JSON the SDK logs (request bodies and
answers), by header name, and by value for the credentials this process holds.

The member names are the backends' (``backends.members``): credentials wherever they appear, every value inside
auth-token objects, and the value of an environment variable marked private.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

from .backends.members import PRIVATE_FLAG, SECRET_MEMBERS, TOKEN_CONTAINERS, VALUE

MASK = "******"
SECRET_HEADERS = ("X-TC-Token",)
# The SDK prints headers one a line, the first after "Header: ": match the name wherever it starts.
_HEADER_RE = re.compile(r"(?i)(?<![\w-])(?P<name>" + "|".join(map(re.escape, SECRET_HEADERS)) + r"):[^\r\n]*")
# A JSON string member named like a secret, for text that is not a whole JSON document.
_MEMBER_RE = re.compile(r'"(?P<name>' + "|".join(sorted(SECRET_MEMBERS)) + r')"(?P<sep>\s*:\s*)"(?:[^"\\]|\\.)*"')
_MIN_SECRET = 6
"""Shorter values are not masked by value (they would mask ordinary words); members are masked whatever their size."""

_lock = threading.Lock()
_known: set[str] = set()


def add_secret(value: str | None) -> None:
    """Mask this value wherever it appears in a log record from now on (credentials, registry passwords)."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _known.add(value)


def _mask_members(value: Any, inside_token: bool = False) -> Any:
    if isinstance(value, list):
        return [_mask_members(v, inside_token) for v in value]
    if not isinstance(value, dict):
        return value
    private = value.get(PRIVATE_FLAG) is True
    out = {}
    for key, item in value.items():
        if isinstance(item, str) and item and (key in SECRET_MEMBERS or (key == VALUE and (inside_token or private))):
            out[key] = MASK
        else:
            out[key] = _mask_members(item, inside_token or key in TOKEN_CONTAINERS)
    return out


def redact_json(document: Any) -> Any:
    """A copy of an API object with every secret member masked."""
    return _mask_members(document)


def _redact_documents(text: str) -> str:
    """Mask secret members of the JSON documents embedded in ``text`` (the SDK logs headers, then a body)."""
    decoder = json.JSONDecoder()
    out, i = [], 0
    while True:
        start = text.find("{", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        try:
            document, end = decoder.raw_decode(text, start)
        except ValueError:
            out.append(text[i : start + 1])
            i = start + 1
            continue
        out.append(text[i:start])
        masked = _mask_members(document)
        out.append(text[start:end] if masked == document else json.dumps(masked, ensure_ascii=False))
        i = end


def redact_text(text: str) -> str:
    """``text`` with every secret masked: JSON members, secret headers, then known values."""
    if "{" in text:
        text = _MEMBER_RE.sub(lambda m: f'"{m["name"]}"{m["sep"]}"{MASK}"', _redact_documents(text))
    if ":" in text:
        text = _HEADER_RE.sub(lambda m: f"{m['name']}: {MASK}", text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with its secrets masked (the record then carries the finished text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot be formatted carries no text to redact; logging reports it
            return True
        masked = redact_text(text)
        if masked != text:
            record.msg, record.args = masked, ()
        return True


FILTER = RedactingFilter()
