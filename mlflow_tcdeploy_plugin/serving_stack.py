"""Which serving stack the environment image installs, and why.

- ``lean``: ``mlflow-skinny`` at the model's MLflow version (it carries the scoring server: FastAPI, uvicorn) with the
  libraries the scoring server imports (numpy, pandas), uvicorn on port 8080 without nginx, a non-root user.
- ``mlflow``: MLflow's own serving image (``mlflow models build-docker``): full MLflow, nginx in front, gunicorn's
  extras installed beside it.

The gate resolves the same stack the image installs (``serving_requirements``), so its lock fits the image.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LEAN = "lean"
FULL = "mlflow"
AUTO = "auto"
CHOICES = (AUTO, LEAN, FULL)
FULL_STACK = ("gunicorn[gevent]",)
"""What MLflow's serving image installs next to the model besides MLflow itself (``_install_pyfunc_deps``)."""
LEAN_STACK = ("numpy", "pandas")
"""What the scoring server imports that mlflow-skinny does not bring."""
SKOPS = "skops<1"
"""Full MLflow's own requirement on skops, which loads scikit-learn models saved in its format (MLflow's default):
their requirements do not name it, since full MLflow brought it."""
JAVA_FLAVORS = ("spark", "h2o", "johnsnowlabs", "mleap")
"""Flavors that load through a Java runtime."""
_MLFLOW_RE = re.compile(r"^\s*mlflow(?=\s*(\[|[=<>!~;@]|$))", re.IGNORECASE)
_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
MLFLOW_NAMES = frozenset({"mlflow", "mlflow-skinny"})


@dataclass(frozen=True)
class Profile:
    name: str
    reason: str


def _named_mlflow(requirements: Iterable[str]) -> list[str]:
    return [r for r in requirements if _MLFLOW_RE.match(r)]


def _names(requirements: Iterable[str]) -> set[str]:
    """The normalized project names the requirement lines name (pip's option lines name none)."""
    found = (_NAME_RE.match(r) for r in requirements)
    return {re.sub(r"[-_.]+", "-", m.group(1)).lower() for m in found if m}


def choose(asked: str, flavors: Iterable[str], requirements: Iterable[str]) -> Profile:
    """The profile for a model with these flavors and requirement lines: ``asked`` unless ``auto``; ``auto`` is
    lean unless the model asks for full MLflow at serving time (``mlflow[extras]`` in its requirements)."""
    if asked != AUTO:
        return Profile(asked, f"image_profile={asked} was given")
    with_extras = [r.strip() for r in _named_mlflow(requirements) if "[" in r.split(";")[0]]
    if with_extras:
        return Profile(FULL, f"the model's requirements ask for full MLflow ({with_extras[0]})")
    shown = ", ".join(sorted(flavors)) or "none"
    return Profile(LEAN, f"the model needs MLflow's scoring server only (flavors: {shown})")


def _flavor_needs(mlmodel: Mapping[str, Any]) -> list[str]:
    """What loading the model's flavors needs that full MLflow installs and mlflow-skinny does not."""
    sklearn = (mlmodel.get("flavors") or {}).get("sklearn") or {}
    return [SKOPS] if sklearn.get("serialization_format") == "skops" else []


def serving_requirements(
    requirements: list[str], profile: str, mlflow_version: str, mlmodel: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """The model's requirements as the image installs them, and the serving stack added to them. Lean: a requirement
    on ``mlflow`` becomes one on ``mlflow-skinny`` with the same version and marker, and what the scoring server and
    the flavor's loader import is added; either way MLflow at ``mlflow_version`` when the model names none."""
    names = _names(requirements)
    if profile == FULL:
        return list(requirements), [*([] if "mlflow" in names else [f"mlflow=={mlflow_version}"]), *FULL_STACK]
    named = bool(names & MLFLOW_NAMES)
    lean = [_MLFLOW_RE.sub("mlflow-skinny", r, count=1) for r in requirements]
    added = [p for p in [*LEAN_STACK, *_flavor_needs(mlmodel)] if _names([p]).isdisjoint(names)]
    return lean, [*([] if named else [f"mlflow-skinny=={mlflow_version}"]), *added]


def lean_requirements_file(text: str, mlflow_version: str, mlmodel: Mapping[str, Any]) -> str:
    """requirements.txt as the lean image installs it: ``mlflow`` lines swapped for ``mlflow-skinny``, pip's own
    options and other lines kept, the scoring server's and the flavor's libraries added."""
    lines = text.splitlines()
    rewritten, stack = serving_requirements(lines, LEAN, mlflow_version, mlmodel)
    return "\n".join([*rewritten, *stack]) + "\n"


def flavors_of(mlmodel: Mapping[str, Any]) -> list[str]:
    return sorted((mlmodel.get("flavors") or {}).keys())


def java_flavor(flavors: Iterable[str]) -> str | None:
    return next((f for f in flavors if f in JAVA_FLAVORS), None)
