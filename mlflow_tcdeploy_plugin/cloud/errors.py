"""Tencent Cloud error codes → MLflow error codes, with the action and RequestId kept for support."""

from __future__ import annotations

from mlflow.protos.databricks_pb2 import (
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    REQUEST_LIMIT_EXCEEDED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    RESOURCE_EXHAUSTED,
    TEMPORARILY_UNAVAILABLE,
    UNAUTHENTICATED,
)

from ..errors import TcDeployError

# (code prefix, MLflow code), most specific first: a code matches a prefix when equal or followed by ".".
_CODE_TABLE: tuple[tuple[str, int], ...] = (
    ("ResourceNotFound", RESOURCE_DOES_NOT_EXIST),
    ("InvalidParameter.DuplicateName", RESOURCE_ALREADY_EXISTS),
    ("FailedOperation.DuplicateName", RESOURCE_ALREADY_EXISTS),
    ("InvalidParameterValue", INVALID_PARAMETER_VALUE),
    ("InvalidParameter", INVALID_PARAMETER_VALUE),
    ("MissingParameter", INVALID_PARAMETER_VALUE),
    ("UnknownParameter", INVALID_PARAMETER_VALUE),
    ("FailedOperation.UnknownInstanceType", INVALID_PARAMETER_VALUE),
    ("AuthFailure.UnauthorizedOperation", PERMISSION_DENIED),
    ("UnauthorizedOperation", PERMISSION_DENIED),
    ("AuthFailure", UNAUTHENTICATED),
    ("RequestLimitExceeded", REQUEST_LIMIT_EXCEEDED),
    ("LimitExceeded", RESOURCE_EXHAUSTED),
    ("ResourceInsufficient", RESOURCE_EXHAUSTED),
    ("ResourcesSoldOut", RESOURCE_EXHAUSTED),
    ("ClientNetworkError", TEMPORARILY_UNAVAILABLE),
    ("ServerNetworkError", TEMPORARILY_UNAVAILABLE),
)

_HINTS: dict[int, str] = {
    UNAUTHENTICATED: "Check KERNEL_WEDATA_CLOUD_SDK_SECRET_ID / _SECRET_KEY (and _SECRET_TOKEN for STS "
    "credentials) and that this machine's clock is right.",
    PERMISSION_DENIED: "The credentials lack a CAM permission (for WeData: QcloudWeDataFullAccess).",
    REQUEST_LIMIT_EXCEEDED: "The API rate limit was hit after retries; wait and try again.",
}


def mlflow_code(code: str) -> int:
    for prefix, mapped in _CODE_TABLE:
        if code == prefix or code.startswith(prefix + "."):
            return mapped
    return INTERNAL_ERROR


class CloudError(TcDeployError):
    """A failed cloud API call. ``code`` is Tencent's; ``error_code`` the MLflow one."""

    def __init__(self, action: str, code: str, message: str, request_id: str | None = None) -> None:
        self.action = action
        self.code = code
        self.cloud_message = message
        self.request_id = request_id
        mapped = mlflow_code(code)
        text = f"{action} failed: {code}: {message}"
        if request_id:
            text += f" (RequestId {request_id})"
        if mapped in _HINTS:
            text += f" {_HINTS[mapped]}"
        super().__init__(text, error_code=mapped)

    @property
    def not_found(self) -> bool:
        return self.code == "ResourceNotFound" or self.code.startswith("ResourceNotFound.")

    @property
    def no_such_id(self) -> bool:
        """Not found, or not an ID the API accepts: a name given where an ID may be."""
        return self.not_found or self.code == "InvalidParameterValue"

    @property
    def throttled(self) -> bool:
        return self.code == "RequestLimitExceeded" or self.code.startswith("RequestLimitExceeded.")

    @property
    def network(self) -> bool:
        return self.code in ("ClientNetworkError", "ServerNetworkError")
