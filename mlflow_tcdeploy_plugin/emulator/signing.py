"""TC3-HMAC-SHA256 verification, written from the signature description (API reference §2.3)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import ApiError

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z0-9-]+)"
    r"/tc3_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Credentials:
    secret_id: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True)
class SignedRequest:
    """What a verified request says about itself: who signed it and for which service."""

    secret_id: str
    service: str
    timestamp: int


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def string_to_sign(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes,
    timestamp: str,
    scope: str,
) -> str:
    payload_hash = hashlib.sha256(
        b"UNSIGNED-PAYLOAD" if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD" else body
    ).hexdigest()
    # TC3 canonical headers: lower-case names and values, trimmed, one per line.
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed)
    canonical = "\n".join([method, path, query, canonical_headers, ";".join(signed), payload_hash])
    return "\n".join([ALGORITHM, timestamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def _authorization(headers: Mapping[str, str]) -> re.Match[str]:
    auth = headers.get("authorization")
    if not auth:
        raise ApiError("AuthFailure.InvalidAuthorization", "The Authorization header is missing.")
    match = _AUTH_RE.match(auth.strip())
    if not match:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "The Authorization header is not a valid TC3-HMAC-SHA256 authorization.",
        )
    return match


def _timestamp(headers: Mapping[str, str], now: float | None) -> str:
    """``X-TC-Timestamp`` as sent (it is signed as a string), once it is known to be within the allowed skew."""
    raw = headers.get("x-tc-timestamp")
    if not raw:
        raise ApiError("MissingParameter", "The request is missing the X-TC-Timestamp header.")
    if not raw.isdigit():
        raise ApiError("InvalidParameterValue", "X-TC-Timestamp must be a Unix time in seconds.")
    current = time.time() if now is None else now
    if abs(current - int(raw)) > MAX_SKEW_SECONDS:
        raise ApiError(
            "AuthFailure.SignatureExpire",
            "The request signature has expired: X-TC-Timestamp is more than 5 minutes from server time.",
        )
    return raw


def _credential_date(match: re.Match[str], timestamp: int, credentials: Credentials) -> str:
    """The credential scope's date, checked against the timestamp; the signed headers and SecretId checked too."""
    signed = match["headers"].split(";")
    if "content-type" not in signed or "host" not in signed:
        raise ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.")
    date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    if match["date"] != date:
        raise ApiError("AuthFailure.SignatureFailure", "The credential scope date does not match X-TC-Timestamp.")
    if match["secret_id"] != credentials.secret_id:
        raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found; check that it is correct.")
    return date


def verify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    now: float | None = None,
) -> SignedRequest:
    """Check a request's TC3 signature; ``headers`` has lower-case names. Raises ``ApiError`` as the cloud does."""
    match = _authorization(headers)
    raw_timestamp = _timestamp(headers, now)
    date = _credential_date(match, int(raw_timestamp), credentials)
    scope = f"{date}/{match['service']}/tc3_request"
    signed = match["headers"].split(";")
    expected = signature(
        credentials.secret_key,
        date,
        match["service"],
        string_to_sign(method, path, query, headers, signed, body, raw_timestamp, scope),
    )
    if not hmac.compare_digest(expected, match["signature"]):
        raise ApiError("AuthFailure.SignatureFailure", "The request signature does not match.")
    token = headers.get("x-tc-token")
    if (token or None) != credentials.token:
        raise ApiError("AuthFailure.TokenFailure", "The X-TC-Token is missing or invalid.")
    return SignedRequest(match["secret_id"], match["service"], int(raw_timestamp))
