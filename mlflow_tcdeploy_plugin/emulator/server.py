"""The wire: TC3 check, X-TC-Action dispatch, member validation, the Response/RequestId envelope, admin routes."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import tione, wedata  # noqa: F401  (they register their handlers)
from .admin import ROUTES as ADMIN_ROUTES
from .dispatch import HANDLERS, Context
from .errors import ApiError
from .faults import FaultInjector
from .signing import Credentials, verify
from .spec import ACTIONS, VERSIONS, validate

logger = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024
REDACTED = "******"
_SECRET_KEY_RE = re.compile(r"password|secret|token", re.IGNORECASE)
_POD_SHELL_RE = re.compile(r"^/_emulator/pods/(?P<pod>[A-Za-z0-9-]+)/shell$")
# The invocation address GetModelServiceCallInfo hands out: /<TI-ONE group id>/<path on the service>.
_GATEWAY_RE = re.compile(r"^/(?P<group>ms-[a-z0-9]{8})(?P<path>/.*)?$")


def redact(value: Any) -> Any:
    """Members whose name says they hold a secret never reach the request log."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY_RE.search(k) and v else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _with_address(payload: dict[str, Any], address: str) -> dict[str, Any]:
    """The call-info answers with ``InternetEndpoint`` replaced (the invocation-address fault)."""
    out = dict(payload)
    for key in ("ServiceCallInfo", "ServiceCallInfoV2"):
        if isinstance(out.get(key), dict) and "InternetEndpoint" in out[key]:
            out[key] = {**out[key], "InternetEndpoint": address}
    return out


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], ctx: Context, credentials: Credentials, injector: FaultInjector
    ) -> None:
        super().__init__(address, _Handler)
        self.ctx = ctx
        self.credentials = credentials
        self.injector = injector
        self.connections = 0
        self._counting = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._counting:  # accepted TCP connections, for the benchmarks (keep-alive reuse shows here)
            self.connections += 1
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this a keep-alive client waits ~40 ms per call on Nagle + delayed ACK.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        lines = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Server: tcdeploy-emulator",
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)  # one write: headers and body leave in one segment
        self.wfile.flush()

    def _send_json(self, payload: Any, status: int = 200, content_type: str | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), content_type or "application/json")

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            self._send_json(
                {
                    "Response": {
                        "Error": {"Code": "InvalidRequest", "Message": "The body exceeds 10 MB."},
                        "RequestId": str(uuid.uuid4()),
                    }
                }
            )
            return None
        return self.rfile.read(length) if length else b""

    # --- cloud API ---------------------------------------------------------------------------------------------
    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        split = urlsplit(self.path)
        gateway = _GATEWAY_RE.match(split.path)
        if split.path.startswith("/_emulator/"):
            self._admin("POST", split.path, body)
        elif split.path == "/":
            self._api(body)
        elif gateway:
            self._gateway(gateway["group"], gateway["path"] or "/", split.query, body.decode("utf-8", "replace"))
        else:
            self._send(404, b"not found", "text/plain")

    def _api(self, body: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        action_name = headers.get("x-tc-action", "")
        request_id = str(uuid.uuid4())
        decision = self.server.injector.decide(action_name)
        if decision.latency:
            time.sleep(decision.latency)
        if self._faulted_before(decision.fault, action_name, request_id):
            return
        service, params, response, code = self._answer(headers, body, action_name, decision.fault == "throttle")
        self._log(action_name, service, params, code, request_id)
        if decision.fault == "lose":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        response["RequestId"] = request_id
        charset = decision.fault == "charset"
        self._send_json({"Response": response}, content_type="application/json; charset=utf-8" if charset else None)

    def _faulted_before(self, fault: str | None, action_name: str, request_id: str) -> bool:
        """Carry out a fault that comes before the request is; True when it did (nothing more is answered)."""
        # Logged before answering: the client may send its next request as soon as it sees this one fail.
        if fault == "drop":
            self._log(action_name, "", {}, "(dropped connection)", request_id)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault == "error":
            self._log(action_name, "", {}, "(HTTP 502)", request_id)
            self._send(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return True
        return False

    def _answer(
        self, headers: dict[str, str], body: bytes, action_name: str, throttled: bool
    ) -> tuple[str, dict[str, Any], dict[str, Any], str]:
        """Check and carry out one API request: its product, members, the ``Response`` members and result code."""
        params: dict[str, Any] = {}
        service = ""
        try:
            service, params = self._checked_request(headers, body, action_name, throttled)
            payload = HANDLERS[(service, action_name)](self.server.ctx, params)
            override = self.server.injector.faults.invocation_address
            if override is not None:
                payload = _with_address(payload, override)
            response: dict[str, Any] = {"Data": payload} if service == "wedata" else dict(payload)
            return service, params, response, "Success"
        except ApiError as exc:
            return service, params, {"Error": {"Code": exc.code, "Message": exc.message}}, exc.code
        except Exception:
            logger.exception("action %s failed", action_name)
            error = {"Code": "InternalError", "Message": "An internal error occurred in the emulator."}
            return service, params, {"Error": error}, "InternalError"

    def _checked_request(
        self, headers: dict[str, str], body: bytes, action_name: str, throttled: bool
    ) -> tuple[str, dict[str, Any]]:
        split = urlsplit(self.path)
        signed = verify("POST", split.path, split.query, headers, body, self.server.credentials)
        if not action_name:
            raise ApiError("MissingParameter", "The request is missing the X-TC-Action header.")
        version = headers.get("x-tc-version")
        if not version:
            raise ApiError("MissingParameter", "The request is missing the X-TC-Version header.")
        if signed.service not in VERSIONS:
            raise ApiError("NoSuchProduct", f"The product {signed.service!r} does not exist here.")
        if version != VERSIONS[signed.service]:
            raise ApiError(
                "NoSuchVersion",
                f"The API version {version!r} does not exist for {signed.service}; use {VERSIONS[signed.service]}.",
            )
        action = ACTIONS.get((signed.service, action_name))
        if action is None:
            raise ApiError("InvalidAction", f"The action {action_name!r} does not exist for {signed.service}.")
        if throttled:
            raise ApiError("RequestLimitExceeded", "The request rate limit was exceeded; retry later.")
        try:
            params = json.loads(body or b"{}")
        except ValueError as exc:
            raise ApiError("InvalidParameter", "The request body is not valid JSON.") from exc
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The request body must be a JSON object.")
        problem = validate(action, params)
        if problem:
            raise ApiError(*problem)
        return signed.service, params

    def _log(self, action: str, service: str, params: dict[str, Any], code: str, request_id: str) -> None:
        self.server.ctx.backend.store.add_request(action, service, redact(params), code, request_id)

    # --- admin routes ------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        split = urlsplit(self.path)
        match = _POD_SHELL_RE.match(split.path)
        gateway = _GATEWAY_RE.match(split.path)
        if match:
            self._pod_shell(match["pod"], parse_qs(split.query).get("authToken", [""])[0])
        elif gateway:
            self._gateway(gateway["group"], gateway["path"] or "/", split.query, None)
        elif split.path.startswith("/_emulator/"):
            self._admin("GET", split.path, b"")
        else:
            self._send(404, b"not found", "text/plain")

    def do_DELETE(self) -> None:
        self._admin("DELETE", urlsplit(self.path).path, b"")

    def _admin(self, method: str, path: str, body: bytes) -> None:
        route = ADMIN_ROUTES.get((method, path))
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        status, payload = route(self.server, body)
        self._send_json(payload, status)

    def _gateway(self, tione_id: str, path: str, query: str, body: str | None) -> None:
        """A call to a group's invocation address, with ``Authorization: Bearer <token>`` when auth is on."""
        ctx = self.server.ctx
        try:
            group = ctx.backend.get_group_by_tione_id(tione_id)
        except ApiError:
            self._send(404, b"no such service group", "text/plain")
            return
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        status, headers, text = ctx.relay.call(group, None, path + (f"?{query}" if query else ""), body or None, token)
        # Logged like an API call, so tests can tell that a refused address was never called.
        self._log("(invocation)", "gateway", {"Group": tione_id, "Path": path}, str(status), str(uuid.uuid4()))
        self._send(
            status, text.encode("utf-8"), headers.get("Content-Type") or headers.get("content-type") or "text/plain"
        )

    def _pod_shell(self, pod_name: str, token: str) -> None:
        backend = self.server.ctx.backend
        if not backend.pod_url_valid(pod_name, token):
            self._send(403, b"the pod URL is invalid or has expired", "text/plain")
            return
        pod = backend.find_pod(pod_name)
        if pod is None:
            self._send(404, b"the pod no longer exists", "text/plain")
            return
        lines = [
            f"pod {pod_name} (service {pod.service_id}), port {pod.port}, restarts {pod.restart_count}",
            "--- last log lines ---",
            *backend.last_log_lines(pod_name, 50),
        ]
        self._send(200, ("\n".join(lines) + "\n").encode("utf-8"), "text/plain; charset=utf-8")
