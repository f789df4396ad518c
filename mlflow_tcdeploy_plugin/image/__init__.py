"""Container images of MLflow models: an environment image and a thin model image, cached by content, pushed.

Needs the docker SDK (``pip install 'mlflow-tcdeploy-plugin[docker]'``) and a Docker engine at ``DOCKER_HOST``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..scan.config import index_url
from .builder import SERVING_PORT, Builder, BuiltImage, ImageOptions, ImageRef, Provenance
from .engine import ImageError

__all__ = [
    "SERVING_PORT",
    "Builder",
    "BuiltImage",
    "ImageError",
    "ImageOptions",
    "ImageRef",
    "Provenance",
    "build_root",
    "options",
]

ENV_BUILD_DIR = "TCDEPLOY_BUILD_DIR"


def build_root(env: Mapping[str, str] | None = None) -> Path:
    """Where Dockerfiles and build logs are kept: ``$TCDEPLOY_BUILD_DIR`` or ``~/.cache/mlflow-tcdeploy/builds``."""
    value = (os.environ if env is None else env).get(ENV_BUILD_DIR)
    return Path(value) if value else Path.home() / ".cache" / "mlflow-tcdeploy" / "builds"


def options(parsed: Mapping[str, Any], default_repository: str | None = None) -> ImageOptions:
    """The image options of a parsed config (``image_repository`` and the rest of the option table's image keys)."""
    repository = parsed.get("image_repository") or default_repository
    if not repository:
        raise ValueError("no image repository")
    ca_bundle = parsed.get("ca_bundle")
    return ImageOptions(
        repository=repository,
        tag=parsed.get("image_tag"),
        base_image=parsed.get("base_image"),
        profile=parsed.get("image_profile") or "auto",
        pip_index_url=index_url(parsed, os.environ),
        pip_extra_index_url=parsed.get("pip_extra_index_url") or "",
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
        push=parsed.get("push"),
        username=parsed.get("registry_username"),
        password=parsed.get("registry_password"),
        platform=parsed.get("platform") or "linux/amd64",
    )


def local_repository(model_name: str) -> str:
    """A repository name for images that stay on this engine (``run_local`` without ``image_repository``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-") or "model"
    return f"tcdeploy-local/{slug}"
