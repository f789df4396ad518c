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
LEAN_FLOOR = "3.11"
"""The oldest MLflow the lean image serves with: the plugin's floor (MLflow 2's scoring server is Flask and
gunicorn, which mlflow-skinny does not bring; 3.10's breaks on Starlette 1.x)."""
LEAN_CONSTRAINTS = "constraints.serving.txt"


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


def _too_old(requirements: Iterable[str]) -> str | None:
    """A requirement that holds MLflow below ``LEAN_FLOOR`` (an exact pin or an upper bound), if any."""
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion, Version

    floor = Version(LEAN_FLOOR)
    for line in _named_mlflow_or_skinny(requirements):
        for spec in Requirement(line).specifier:
            try:
                bound = Version(spec.version.removesuffix(".*"))
            except InvalidVersion:
                continue
            if (spec.operator in ("==", "===", "<=") and bound < floor) or (spec.operator == "<" and bound <= floor):
                return line
    return None


def _named_mlflow_or_skinny(requirements: Iterable[str]) -> list[str]:
    return [r for r in requirements if _names([r]) & MLFLOW_NAMES]


def lean_obstacle(requirements: Iterable[str], unusable: Iterable[str]) -> str | None:
    """Why the lean profile cannot serve a model with these (parsed) requirements, or None. ``unusable``: the lines
    of the model's files the parser could not carry over (URLs, local files, pip options, conda packages), which
    MLflow's own image installs as they are."""
    line = next(iter(unusable), None)
    if line is not None:
        return f"its requirements have a line the lean profile cannot rewrite ({line})"
    old = _too_old(requirements)
    if old is not None:
        return f"it asks for an MLflow older than {LEAN_FLOOR} ({old}), whose scoring server is not the one lean runs"
    return None


def choose(asked: str, flavors: Iterable[str], requirements: Iterable[str], unusable: Iterable[str] = ()) -> Profile:
    """The profile for a model with these flavors and parsed requirements: ``asked`` unless ``auto``; ``auto`` is
    lean unless the model asks for full MLflow (``mlflow[...]``) or the lean profile cannot serve it
    (``lean_obstacle``). Raises ``MlflowException`` when lean is asked for a model it cannot serve."""
    requirements = list(requirements)
    obstacle = lean_obstacle(requirements, unusable)
    if asked == LEAN and obstacle is not None:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        raise MlflowException(
            f"image_profile=lean cannot serve this model: {obstacle}. Give image_profile=mlflow (MLflow's own image).",
            error_code=INVALID_PARAMETER_VALUE,
        )
    if asked != AUTO:
        return Profile(asked, f"image_profile={asked} was given")
    with_extras = [r.strip() for r in _named_mlflow(requirements) if "[" in r.split(";")[0]]
    if with_extras:
        return Profile(FULL, f"the model's requirements ask for MLflow with extras ({with_extras[0]})")
    if obstacle is not None:
        return Profile(FULL, obstacle)
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


def lean_requirements_file(
    requirements: list[str], constraints: list[str], mlflow_version: str, mlmodel: Mapping[str, Any]
) -> tuple[str, str]:
    """The requirements file the lean image installs from the model's parsed requirements (``-r`` files merged,
    comments, hashes and line continuations gone): ``mlflow`` swapped for ``mlflow-skinny``, the scoring server's and
    the flavor's libraries added; and the model's constraints (rewritten alike), "" when it has none."""
    rewritten, stack = serving_requirements(requirements, LEAN, mlflow_version, mlmodel)
    kept, _ = serving_requirements(constraints, LEAN, mlflow_version, {}) if constraints else ([], [])
    lines = [*rewritten, *stack]
    if kept:
        lines = [f"-c {LEAN_CONSTRAINTS}", *lines]
    return "\n".join(lines) + "\n", ("\n".join(kept) + "\n" if kept else "")


def unusable_lines(not_scanned: Iterable[Any]) -> list[str]:
    """The requirement parser's ``NotScanned`` lines of the model's files (not its notes on whole files)."""
    return [f"{n.requirement}: {n.reason}" for n in not_scanned if not n.requirement.startswith("(")]


def flavors_of(mlmodel: Mapping[str, Any]) -> list[str]:
    return sorted((mlmodel.get("flavors") or {}).keys())


def java_flavor(flavors: Iterable[str]) -> str | None:
    return next((f for f in flavors if f in JAVA_FLAVORS), None)
