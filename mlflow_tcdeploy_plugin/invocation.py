"""Calling an endpoint at the invocation address the cloud hands out, after checking that address.

The address comes from an API answer, so it is not trusted: https only, a host under ``.ti.tencentcs.com`` (the
only gateway form in public material, reference §5.10), no credentials, no port, no query or fragment, a plain
path. On the local emulator, its own loopback address is the only one allowed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, TEMPORARILY_UNAVAILABLE

GATEWAY_DOMAIN = ".ti.tencentcs.com"
PREDICT_TIMEOUT = 120.0
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._~-]+$")


def _refuse(address: str, why: str) -> MlflowException:
    return MlflowException(
        f"The invocation address {address[:200]!a} from DescribeModelServiceCallInfo is refused: {why}. Only "
        f"https://<host>{GATEWAY_DOMAIN}/<path> is called; nothing was sent.",
        error_code=INVALID_PARAMETER_VALUE,
    )


def check_address(address: Any, emulator_endpoint: str | None = None) -> str:
    """The address without a trailing ``/``, or an error saying why it is refused.

    ``emulator_endpoint`` (``host:port``) allows that one plain-http loopback address instead of the cloud's.
    """
    _check_characters(address)
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        raise _refuse(address, "its port is not a number") from None
    _check_path(address, parts.path)
    if emulator_endpoint is not None:
        if parts.scheme != "http" or parts.netloc.lower() != emulator_endpoint.lower():
            raise _refuse(address, f"in emulator mode only the emulator's own address ({emulator_endpoint}) is called")
        return address.rstrip("/")
    _check_gateway(address, parts, port)
    return address.rstrip("/")


def _check_characters(address: Any) -> None:
    """Refuse an empty address and one with characters no plain gateway URL has."""
    if not isinstance(address, str) or not address:
        raise _refuse(str(address), "it is empty (is the endpoint running?)")
    if not address.isascii() or any(c.isspace() or not c.isprintable() for c in address):
        raise _refuse(address, "it contains whitespace, control or non-ASCII characters")
    if any(c in address for c in "\\@?#%"):
        raise _refuse(address, "it contains '\\', '@', a query, a fragment or percent-encoding")


def _check_path(address: str, path: str) -> None:
    """Refuse a path other than plain segments of unreserved characters, without ``.`` or ``..``."""
    segments = [s for s in path.split("/")[1:] if s != ""]
    if path and (not path.startswith("/") or "//" in path):
        raise _refuse(address, "its path is not a plain path")
    if any(s in (".", "..") or not _SEGMENT_RE.match(s) for s in segments):
        raise _refuse(address, "its path has '.', '..' or unusual characters")


def _check_gateway(address: str, parts: SplitResult, port: int | None) -> None:
    """Refuse anything but https to a host under the gateway domain, with no port or user information."""
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        raise _refuse(address, "it is not https")
    if port is not None or parts.netloc.lower() != host:
        raise _refuse(address, "it names a port or user information")
    if not host.endswith(GATEWAY_DOMAIN) or not all(_LABEL_RE.match(label) for label in host.split(".")):
        raise _refuse(address, f"its host is not under {GATEWAY_DOMAIN}")


def post(session: Any, url: str, body: str, auth_token: str | None) -> dict[str, Any]:
    """POST ``body`` to ``url`` (never following a redirect, which could leave the allowed hosts); the answer as
    ``{"status", "headers", "body"}``."""
    import requests

    headers = {"Content-Type": "application/json"}
    if auth_token:
        headers["Authorization"] = f"Bearer {auth_token}"
    try:
        answer = session.post(
            url, data=body.encode("utf-8"), headers=headers, timeout=PREDICT_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise MlflowException(
            f"The endpoint at {url} could not be reached: {type(exc).__name__}. Check that it is running "
            "(`mlflow deployments get-endpoint`) and retry.",
            error_code=TEMPORARILY_UNAVAILABLE,
        ) from None
    return {"status": answer.status_code, "headers": dict(answer.headers), "body": answer.text}
