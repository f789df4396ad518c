"""A replica that keeps crashing: restarts after a back-off that doubles, then the service is given up with the
reason (Abnormal), its replica left ended, instead of new pods forever."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.backends.base import State
from mlflow_tcdeploy_plugin.backends.wedata import state_of
from mlflow_tcdeploy_plugin.emulator import Timing
from tests.helpers import Registry, create_service, data, sdk_client, start_emulator, wait_for, wait_status

pytestmark = pytest.mark.replicas

CRASHING_MODEL = Path(__file__).parents[1] / "fixtures" / "crashing_model.py"


@pytest.fixture(scope="module")
def crashing_model(registry: Registry) -> str:
    """A logged model (models from code) whose replica serves for 3 s, then exits with code 3."""
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(registry.tracking_uri)
    experiment = mlflow.get_experiment_by_name("tests")
    with mlflow.start_run(experiment_id=experiment.experiment_id if experiment else None):
        info = mlflow.pyfunc.log_model(
            name="crashing", python_model=str(CRASHING_MODEL), pip_requirements=[f"mlflow=={mlflow.__version__}"]
        )
    return str(info.model_uri)


def _service(client: Any, service_id: str) -> dict[str, Any]:
    return data(client, "GetMLModelService", {"ServiceId": service_id})


def test_a_replica_that_keeps_crashing_is_given_up(tmp_path: Path, registry: Registry, crashing_model: str) -> None:
    timing = Timing(new_delay=0.0, tick=0.1, restart_backoff=0.5, max_restarts=2)
    emu = start_emulator(tmp_path / "emulator", registry.tracking_uri, timing=timing)
    try:
        client = sdk_client(emu)
        service_id = create_service(client, "crashy", crashing_model)["Services"][0]["ServiceId"]
        wait_status(client, service_id, {"RUNNING"})  # it serves at first
        given_up = wait_for(
            lambda: (
                (s := _service(client, service_id))["Status"] == "Abnormal"
                and "given up" in s["WorkloadStatus"]["Reason"]
                and s
            ),
            timeout=240,
            what="the service to be given up",
        )
        reason = given_up["WorkloadStatus"]["Reason"]
        assert "exited with code 3" in reason and "restarted 2 times; given up" in reason
        assert "crashing on purpose" in reason
        assert state_of(given_up["Status"]) is State.FAILED  # a client waiting on it stops with the reason

        events = data(
            client,
            "ListModelServiceEvents",
            {
                "ServiceId": service_id,
                "Order": "ASC",
                "Limit": 100,
                "Filters": [{"Name": "Type", "Values": ["Warning"]}],
            },
        )["Events"]
        backoffs = [float(m[1]) for e in events if (m := re.match(r"Back-off ([\d.]+)s", e["Message"]))]
        assert backoffs == [0.5, 1.0]
        assert "given up" in events[-1]["Message"]

        (pod,) = given_up["PodInfos"]
        assert (pod["ContainerInfos"][0]["RestartCount"], pod["ContainerInfos"][0]["Reason"]) == (2, "CrashLoopBackOff")
        # Given up stays given up: the same ended pod, no new one, no restart, for many supervisor passes.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            now = _service(client, service_id)
            assert now["Status"] == "Abnormal" and [p["Name"] for p in now["PodInfos"]] == [pod["Name"]]
            assert now["PodInfos"][0]["ContainerInfos"][0]["RestartCount"] == 2
            time.sleep(0.2)

        # A rebuild starts it again (and it crashes again, once it has served).
        data(client, "RebuildModelServicePod", {"ServiceId": service_id, "PodName": pod["Name"]})
        wait_status(client, service_id, {"RUNNING"})
    finally:
        emu.stop()
