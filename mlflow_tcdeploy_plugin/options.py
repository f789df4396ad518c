"""The one table of deployment options (``config`` / ``-C key=value``).

It drives coercion of CLI strings, validation, request building, ``target_help()`` and the README's reference
(``tcdeploy options`` prints that reference).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from .errors import invalid
from .scan.policy import parse_ignore

CREATE, UPDATE = "create", "update"

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")


def _env_pairs(value: Any) -> list[dict[str, str]]:
    if isinstance(value, dict):
        return [{"Name": str(k), "Value": str(v)} for k, v in value.items()]
    return [{"Name": str(p["Name"]), "Value": str(p.get("Value", ""))} for p in value]


@dataclass(frozen=True)
class Option:
    key: str
    type: str
    """``str``, ``int``, ``float``, ``bool``, ``object`` (JSON text from the CLI) or ``advisories``."""
    doc: str
    default: Any = None
    field: str | None = None
    """The API member it fills; ``None`` for options the client itself uses."""
    group: bool = False
    """On create, a member of the request itself rather than of ``Services[0]``."""
    scopes: tuple[str, ...] = (CREATE, UPDATE)
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None
    to_api: Callable[[Any], Any] | None = None
    required_keys: tuple[str, ...] = ()
    """For objects: the keys the API requires in it."""


OPTIONS: tuple[Option, ...] = (
    Option(
        "instance_type",
        "str",
        "Instance spec, e.g. TI.S.MEDIUM.POST; checked against the live spec list "
        "(`list_instance_types()`). Default: the smallest available CPU spec.",
        field="InstanceType",
    ),
    Option(
        "replicas",
        "int",
        "Number of replicas (1-100). With service_action=SCALE, the new count.",
        1,
        field="Replicas",
        bounds=(1, 100),
    ),
    Option(
        "charge_type",
        "str",
        "Billing mode.",
        "POSTPAID_BY_HOUR",
        field="ChargeType",
        choices=("POSTPAID_BY_HOUR", "PREPAID"),
    ),
    Option("scale_mode", "str", "Scaling mode.", "MANUAL", field="ScaleMode", choices=("MANUAL", "AUTO")),
    Option(
        "service_description",
        "str",
        "Description of the service group (create) or version (update).",
        field="ServiceDescription",
        group=True,
    ),
    Option(
        "model_source",
        "str",
        "Where the service's code comes from: the MLflow model or an image.",
        "MODEL",
        field="ModelSource",
        group=True,
        choices=("MODEL", "IMAGE"),
    ),
    Option(
        "service_port",
        "int",
        "Port the container listens on (1-65535; images only).",
        field="ServicePort",
        bounds=(1, 65535),
    ),
    Option("command", "str", "Start command of the container.", field="Command"),
    Option(
        "env", "object", 'Environment variables, as a JSON object: {"NAME": "value"}.', field="Env", to_api=_env_pairs
    ),
    Option("log_enable", "bool", "Ship logs to CLS (needs log_config).", field="LogEnable", group=True),
    Option(
        "log_config",
        "object",
        'CLS target: {"LogsetId": "…", "TopicId": "…"}.',
        field="LogConfig",
        group=True,
        required_keys=("LogsetId", "TopicId"),
    ),
    Option(
        "authorization_enable",
        "bool",
        "Require an auth token on calls to the service.",
        field="AuthorizationEnable",
        group=True,
    ),
    Option(
        "scheduled_action",
        "object",
        'Scheduled stop: {"ScheduleStop": true, "ScheduleStopTime": "2026-12-01T20:00:00+08:00"}.',
        field="ScheduledAction",
    ),
    Option(
        "service_limit",
        "object",
        'Rate limits: {"EnableInstanceRpsLimit": true, "InstanceRpsLimit": 50, '
        '"EnableInstanceReqLimit": false, "InstanceReqLimit": 0} (all four keys).',
        field="ServiceLimit",
        required_keys=("EnableInstanceRpsLimit", "InstanceRpsLimit", "EnableInstanceReqLimit", "InstanceReqLimit"),
    ),
    Option(
        "status",
        "str",
        "Initial status sent with a create (the API's example: NEW).",
        "NEW",
        field="Status",
        group=True,
        scopes=(CREATE,),
    ),
    Option(
        "service_action",
        "str",
        "START or STOP on create; STOP, RESUME or SCALE (with replicas) on update. "
        "With an action, other update options are ignored by the service.",
        field="ServiceAction",
        group=True,
        choices=("START", "STOP", "RESUME", "SCALE"),
    ),
    Option(
        "inference_table_push_enable",
        "bool",
        "Push requests and answers to an inference table.",
        field="InferenceTablePushEnable",
        group=True,
    ),
    Option("catalog_path", "str", "Inference table: catalog (DataLakeCatalog).", field="CatalogPath", group=True),
    Option("schema_path", "str", "Inference table: schema (database).", field="SchemaPath", group=True),
    Option("payload_path", "str", "Inference table: table prefix (<prefix>_payload).", field="PayloadPath", group=True),
    Option(
        "scan",
        "str",
        "Dependency gate: auto (scan when Trivy is installed, warn loudly when not), required "
        "(no verdict blocks the deployment) or off.",
        "auto",
        choices=("auto", "required", "off"),
    ),
    Option(
        "scan_fail_on",
        "str",
        "Least severity of a finding that blocks the deployment; NONE: report only.",
        "CRITICAL",
        choices=("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL", "NONE"),
    ),
    Option("scan_ignore_unfixed", "bool", "Findings without a fixed version do not block.", False),
    Option(
        "scan_ignore",
        "advisories",
        "Advisory IDs that do not block: CVE-1,CVE-2, a JSON list, or "
        '{"CVE-1": "reason"}; a .trivyignore in the model adds to them.',
    ),
    Option("scan_timeout", "float", "Seconds Trivy may run.", 300.0, bounds=(1, 3600)),
    Option(
        "scan_cache_dir",
        "str",
        "Trivy's cache (vulnerability DB) directory. Default: $TCDEPLOY_TRIVY_CACHE_DIR or Trivy's own.",
    ),
    Option(
        "scan_offline",
        "bool",
        "Never download Trivy's DB (--skip-db-update --offline-scan). Default: $TCDEPLOY_TRIVY_OFFLINE.",
        False,
    ),
    Option(
        "scan_report_dir",
        "str",
        "Where full JSON reports are written. Default: $TCDEPLOY_SCAN_REPORT_DIR or ~/.cache/mlflow-tcdeploy/reports.",
    ),
    Option("wait", "bool", "Wait until the service is RUNNING (or Stopped), with progress lines.", True),
    Option("timeout", "float", "Seconds to wait before giving up (the service keeps going).", 900.0, bounds=(1, 86400)),
    Option("poll_interval", "float", "Seconds between two status checks while waiting.", 2.0, bounds=(0.05, 300)),
)
BY_KEY = {o.key: o for o in OPTIONS}


def _coerce(option: Option, value: Any) -> Any:
    key, kind = option.key, option.type
    if kind == "object" and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise invalid(f"Option {key!r} must be JSON ({kind}), not {value!r}: {exc}.") from exc
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        raise invalid(f"Option {key!r} must be true or false, not {value!r}.")
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise invalid(f"Option {key!r} must be a number, not {value!r}.")
        try:
            number = int(value) if kind == "int" else float(value)
        except (TypeError, ValueError) as exc:
            raise invalid(
                f"Option {key!r} must be {'an integer' if kind == 'int' else 'a number'}, not {value!r}."
            ) from exc
        if kind == "int" and isinstance(value, float) and not value.is_integer():
            raise invalid(f"Option {key!r} must be an integer, not {value!r}.")
        if option.bounds and not option.bounds[0] <= number <= option.bounds[1]:
            low, high = option.bounds
            raise invalid(f"Option {key!r} must be from {low:g} to {high:g}, not {number:g}.")
        return number
    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise invalid(f"Option {key!r} must be a non-empty string, not {value!r}.")
        value = value.strip()
        if option.choices:
            chosen = next((c for c in option.choices if c.upper() == value.upper()), None)
            if chosen is None:
                raise invalid(f"Option {key!r} must be one of {', '.join(option.choices)}, not {value!r}.")
            return chosen
        return value
    if kind == "advisories":
        if isinstance(value, str):
            text = value.strip()
            if text[:1] in "[{":
                try:
                    value = json.loads(text)
                except ValueError as exc:
                    raise invalid(f"Option {key!r} must be JSON or comma-separated IDs, not {value!r}: {exc}.") from exc
            else:
                value = [v for v in text.split(",") if v]
        try:
            return parse_ignore(value)
        except ValueError as exc:
            raise invalid(f"Option {key!r}: {exc}.") from exc
    if kind == "object":
        if not isinstance(value, dict):
            raise invalid(f"Option {key!r} must be a JSON object, not {value!r}.")
        missing = [k for k in option.required_keys if k not in value]
        if missing:
            raise invalid(f"Option {key!r} needs the keys {', '.join(missing)}.")
        return value
    raise invalid(f"Option {key!r} has an unknown type {kind!r}.")


def parse(config: Mapping[str, Any] | None, scope: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Coerce and check ``config``; return only the keys given (defaults are applied by the caller's needs).

    ``extra`` names keys another part owns (they pass through unchanged).
    """
    parsed: dict[str, Any] = {}
    for key, value in (config or {}).items():
        if key in extra:
            parsed[key] = value
            continue
        option = BY_KEY.get(key)
        if option is None:
            hint = get_close_matches(key, list(BY_KEY) + list(extra), n=1)
            maybe = f" Did you mean {hint[0]!r}?" if hint else ""
            raise invalid(f"Unknown option {key!r}.{maybe} `mlflow deployments help -t tcdeploy` lists them all.")
        if scope not in option.scopes:
            raise invalid(f"Option {key!r} can only be given on {' or '.join(option.scopes)}.")
        if value is None:
            continue
        parsed[key] = _coerce(option, value)
    return parsed


def value(options: Mapping[str, Any], key: str) -> Any:
    return options.get(key, BY_KEY[key].default)


def api_members(options: Mapping[str, Any], scope: str, group: bool | None = None) -> dict[str, Any]:
    """The API members the given options fill; ``group`` selects request-level or per-version members."""
    members = {}
    for option in OPTIONS:
        if option.field is None or scope not in option.scopes or option.key not in options:
            continue
        if group is not None and option.group != group:
            continue
        raw = options[option.key]
        members[option.field] = option.to_api(raw) if option.to_api else raw
    return members


def reference_markdown() -> str:
    """The option reference, as the README and `target_help()` show it."""
    rows = ["| option | type | default | API member | used on | meaning |", "|---|---|---|---|---|---|"]
    for o in OPTIONS:
        default = "" if o.default is None else json.dumps(o.default)
        kind = " \\| ".join(o.choices) if o.choices else o.type
        member = f"`{o.field}`" if o.field else "(client)"
        rows.append(f"| `{o.key}` | {kind} | {default} | {member} | {', '.join(o.scopes)} | {o.doc} |")
    return "\n".join(rows)


def reference_text() -> str:
    lines = []
    for o in OPTIONS:
        kind = "|".join(o.choices) if o.choices else o.type
        default = "" if o.default is None else f" (default {json.dumps(o.default)})"
        lines.append(f"  {o.key} <{kind}>{default}\n      {o.doc}")
    return "\n".join(lines)
