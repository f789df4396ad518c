"""Where the client talks to and as whom: backend, credentials, region, workspace, endpoint, the emulator opt-in.

Precedence: constructor arguments, then the target URI (``tcdeploy:/<region>?workspace_id=…&backend=…``), then
environment variables, then the SDK's credential chain (``TENCENTCLOUD_SECRET_ID``/``_KEY``, the credentials
profile file), then defaults. Nothing below the client reads ``os.environ``.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import UNAUTHENTICATED

from .errors import invalid
from .log import get_logger

if TYPE_CHECKING:
    from .cloud.retry import RetryPolicy

logger = get_logger(__name__)

ENV_SECRET_ID = "KERNEL_WEDATA_CLOUD_SDK_SECRET_ID"
ENV_SECRET_KEY = "KERNEL_WEDATA_CLOUD_SDK_SECRET_KEY"
ENV_TOKEN = "KERNEL_WEDATA_CLOUD_SDK_SECRET_TOKEN"
ENV_WORKSPACE = "WEDATA_WORKSPACE_ID"
ENV_REGION = "KERNEL_WEDATA_REGION"
ENV_ENDPOINT = "TENCENTCLOUD_ENDPOINT"
ENV_EMULATOR = "TCDEPLOY_EMULATOR_URL"
ENV_BACKEND = "TCDEPLOY_BACKEND"
ENV_PROJECT = "TCDEPLOY_TI_PROJECT_ID"
ENV_UINS = ("KERNEL_LOGIN_UIN", "QCLOUD_UIN")
ENV_MAX_ATTEMPTS = "TCDEPLOY_MAX_ATTEMPTS"
ENV_RETRY_TIMEOUT = "TCDEPLOY_RETRY_TIMEOUT"
ENV_RETRY_MODE = "TCDEPLOY_RETRY_MODE"

DEFAULT_REGION = "ap-guangzhou"
DEFAULT_ENDPOINT = "wedata.internal.tencentcloudapi.com"
DEFAULT_ENDPOINTS = {"wedata": DEFAULT_ENDPOINT, "tione": "tione.tencentcloudapi.com"}
BACKENDS = tuple(DEFAULT_ENDPOINTS)
ALLOWED_DOMAINS = ("tencentcloudapi.com", "tencentcloud.com")
TARGET_QUERY_KEYS = (
    "workspace_id",
    "endpoint",
    "region",
    "backend",
    "project_id",
    "max_attempts",
    "retry_timeout",
    "retry_mode",
)

_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_REGION_RE = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+)+$")


def validate_endpoint(endpoint: str) -> str:
    """Accept only a bare ``host[:port]`` under a Tencent Cloud API domain; return it in lower case."""
    shown = ascii(endpoint)
    if not isinstance(endpoint, str) or not endpoint:
        raise invalid(f"The API endpoint {shown} is empty: set {ENV_ENDPOINT} to a host such as {DEFAULT_ENDPOINT}.")
    if not endpoint.isascii() or any(c.isspace() or not c.isprintable() for c in endpoint):
        raise invalid(f"The API endpoint {shown} contains whitespace, control or non-ASCII characters.")
    if any(c in endpoint for c in "/\\@?#%[]"):
        raise invalid(
            f"The API endpoint {shown} must be a bare host name (optionally with :port), without a scheme, path, "
            f"user info or query, for example {DEFAULT_ENDPOINT}."
        )
    host, sep, port = endpoint.lower().partition(":")
    if sep and not (port.isdigit() and 0 < int(port) < 65536):
        raise invalid(f"The API endpoint {shown} has an invalid port.")
    labels = host.split(".")
    if host.endswith(".") or not all(_LABEL_RE.match(label) for label in labels):
        raise invalid(f"The API endpoint {shown} is not a valid host name.")
    if not any(host.endswith("." + domain) for domain in ALLOWED_DOMAINS):
        raise invalid(
            f"The API endpoint {shown} is not under {' or '.join('.' + d for d in ALLOWED_DOMAINS)}: only Tencent "
            f"Cloud API hosts are allowed. For the local emulator set {ENV_EMULATOR} instead."
        )
    return endpoint.lower()


def validate_emulator_url(url: str) -> str:
    """Accept ``http://<loopback>:<port>`` only; return the ``host:port`` endpoint."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if (
        parts.scheme != "http"
        or not loopback
        or port is None
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise invalid(
            f"{ENV_EMULATOR}={url!r} is not a local emulator address: use http://127.0.0.1:<port> (loopback "
            "addresses only), as printed by `tcdeploy emulator`."
        )
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_target_uri(target_uri: str) -> dict[str, str]:
    """``tcdeploy``, ``tcdeploy:/<region>`` and ``?workspace_id=…&endpoint=…&region=…&backend=…&project_id=…``."""
    if target_uri == "tcdeploy":
        return {}
    parts = urlsplit(target_uri)
    if parts.scheme != "tcdeploy" or parts.netloc:
        raise invalid(f"The target {target_uri!r} is not a tcdeploy target: use tcdeploy or tcdeploy:/<region>.")
    found: dict[str, str] = {}
    region = parts.path.strip("/")
    if region:
        found["region"] = region
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in TARGET_QUERY_KEYS:
            hint = get_close_matches(key, TARGET_QUERY_KEYS, n=1)
            maybe = f" Did you mean {hint[0]!r}?" if hint else ""
            raise invalid(
                f"Unknown key {key!r} in the target {target_uri!r}.{maybe} Known keys: {', '.join(TARGET_QUERY_KEYS)}."
            )
        found[key] = value
    return found


@dataclass(frozen=True)
class Settings:
    secret_id: str
    secret_key: str = field(repr=False)
    token: str | None = field(repr=False)
    region: str
    workspace_id: str | None
    endpoint: str
    protocol: str
    """``https`` for the cloud, ``http`` for the local emulator."""
    uin: str | None = None
    backend: str = "wedata"
    """``wedata`` (WeData's model service) or ``tione`` (TI-ONE's online services)."""
    project_id: str | None = None
    """TI-ONE's ``TiProjectId``; none means the default project."""
    retry: tuple[int, float, str] = field(default=(15, 120.0, "standard"), compare=False)
    """Attempts, seconds and mode of the retry policy every call follows (not part of what a target is)."""

    def retry_policy(self) -> RetryPolicy:
        from .cloud.retry import RetryPolicy

        return RetryPolicy(max_attempts=self.retry[0], timeout=self.retry[1], mode=self.retry[2])

    @property
    def emulated(self) -> bool:
        return self.protocol == "http"

    @property
    def scope(self) -> str | None:
        """The workspace every request names: WeData's ``WorkspaceId`` or TI-ONE's ``TiProjectId``."""
        return self.project_id if self.backend == "tione" else self.workspace_id

    @classmethod
    def resolve(
        cls,
        target_uri: str = "tcdeploy",
        overrides: Mapping[str, str | None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        target = parse_target_uri(target_uri)

        def pick(key: str, variable: str, default: str | None = None) -> str | None:
            return given.get(key) or target.get(key) or env.get(variable) or default

        secret_id, secret_key, token = _credentials(given, env)
        backend = (pick("backend", ENV_BACKEND, "wedata") or "wedata").lower()
        _check_backend(backend)
        workspace_id = pick("workspace_id", ENV_WORKSPACE)
        project_id = pick("project_id", ENV_PROJECT) or None
        _check_scope(backend, workspace_id, project_id)
        region = pick("region", ENV_REGION, DEFAULT_REGION) or DEFAULT_REGION
        if not _REGION_RE.match(region):
            raise invalid(f"The region {region!r} is not a Tencent Cloud region name such as {DEFAULT_REGION}.")
        endpoint, protocol = _endpoint(backend, given.get("endpoint") or target.get("endpoint"), env)
        uin = next((env[v] for v in ENV_UINS if env.get(v)), None)
        attempts, seconds = pick("max_attempts", ENV_MAX_ATTEMPTS), pick("retry_timeout", ENV_RETRY_TIMEOUT)
        retry = _retry(attempts, seconds, pick("retry_mode", ENV_RETRY_MODE, "adaptive") or "adaptive")
        scope = (workspace_id or None, endpoint, protocol, uin, backend, project_id)
        return cls(secret_id, secret_key, token, region, *scope, retry)


RETRY_MODES = ("adaptive", "standard")
RETRY_BOUNDS = {"max_attempts": (1, 50), "retry_timeout": (1.0, 3600.0)}


def _retry(attempts: str | None, timeout: str | None, mode: str) -> tuple[int, float, str]:
    """The retry policy: attempts (1-50, default 15) and seconds (1-3600, default 120) per call, and its mode."""
    if mode.lower() not in RETRY_MODES:
        raise invalid(f"retry_mode must be {' or '.join(RETRY_MODES)}, not {mode!r}.")
    found: list[float] = []
    for name, given, default in (("max_attempts", attempts, 15.0), ("retry_timeout", timeout, 120.0)):
        low, high = RETRY_BOUNDS[name]
        try:
            value = float(given) if given else default
        except ValueError:
            value = float("nan")
        whole = name == "max_attempts"
        if not low <= value <= high or (whole and not value.is_integer()):
            kind = "a whole number" if whole else "a number of seconds"
            raise invalid(f"{name} must be {kind} from {low:g} to {high:g}, not {given!r}.")
        found.append(value)
    return int(found[0]), found[1], mode.lower()


def _credentials(given: Mapping[str, str], env: Mapping[str, str]) -> tuple[str, str, str | None]:
    """Secret ID, key and token: the arguments, the environment, then the SDK's credential chain."""
    secret_id, secret_key = (
        given.get("secret_id") or env.get(ENV_SECRET_ID),
        given.get("secret_key") or env.get(ENV_SECRET_KEY),
    )
    token = given.get("token") or env.get(ENV_TOKEN) or None
    if not (secret_id and secret_key):
        secret_id, secret_key, token = _credential_chain(env) or (secret_id, secret_key, token)
    if not secret_id or not secret_key:
        missing = ENV_SECRET_ID if not secret_id else ENV_SECRET_KEY
        raise MlflowException(
            f"No Tencent Cloud credentials: set {ENV_SECRET_ID} and {ENV_SECRET_KEY} ({missing} is missing), or "
            "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, or a ~/.tencentcloud/credentials profile.",
            error_code=UNAUTHENTICATED,
        )
    return secret_id, secret_key, token


def _check_backend(backend: str) -> None:
    """Refuse an unknown backend, naming the closest known one."""
    if backend not in BACKENDS:
        hint = get_close_matches(backend, BACKENDS, n=1)
        maybe = f" Did you mean {hint[0]!r}?" if hint else ""
        raise invalid(
            f"Unknown backend {backend!r}.{maybe} Use wedata (WeData's model service, the default) or tione "
            f"(TI-ONE's online services): ?backend=… in the target URI, or {ENV_BACKEND}."
        )


def _check_scope(backend: str, workspace_id: str | None, project_id: str | None) -> None:
    """WeData needs a workspace; a project is TI-ONE's only."""
    if project_id is not None and (backend != "tione" or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", project_id)):
        raise invalid(
            f"project_id {project_id!r} is TI-ONE's TiProjectId: letters, digits, '_' or '-', with backend=tione."
        )
    if not workspace_id and backend == "wedata":
        raise invalid(
            f"No WeData workspace: set {ENV_WORKSPACE}, or add ?workspace_id=<id> to the target URI "
            "(tcdeploy:/<region>?workspace_id=<id>)."
        )


def _endpoint(backend: str, explicit: str | None, env: Mapping[str, str]) -> tuple[str, str]:
    """The API host and protocol: the local emulator when it is set and no endpoint is given, else the cloud's."""
    emulator_url = env.get(ENV_EMULATOR)
    if emulator_url and not explicit:
        endpoint = validate_emulator_url(emulator_url)
        logger.info("tcdeploy: using the local emulator at %s (%s is set)", endpoint, ENV_EMULATOR)
        return endpoint, "http"
    # TENCENTCLOUD_ENDPOINT names WeData's host (as in 1.0.3); TI-ONE's comes from the target or constructor.
    from_env = env.get(ENV_ENDPOINT) if backend == "wedata" else None
    return validate_endpoint(explicit or from_env or DEFAULT_ENDPOINTS[backend]), "https"


PROFILE_FILES = ("~/.tencentcloud/credentials", "/etc/tencentcloud/credentials")
"""Where the SDK's profile credentials live, first found wins."""


def _credential_chain(env: Mapping[str, str]) -> tuple[str, str, str | None] | None:
    """The SDK's standard sources, without the ones that call a metadata server."""
    if env.get("TENCENTCLOUD_SECRET_ID") and env.get("TENCENTCLOUD_SECRET_KEY"):
        return env["TENCENTCLOUD_SECRET_ID"], env["TENCENTCLOUD_SECRET_KEY"], env.get("TENCENTCLOUD_SESSION_TOKEN")
    return _profile_credentials()


def _bad_profile(path: Path, why: str) -> MlflowException:
    return MlflowException(
        f"The credentials file {path} {why}. It must be an INI file with a [default] section holding secret_id and "
        f"secret_key; fix it, or set {ENV_SECRET_ID} and {ENV_SECRET_KEY} instead.",
        error_code=UNAUTHENTICATED,
    )


def _profile_credentials() -> tuple[str, str, None] | None:
    """The ``[default]`` profile of the SDK's credentials file (read here: the SDK's own reader raises raw
    ``AttributeError`` or ``configparser`` errors on a file it cannot use)."""
    path = next((p for p in (Path(f).expanduser() for f in PROFILE_FILES) if p.is_file()), None)
    if path is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except configparser.Error as exc:
        # The message would quote the offending line, which may hold the key: say where, not what.
        errors = getattr(exc, "errors", None)
        line = getattr(exc, "lineno", None) or (errors[0][0] if errors else None)
        raise _bad_profile(path, f"is not valid INI (line {line})" if line else "is not valid INI") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad_profile(path, f"cannot be read ({type(exc).__name__})") from None
    if not parser.has_section("default"):
        sections = ", ".join(f"[{s}]" for s in parser.sections()) or "none"
        raise _bad_profile(path, f"has no [default] section (it has {sections})")
    secret_id = parser.get("default", "secret_id", fallback="").strip().strip('"')
    secret_key = parser.get("default", "secret_key", fallback="").strip().strip('"')
    if not secret_id or not secret_key:
        missing = " and ".join(k for k, v in (("secret_id", secret_id), ("secret_key", secret_key)) if not v)
        raise _bad_profile(path, f"has no {missing} in its [default] section")
    return secret_id, secret_key, None
