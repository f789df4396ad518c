"""The app: our blueprint added to MLflow's Flask app, its routes entered in basic-auth's validator table (reading
for every signed-in user, actions for administrators), then basic-auth made around the whole."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .routes import ACTION_PATHS, READ_PATHS, blueprint


def _signed_in() -> bool:
    """Any authenticated user may read (basic-auth has checked the password before validators run)."""
    return True


def _proxied_artifacts_here() -> None:
    """Inside the server, ``mlflow-artifacts:`` URIs (the default artifact root of ``mlflow server``) are read and
    written in the server's own artifact destination, as its proxy does: releases record their evidence, and models
    are read, from this process without an HTTP round trip to itself."""
    import os

    from mlflow.server import ARTIFACTS_DESTINATION_ENV_VAR
    from mlflow.store.artifact.artifact_repository_registry import (
        _artifact_repository_registry,
        get_artifact_repository,
    )

    destination = os.environ.get(ARTIFACTS_DESTINATION_ENV_VAR)
    if not destination:
        return

    def in_destination(artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None) -> Any:
        path = urlsplit(artifact_uri).path.lstrip("/")
        return get_artifact_repository(f"{destination.rstrip('/')}/{path}")

    _artifact_repository_registry.register("mlflow-artifacts", in_destination)


def build() -> Any:
    from mlflow.server import app as flask_app
    from mlflow.server import auth
    from mlflow.server.handlers import _add_static_prefix

    if blueprint.name not in flask_app.blueprints:
        flask_app.register_blueprint(blueprint)
    _proxied_artifacts_here()
    validators = auth.BEFORE_REQUEST_VALIDATORS
    for path in READ_PATHS:
        validators[(_add_static_prefix(path), "GET")] = _signed_in
    for path in ACTION_PATHS:
        validators[(_add_static_prefix(path), "POST")] = auth.sender_is_admin
    return auth.create_app(flask_app)
