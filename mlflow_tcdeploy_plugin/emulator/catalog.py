"""TCLake's ListModelVersions, backed by an MLflow model registry.

A registered model named ``catalog.schema.model`` is listed as TCLake model ``model`` in schema ``schema`` of
catalog ``catalog``. Each version carries the ``tclake.mlflow.*`` properties that point back to MLflow.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from .errors import ApiError, invalid_value, not_found

DEFAULT_PAGE = 100
MAX_PAGE = 1000


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_token(token: str, member: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise invalid_value(member, "is not a token this API returned.")


def _page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise invalid_value("MaxResults", f"must be a number from 1 to {MAX_PAGE}, as a string.")
    return int(raw)


def _version_item(mv: Any, catalog: str, schema: str, model: str) -> dict[str, Any]:
    source = mv.source or ""
    # A version registered from a logged model has the source models:/m-<id>; the registry may not fill model_id.
    logged_model = source.removeprefix("models:/") if re.match(r"^models:/m-[0-9a-f]+$", source) else ""
    properties = {
        "tclake.mlflow.model_id": mv.model_id or logged_model,
        "tclake.mlflow.artifact_path": mv.source or "",
        "tclake.mlflow.run_id": mv.run_id or "",
    }
    return {
        "Version": str(mv.version),
        "Uri": f"models:/{mv.name}/{mv.version}",
        "Comment": mv.description or "",
        "Properties": [{"Key": k, "Value": v} for k, v in properties.items()],
        "Aliases": list(mv.aliases or []),
        "Audit": {"CreatedTime": int(mv.creation_timestamp or 0), "UpdatedTime": int(mv.last_updated_timestamp or 0)},
        "CatalogName": catalog,
        "SchemaName": schema,
        "ModelName": model,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted((mv.tags or {}).items())],
        "AssetGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{mv.name}/{mv.version}")),
    }


def list_model_versions(tracking_uri: str | None, registry_uri: str | None, params: dict[str, Any]) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    catalog, schema, model = params["CatalogName"], params["SchemaName"], params["ModelName"]
    name = f"{catalog}.{schema}.{model}"
    size = _page_size(params.get("MaxResults"))
    offset = decode_token(params["PageToken"], "PageToken") if params.get("PageToken") else 0
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
    try:
        client.get_registered_model(name)
        escaped = name.replace("'", "\\'")
        versions = list(client.search_model_versions(f"name = '{escaped}'"))
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise not_found("model", name) from exc
        raise ApiError("InternalError", f"The model registry could not be read: {exc.message}") from exc
    versions.sort(key=lambda mv: int(mv.version), reverse=True)
    # Search results leave aliases out: read the page's versions in full.
    page = [client.get_model_version(name, mv.version) for mv in versions[offset : offset + size]]
    more = offset + size < len(versions)
    return {
        "Items": [_version_item(mv, catalog, schema, model) for mv in page],
        "TotalCount": str(len(versions)),
        "NextPageToken": _encode_token(offset + size) if more else "",
    }
