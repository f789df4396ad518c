"""Model URI → what a service needs to know of the model: its ID, name, version and path, catalog and schema.

- ``models:/Catalog.Schema.Model/Version``, ``…@alias`` and ``…/latest``: the TCLake catalog (ListModelVersions).
- ``models:/name/version``, ``models:/name@alias``, ``models:/name/latest``: the user's MLflow model registry.
- ``models:/m-<id>`` (a logged model), ``runs:/<run>/<path>``, ``mlflow-artifacts:/…``: passed as the model path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST

_NAME = r"[^/@\s]+"
_MODELS_RE = re.compile(rf"^models:/(?P<name>{_NAME})(?:/(?P<version>[^/@\s]+)|@(?P<alias>[^/@\s]+))$")
_LOGGED_MODEL_RE = re.compile(r"^models:/m-[0-9a-f]{6,}$")
_RUNS_RE = re.compile(r"^runs:/[0-9a-zA-Z]+/\S+$")
FORMS = (
    "models:/Catalog.Schema.Model/<version>, models:/Catalog.Schema.Model@<alias>, models:/<name>/<version>, "
    "models:/<name>@<alias>, models:/<name>/latest, models:/m-<id>, runs:/<run_id>/<path>, mlflow-artifacts:/<path>"
)


@dataclass(frozen=True)
class CatalogVersion:
    """One version of a TCLake model, as the catalog lists it."""

    version: Any
    """As listed (a number, written as text)."""
    aliases: tuple[str, ...]
    uri: str
    properties: dict[str, Any]
    """As the catalog gives them (a value may be null)."""


class VersionLister(Protocol):
    def iter_model_versions(self, catalog: str, schema: str, model: str) -> Iterable[CatalogVersion]: ...


@dataclass(frozen=True)
class ResolvedModel:
    model_uri: str
    """What the user asked for."""
    model_path: str
    """Where the MLflow model is: what the service loads, and what the gate and the image builder read."""
    model_id: str = ""
    name: str = ""
    version: str = ""
    catalog: str | None = None
    schema: str | None = None
    registry_name: str | None = None
    """The MLflow registry name and version, when the model lives in the user's registry."""
    registry_version: str | None = None
    run_id: str | None = None
    """The MLflow run that logged it, where known."""


def _invalid(uri: str, why: str) -> MlflowException:
    return MlflowException(
        f"The model URI {uri!r} is not valid: {why}. Supported forms: {FORMS}.", error_code=INVALID_PARAMETER_VALUE
    )


def _missing(message: str) -> MlflowException:
    return MlflowException(message, error_code=RESOURCE_DOES_NOT_EXIST)


def check_syntax(uri: str) -> None:
    """Reject a malformed URI before anything is looked up."""
    if not isinstance(uri, str) or not uri or uri != uri.strip() or not uri.isprintable():
        raise _invalid(str(uri), "it is empty or has whitespace or control characters")
    if uri.startswith("models:/"):
        if _LOGGED_MODEL_RE.match(uri):
            return
        match = _MODELS_RE.match(uri)
        if not match:
            raise _invalid(uri, "expected models:/<name>/<version> or models:/<name>@<alias>")
        version = match["version"]
        if version is not None and version != "latest" and not (version.isascii() and version.isdigit()):
            raise _invalid(uri, f"the version {version!r} is not a number or 'latest'")
        if match["name"].count(".") not in (0, 2) or any(not p for p in match["name"].split(".")):
            raise _invalid(uri, "a catalog model is named Catalog.Schema.Model (three non-empty parts)")
        return
    if uri.startswith("runs:/"):
        if not _RUNS_RE.match(uri):
            raise _invalid(uri, "expected runs:/<run_id>/<artifact path>")
        return
    if uri.startswith("mlflow-artifacts:/") and len(uri) > len("mlflow-artifacts:/"):
        return
    raise _invalid(uri, "the scheme is not supported (a local path cannot be read by the cloud service)")


def named(uri: str | None) -> tuple[str, str]:
    """The registered model a ``models:/`` URI names, and its version, alias or ``latest`` (empty for others)."""
    match = _MODELS_RE.match(uri or "")
    return (match["name"], match["version"] or match["alias"]) if match else ("", "")


def is_catalog(uri: str) -> bool:
    """A ``models:/Catalog.Schema.Model…`` URI (resolved through the TCLake catalog)."""
    match = _MODELS_RE.match(uri)
    return match is not None and match["name"].count(".") == 2


def resolve(uri: str, api: VersionLister) -> ResolvedModel:
    check_syntax(uri)
    match = _MODELS_RE.match(uri)
    if match is None:
        model_id = uri.removeprefix("models:/") if _LOGGED_MODEL_RE.match(uri) else ""
        return ResolvedModel(uri, uri, model_id)
    name, version, alias = match["name"], match["version"], match["alias"]
    if name.count(".") == 2:
        return _from_catalog(uri, api, name, version, alias)
    return _from_registry(uri, name, version, alias)


def _from_catalog(uri: str, api: VersionLister, name: str, version: str | None, alias: str | None) -> ResolvedModel:
    catalog, schema, model = name.split(".")
    try:
        items = list(api.iter_model_versions(catalog, schema, model))
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise _missing(f"The catalog model {name} does not exist (ListModelVersions: {exc.message}).") from exc
        raise
    if not items:
        raise _missing(f"The catalog model {name} has no versions.")
    chosen = _choose(name, items, version, alias)
    path = chosen.properties.get("tclake.mlflow.artifact_path") or chosen.uri
    if not path:
        raise _missing(
            f"Version {chosen.version} of {name} has no tclake.mlflow.artifact_path property: "
            "the catalog does not say where its MLflow model is."
        )
    model_id = chosen.properties.get("tclake.mlflow.model_id", "")
    run_id = chosen.properties.get("tclake.mlflow.run_id") or None
    return ResolvedModel(uri, path, model_id, model, str(chosen.version), catalog, schema, run_id=run_id)


def _choose(name: str, items: list[CatalogVersion], version: str | None, alias: str | None) -> CatalogVersion:
    """The version an alias, a number or ``latest`` names."""
    if alias is not None:
        chosen = next((i for i in items if alias in i.aliases), None)
        if chosen is None:
            known = sorted({a for i in items for a in i.aliases})
            raise _missing(
                f"The catalog model {name} has no alias {alias!r}; its aliases: {', '.join(known) or '(none)'}."
            )
        return chosen
    if version == "latest":
        return max(items, key=lambda i: int(i.version or 0))
    chosen = next((i for i in items if str(i.version) == version), None)
    if chosen is None:
        known = sorted((str(i.version) for i in items), key=int)
        raise _missing(f"The catalog model {name} has no version {version}; its versions: {', '.join(known)}.")
    return chosen


def _from_registry(uri: str, name: str, version: str | None, alias: str | None) -> ResolvedModel:
    from mlflow import MlflowClient

    client = MlflowClient()
    try:
        if alias is not None:
            mv = client.get_model_version_by_alias(name, alias)
        elif version == "latest":
            versions = client.search_model_versions(f"name = '{name}'")
            if not versions:
                raise _missing(f"The registered model {name!r} has no versions.")
            mv = max(versions, key=lambda v: int(v.version))
        else:
            mv = client.get_model_version(name, str(version))
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        known = ", ".join(sorted((str(v.version) for v in _versions(client, name)), key=int)) or "(none)"
        raise _missing(
            f"{uri} was not found in the MLflow registry ({exc.message}). Versions of {name!r}: {known}."
        ) from exc
    model_id = getattr(mv, "model_id", None) or ""
    source = str(mv.source or "")
    if not model_id and _LOGGED_MODEL_RE.match(source):
        model_id = source.removeprefix("models:/")
    version = str(mv.version)
    return ResolvedModel(
        uri,
        source,
        str(model_id),
        name,
        version,
        registry_name=name,
        registry_version=version,
        run_id=mv.run_id or None,
    )


def _versions(client: Any, name: str) -> list[Any]:
    try:
        return list(client.search_model_versions(f"name = '{name}'"))
    except MlflowException:
        return []
