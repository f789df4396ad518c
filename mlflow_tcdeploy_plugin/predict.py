"""predict(): the relative URL check (against SSRF tricks), input encoding and answer decoding."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
    TEMPORARILY_UNAVAILABLE,
)

DEFAULT_RELATIVE_URL = "/invocations"
MAX_URL = 2048
SCORING_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_ENCODED_RE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)
_BAD_PERCENT_RE = re.compile(r"%(?![0-9a-f]{2})", re.IGNORECASE)


def _invalid(url: str, why: str) -> MlflowException:
    return MlflowException(
        f"The relative URL {url!a} is refused: {why}. Use a path on the service such as {DEFAULT_RELATIVE_URL}.",
        error_code=INVALID_PARAMETER_VALUE,
    )


def validate_relative_url(url: Any) -> str:
    """Allow only a plain path on the service; refuse anything that could point the gateway elsewhere."""
    if not isinstance(url, str):
        raise _invalid(repr(url), f"it is of type {type(url).__name__}, not a string")
    if not url:
        raise _invalid(url, "it is empty")
    if len(url) > MAX_URL:
        raise _invalid(url[:60] + "…", f"it is longer than {MAX_URL} characters")
    # Check the text as sent and its decoding, so %2e%2e and %2f%2f are caught; refuse double encoding (%252e).
    if _BAD_PERCENT_RE.search(url):
        raise _invalid(url, "it has a '%' that is not percent-encoding (%XX)")
    if "#" in url:
        raise _invalid(url, "it has a fragment ('#'), which is never sent to a server")
    decoded = unquote(url)
    if _ENCODED_RE.search(decoded):
        raise _invalid(url, "it is double percent-encoded")
    for form in (url, decoded):
        _check_plain_path(url, form)
    return url


def _check_plain_path(url: str, form: str) -> None:
    """Refuse ``url`` unless ``form`` (it as sent, or decoded) is a plain path."""
    if any(not c.isprintable() or c.isspace() for c in form) or not form.isascii():
        raise _invalid(url, "it contains whitespace, control or non-ASCII characters")
    if not form.startswith("/") or form.startswith("//"):
        raise _invalid(url, "it must start with a single '/'")
    if _SCHEME_RE.match(form) or "://" in form:
        raise _invalid(url, "it contains a scheme")
    if "\\" in form or "@" in form:
        raise _invalid(url, "it contains a backslash or '@'")
    path = form.split("?", 1)[0].split("#", 1)[0]
    if "//" in path:
        raise _invalid(url, "it contains '//'")
    # "..;" is ".." to servers that strip path parameters (Tomcat, Spring).
    if any(segment.split(";", 1)[0] in (".", "..") for segment in path.split("/")):
        raise _invalid(url, "it contains '.' or '..' path segments")


def _unwrap_cli_frame(frame: Any) -> dict[str, Any] | None:
    """``mlflow deployments predict`` reads the input file with ``pd.read_json``: a file holding a scoring payload
    becomes a frame whose columns are the payload's keys. Rebuild the payload from it."""
    columns = [str(c) for c in frame.columns]
    keys = [c for c in columns if c in SCORING_KEYS]
    if len(keys) != 1 or set(columns) - {keys[0], "params"}:
        return None
    key = keys[0]
    column = frame[key]
    if key == "dataframe_split":
        payload: dict[str, Any] = {key: {str(i): column[i] for i in column.index if _present(column[i])}}
    else:
        payload = {key: [_plain(v) for v in column.tolist()]}
    if "params" in columns:
        params = {str(i): frame["params"][i] for i in frame.index if _present(frame["params"][i])}
        payload["params"] = params
    return payload


def _present(value: Any) -> bool:
    """False for the NaN cells pandas fills in where a key of the payload had no value."""
    import pandas as pd

    return not (pd.api.types.is_scalar(value) and pd.isna(value))


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def encode_inputs(inputs: Any) -> str:
    """The JSON body for MLflow's scoring protocol."""
    from mlflow.utils.proto_json_utils import dump_input_data

    if inputs is None:
        raise MlflowException("predict() needs inputs.", error_code=INVALID_PARAMETER_VALUE)
    kind = type(inputs).__name__
    if kind == "DataFrame":
        payload = _unwrap_cli_frame(inputs)
        if payload is not None:
            return json.dumps(payload, default=_plain)
    if kind in ("DataFrame", "ndarray"):
        from . import fastjson

        fast = fastjson.frame(inputs) if kind == "DataFrame" else fastjson.array(inputs)
        if fast is not None:
            return fast.decode()
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except ValueError as exc:
            raise MlflowException(
                f"predict() got a string that is not JSON: {exc}.", error_code=INVALID_PARAMETER_VALUE
            ) from exc
    try:
        if isinstance(inputs, dict):
            # MLflow's dump_input_data mishandles dicts (it iterates keys as pairs): wrap them here.
            payload = inputs if any(k in inputs for k in SCORING_KEYS) else {"inputs": inputs}
            return json.dumps(payload, default=_plain)
        return dump_input_data(inputs)
    except (TypeError, ValueError) as exc:
        raise MlflowException(
            f"predict() cannot encode inputs of type {type(inputs).__name__} as JSON ({exc}): give a DataFrame, dict, "
            "list, numpy array or a JSON string.",
            error_code=INVALID_PARAMETER_VALUE,
        ) from None


def decode_answer(target: str, upstream: dict[str, Any]) -> Any:
    from mlflow.deployments import PredictionsResponse

    status = int(upstream.get("status") or 0)
    body = upstream.get("body")
    text = body if isinstance(body, str) else json.dumps(body)
    if not 200 <= status < 300:
        code = {
            401: PERMISSION_DENIED,
            403: PERMISSION_DENIED,
            404: RESOURCE_DOES_NOT_EXIST,
            502: TEMPORARILY_UNAVAILABLE,
            503: TEMPORARILY_UNAVAILABLE,
        }.get(status, INVALID_PARAMETER_VALUE if 400 <= status < 500 else INTERNAL_ERROR)
        raise MlflowException(f"The service {target} answered HTTP {status}: {text[:2000]}", error_code=code)
    try:
        return PredictionsResponse.from_json(text)
    except ValueError as exc:
        raise MlflowException(
            f"The service {target} answered HTTP {status} with a body that is not JSON: {text[:2000]}",
            error_code=INTERNAL_ERROR,
        ) from exc
