"""Rollout and verification inputs: the pure pieces (weights at a step, durations, answer comparison) and every bad
rollout refused with a clear error before any request leaves the machine (the emulator's request log)."""

from __future__ import annotations

from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.releases.steps import calls_at, hold_seconds, weights_at
from mlflow_tcdeploy_plugin.releases.verify import difference
from tests.helpers import Cloud

TIONE = "tcdeploy:/ap-guangzhou?backend=tione"


@pytest.mark.parametrize(
    ("previous", "step", "expected"),
    [
        ({"a": 100}, 10, {"a": 90, "n": 10}),
        ({"a": 50, "b": 50}, 10, {"a": 45, "b": 45, "n": 10}),
        ({"a": 33, "b": 33, "c": 34}, 50, {"a": 16, "b": 16, "c": 18, "n": 50}),
        ({"a": 100, "b": 0}, 100, {"a": 0, "b": 0, "n": 100}),
        ({"a": 0}, 30, {"a": 70, "n": 30}),
    ],
)
def test_weights_at_a_step_keep_the_other_versions_shares(
    previous: dict[str, int], step: int, expected: dict[str, int]
) -> None:
    assert weights_at(previous, "n", step) == expected
    assert sum(expected.values()) == 100


def test_a_check_at_a_small_weight_makes_enough_calls_to_reach_the_new_version() -> None:
    assert [calls_at(5, step) for step in (100, 50, 10, 1)] == [5, 10, 50, 50]


def test_holds_are_durations_or_manual() -> None:
    assert [hold_seconds(h) for h in ("500ms", "30s", "2m", "1h", "manual")] == [0.5, 30.0, 120.0, 3600.0, None]


@pytest.mark.parametrize(
    ("expected", "got", "found"),
    [
        ({"predictions": [1.0, 2.0]}, {"predictions": [1.0 + 1e-9, 2.0]}, None),
        ({"predictions": [1.0, 2.0]}, {"predictions": [1.0, 2.1]}, "predictions[1]: got 2.1, expected 2.0"),
        ({"predictions": [float("nan")]}, {"predictions": [float("nan")]}, None),
        ({"predictions": [1, 2]}, {"predictions": [1]}, ".predictions: 1 items, expected 2"),
        ({"predictions": [1]}, {"outputs": [1]}, "keys ['outputs'], expected ['predictions']"),
        ({"predictions": ["a"]}, {"predictions": ["b"]}, 'predictions[0]: got "b", expected "a"'),
        ({"predictions": [True]}, {"predictions": [1]}, "predictions[0]: got 1, expected true"),
    ],
)
def test_answers_are_compared_within_the_tolerance(expected: Any, got: Any, found: str | None) -> None:
    difference_found = difference(expected, got, 1e-6)
    assert (difference_found is None) if found is None else (found in str(difference_found)), difference_found


@pytest.mark.parametrize(
    ("target", "config", "endpoint", "mention"),
    [
        (TIONE, {"rollout": '{"steps": [50, 10, 100]}'}, "e", "steps must increase"),
        (TIONE, {"rollout": '{"steps": [0, 100]}'}, "e", "each from 1 to 100"),
        (TIONE, {"rollout": '{"steps": [10, 50]}'}, "e", "the last step must be 100"),
        (TIONE, {"rollout": '{"steps": ["10", 100]}'}, "e", "whole numbers"),
        (TIONE, {"rollout": '{"steps": [100], "hold": "soon"}'}, "e", "not a duration"),
        (TIONE, {"rollout": '{"steps": [100], "hold": "25h"}'}, "e", "longer than a day"),
        (TIONE, {"rollout": '{"steps": [100], "on_failure": "drop"}'}, "e", "on_failure must be stop or delete"),
        (TIONE, {"rollout": '{"steps": [100], "pace": 1}'}, "e", "unknown member(s) pace"),
        (TIONE, {"rollout": "[10, 100]"}, "e", "must be a JSON object"),
        (TIONE, {"rollout": '{"steps": [100]}'}, None, "give the endpoint it joins"),
        (TIONE, {"rollout": '{"steps": [100]}', "wait": "false"}, "e", "drop wait=False"),
        (TIONE, {"rollout": '{"steps": [100]}', "verify": "off"}, "e", "drop verify=off"),
        (TIONE, {"rollout": '{"steps": [100], "hold": "manual"}', "record": "off"}, "e", "drop record=off"),
        ("tcdeploy", {"rollout": '{"steps": [100]}'}, "e", "not available on the wedata backend"),
    ],
)
def test_a_bad_rollout_is_refused_before_anything_is_sent(
    cloud: Cloud, target: str, config: dict[str, Any], endpoint: str | None, mention: str
) -> None:
    cloud.emulator.clear_request_log()
    config = {**config, "image_repository": "127.0.0.1:5000/tcdeploy-tests/roll"} if target == TIONE else config
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient(target).create_deployment("roll-bad", "models:/iris/1", config=config, endpoint=endpoint)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and mention in exc.value.message, exc.value.message
    assert cloud.requests() == []
