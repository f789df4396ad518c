"""``mlflow server --app-name tcdeploy``: MLflow's server with its basic-auth, plus the release pages and their
JSON API (``/tcdeploy/…``). MLflow imports this module in its CLI process to find the entry point: it stays light,
and everything loads when the app is made."""

from __future__ import annotations

from typing import Any


def create_app() -> Any:
    """The app MLflow serves: a FastAPI app under uvicorn (the default), the Flask app under gunicorn."""
    from .app import build

    return build()
