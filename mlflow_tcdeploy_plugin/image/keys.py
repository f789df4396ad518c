"""Content keys of the two images: what each image depends on, digested, so an unchanged input finds its image.

- The **environment key**: the base image reference, the platform, the Python version, the model's environment files
  (requirements, python_env, conda, and the part of MLmodel that installing them reads), the MLflow version, and the
  builder options that change the install (index URLs, the CA bundle's content), the image profile, and the gate's
  lock (the resolved set the image installs) when there is one.
- The **model key**: the environment key and every file of the model, with MLmodel's per-logging fields (when, where
  and under which IDs it was logged) left out, so the same files logged twice make the same image.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENV_FILES = ("requirements.txt", "python_env.yaml", "conda.yaml")
MLMODEL = "MLmodel"
VOLATILE_MLMODEL_FIELDS = ("utc_time_created", "model_uuid", "model_id", "run_id", "artifact_path")
"""MLmodel fields that differ each time the same files are logged."""
CHUNK = 1 << 20
TAG_LENGTH = 24
"""Hex digits of a key in an image tag (96 bits)."""


@dataclass(frozen=True)
class EnvInputs:
    """Everything the environment image is made of."""

    base_image: str
    platform: str
    python_version: str
    files: dict[str, str]
    """Name → text of the environment files, the reduced MLmodel included."""
    mlflow_version: str
    pip_index_url: str = ""
    pip_extra_index_url: str = ""
    ca_bundle_sha256: str = ""
    apt_packages: tuple[str, ...] = ()
    lock: str = ""
    """The gate's resolved set with hashes: when given, the image installs exactly it (no resolution of its own)."""
    profile: str = "mlflow"
    """What the image serves with (``serving_stack``: lean or mlflow)."""
    recipe: int = 3
    """The builder's own steps, counted: a change of them makes new keys, so no image of older steps is reused."""

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()


def env_mlmodel(mlmodel: dict[str, Any]) -> str:
    """The part of MLmodel that installing the environment reads: the pyfunc flavor's env files and Python."""
    pyfunc = (mlmodel.get("flavors") or {}).get("python_function") or {}
    reduced = {"flavors": {"python_function": {k: pyfunc[k] for k in ("env", "python_version") if k in pyfunc}}}
    return yaml.safe_dump(reduced, sort_keys=True)


def model_key(env_key: str, model_dir: Path) -> str:
    """The environment key and every file of the model (path and content), MLmodel's volatile fields left out."""
    digest = hashlib.sha256(f"env:{env_key}\0".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(model_dir).as_posix()
        if relative == MLMODEL:
            logged = yaml.safe_load(path.read_text()) or {}
            stable = {k: v for k, v in logged.items() if k not in VOLATILE_MLMODEL_FIELDS}
            content = yaml.safe_dump(stable, sort_keys=True).encode()
            digest.update(f"{relative}\0{len(content)}\0".encode() + content)
            continue
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()


def env_tag(env_key: str) -> str:
    return f"env-{env_key[:TAG_LENGTH]}"


def model_tag(model_key: str) -> str:
    return f"model-{model_key[:TAG_LENGTH]}"
