"""Helpers the tests share (not fixtures): test credentials, the run-wide secrets guard, the CI rule, the test
model, the emulator and SDK-client helpers."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SECRET_ID = "AKIDemulatortests0000000000000000"
SECRET_KEY = "emulator-tests-secret-key-00000000"
STS_TOKEN = "sts-session-token-value-123"
SECRETS = (SECRET_KEY, STS_TOKEN)


class SecretGuard(logging.Handler):
    """Keeps every log record of the whole run, to be searched at the end for the test secrets, including the
    ones that only exist at run time (auth token values the emulator made): ``watch_secret`` adds those."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, str]] = []
        self.secrets: set[str] = set(SECRETS)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record that cannot format has no text to leak
            return
        self.records.append((record.name, text))

    def leaks(self) -> list[str]:
        return [f"{name}: {text[:200]}" for name, text in self.records if any(s in text for s in self.secrets)]


SECRET_GUARD = SecretGuard()
GUARDED_LOGGERS = ("", "mlflow_tcdeploy_plugin", "tencentcloud_sdk_common")


def watch_secret(value: str) -> str:
    """Have the run-wide guard fail the run if ``value`` appears in any log record, before or after this call."""
    SECRET_GUARD.secrets.add(value)
    return value


def under_ci(env: Mapping[str, str] | None = None) -> bool:
    """Any ``CI`` value but empty, ``false`` or ``0`` (``true`` on GitHub and GitLab, ``1`` on others): a test
    that needs Trivy or Docker fails there instead of skipping."""
    value = (os.environ if env is None else env).get("CI", "")
    return value.strip().lower() not in ("", "false", "0")


MODEL_NAME = "default.default.iris_classifier"


@dataclass(frozen=True)
class Registry:
    tracking_uri: str
    model_name: str
    model_path: str
    """The ModelPath of version 1 (``models:/m-…``)."""
    features: list[list[float]]
    expected: list[int]


def register_model(
    tracking_uri: str,
    name: str,
    requirements: list[str] | None = None,
    seed: int = 7,
    shift: int = 0,
    example: bool = False,
) -> Registry:
    """Train a tiny classifier, log it with ``requirements`` (default: its real ones) and register it as ``name``
    (a new version if it exists); ``seed`` changes the training data, so the weights; ``shift`` renames the classes
    (class c is learnt as (c + shift) % 3), so two versions answer differently; ``example`` logs the probe as its
    input example (what releases verify with)."""
    import mlflow
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression

    labels = np.repeat(np.arange(3), 40)
    centers = np.array([[0.0, 0.0], [4.0, 4.0], [0.0, 4.0]])[labels]
    features = centers + np.random.default_rng(seed).normal(scale=0.5, size=(len(labels), 2))
    model = LogisticRegression(max_iter=200).fit(features, (labels + shift) % 3)
    probe = [[0.1, -0.2], [4.2, 3.9], [-0.3, 4.1]]
    mlflow.set_tracking_uri(tracking_uri)
    # Artifacts beside the database, not in ./mlruns of whatever directory the tests run from.
    artifacts = Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
    experiment = mlflow.get_experiment_by_name("tests") or mlflow.get_experiment(
        mlflow.create_experiment("tests", artifact_location=artifacts.as_uri())
    )
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=name,
            pip_requirements=requirements
            or [f"scikit-learn=={sklearn.__version__}", f"mlflow-skinny=={mlflow.__version__}"],
            input_example=np.array(probe) if example else None,
        )
    version = max(mlflow.MlflowClient().search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version))
    assert version.source.startswith("models:/"), version.source
    return Registry(tracking_uri, name, version.source, probe, [int(v) for v in model.predict(probe)])


def start_emulator(data_dir: Path, tracking_uri: str | None = None, **overrides: Any) -> Any:
    from mlflow_tcdeploy_plugin.emulator import Emulator, EmulatorConfig, Timing

    config = EmulatorConfig(
        data_dir=data_dir,
        secret_id=SECRET_ID,
        secret_key=SECRET_KEY,
        mlflow_tracking_uri=tracking_uri,
        timing=overrides.pop("timing", Timing(new_delay=0.0, tick=0.1, metric_window=2.0)),
        **overrides,
    )
    return Emulator(config).start()


def sdk_client(emu: Any, service: str = "wedata", secret_key: str = SECRET_KEY, token: str | None = None) -> Any:
    """The official SDK's generic client, pointed at the emulator over plain HTTP."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    version = {"wedata": "2025-10-10", "tione": "2021-11-11"}[service]
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=emu.endpoint, protocol="http"), language="en-US")
    cred = credential.Credential(SECRET_ID, secret_key, token)
    return CommonClient(service, version, cred, "ap-guangzhou", profile)


def data(client: Any, action: str, params: dict[str, Any]) -> Any:
    """Call a WeData action and return ``Response.Data``."""
    return client.call_json(action, params)["Response"]["Data"]


def wait_for(
    condition: Callable[[], Any], timeout: float = 120.0, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll until ``condition()`` is truthy and return its value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_status(client: Any, service_id: str, wanted: set[str], timeout: float = 120.0) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        service = data(client, "GetMLModelService", {"ServiceId": service_id})
        return service if service["Status"] in wanted else None

    return wait_for(current, timeout, what=f"service {service_id} to reach {sorted(wanted)}")


def create_service(client: Any, name: str, model_path: str, **service: Any) -> dict[str, Any]:
    info = {"InstanceType": "TI.S.MEDIUM.POST", "MlModelInfo": {"ModelPath": model_path}, **service}
    return data(
        client,
        "CreateMLModelServices",
        {"ServiceName": name, "ModelSource": "MODEL", "ServiceAction": "START", "Services": [info]},
    )


@dataclass
class GateEnv:
    runs_file: Path
    report_dir: Path
    env: dict[str, str]
    trivy_cache: Path
    index: Any
    """The local package index the gate resolves from (``TCDEPLOY_PIP_INDEX_URL``)."""

    def trivy_runs(self) -> list[str]:
        return self.runs_file.read_text().splitlines() if self.runs_file.exists() else []


FAST = {"poll_interval": "0.1"}


@dataclass
class Cloud:
    emulator: Any
    registry: Registry
    env: dict[str, str]

    def requests(self) -> list[dict[str, Any]]:
        return self.emulator.request_log()

    def actions(self) -> list[str]:
        return [r["action"] for r in self.requests()]


def serve_cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry, **overrides: Any) -> Iterator[Cloud]:
    emu = start_emulator(tmp_path_factory.mktemp("cloud"), registry.tracking_uri, **overrides)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in emu.env().items():
            mp.setenv(name, value)
        yield Cloud(emu, registry, emu.env())
    emu.stop()
