"""A local emulator of Tencent Cloud's WeData model-service API (and the TI-ONE actions the plugin needs).

It is the other side of the wire, not a mock: a real HTTP server that checks TC3 signatures, validates members
against the API definitions, keeps state in SQLite and really serves MLflow models, one process per replica.

    with Emulator(EmulatorConfig(data_dir=tmp_path)) as emu:
        os.environ.update(emu.env())
        ...

It is written from the API reference and never imports the client's request builders or option tables.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dispatch import Context
from .faults import FaultInjector, Faults
from .lifecycle import Supervisor, Timing
from .models import ModelServiceBackend
from .relay import Relay
from .server import EmulatorHTTPServer
from .signing import Credentials
from .state import Store

__all__ = ["Emulator", "EmulatorConfig", "Faults", "Timing"]

logger = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class EmulatorConfig:
    data_dir: Path
    """Where the SQLite state and the replicas' output live; reuse it to keep state across restarts."""
    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port."""
    secret_id: str | None = None
    """The SecretId requests must be signed with; a random one when None."""
    secret_key: str | None = None
    session_token: str | None = None
    """When set, requests must carry it as X-TC-Token (an STS credential)."""
    workspace_id: str = "100000001"
    region: str = "ap-guangzhou"
    mlflow_tracking_uri: str | None = None
    """Where MODEL-source replicas and ListModelVersions read models from."""
    mlflow_registry_uri: str | None = None
    timing: Timing = field(default_factory=Timing)
    faults: Faults = field(default_factory=Faults)
    fault_seed: int | None = None
    allow_non_loopback: bool = False
    """Binding to anything but loopback must be asked for."""


class Emulator:
    """Starts the server and the replica supervisor in this process; a context manager."""

    def __init__(self, config: EmulatorConfig) -> None:
        if config.host not in LOOPBACK and not config.allow_non_loopback:
            raise ValueError(
                f"refusing to bind to {config.host}: the emulator binds to loopback unless told "
                "otherwise (allow_non_loopback / --allow-remote)"
            )
        self.config = config
        self.credentials = Credentials(
            config.secret_id or "AKIDemu" + secrets.token_hex(14),
            config.secret_key or secrets.token_urlsafe(24),
            config.session_token,
        )
        self._store: Store | None = None
        self._supervisor: Supervisor | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Emulator:
        cfg = self.config
        data_dir = Path(cfg.data_dir)
        self._store = Store(data_dir / "emulator.sqlite3")
        self._supervisor = Supervisor(
            self._store,
            data_dir,
            cfg.timing,
            cfg.mlflow_tracking_uri,
            cfg.mlflow_registry_uri or cfg.mlflow_tracking_uri,
        )
        backend = ModelServiceBackend(self._store, self._supervisor, cfg.workspace_id, cfg.region)
        injector = FaultInjector(cfg.faults, cfg.fault_seed)
        ctx = Context(
            backend,
            Relay(self._store, lambda: injector.faults.answers, self._supervisor.autoscaler),
            cfg.mlflow_tracking_uri,
            cfg.mlflow_registry_uri or cfg.mlflow_tracking_uri,
        )
        self._server = EmulatorHTTPServer((cfg.host, cfg.port), ctx, self.credentials, injector)
        backend.public_url = self.url
        self._supervisor.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="tcdeploy-emulator-http", daemon=True)
        self._thread.start()
        logger.info("emulator listening on %s (data in %s)", self.url, data_dir)
        return self

    def stop(self) -> None:
        """Stop answering, stop every replica, close the state. Safe to call twice."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._supervisor is not None:
            self._supervisor.stop()
            self._supervisor = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the emulator is not started"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """``host:port``, what an SDK client takes as ``HttpProfile.endpoint``."""
        host = self.config.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def env(self) -> dict[str, str]:
        """The environment a client needs to talk to this emulator."""
        env = {
            "TCDEPLOY_EMULATOR_URL": self.url,
            "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID": self.credentials.secret_id,
            "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY": self.credentials.secret_key,
            "WEDATA_WORKSPACE_ID": self.config.workspace_id,
            "KERNEL_WEDATA_REGION": self.config.region,
        }
        if self.credentials.token:
            env["KERNEL_WEDATA_CLOUD_SDK_SECRET_TOKEN"] = self.credentials.token
        if self.config.mlflow_tracking_uri:
            env["MLFLOW_TRACKING_URI"] = self.config.mlflow_tracking_uri
        return env

    # conveniences for tests, over the same admin routes any process can use
    def _admin(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())

    def seed_logs(self, service_id: str, pod_name: str, lines: list[tuple[float, str]]) -> None:
        """Add ``(unix time, message)`` log lines to a (WeData) service, as if its replicas had written them: volume
        for paging tests and benchmarks, without running anything."""
        if self._store is None or self._store.service(service_id) is None:
            raise ValueError(f"no running emulator has a service {service_id!r}")
        self._store.add_logs(service_id, pod_name, lines)

    def stats(self) -> dict[str, Any]:
        """``{"connections": n}``: TCP connections accepted so far (this call's own included)."""
        return dict(self._admin("GET", "/_emulator/stats"))

    def request_log(self) -> list[dict[str, Any]]:
        """Every API request answered so far: action, service, members (secrets redacted), result code."""
        return self._admin("GET", "/_emulator/requests")

    def clear_request_log(self) -> None:
        self._admin("DELETE", "/_emulator/requests")

    def reset(self) -> None:
        """Drop all state and stop every replica (``POST /_emulator/reset``)."""
        self._admin("POST", "/_emulator/reset", {})

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create resources straight in the state (``POST /_emulator/seed``; the body is in docs/emulator.md)."""
        return dict(self._admin("POST", "/_emulator/seed", body))

    def advance_clock(self, seconds: float) -> str:
        """Move the clock scheduled scaling jobs read forward (``POST /_emulator/clock``); the time it shows now."""
        return str(self._admin("POST", "/_emulator/clock", {"advance": seconds})["now"])

    def set_metric(self, service_id: str, name: str, value: float) -> None:
        """Drive an autoscaling utilisation metric of a version (``POST /_emulator/metrics``)."""
        self._admin("POST", "/_emulator/metrics", {"service_id": service_id, "name": name, "value": value})

    def set_faults(self, faults: Faults | dict[str, Any]) -> None:
        self._admin("POST", "/_emulator/faults", faults.to_dict() if isinstance(faults, Faults) else faults)
