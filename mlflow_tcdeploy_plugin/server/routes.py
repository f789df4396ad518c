"""The blueprint: three pages (models, a release, deployments), their JSON API and three actions (a release; a
version's scan or build; a rollout moved on or back). basic-auth matches validators by exact path, so every route
is a fixed path (IDs go in the query string)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request, send_from_directory
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED, RESOURCE_DOES_NOT_EXIST

from ..errors import invalid
from . import jobs, reading

HERE = Path(__file__).parent
ASSETS = ("app.js", "style.css")
blueprint = Blueprint("tcdeploy", __name__, url_prefix="/tcdeploy", template_folder=str(HERE / "templates"))

READ_PATHS = (
    "/tcdeploy",
    "/tcdeploy/",
    "/tcdeploy/release",
    "/tcdeploy/deployments",
    "/tcdeploy/api/releases",
    "/tcdeploy/api/release",
    *(f"/tcdeploy/assets/{name}" for name in ASSETS),
)
"""What every signed-in user may GET."""
ACTION_PATHS = ("/tcdeploy/api/releases", "/tcdeploy/api/tasks", "/tcdeploy/api/rollout")
"""What only administrators may POST (checked again in each view)."""


def _user() -> str:
    user = getattr(g, "mlflow_authenticated_user", None)
    return str(getattr(user, "username", user) or "")


def _is_admin() -> bool:
    from mlflow.server import auth

    try:
        return bool(auth.store.get_user(_user()).is_admin)
    except MlflowException:
        return False


def _page(template: str, **values: Any) -> str:
    return render_template(template, user=_user(), admin=_is_admin(), **values)


@blueprint.get("/")
def models_page() -> str:
    return _page("tcdeploy/models.html", models=reading.models())


@blueprint.get("/release")
def release_page() -> str:
    return _page("tcdeploy/release.html", release=reading.release(str(request.args.get("id", ""))))


@blueprint.get("/deployments")
def deployments_page() -> str:
    return _page("tcdeploy/deployments.html", targets=reading.deployments())


@blueprint.get("/assets/<name>")
def asset(name: str) -> Response:
    if name not in ASSETS:
        return Response("not found", 404)
    return send_from_directory(HERE / "assets", name, max_age=300)


@blueprint.get("/api/releases")
def releases_json() -> Response:
    from ..releases import history

    model, status = request.args.get("model") or None, request.args.get("status") or None
    limit = min(max(request.args.get("limit", 100, type=int) or 100, 1), 1000)
    return jsonify(history.list_releases(reading.EXPERIMENT, model, status, limit))


@blueprint.get("/api/release")
def release_json() -> Response:
    return jsonify(reading.release(str(request.args.get("id", ""))))


@blueprint.post("/api/releases")
def start_release() -> tuple[Response, int]:
    """``{"target", "name", "model_uri", "endpoint"?, "options": {key: value}}`` → ``{"release": ID}`` (202)."""
    body = _action_body()
    model_uri = _readable_model(body)
    endpoint = body.get("endpoint") or None
    target, name = _text(body, "target"), _text(body, "name")
    release_id = jobs.start_release(_user(), target, name, model_uri, endpoint, _options(body))
    return jsonify({"release": release_id}), 202


@blueprint.post("/api/tasks")
def start_task() -> tuple[Response, int]:
    """``{"task": "scan" | "build", "model_uri", "options": {key: value}}`` → ``{"release": ID}`` (202)."""
    body = _action_body()
    model_uri = _readable_model(body)
    return jsonify({"release": jobs.start_task(_user(), _text(body, "task"), model_uri, _options(body))}), 202


@blueprint.post("/api/rollout")
def rollout() -> tuple[Response, int]:
    """``{"release": ID, "action": "promote" | "rollback"}`` → ``{"release": ID}`` (202)."""
    body = _action_body()
    action = _text(body, "action")
    if action not in ("promote", "rollback"):
        raise invalid(f"action must be promote or rollback, not {action!r}.")
    release_id = _text(body, "release")
    from ..releases import history

    _check_readable(history.show(release_id)["model_name"])
    return jsonify({"release": jobs.rollout(action, release_id)}), 202


def _action_body() -> dict[str, Any]:
    """An action's JSON body, after the CSRF token and the administrator check (basic-auth checked them too)."""
    current_app.extensions["csrf"].protect()
    if not _is_admin():
        raise MlflowException("Only administrators can start actions.", PERMISSION_DENIED)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object.")
    return body


def _readable_model(body: dict[str, Any]) -> str:
    """The body's model_uri, once the registered model it names is found readable by the user."""
    from ..resolve import named

    model_uri = _text(body, "model_uri")
    _check_readable(named(model_uri)[0])
    return model_uri


def _options(body: dict[str, Any]) -> dict[str, Any]:
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise invalid("options must be an object of option names and values.")
    return options


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{key} is required (a string).")
    return value.strip()


def _check_readable(name: str) -> None:
    """An action on a registered model needs it to exist and the user to be able to read it in MLflow (a URI that
    names no registered model, such as runs:/, has nothing to check here)."""
    from mlflow import MlflowClient
    from mlflow.server import auth

    if not name:
        return
    try:
        MlflowClient().get_registered_model(name)
    except MlflowException as exc:
        raise MlflowException(f"No registered model {name!r}.", RESOURCE_DOES_NOT_EXIST) from exc
    if not auth._resolve_user_permission_for_resource(_user(), "registered_model", name).can_read:
        raise MlflowException(f"You cannot read the model {name!r} in MLflow.", PERMISSION_DENIED)


@blueprint.errorhandler(MlflowException)
def mlflow_error(exc: MlflowException) -> tuple[Response | str, int]:
    """JSON on the API; a page that says what went wrong on the pages."""
    status = exc.get_http_status_code()
    if request.path.startswith("/tcdeploy/api/"):
        return jsonify({"error_code": exc.error_code, "message": exc.message}), status
    return _page("tcdeploy/error.html", error_code=exc.error_code, message=exc.message), status


@blueprint.app_errorhandler(400)
def bad_request(exc: Any) -> tuple[Response, int] | Any:
    """A refused CSRF token answers JSON on our API (MLflow's own routes keep their answers)."""
    if not request.path.startswith("/tcdeploy/"):
        return exc
    return jsonify({"error_code": "BAD_REQUEST", "message": getattr(exc, "description", str(exc))}), 400
