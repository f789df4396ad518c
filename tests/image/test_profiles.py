"""The two image profiles of one model, logged with full MLflow in its requirements (the usual case): each gated
(scan=required, so each installs the set the gate judged for it), built and run on the engine. Both answer as the
model loaded here does, and ``/ping`` and ``/invocations`` answer good and bad input alike (status and content
type); the lean image holds mlflow-skinny and no full MLflow, no nginx, and runs as a user. The other image tests
run the default (lean) profile; the `mlflow` profile's images are deployed here on both backends from the cache."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import FAST, Cloud, Registry, register_model
from tests.image.helpers import Docker, builds_and_pushes

pytestmark = pytest.mark.replicas

PROFILES = ("lean", "mlflow")
CASES: dict[str, tuple[str, str, bytes | None]] = {
    "ping": ("GET", "/ping", None),
    "split": ("POST", "/invocations", b""),  # filled with the model's probe
    "inputs": ("POST", "/invocations", b""),
    "not json": ("POST", "/invocations", b"{not json"),
    "unknown format": ("POST", "/invocations", b'{"rows": [[1, 2]]}'),
    "wrong shape": ("POST", "/invocations", b'{"inputs": [[1, 2, 3, 4]]}'),
    "csv": ("POST", "/invocations", b"a,b\n0.1,-0.2\n"),
}


@pytest.fixture(scope="module")
def full_mlflow_model(registry: Registry, scanning: Path) -> Registry:
    import mlflow
    import sklearn

    requirements = [f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"]
    return register_model(registry.tracking_uri, "profiles_iris", requirements)


def _built(model: Registry, docker_engine: Docker, profile: str) -> dict[str, Any]:
    from mlflow_tcdeploy_plugin import options as opt
    from mlflow_tcdeploy_plugin import prepare
    from mlflow_tcdeploy_plugin.resolve import resolve

    config = {**docker_engine.options(scan="required", push="false"), "image_profile": profile}
    options = opt.parse(config, opt.BUILD)
    resolved = resolve(f"models:/{model.model_name}/1", prepare.CatalogLister())
    scan = prepare.gate(resolved, options)
    built, _ = prepare.image(resolved, options, scan, need_local=True)
    return {"scan": scan, "image": built.summary()}


def _serving(docker_engine: Docker, reference: str) -> Iterator[str]:
    container = docker_engine.client.containers.run(
        reference, detach=True, ports={"8080/tcp": ("127.0.0.1", None)}, environment={"MLFLOW_MODELS_WORKERS": "1"}
    )
    try:
        container.reload()
        url = f"http://127.0.0.1:{container.ports['8080/tcp'][0]['HostPort']}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            container.reload()
            assert container.status == "running", container.logs()[-3000:].decode(errors="replace")
            time.sleep(0.5)
        else:
            pytest.fail(f"{reference} did not answer /ping in 180 s:\n{container.logs()[-3000:].decode()}")
        yield url
    finally:
        container.remove(force=True)


def _answers(url: str, probe: list[list[float]]) -> dict[str, tuple[int, str, Any]]:
    bodies = {
        "split": json.dumps({"dataframe_split": {"data": probe}}).encode(),
        "inputs": json.dumps({"inputs": probe}).encode(),
    }
    out = {}
    for case, (method, path, body) in CASES.items():
        kind = "text/csv" if case == "csv" else "application/json"
        answer = requests.request(
            method, url + path, data=bodies.get(case, body), headers={"Content-Type": kind}, timeout=30
        )
        content_type = answer.headers.get("Content-Type", "")
        shown = answer.json()["predictions"] if case in bodies else None
        out[case] = (answer.status_code, content_type.split(";")[0], shown)
    return out


@pytest.fixture(scope="module")
def served(full_mlflow_model: Registry, docker_engine: Docker) -> dict[str, dict[str, Any]]:
    out = {}
    for profile in PROFILES:
        made = _built(full_mlflow_model, docker_engine, profile)
        for url in _serving(docker_engine, made["image"]["tag"]):
            made["answers"] = _answers(url, full_mlflow_model.features)
        out[profile] = made
    return out


def test_both_profiles_answer_as_the_model_does_here(
    served: dict[str, dict[str, Any]], full_mlflow_model: Registry
) -> None:
    lean, full = served["lean"]["answers"], served["mlflow"]["answers"]
    for case in ("split", "inputs"):
        assert lean[case] == full[case] == (200, "application/json", full_mlflow_model.expected)
    assert lean["ping"][0] == 200 and lean["ping"] == full["ping"]
    for case in ("not json", "unknown format", "wrong shape", "csv"):
        assert lean[case] == full[case], case
    assert all(lean[c][0] == 400 for c in ("not json", "unknown format")), lean


def test_each_profile_installs_what_the_gate_judged_for_it(
    served: dict[str, dict[str, Any]], docker_engine: Docker
) -> None:
    lean, full = served["lean"], served["mlflow"]
    assert lean["image"]["profile"] == "lean" and full["image"]["profile"] == "mlflow"
    assert lean["scan"]["image_profile"] == "lean" and full["scan"]["image_profile"] == "mlflow"
    for made in (lean, full):
        assert made["image"]["env_scan"]["matches_lock"], made["image"]["env_scan"]
    packages = {
        profile: {p["name"] for p in json.loads(Path(made["scan"]["report_path"]).read_text())["packages"]}
        for profile, made in served.items()
    }
    assert {"mlflow", "flask", "gunicorn", "pyarrow"} <= packages["mlflow"]
    assert "mlflow-skinny" in packages["lean"] and not {"mlflow", "flask", "gunicorn", "pyarrow"} & packages["lean"]
    client = docker_engine.client
    assert client.images.get(lean["image"]["tag"]).attrs["Config"]["User"] == "10001"
    assert docker_engine.labels(lean["image"]["tag"])["tcdeploy.image.profile"] == "lean"
    assert docker_engine.labels(full["image"]["tag"])["tcdeploy.image.profile"] == "mlflow"
    script = client.containers.run(
        lean["image"]["tag"],
        entrypoint=["/bin/sh", "-c", "cat /usr/local/bin/tcdeploy-serve; command -v nginx || echo no-nginx"],
        remove=True,
    ).decode()
    assert "--port 8080" in script and '--workers "${MLFLOW_MODELS_WORKERS:-$(nproc)}"' in script
    assert script.splitlines()[-1] == "no-nginx"
    sizes = {p: client.images.get(made["image"]["tag"]).attrs["Size"] for p, made in served.items()}
    assert sizes["lean"] < sizes["mlflow"], sizes


def test_the_mlflow_profile_deploys_on_both_backends_from_its_cached_images(
    cloud: Cloud, served: dict[str, dict[str, Any]], full_mlflow_model: Registry, docker_engine: Docker
) -> None:
    built = served["mlflow"]["image"]
    config = {**FAST, **docker_engine.options(scan="required"), "image_profile": "mlflow"}
    uri = f"models:/{full_mlflow_model.model_name}/1"
    since = time.time()
    wedata = TcDeploymentClient().create_deployment("prof-mlflow-wd", uri, config=config)
    tione = TcDeploymentClient("tcdeploy:/ap-guangzhou?backend=tione").create_deployment(
        "prof-mlflow-ti", uri, config=config
    )
    assert builds_and_pushes(docker_engine.events(since, time.time())) == (0, 1)  # both found on the engine
    assert wedata["image"]["built"] == [] and wedata["image"]["pushed"] == [built["tag"]]  # what the service pulls
    assert tione["image"]["built"] == [] and tione["image"]["pushed"] == []  # the registry holds them now
    assert (wedata["status"], tione["status"]) == ("RUNNING", "Normal")
    for made, target in ((wedata, "tcdeploy"), (tione, "tcdeploy:/ap-guangzhou?backend=tione")):
        image = made["image"]
        assert (image["profile"], image["env_key"], image["model_key"]) == (
            "mlflow",
            built["env_key"],
            built["model_key"],
        )
        client = TcDeploymentClient(target)
        assert client.predict(made["name"], full_mlflow_model.features)["predictions"] == full_mlflow_model.expected
        client.delete_deployment(made["name"])
