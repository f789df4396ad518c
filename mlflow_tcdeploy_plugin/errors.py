"""Errors the plugin raises for input it refuses (before anything is sent)."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


def invalid(message: str) -> MlflowException:
    """Refused input: an ``MlflowException`` with ``INVALID_PARAMETER_VALUE`` whose message says what to do."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)
