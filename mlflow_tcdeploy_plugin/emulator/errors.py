"""The error the emulator answers with: a Tencent Cloud API 3.0 error code and message."""

from __future__ import annotations


class ApiError(Exception):
    """An error envelope: ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError("ResourceNotFound", f"The {kind} {ident!r} does not exist.")


def invalid_value(member: str, message: str) -> ApiError:
    return ApiError("InvalidParameterValue", f"{member}: {message}")
