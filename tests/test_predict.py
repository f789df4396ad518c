"""Predict's pure parts: relative URLs (SSRF guards) and input encoding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.predict import encode_inputs, validate_relative_url


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(exc.value.error_code)


@pytest.mark.parametrize(
    "url", ["/invocations", "/predict", "/v1/models/m:predict", "/invocations?verbose=1", "/a%20"[:-3] + "b"]
)
def test_relative_urls_allowed(url: str) -> None:
    assert validate_relative_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "invocations",
        "//evil.example/x",
        "http://evil.example/x",
        "/http://evil",
        "/\\evil",
        "\\\\evil/x",
        "/x@evil.example",
        "/../admin",
        "/a/../../etc/passwd",
        "/./x",
        "/%2e%2e/admin",
        "/%2E%2E%2fadmin",
        "/%2f%2fevil",
        "/%252e%252e/admin",
        "/%25252e",
        "/a\r\nHost: evil",
        "/a\x00b",
        "/a b",
        "/a\tb",
        "/%0d%0aX: y",
        "/caf\u00e9",
        "/a//b",
        "javascript:alert(1)",
        "/" + "a" * 3000,
        "/%40evil",
        "/%5cevil",
    ],
)
def test_ssrf_vectors_are_refused(url: str) -> None:
    with pytest.raises(MlflowException) as exc:
        validate_relative_url(url)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(("url", "said"), [(5, "of type int, not a string"), (None, "not a string"), ("", "empty")])
def test_a_relative_url_that_is_no_path_says_what_it_is(url: object, said: str) -> None:
    with pytest.raises(MlflowException) as exc:
        validate_relative_url(url)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and said in exc.value.message


def test_inputs_are_encoded_for_mlflow_scoring() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert json.loads(encode_inputs(frame))["dataframe_split"]["columns"] == ["a", "b"]
    assert json.loads(encode_inputs({"inputs": [[1, 2]]})) == {"inputs": [[1, 2]]}
    assert json.loads(encode_inputs([[1, 2]])) == {"inputs": [[1, 2]]}
    assert json.loads(encode_inputs(np.array([[1, 2]]))) == {"inputs": [[1, 2]]}
    assert json.loads(encode_inputs({"x": [1]})) == {"inputs": {"x": [1]}}
    with pytest.raises(MlflowException):
        encode_inputs(None)


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}},
        {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]},
        {"inputs": [[1, 2], [3, 4]]},
        {"instances": [[1, 2], [3, 4]]},
    ],
)
def test_the_clis_one_column_frame_is_unwrapped(payload: dict, tmp_path) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(payload))
    frame = pd.read_json(path)  # what `mlflow deployments predict --input-path` does
    assert json.loads(encode_inputs(frame)) == payload
