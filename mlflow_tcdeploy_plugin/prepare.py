"""What happens to a model before it goes anywhere: the dependency gate, then (when asked) its container image.

Shared by create/update, ``run_local`` and ``tcdeploy build``, so all three gate and build the same way.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

from . import options as opt
from .log import get_logger
from .resolve import ResolvedModel
from .scan.config import gate_config

if TYPE_CHECKING:
    from .image import BuiltImage, ImageOptions, Provenance

logger = get_logger(__name__)


class CatalogLister:
    """Builds the cloud backend only when a catalog URI needs ListModelVersions (scan, build and run_local work on
    registry and run URIs without cloud credentials)."""

    def iter_model_versions(self, catalog: str, schema: str, model: str) -> Any:
        from .backends import make_backend
        from .settings import Settings

        return make_backend(Settings.resolve()).iter_model_versions(catalog, schema, model)


def label(model: ResolvedModel) -> tuple[str, tuple[str, str] | None]:
    """How reports name the model, and the registry version its outcome is tagged on (if any)."""
    if model.registry_name:
        return f"{model.registry_name}/{model.registry_version}", (model.registry_name, str(model.registry_version))
    if model.catalog:
        name = f"{model.catalog}.{model.schema}.{model.name}"
        return f"{name}/{model.version}", (name, model.version)
    return model.model_uri, None


def gate(model: ResolvedModel, options: Mapping[str, Any], builds: bool | None = None) -> dict[str, Any]:
    """Run the dependency gate; tag the registry version with the outcome. Raises when the policy refuses.
    ``builds``: the model goes into an image (default: when image_repository is given), whose install is judged."""
    from .scan import gate as scan_gate

    config = gate_config(options, os.environ, "image_repository" in options if builds is None else builds)
    name, tagged = label(model)
    try:
        summary = scan_gate.check(model.model_path, name, config)
    except scan_gate.GateFailed as exc:
        tag_registered(tagged, scan_gate.registry_tags(exc.summary))
        raise
    if summary["status"] in ("passed", "error"):
        tag_registered(tagged, scan_gate.registry_tags(summary))
    return summary


def tag_version(model: ResolvedModel, tags: dict[str, str]) -> None:
    """Tag the model's registry version, where it has one (a failure to tag is logged, never raised)."""
    tag_registered(label(model)[1], tags)


def tag_registered(version: tuple[str, str] | None, tags: dict[str, str]) -> None:
    """Tag a registry version (name, version) (a failure to tag is logged, never raised)."""
    if version is None:
        return
    from mlflow import MlflowClient

    try:
        client = MlflowClient()
        for key, val in tags.items():
            client.set_model_version_tag(version[0], version[1], key, val)
    except MlflowException as exc:
        logger.info("tcdeploy: %s/%s could not be tagged: %s", *version, exc.message)


def _judged_lock(scan: Mapping[str, Any]) -> str:
    """The set the gate judged, for the image to install as it is: only after a pass that left nothing unscanned
    (else the lock lacks what the model needs, and MLflow's own install is used, unjudged, with a warning)."""
    if scan.get("status") != "passed" or not scan.get("lock_path"):
        return ""
    if not scan.get("complete"):
        logger.warning(
            "tcdeploy: WARNING: the image installs the model's requirements itself: part of them could not be "
            "resolved and scanned (%s), so the image is not the set the gate judged.",
            "; ".join([*scan.get("not_scanned", []), *scan.get("allowed_unscanned", {})]),
        )
        return ""
    lock = Path(scan["lock_path"]).read_text()
    if hashlib.sha256(lock.encode()).hexdigest() != scan.get("lock_sha256"):
        raise MlflowException(
            f"The gate's lock {scan['lock_path']} changed after the gate judged it: run the deployment again.",
            error_code=INTERNAL_ERROR,
        )
    return lock


def coverage_text(scan: Mapping[str, Any]) -> str:
    """``scanned/total`` of the gate's summary (empty without a verdict): what labels and release records show."""
    coverage = scan.get("coverage") or {}
    return f"{coverage['scanned']}/{coverage['total']}" if coverage else ""


def _provenance(model: ResolvedModel, scan: Mapping[str, Any], lock: str) -> Provenance:
    """What the image's labels say about the model and its verdict."""
    from .image import Provenance

    return Provenance(
        model_uri=model.model_uri,
        title=model.name or model.model_uri,
        model_id=model.model_id,
        model_version=model.version,
        run_id=model.run_id or "",
        scan_status=str(scan.get("status") or ""),
        scan_db_updated_at=str(scan.get("db_updated_at") or ""),
        scan_coverage=coverage_text(scan),
        lock=lock,
    )


def image(
    model: ResolvedModel,
    options: Mapping[str, Any],
    scan: Mapping[str, Any],
    need_local: bool = False,
    default_repository: str | None = None,
) -> tuple[BuiltImage, ImageOptions]:
    """Build (or find) the model's images. With the gate's verdict, the environment image installs exactly the set
    the gate judged, and is itself judged (``trivy image``: its OS packages, and its Python packages must be that
    set); with ``scan_image``, the model image is scanned too."""
    from . import image as images

    image_options = images.options(options, default_repository)
    lock = _judged_lock(scan)
    if lock:  # the profile whose install the gate judged, so the lock fits the image
        image_options = replace(image_options, profile=scan["image_profile"])
    provenance = _provenance(model, scan, lock)
    scan_it = bool(opt.value(options, "scan_image"))
    builder = images.Builder(image_options, images.build_root())
    built = builder.build(model.model_path, provenance, need_local=need_local or scan_it)
    if lock:
        from .scan import environment

        built.env_scan = environment.check(
            built.env_image,
            built.env_key,
            lock,
            gate_config(options, os.environ),
            lambda: builder.ensure_local(built.env_image),
        )
    if scan_it:
        from .scan import gate as scan_gate

        built.image_scan = scan_gate.check_image(
            built.tagged, f"image {built.tagged}", gate_config(options, os.environ)
        )
    return built, image_options
