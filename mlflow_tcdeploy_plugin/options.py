"""The one table of options every method takes in ``config`` (``-C key=value`` on the CLI).

It holds what users see: name, type, default, help and the methods that take each option. It drives coercion of CLI
strings, validation (nested objects included), ``target_help()`` and docs/options.md (``reference``). Values come out
snake_case; what each backend sends for them is that backend's own member table (``backends/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .autoscaling import check_options as check_scaling
from .autoscaling import parse_autoscaling, parse_schedules
from .errors import invalid
from .schema import (
    SCALARS,
    ListOf,
    Member,
    Struct,
    coerce_scalar,
    normalize,
    parse_json,
    secrets_in,
)

CREATE, UPDATE, PREDICT, ENDPOINT, LOCAL, BUILD = "create", "update", "predict", "endpoint", "run_local", "build"
DEPLOY = (CREATE, UPDATE)
PREPARE = (CREATE, UPDATE, LOCAL, BUILD)
"""The methods that take a model through the gate and (when asked) into an image."""

_REPOSITORY_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PLATFORM_RE = re.compile(r"^[a-z0-9]+/[a-z0-9]+(?:/[a-z0-9]+)?$")

LOG_CONFIG = Struct("log_config", (Member("logset_id", "str", True), Member("topic_id", "str", True)))
SCHEDULED_ACTION = Struct("scheduled_action", (Member("schedule_stop", "bool"), Member("schedule_stop_time", "str")))
SERVICE_LIMIT = Struct(
    "service_limit",
    (
        Member("enable_instance_rps_limit", "bool", True),
        Member("instance_rps_limit", "int", True),
        Member("enable_instance_req_limit", "bool", True),
        Member("instance_req_limit", "int", True),
    ),
)
RESOURCES = Struct(
    "resources",
    (Member("cpu", "int", True), Member("memory", "int", True), Member("gpu", "int"), Member("gpu_type", "str")),
)
IMAGE_SECRET = Struct(
    "image_secret",
    (
        Member("username", "str"),
        Member("password", "str", secret=True),
        Member("key_id", "str"),
        Member("secret_id", "str"),
    ),
)
IMAGE_INFO = Struct(
    "image_info",
    (
        Member("image_type", "str", True, choices=("TCR", "CCR", "PreSet", "CUSTOM")),
        Member("image_url", "str", True),
        Member("registry_region", "str"),
        Member("registry_id", "str"),
        Member("image_secret", IMAGE_SECRET),
    ),
)
NV_PAIR = Struct("env_var", (Member("name", "str", True), Member("value", "str")))
TOKEN_LIMIT = Struct(
    "token_limit", (Member("strategy", "str", True, ("PerMinute", "PerDay")), Member("max", "int", True))
)
NEW_TOKEN = Struct("auth_token", (Member("name", "str", True), Member("description", "str")))
TOKEN_CHANGE = Struct(
    "auth_token", (Member("name", "str", True), Member("description", "str"), Member("limits", ListOf(TOKEN_LIMIT)))
)


def _env_pairs(value: Any) -> list[dict[str, str]]:
    """``{"NAME": "value"}`` or ``[{"name": …, "value": …}]`` → ``[{"name", "value"}]``."""
    value = parse_json("env", value)
    if isinstance(value, dict):
        return [{"name": str(k), "value": "" if v is None else str(v)} for k, v in value.items()]
    if isinstance(value, list):
        return normalize("env", value, ListOf(NV_PAIR))
    raise invalid(f'Option \'env\' must be a JSON object ({{"NAME": "value"}}) or a list of pairs, not {value!r}.')


def _repository(value: Any) -> str:
    text = coerce_scalar("image_repository", "str", value)
    if "@" in text or (":" in text.rsplit("/", 1)[-1]):
        raise invalid(f"image_repository {text!r} must not carry a tag or digest: give the tag as image_tag.")
    if not _REPOSITORY_RE.match(text):
        raise invalid(
            f"image_repository {text!r} is not a repository name: lower-case path parts, optionally after a registry "
            "host, e.g. ccr.ccs.tencentyun.com/ns/iris or 127.0.0.1:5000/iris."
        )
    return text


def _tag(value: Any) -> str:
    text = coerce_scalar("image_tag", "str", value)
    if not _TAG_RE.match(text):
        raise invalid(f"image_tag {text!r} is not a tag: up to 128 letters, digits, '_', '.' or '-'.")
    return text


def index_url(key: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = coerce_scalar(key, "str", value)
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
            raise invalid(f"{key} {text!r} is not an http(s) URL such as https://mirrors.tencent.com/pypi/simple.")
        if parts.username or parts.password:
            raise invalid(
                f"{key} must not hold credentials: they would be written into the image. Use an index that needs "
                "none from the build network, or a pip.conf in base_image."
            )
        return text

    return parse


def _ca_bundle(value: Any) -> str:
    path = Path(coerce_scalar("ca_bundle", "str", value)).expanduser()
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise invalid(f"ca_bundle {str(path)!r} cannot be read ({type(exc).__name__}): give a PEM file.") from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise invalid(f"ca_bundle {str(path)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----).")
    return str(path.resolve())


def _allow_unscanned(value: Any) -> dict[str, Any]:
    from .scan.policy import parse_allow_unscanned  # the scan package loads only when the option is given

    try:
        return parse_allow_unscanned(parse_json("scan_allow_unscanned", value))
    except ValueError as exc:
        raise invalid(f"Option 'scan_allow_unscanned': {exc}.") from exc


def _rego_file(value: Any) -> str:
    path = Path(coerce_scalar("scan_policy", "str", value)).expanduser()
    if path.suffix != ".rego" or not path.is_file():
        raise invalid(f"scan_policy {str(path)!r} is not a .rego file that exists: give the path of your policy.")
    return str(path.resolve())


def _platform(value: Any) -> str:
    text = coerce_scalar("platform", "str", value)
    if not _PLATFORM_RE.match(text):
        raise invalid(f"platform {text!r} is not os/arch[/variant], such as linux/amd64 or linux/arm64.")
    return text


def _traffic(value: Any) -> dict[str, int]:
    """``{"<version or ServiceId>": weight}``: integer weights from 0 to 100 that add up to 100."""
    value = parse_json("traffic", value)
    if not isinstance(value, dict) or not value:
        raise invalid(f'Option \'traffic\' must be a JSON object such as {{"1": 90, "2": 10}}, not {value!r}.')
    weights: dict[str, int] = {}
    for key, weight in value.items():
        name = str(key).strip()
        if not name or not name.isprintable():
            raise invalid(f"traffic: {key!a} is not a version or a ServiceId.")
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise invalid(f"traffic: the weight of {name!r} must be a whole number from 0 to 100, not {weight!r}.")
        if not 0 <= weight <= 100:
            raise invalid(f"traffic: the weight of {name!r} must be from 0 to 100, not {weight}.")
        weights[name] = weight
    if sum(weights.values()) != 100:
        raise invalid(f"traffic: the weights must add up to 100, not {sum(weights.values())} ({weights}).")
    return weights


def _rollout(value: Any) -> dict[str, Any]:
    from .releases.steps import parse_rollout  # loads only when the option is given

    return parse_rollout(parse_json("rollout", value))


def _relative_url(value: Any) -> str:
    """Checked as given, never stripped: a path with whitespace or control characters is refused (predict's guard)."""
    from .predict import validate_relative_url

    return validate_relative_url(value)


def _verify_input(value: Any) -> str:
    from .releases.verify import read_input

    path = coerce_scalar("verify_input", "str", value)
    read_input(path)
    return str(Path(path).expanduser().resolve())


def _new_token(value: Any) -> dict[str, Any]:
    """A token name alone, or ``{"name", "description"}``."""
    if isinstance(value, str) and value.strip().startswith("{"):
        value = parse_json("create_auth_token", value)
    return normalize("create_auth_token", {"name": value} if isinstance(value, str) else value, NEW_TOKEN)


@dataclass(frozen=True)
class Option:
    """One option as users see it; what a backend sends for it is the backend's own table (``backends/``)."""

    key: str
    type: str | Struct | ListOf
    """``str``, ``int``, ``float``, ``bool``, a ``Struct`` (JSON text from the CLI), ``advisories``, or ``custom``
    (``parse_with`` reads it)."""
    doc: str
    default: Any = None
    scopes: tuple[str, ...] = DEPLOY
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    parse_with: Callable[[Any], Any] | None = None
    secret: bool = False
    """Its value is a credential: never logged, never shown."""


OPTIONS: tuple[Option, ...] = (
    Option(
        "instance_type",
        "str",
        "Instance spec, e.g. TI.S.MEDIUM.POST; checked against the live spec list "
        "(`list_instance_types()`). Default: the smallest available CPU spec (postpaid).",
    ),
    Option(
        "replicas",
        "int",
        "Number of replicas (1-100). With service_action=SCALE, the new count (default: the current one).",
        1,
        bounds=(1, 100),
    ),
    Option(
        "charge_type",
        "str",
        "Billing mode. PREPAID runs in a prepaid resource group: give resource_group_id and resources.",
        "POSTPAID_BY_HOUR",
        choices=("POSTPAID_BY_HOUR", "PREPAID"),
    ),
    Option("resource_group_id", "str", "Prepaid resource group the service runs in."),
    Option(
        "resources",
        RESOURCES,
        "What each replica takes from the resource group: cpu in 1/1000 cores, memory in MB, gpu in 1/100 cards.",
    ),
    Option(
        "scale_mode",
        "str",
        "Scaling mode: MANUAL (replicas) or AUTO (autoscaling or scale_schedules, which imply it).",
        "MANUAL",
        choices=("MANUAL", "AUTO"),
    ),
    Option(
        "autoscaling",
        "custom",
        "Replicas that follow the load (tione): "
        '{"min_replicas": 1, "max_replicas": 3, "metrics": {"service-qps": 5}}; metrics: cpu-util, gpu-util, '
        "memory-util (10-100 %), service-qps (1-5000 per replica), concurrency-util (1-100000); optional "
        "scale_up_window and scale_down_window (seconds, 0-3600). Not with replicas.",
        parse_with=parse_autoscaling,
    ),
    Option(
        "scale_schedules",
        "custom",
        "Replica counts on a schedule (tione): "
        '[{"schedule": "0 8 * * 1-5", "target_replicas": 3, "name": "workdays", "exclude_dates": ["2026-12-25"]}]; '
        "five-field cron (numbers, *, a-b, lists, /steps), up to 3 exclude_dates; with autoscaling, a job may set "
        "min_replicas and max_replicas instead of target_replicas.",
        parse_with=parse_schedules,
    ),
    Option(
        "service_description",
        "str",
        "Description of the service group (create) or version (update).",
    ),
    Option(
        "model_source",
        "str",
        "Where the service's code comes from: the MLflow model, or a container image (image_info).",
        "MODEL",
        choices=("MODEL", "IMAGE"),
    ),
    Option(
        "image_info",
        IMAGE_INFO,
        "A container image to run (implies model_source=IMAGE); it should serve MLflow's scoring protocol on "
        "service_port.",
    ),
    Option(
        "service_port",
        "int",
        "Port the container listens on (1-65535; images only).",
        bounds=(1, 65535),
    ),
    Option("command", "str", "Start command of the container."),
    Option(
        "env",
        "custom",
        'Environment variables: {"NAME": "value"}, or [{"name": "NAME", "value": "value"}].',
        parse_with=_env_pairs,
    ),
    Option("log_enable", "bool", "Ship logs to CLS (needs log_config)."),
    Option("log_config", LOG_CONFIG, "CLS target."),
    Option(
        "authorization_enable",
        "bool",
        "Require an auth token on calls to the endpoint (update_endpoint: turn it on or off).",
        scopes=(*DEPLOY, ENDPOINT),
    ),
    Option(
        "scheduled_action",
        SCHEDULED_ACTION,
        "Scheduled stop, e.g. schedule_stop_time 2026-12-01T20:00:00+08:00.",
    ),
    Option("service_limit", SERVICE_LIMIT, "Rate limits per instance (0: unlimited)."),
    Option(
        "status",
        "str",
        "Status sent with a create (the API's example: NEW) or an update (1.0.3 scripts send RUNNING).",
        "NEW",
    ),
    Option(
        "service_action",
        "str",
        "START or STOP on create; STOP, RESUME or SCALE on update (with an action the service ignores other "
        "changes, so they are refused).",
        choices=("START", "STOP", "RESUME", "SCALE"),
    ),
    Option(
        "inference_table_push_enable",
        "bool",
        "Push requests and answers to an inference table.",
    ),
    Option(
        "catalog_path",
        "str",
        "Inference table: catalog (DataLakeCatalog).",
    ),
    Option("schema_path", "str", "Inference table: schema (database)."),
    Option(
        "payload_path",
        "str",
        "Inference table: table prefix (<prefix>_payload).",
    ),
    Option(
        "inference_table_cos_bucket",
        "str",
        "Inference table: the COS bucket requests and answers are pushed to.",
        scopes=(UPDATE,),
    ),
    Option(
        "cos_region",
        "str",
        "Inference table: the COS bucket's region.",
        scopes=(UPDATE,),
    ),
    Option(
        "catalog_name",
        "str",
        "Catalog of the registered model, for status sync. Default: from a models:/Catalog.Schema.Model URI.",
    ),
    Option(
        "schema_name",
        "str",
        "Schema of the registered model, for status sync. Default: from a models:/Catalog.Schema.Model URI.",
    ),
    Option(
        "scan",
        "str",
        "Dependency gate: auto (scan when Trivy is installed, warn loudly when not), required "
        "(no verdict blocks the deployment) or off.",
        "auto",
        choices=("auto", "required", "off"),
        scopes=PREPARE,
    ),
    Option(
        "scan_fail_on",
        "str",
        "Least severity of a finding that blocks the deployment; NONE: report only.",
        "CRITICAL",
        choices=("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL", "NONE"),
        scopes=PREPARE,
    ),
    Option("scan_ignore_unfixed", "bool", "Findings without a fixed version do not block.", False, scopes=PREPARE),
    Option(
        "scan_ignore",
        "advisories",
        'Advisory IDs that do not block: CVE-1,CVE-2, a JSON list, {"CVE-1": "reason"} or {"CVE-1": {"reason": '
        '"…", "expires": "2027-01-31"}} (from that date it blocks again); a .trivyignore in the model adds to them '
        "(exp:YYYY-MM-DD honoured).",
        scopes=PREPARE,
    ),
    Option(
        "scan_allow_unscanned",
        "custom",
        "Requirements that may go out unscanned under scan=required (conda packages, URLs, local files): "
        '{"<requirement or package name>": {"reason": "…", "expires": "YYYY-MM-DD"}}; from that date they block again.',
        scopes=PREPARE,
        parse_with=_allow_unscanned,
    ),
    Option(
        "scan_allow_builds",
        "bool",
        "Let the gate's resolver build source distributions (packages without a wheel for the model's Python and "
        "platform) to read their dependencies. Off by default: a build runs the package's code on this machine.",
        False,
        scopes=PREPARE,
    ),
    Option(
        "scan_os_fail_on",
        "str",
        "Least severity of a fixed advisory in the image's OS packages (the base image's distribution) that blocks; "
        "advisories the distribution has not fixed are reported, never blocking; NONE: report only.",
        "CRITICAL",
        choices=("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL", "NONE"),
        scopes=PREPARE,
    ),
    Option(
        "scan_policy",
        "custom",
        "A .rego file (OPA's Rego) evaluated over the gate's report: each message of its `deny` rule refuses the "
        "model, besides the built-in rules. Needs `pip install 'mlflow-tcdeploy-plugin[rego]'`.",
        scopes=PREPARE,
        parse_with=_rego_file,
    ),
    Option(
        "scan_timeout", "float", "Seconds Trivy, or the resolver, may run.", 300.0, bounds=(1, 3600), scopes=PREPARE
    ),
    Option(
        "scan_max_db_age",
        "float",
        "Days: with an older vulnerability DB, scan=required gives no verdict (auto warns). Trivy's DB is rebuilt "
        "every 6 hours.",
        7.0,
        bounds=(0.01, 3650),
        scopes=PREPARE,
    ),
    Option(
        "scan_cache_dir",
        "str",
        "Trivy's cache (vulnerability DB) directory. Default: $TCDEPLOY_TRIVY_CACHE_DIR or Trivy's own.",
        scopes=PREPARE,
    ),
    Option(
        "scan_offline",
        "bool",
        "Never download Trivy's DB (--skip-db-update --offline-scan). Default: $TCDEPLOY_TRIVY_OFFLINE.",
        False,
        scopes=PREPARE,
    ),
    Option(
        "scan_report_dir",
        "str",
        "Where full JSON reports are written. Default: $TCDEPLOY_SCAN_REPORT_DIR or ~/.cache/mlflow-tcdeploy/reports.",
        scopes=PREPARE,
    ),
    Option(
        "image_repository",
        "custom",
        "Build the model into an image and deploy that (model_source=IMAGE): e.g. ccr.ccs.tencentyun.com/ns/iris "
        "or 127.0.0.1:5000/iris. run_local: default tcdeploy-local/<model>.",
        scopes=PREPARE,
        parse_with=_repository,
    ),
    Option(
        "image_tag",
        "custom",
        "Tag of the model image. Default: its model key (model-<digest>), so the registry is its cache.",
        scopes=PREPARE,
        parse_with=_tag,
    ),
    Option(
        "image_profile",
        "str",
        "What the environment image serves with. lean: mlflow-skinny at the model's MLflow version, numpy and pandas, "
        "uvicorn on port 8080 without nginx, a non-root user; mlflow: MLflow's own serving image (full MLflow, "
        "nginx); auto: lean unless the model's requirements ask for MLflow with extras, pin an MLflow older than "
        "3.11 or have lines lean cannot rewrite (URLs, local files, pip options).",
        "auto",
        scopes=PREPARE,
        choices=("auto", "lean", "mlflow"),
    ),
    Option(
        "base_image",
        "str",
        "Base of the environment image. Default: python:<the model's Python>-slim. lean: any Debian or Ubuntu image "
        "with that Python and pip (a CUDA runtime with Python added, say), checked before the build; mlflow: a "
        "python:<version> image.",
        scopes=PREPARE,
    ),
    Option(
        "pip_index_url",
        "custom",
        "Package index the gate resolves from and the image build installs from (pip --index-url), e.g. a mirror. "
        "Default: $TCDEPLOY_PIP_INDEX_URL, else PyPI.",
        scopes=PREPARE,
        parse_with=index_url("pip_index_url"),
    ),
    Option(
        "pip_extra_index_url",
        "custom",
        "An extra package index for the gate and the image build (pip --extra-index-url).",
        scopes=PREPARE,
        parse_with=index_url("pip_extra_index_url"),
    ),
    Option(
        "ca_bundle",
        "custom",
        "A PEM file of CA certificates the gate's resolver and the image build must trust (networks that intercept "
        "TLS).",
        scopes=PREPARE,
        parse_with=_ca_bundle,
    ),
    Option(
        "push",
        "bool",
        "Push the images. Default: yes when image_repository names a registry host.",
        scopes=PREPARE,
    ),
    Option("registry_username", "str", "Registry user for pull and push. Default: your docker login.", scopes=PREPARE),
    Option(
        "registry_password",
        "str",
        "Registry password or token (sent as ImageSecret so the service can pull). Default: your docker login.",
        scopes=PREPARE,
        secret=True,
    ),
    Option(
        "platform",
        "custom",
        "Platform the images are built for, and the gate resolves for (linux/amd64 or linux/arm64).",
        "linux/amd64",
        scopes=PREPARE,
        parse_with=_platform,
    ),
    Option(
        "scan_image",
        "bool",
        "Scan the built image with `trivy image` under the same policy as the dependency gate.",
        False,
        scopes=PREPARE,
    ),
    Option(
        "port",
        "int",
        "Local port run_local publishes the model on (127.0.0.1 only).",
        5000,
        scopes=(LOCAL,),
        bounds=(1, 65535),
    ),
    Option(
        "record",
        "str",
        "Record the release (its stages, verdict, image and evidence) as a run in your MLflow tracking store: auto "
        "(warn and go on when the store cannot be written), required (such a store stops the release before "
        "anything is changed) or off.",
        "auto",
        choices=("auto", "required", "off"),
    ),
    Option(
        "release_experiment",
        "str",
        "The MLflow experiment releases are recorded in (`tcdeploy releases` reads it).",
        "tcdeploy-releases",
    ),
    Option(
        "verify",
        "str",
        "Before the release is done (and before a rollout moves traffic), call the service with the model's input "
        "example and compare its answers with the model's own prediction, computed here: auto (when the model has "
        "an example or verify_input is given), required (no example refuses the release before deploying) or off.",
        "auto",
        choices=("auto", "required", "off"),
    ),
    Option(
        "verify_input",
        "custom",
        "A JSON scoring payload file to verify with, instead of the model's logged input example.",
        parse_with=_verify_input,
    ),
    Option(
        "verify_calls",
        "int",
        "Calls a verification (and each rollout check) makes; every one must answer as the model does.",
        5,
        bounds=(1, 100),
    ),
    Option(
        "verify_tolerance",
        "float",
        "Relative (and absolute) tolerance when numbers are compared.",
        1e-6,
        bounds=(0, 1),
    ),
    Option(
        "rollout",
        "custom",
        'TI-ONE: add the new version to an existing endpoint in steps, e.g. {"steps": [10, 50, 100], "hold": '
        '"60s"}: at each step its traffic weight is set, held (a duration, or "manual": wait for `tcdeploy rollout '
        "promote`), then checked (state and verification calls); a failed check restores the previous weights and "
        'stops the new version ("on_failure": "stop", or "delete").',
        scopes=(CREATE,),
        parse_with=_rollout,
    ),
    Option(
        "wait",
        "bool",
        "Wait until the service is RUNNING (or Stopped), or a traffic split is applied, with progress lines.",
        True,
        scopes=(*DEPLOY, ENDPOINT),
    ),
    Option(
        "timeout",
        "float",
        "Seconds to wait before giving up (the service keeps going).",
        900.0,
        bounds=(1, 86400),
        scopes=(*DEPLOY, ENDPOINT),
    ),
    Option(
        "poll_interval",
        "float",
        "Seconds between two status checks while waiting.",
        2.0,
        bounds=(0.05, 300),
        scopes=(*DEPLOY, ENDPOINT),
    ),
    Option(
        "relative_url",
        "str",
        "Path on the service that predict calls (a plain path; see the SSRF rules).",
        "/invocations",
        scopes=(PREDICT,),
        parse_with=_relative_url,
    ),
    Option(
        "auth_token",
        "str",
        "Auth token value for an endpoint with authorization on.",
        scopes=(PREDICT,),
        secret=True,
    ),
    Option(
        "description",
        "str",
        "New description of the endpoint (service group).",
        scopes=(ENDPOINT,),
    ),
    Option(
        "create_auth_token",
        NEW_TOKEN,
        "Add a named auth token to the endpoint: a name, or {name, description}.",
        scopes=(ENDPOINT,),
        parse_with=_new_token,
    ),
    Option(
        "update_auth_token",
        TOKEN_CHANGE,
        "Change the named token's description or limits (strategy PerMinute|PerDay, max).",
        scopes=(ENDPOINT,),
    ),
    Option(
        "delete_auth_token",
        "str",
        "Delete the auth token with this name.",
        scopes=(ENDPOINT,),
    ),
    Option(
        "traffic",
        "custom",
        'Split calls between the endpoint\'s versions: {"<version or ServiceId>": weight, …}, integer weights '
        "summing to 100 (versions not named get 0). Waits until applied.",
        scopes=(ENDPOINT,),
        parse_with=_traffic,
    ),
    Option(
        "reveal_tokens",
        "bool",
        "Show auth token values in full in the result (by default only their last 4 characters).",
        False,
        scopes=(ENDPOINT,),
    ),
)
BY_KEY = {o.key: o for o in OPTIONS}


def _coerce(option: Option, value: Any) -> Any:
    key, kind = option.key, option.type
    if option.parse_with is not None:
        return option.parse_with(value)
    hide = option.secret or (isinstance(kind, (Struct, ListOf)) and bool(secrets_in(kind)))
    if isinstance(kind, (Struct, ListOf)):
        return normalize(key, parse_json(key, value, hide), kind, hide=hide)
    if kind in SCALARS:
        return coerce_scalar(key, kind, value, option.choices, option.bounds, hide)
    if kind == "advisories":
        if isinstance(value, str):
            text = value.strip()
            value = parse_json(key, text) if text[:1] in "[{" else [v for v in text.split(",") if v]
        try:
            from .scan.policy import parse_ignore  # the scan package loads only when advisories are given

            return parse_ignore(value)
        except ValueError as exc:
            raise invalid(f"Option {key!r}: {exc}.") from exc
    raise invalid(f"Option {key!r} has an unknown type {kind!r}.")


def parse(
    config: Mapping[str, Any] | None, scope: str, refusal: Callable[[str], Exception | None] | None = None
) -> dict[str, Any]:
    """Coerce and check ``config`` for a method of ``scope``; return only the keys given (defaults: ``value``).
    ``refusal`` names the options the chosen backend cannot honour (its error, else None)."""
    if config is not None and not isinstance(config, Mapping):
        raise invalid(f"config must be a dict of options, not {type(config).__name__}.")
    parsed: dict[str, Any] = {}
    for key, raw in (config or {}).items():
        option = _known(key, scope)
        refused = refusal(key) if refusal is not None else None
        if refused is not None:
            raise refused
        if raw is not None:
            parsed[key] = _coerce(option, raw)
    return parsed


def _known(key: Any, scope: str) -> Option:
    option = BY_KEY.get(key)
    if option is not None and scope in option.scopes:
        return option
    known = [o.key for o in OPTIONS if scope in o.scopes]
    hint = get_close_matches(str(key), known, n=1)
    maybe = f" Did you mean {hint[0]!r}?" if hint else ""
    if option is not None:
        raise invalid(f"Option {key!r} is for {' or '.join(option.scopes)}, not {scope}.{maybe}")
    raise invalid(
        f"Unknown option {key!r} for {scope}.{maybe} Known: {', '.join(known)} "
        "(`mlflow deployments help -t tcdeploy` explains them)."
    )


def value(options: Mapping[str, Any], key: str) -> Any:
    return options.get(key, BY_KEY[key].default)


IMAGE_KEYS = (
    "image_tag",
    "image_profile",
    "base_image",
    "pip_index_url",
    "pip_extra_index_url",
    "ca_bundle",
    "push",
    "registry_username",
    "registry_password",
    "platform",
    "scan_image",
)


def check(options: Mapping[str, Any], scope: str) -> None:
    """Combinations refused before anything is sent or built."""
    check_scaling(options)
    if scope == CREATE and value(options, "charge_type") == "PREPAID":
        missing = [k for k in ("resource_group_id", "resources") if k not in options]
        if missing:
            raise invalid(
                f"charge_type=PREPAID runs the service in a prepaid resource group: give {' and '.join(missing)} "
                '(-C resource_group_id=trsg-… -C resources=\'{"cpu": 4000, "memory": 8192}\'), or use '
                "charge_type=POSTPAID_BY_HOUR with an instance_type."
            )
    if "image_info" in options and "image_repository" in options:
        raise invalid("Give one image: image_info runs an existing image, image_repository builds one from the model.")
    runs_image = "image_info" in options or "image_repository" in options
    if options.get("model_source") == "MODEL" and runs_image:
        raise invalid(
            "image_info and image_repository run an image, but model_source=MODEL runs the MLflow model: drop one."
        )
    if scope == CREATE and options.get("model_source") == "IMAGE" and not runs_image:
        raise invalid(
            "model_source=IMAGE needs an image: -C image_repository=<registry>/<ns>/<name> builds one from the "
            'model, or -C image_info=\'{"image_type": "CCR", "image_url": "ccr.ccs.tencentyun.com/ns/model:1"}\' '
            "runs an existing one."
        )
    if scope != LOCAL and "image_repository" not in options:
        given = [k for k in IMAGE_KEYS if k in options]
        if given:
            raise invalid(f"{', '.join(given)} go(es) with image_repository, which builds the model into an image.")
    repository = str(options.get("image_repository") or "")
    first, sep, _ = repository.partition("/")
    if options.get("push") and not (sep and ("." in first or ":" in first or first == "localhost")):
        raise invalid(
            f"push=true needs a registry in image_repository (host/namespace/name), not {repository or 'a local name'}."
        )
    if ("registry_password" in options) != ("registry_username" in options):
        raise invalid("registry_username and registry_password go together.")
