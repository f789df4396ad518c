"""The bench's world: an MLflow registry with a small scikit-learn model, and an emulator the client's environment
points at (both in a temporary directory)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from mlflow_tcdeploy_plugin.emulator import Emulator, EmulatorConfig, Timing

SECRET_ID, SECRET_KEY = "AKIDbench0000000000000000000000000", "bench-secret-key-0000000000000000"


@dataclass
class Bench:
    root: Path
    emulator: Emulator
    catalog_uri: str
    """The model as WeData resolves it (TCLake name)."""
    registry_uri: str
    """The same kind of model in the MLflow registry (what TI-ONE deployments take)."""
    features: list[list[float]]


def sdk(bench: Bench, service: str) -> Any:
    """The SDK's CommonClient on the emulator, as a user of the SDK alone would call it."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    version = {"wedata": "2025-10-10", "tione": "2021-11-11"}[service]
    profile = ClientProfile(
        httpProfile=HttpProfile(endpoint=bench.emulator.endpoint, protocol="http"), language="en-US"
    )
    return CommonClient(service, version, credential.Credential(SECRET_ID, SECRET_KEY), "ap-guangzhou", profile)


@contextmanager
def bench_world(timing: Timing | None = None) -> Iterator[Bench]:
    from tests.conftest import register_model

    with TemporaryDirectory(prefix="tcdeploy-bench-") as tmp:
        root = Path(tmp)
        tracking = f"sqlite:///{root / 'mlflow.db'}"
        catalog = register_model(tracking, "default.default.bench_iris")
        register_model(tracking, "bench_iris")
        config = EmulatorConfig(
            data_dir=root / "emulator",
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            mlflow_tracking_uri=tracking,
            timing=timing or Timing(new_delay=0.0, tick=0.05),
        )
        saved = dict(os.environ)
        with Emulator(config) as emu:
            os.environ.update({**emu.env(), "MLFLOW_TRACKING_URI": tracking})
            try:
                yield Bench(root, emu, f"models:/{catalog.model_name}/1", "models:/bench_iris/1", catalog.features)
            finally:
                os.environ.clear()
                os.environ.update(saved)
