"""Model URI syntax."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin.resolve import check_syntax


def _code(exc: pytest.ExceptionInfo[MlflowException]) -> str:
    return str(exc.value.error_code)


@pytest.mark.parametrize(
    "uri",
    [
        "models:/c.s.m/1",
        "models:/c.s.m@champion",
        "models:/c.s.m/latest",
        "models:/iris/3",
        "models:/iris@prod",
        "models:/m-0123456789abcdef",
        "runs:/abc123/model",
        "mlflow-artifacts:/1/2/artifacts/model",
    ],
)
def test_valid_model_uris(uri: str) -> None:
    check_syntax(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "models:/",
        "models:/iris",
        "models:/iris/",
        "models:/iris/one",
        "models:/a.b/1",
        "models:/a..c/1",
        "models:/a.b.c.d/1",
        "models:/x/1/2",
        "runs:/",
        "runs:/abc",
        "/tmp/model",
        "file:///tmp/model",
        "s3://b/m",
        " models:/iris/1",
        "models:/ir is/1",
        "models:/iris@",
        "models:/iris/1\n",
    ],
)
def test_malformed_model_uris(uri: str) -> None:
    with pytest.raises(MlflowException) as exc:
        check_syntax(uri)
    assert _code(exc) == "INVALID_PARAMETER_VALUE" and "Supported forms" in exc.value.message
