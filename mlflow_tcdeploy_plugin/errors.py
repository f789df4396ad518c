"""The package's error base class, and the refusal of input (before anything is sent)."""

from __future__ import annotations

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE


class TcDeployError(MlflowException):
    """Every error the plugin raises to its users: an ``MlflowException`` whose message says what to do."""


def invalid(message: str) -> TcDeployError:
    """Refused input: ``INVALID_PARAMETER_VALUE``."""
    return TcDeployError(message, error_code=INVALID_PARAMETER_VALUE)
