"""Verification before traffic, over the emulator: the service called with the model's input example must answer
what the model predicts here; a version made to answer wrongly (or to fail) by the emulator fails the release at
verify; a release that must verify and cannot is refused before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.artifacts import load_text
from mlflow.exceptions import MlflowException

from mlflow_tcdeploy_plugin import TcDeploymentClient
from mlflow_tcdeploy_plugin.releases import history
from tests.helpers import FAST, Cloud, Registry, register_model

CONFIG = {**FAST, "instance_type": "TI.S.MEDIUM.POST", "scan": "off"}
MODEL = "verified_iris"


@pytest.fixture(scope="module")
def with_example(registry: Registry) -> Registry:
    return register_model(registry.tracking_uri, MODEL, example=True)


def _stages(release_id: str) -> dict[str, str]:
    return {s["stage"]: s["status"] for s in history.show(release_id)["stages"]}


@pytest.mark.replicas
def test_a_release_is_verified_against_the_models_own_prediction(cloud: Cloud, with_example: Registry) -> None:
    created = TcDeploymentClient().create_deployment("ver-ok", f"models:/{MODEL}/1", config=CONFIG)
    release = history.show(created["release"])
    assert release["status"] == "succeeded" and _stages(created["release"])["verify"] == "succeeded"
    assert release["verify"] == "5/5 calls answered as the model does"
    assert {"evidence/verify/example.json", "evidence/verify/expected.json", "evidence/verify/answers.json"} <= set(
        release["artifacts"]
    )
    expected = json.loads(load_text(f"runs:/{created['release']}/evidence/verify/expected.json"))
    assert expected == {"predictions": with_example.expected}
    calls = [r for r in cloud.requests() if r["action"] == "ModelServiceInterfaceCallTest"]
    assert len(calls) == 5


@pytest.mark.replicas
@pytest.mark.parametrize(("answers", "mention"), [("wrong", "expected 0"), ("error", "HTTP 500")])
def test_a_version_that_answers_wrongly_fails_the_release_at_verify(
    cloud: Cloud, with_example: Registry, answers: str, mention: str
) -> None:
    name = f"ver-{answers}"
    cloud.emulator.set_faults({"answers": {f"{name}/1": answers}})
    try:
        with pytest.raises(MlflowException) as exc:
            TcDeploymentClient().create_deployment(name, f"models:/{MODEL}/1", config=CONFIG)
    finally:
        cloud.emulator.set_faults({})
    assert exc.value.error_code == "INVALID_STATE" and "does not answer as the model does" in exc.value.message
    assert mention in exc.value.message
    failed = history.list_releases("tcdeploy-releases", MODEL, "failed")[0]
    assert failed["stage"] == "verify" and failed["deployment"] and mention in failed["reason"]
    assert _stages(failed["id"]) == {
        "resolve": "succeeded",
        "gate": "succeeded",
        "deploy": "succeeded",
        "wait": "succeeded",
        "verify": "failed",
    }


@pytest.mark.replicas
def test_a_verify_input_file_replaces_the_example(cloud: Cloud, registry: Registry, tmp_path: Path) -> None:
    payload = tmp_path / "probe.json"
    payload.write_text(json.dumps({"inputs": registry.features}))
    config = {**CONFIG, "verify": "required", "verify_input": str(payload), "verify_calls": "2"}
    created = TcDeploymentClient().create_deployment("ver-input", f"models:/{registry.model_name}/1", config=config)
    release = history.show(created["release"])
    assert release["verify"] == "2/2 calls answered as the model does"
    assert _stages(created["release"])["verify"] == "succeeded"


def test_verify_required_without_an_example_is_refused_before_anything_is_sent(cloud: Cloud) -> None:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient().create_deployment(
            "ver-none", f"models:/{cloud.registry.model_name}/1", config={**CONFIG, "verify": "required"}
        )
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "no input example" in exc.value.message and "verify_input" in exc.value.message
    assert [a for a in cloud.actions() if not a.startswith(("Describe", "Get", "List"))] == []


@pytest.mark.parametrize(
    ("config", "mention"),
    [
        ({"verify": "maybe"}, "verify"),
        ({"verify_calls": "0"}, "verify_calls"),
        ({"verify_tolerance": "-1"}, "verify_tolerance"),
        ({"verify_input": "/nonexistent/probe.json"}, "cannot be read"),
        ({"verify": "required", "wait": "false"}, "drop wait=false"),
    ],
)
def test_bad_verify_options_are_refused_before_anything_is_sent(cloud: Cloud, config: dict, mention: str) -> None:
    cloud.emulator.clear_request_log()
    with pytest.raises(MlflowException) as exc:
        TcDeploymentClient().create_deployment("ver-bad", f"models:/{cloud.registry.model_name}/1", config=config)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE" and mention in exc.value.message
    assert cloud.requests() == []
