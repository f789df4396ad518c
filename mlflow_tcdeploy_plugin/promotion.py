"""Promotion between targets: what a succeeded release verified on one target (say a staging workspace) deployed to
another: the very image digest it ran (no build), or the same model version; verified again there. The gate is not
re-run unless the vulnerability DB is newer than the one behind the release's verdict."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlflow.protos.databricks_pb2 import INVALID_STATE

from . import prepare
from .errors import TcDeployError, invalid
from .log import get_logger
from .pipeline import Prepared, Preparer, Release, gate
from .releases.checks import Checks
from .releases.record import SCAN, SUCCEEDED
from .resolve import resolve

if TYPE_CHECKING:
    from .releases.actions import Recorded

logger = get_logger(__name__)


CREDENTIALS = ("registry_username", "registry_password")


def options_of(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A promotion's options, and the registry login for its image (the image itself is the release's)."""
    from .options import IMAGE_KEYS

    credentials = {k: options.pop(k) for k in CREDENTIALS if k in options}
    given = [k for k in (*IMAGE_KEYS, "image_repository", "image_info", "model_source") if k in options]
    if given:
        raise invalid(f"A promotion deploys the release's own image or model: drop {', '.join(given)}.")
    if len(credentials) == 1:
        raise invalid("registry_username and registry_password go together.")
    return options, credentials


def check_source(source: Recorded, target: str) -> None:
    """Refused before any request: a release that did not succeed or deployed no model, the same target, or an
    image that another target cannot pull. A succeeded build (``tasks``) ran on no target: any target takes its pushed
    image; a scan built nothing to promote."""
    from .settings import Settings

    if source.status != SUCCEEDED or "model_uri" not in source.facts:
        why = "it deployed no model" if source.status == SUCCEEDED else f"it is {source.status}"
        raise TcDeployError(
            f"The release {source.id} cannot be promoted: {why}. Only a succeeded release of a model is.",
            error_code=INVALID_STATE,
        )
    if source.facts.get("kind") == SCAN:
        raise TcDeployError(
            f"{source.id} is a scan: it judged the model and built nothing. Build the version (or release it).",
            error_code=INVALID_STATE,
        )
    if source.facts.get("target") and Settings.resolve(source.facts["target"]) == Settings.resolve(target):
        raise invalid(f"The release {source.id} ran on {target} already: promote it to another target (--target).")
    image = source.facts.get("image", "")
    if image and "@" not in image and source.facts.get("image_source") != "image_info":
        raise invalid(f"The image of release {source.id} was not pushed to a registry: another target cannot pull it.")


def preparer(source: Recorded, credentials: dict[str, str]) -> Preparer:
    """How a promotion takes the model to its deploy: resolved again, its verdict kept (or judged again under a newer
    DB), and the release's image as it is."""

    def prepare_promoted(
        release: Release, model_uri: str, options: dict[str, Any], check: Callable[[], None]
    ) -> Prepared:
        record = release.record
        with record.stage("resolve"):
            check()
            model = resolve(model_uri, release.lookup.backend)
            checks = Checks.plan(model.model_path, options, "rollout" in options)
        record.fix(promoted_from=source.id)
        registered = prepare.label(model)[1]
        record.note(model_name=registered and registered[0], model_version=registered and registered[1])
        scan = _verdict(source, options)
        if scan is None:
            scan = gate(record, model, options)
        else:
            record.skip("gate", f"the verdict of release {source.id} stands (no newer vulnerability DB)")
            record.fix(gate_status=scan["status"], gate_db=scan["db_updated_at"], gate_coverage=scan["coverage_text"])
        image = source.facts.get("image")
        if not image:
            return Prepared(model, scan, checks)
        from .image import ImageRef
        from .image.engine import registry_of

        record.skip("build", f"the image of release {source.id}, as it ran there")
        record.fix(
            image=image, image_digest=source.facts.get("image_digest"), image_source=source.facts.get("image_source")
        )
        login = (credentials.get("registry_username"), credentials.get("registry_password"))
        return Prepared(model, scan, checks, None, ImageRef(image, registry_of(image.split("@")[0]), *login))

    return prepare_promoted


def _verdict(source: Recorded, options: dict[str, Any]) -> dict[str, Any] | None:
    """The source's passed verdict when the DB behind it is still the newest here; None: judge again."""
    facts = source.facts
    if facts.get("gate_status") != "passed" or not facts.get("gate_db"):
        return None
    from .scan import trivy
    from .scan.config import gate_config

    try:
        config = gate_config(options, os.environ)
        current = trivy.version_info(config.trivy, trivy.find_binary(config.trivy)).db_updated_at
    except Exception as exc:  # no trivy here, or a DB that cannot be read: the gate runs and says so
        logger.info("tcdeploy: the vulnerability DB cannot be read (%s): the gate runs again", exc)
        return None
    if not current or current > facts["gate_db"]:
        return None
    return {
        "status": "passed",
        "db_updated_at": facts["gate_db"],
        "coverage_text": facts.get("gate_coverage", ""),
        "reused_from": source.id,
    }


def link(source_id: str, release_id: str | None, target: str) -> None:
    """The source release names the release that promoted it (``tcdeploy.promoted_to.<ID>`` = target)."""
    if not release_id:
        return
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        MlflowClient().set_tag(source_id, f"tcdeploy.promoted_to.{release_id}", target)
    except MlflowException as exc:
        logger.warning(
            "tcdeploy: WARNING: release %s could not be linked to %s: %s", source_id, release_id, exc.message
        )
