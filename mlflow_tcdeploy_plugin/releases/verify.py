"""Verification before traffic: the deployed service, called with the model's own input example, must answer what
the model itself predicts on the same input (computed here with ``mlflow.pyfunc``, as MLflow's scoring server
would), within a numeric tolerance."""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from ..errors import invalid
from ..log import get_logger

logger = get_logger(__name__)

MAX_SHOWN = 200
"""Characters of a value quoted in a mismatch."""
SKINNY = (
    "install full MLflow (or numpy and pandas with the model's requirements) where you deploy from, or deploy with "
    "verify=off"
)
"""What to do where verification cannot load the model: mlflow-skinny alone has neither numpy nor pandas."""
EVIDENCE = ("example.json", "expected.json", "baseline.json")
"""What a release keeps of its verification (under ``evidence/verify/``): the payload, the model's own answer, and
what the endpoint answered before the release."""


def evidence_digest(texts: list[str]) -> str:
    """One digest over the verification evidence, in ``EVIDENCE`` order (recorded, so a replaced file is found)."""
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


@dataclass(frozen=True)
class Example:
    """What verification sends and expects."""

    payload: str
    """The scoring payload (``{"dataframe_split": …}``, ``{"inputs": …}``…), as sent to ``/invocations``."""
    expected: Any
    """The model's own answer to it, as the scoring server writes it: ``{"predictions": …}``."""
    source: str
    """Where the payload came from: the model's serving input example, or the ``verify_input`` file."""


def read_input(path: str) -> str:
    """A ``verify_input`` file: a JSON scoring payload."""
    file = Path(path).expanduser()
    try:
        text = file.read_text()
        json.loads(text)
    except (OSError, ValueError) as exc:
        raise invalid(
            f"verify_input {str(file)!r} cannot be read as JSON ({type(exc).__name__}): give a scoring payload "
            'such as {"dataframe_split": {"columns": [...], "data": [[...]]}}.'
        ) from exc
    return text


def payload_for(model_path: str, verify_input: str | None) -> tuple[str, str] | None:
    """What verification sends: ``verify_input``'s payload, else the model's logged serving input example; with
    where it came from. None when there is neither."""
    from mlflow.models.utils import load_serving_example

    if verify_input is not None:
        return read_input(verify_input), f"verify_input {verify_input}"
    try:
        return load_serving_example(model_path), "the model's serving input example"
    except (MlflowException, OSError):
        return None


def example_for(model_path: str, payload: str, source: str) -> Example:
    """The model's own answer to ``payload``, parsed and written as MLflow's scoring server does."""
    from mlflow.models import validate_serving_input
    from mlflow.pyfunc.scoring_server import predictions_to_json

    try:
        with warnings.catch_warnings():
            # Deprecated from MLflow 3.13 for mlflow.models.predict, which builds a whole environment: here the
            # model is loaded in this one, whose requirements the gate has judged.
            warnings.simplefilter("ignore", FutureWarning)
            raw = validate_serving_input(model_path, payload)
    except Exception as exc:  # whatever the model's own code raises
        raise invalid(
            f"The model cannot predict here on {source} ({type(exc).__name__}: {getattr(exc, 'message', exc)}), so "
            "its answer cannot be verified: install its requirements here, or deploy with verify=off."
        ) from exc
    out = io.StringIO()
    predictions_to_json(raw, out)
    return Example(payload, json.loads(out.getvalue()), source)


def caller(backend: Any, group_id: str) -> Callable[[str], Any]:
    """One verification call: the payload to the endpoint's ``/invocations``, the answer as predict reads it."""
    from ..predict import decode_answer

    return lambda payload: decode_answer(group_id, backend.predict(group_id, "/invocations", payload, None))


def difference(expected: Any, got: Any, tolerance: float, where: str = "") -> str | None:
    """Where ``got`` departs from ``expected`` (numbers within ``tolerance``, relative or absolute), or None."""
    if isinstance(expected, bool) or isinstance(got, bool):
        same = expected is got
    elif isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        same = (math.isnan(expected) and math.isnan(got)) or math.isclose(
            expected, got, rel_tol=tolerance, abs_tol=tolerance
        )
    elif isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"{where or 'the answer'}: {len(got)} items, expected {len(expected)}"
        pairs = enumerate(zip(expected, got, strict=True))
        return next((d for i, (e, g) in pairs if (d := difference(e, g, tolerance, f"{where}[{i}]"))), None)
    elif isinstance(expected, dict) and isinstance(got, dict):
        if set(expected) != set(got):
            return f"{where or 'the answer'}: keys {sorted(got)}, expected {sorted(expected)}"
        return next((d for k in expected if (d := difference(expected[k], got[k], tolerance, f"{where}.{k}"))), None)
    else:
        same = expected == got
    if same:
        return None
    return f"{where or 'the answer'}: got {_short(got)}, expected {_short(expected)}"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


@dataclass
class Outcome:
    """What the calls of one check found."""

    calls: int
    answers: list[Any]
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.passed:
            return f"{self.calls}/{self.calls} calls answered as the model does"
        return f"{len(self.problems)} of {self.calls} calls failed; first: {self.problems[0]}"


def check(
    call: Callable[[str], Any],
    example: Example,
    calls: int,
    tolerance: float,
    also_accepted: Sequence[Any] = (),
) -> Outcome:
    """``calls`` calls with the example; each answer must be the model's own (or one of ``also_accepted``: what the
    endpoint answered before the release, while part of its traffic still goes to the versions it had)."""
    outcome = Outcome(calls, [], [])
    for n in range(1, calls + 1):
        try:
            answer = dict(call(example.payload))
        except MlflowException as exc:
            outcome.problems.append(f"call {n}: {exc.message}")
            continue
        outcome.answers.append(answer)
        mismatch = difference(example.expected, answer, tolerance)
        if mismatch and not any(difference(a, answer, tolerance) is None for a in also_accepted):
            outcome.problems.append(f"call {n}: {mismatch}")
    logger.info("tcdeploy: verification: %s", outcome.text())
    return outcome
