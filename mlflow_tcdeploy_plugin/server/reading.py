"""What the pages show, read from the MLflow registry, the release records and the targets' APIs. Every value is
plain data; the templates escape it (model names and descriptions are user input)."""

from __future__ import annotations

import json
from typing import Any

from ..log import get_logger
from ..options import BY_KEY
from ..releases import history
from ..releases.record import BUILD, IMAGE_TAG, RELEASE, SCAN

logger = get_logger(__name__)

EXPERIMENT = str(BY_KEY["release_experiment"].default)
MAX_MODELS = 200
DEPLOYMENT_TAG = "tcdeploy.deployment."


def models() -> list[dict[str, Any]]:
    """Registered models, newest versions first, each with its gate verdict, live deployments and latest release."""
    from mlflow import MlflowClient

    client = MlflowClient()
    latest = _latest_releases()
    shown = []
    for model in client.search_registered_models(max_results=MAX_MODELS):
        query = _name_filter(model.name)
        versions = client.search_model_versions(query) if query else []
        rows = [_version_row(model.name, v, latest) for v in versions]
        rows.sort(key=lambda r: -int(r["version"]))
        shown.append({"name": model.name, "description": model.description or "", "versions": rows})
    return shown


def _name_filter(name: str) -> str:
    """A search filter for one model name (quoted with whichever quote it does not hold; empty if it holds both)."""
    quote = "'" if "'" not in name else '"' if '"' not in name else ""
    return f"name = {quote}{name}{quote}" if quote else ""


def _latest_releases() -> dict[tuple[str, str, str], dict[str, Any]]:
    """The newest record of each kind (release, scan, build) of each (model, version)."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for release in history.list_releases(EXPERIMENT, limit=1000):
        found.setdefault((release["model_name"], release["model_version"], release["kind"]), release)
    return found


def _version_row(name: str, version: Any, latest: dict[tuple[str, str, str], dict[str, Any]]) -> dict[str, Any]:
    tags, number = version.tags or {}, str(version.version)
    return {
        "version": number,
        "uri": f"models:/{name}/{number}",
        "verdict": tags.get("tcdeploy.scan.status", ""),
        "coverage": tags.get("tcdeploy.scan.coverage", ""),
        "db": tags.get("tcdeploy.scan.db_updated_at", ""),
        "counts": _counts(tags.get("tcdeploy.scan.counts", "")),
        "deployments": sorted(k.removeprefix(DEPLOYMENT_TAG) for k in tags if k.startswith(DEPLOYMENT_TAG)),
        "image": tags.get(IMAGE_TAG, ""),
        "release": latest.get((name, number, RELEASE)),
        "scan": latest.get((name, number, SCAN)),
        "build": latest.get((name, number, BUILD)),
    }


def _counts(text: str) -> str:
    try:
        counts = json.loads(text) if text else {}
    except ValueError:
        return ""
    return ", ".join(f"{n} {severity.lower()}" for severity, n in counts.items() if n)


def release(release_id: str) -> dict[str, Any]:
    """One release: its timeline, facts, artifacts, and the gate's findings when its report is in the evidence."""
    shown = history.show(release_id)
    shown["findings"] = _findings(release_id, shown["artifacts"])
    return shown


def _findings(release_id: str, artifacts: list[str]) -> list[dict[str, Any]]:
    from mlflow.artifacts import load_text
    from mlflow.exceptions import MlflowException

    reports = [p for p in artifacts if p.startswith("evidence/gate/") and p.endswith(".json")]
    for path in (p for p in reports if not p.endswith(".cdx.json")):
        try:
            document = json.loads(load_text(f"runs:/{release_id}/{path}"))
        except (MlflowException, OSError, ValueError):
            continue
        if isinstance(document, dict) and isinstance(document.get("findings"), list):
            return [f for f in document["findings"] if isinstance(f, dict)]
    return []


def deployments() -> list[dict[str, Any]]:
    """Per target a release named, its deployments: status, replicas, weights, and the newest release of each."""
    from .. import TcDeploymentClient

    targets = sorted({r["target"] for r in history.list_releases(EXPERIMENT, limit=1000) if r["target"]})
    shown = []
    for target in targets:
        try:
            rows = TcDeploymentClient(target).list_deployments()
        except Exception as exc:  # a target the server cannot reach is shown as such, not as a failed page
            logger.info("tcdeploy: %s cannot be listed: %s", target, exc)
            shown.append({"target": target, "error": getattr(exc, "message", str(exc)), "deployments": []})
            continue
        for row in rows:
            row["release"] = history.latest_for(row["name"], EXPERIMENT)
        shown.append({"target": target, "error": "", "deployments": rows})
    return shown
