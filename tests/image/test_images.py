"""Images end to end: a scikit-learn model gated, built (environment + model image), pushed to the local registry,
deployed as an IMAGE service on the emulator (which runs it through the Docker engine) and answering predictions;
nothing built or pushed again for an unchanged model; only the thin model image for a new version."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mlflow import MlflowClient

from mlflow_tcdeploy_plugin import TcDeploymentClient
from tests.helpers import FAST, Cloud, Registry, register_model
from tests.image.helpers import Docker, builds_and_pushes

pytestmark = pytest.mark.replicas

OCI = ("created", "title", "version", "base.name")
PLUGIN_LABELS = (
    "env_key",
    "image.profile",
    "requirements.sha256",
    "scan.status",
    "scan.db_updated_at",
    "plugin.version",
    "mlflow.version",
)
MODEL_LABELS = ("model_key", "model.uri", "model.id", "model.version", "model.run_id")


def test_the_first_deployment_builds_pushes_and_serves(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, first: dict[str, Any]
) -> None:
    image = first["image"]
    repository = docker_engine.repository
    assert first["status"] == "RUNNING"
    assert image["built"] == [image["env_image"], image["tag"]] and image["pushed"] == image["built"]
    assert image["reference"] == f"{repository}@{image['digest']}" and image["tag"].startswith(f"{repository}:model-")
    create = first["sent"]
    service = create["Services"][0]
    assert create["ModelSource"] == "IMAGE" and service["ServicePort"] == 8080
    assert service["ImageInfo"] == {"ImageType": "CUSTOM", "ImageUrl": image["reference"]}
    client = TcDeploymentClient()
    assert client.predict(first["name"], image_model.features)["predictions"] == image_model.expected
    pods = client.get_deployment(first["name"])["pod_infos"]
    assert pods and pods[0]["container_infos"][0]["container_id"]  # a container of the engine, not a process

    for reference, extra in ((image["env_image"], ()), (image["tag"], MODEL_LABELS)):
        labels = docker_engine.labels(reference)
        assert all(f"org.opencontainers.image.{k}" in labels for k in OCI)
        assert all(labels.get(f"tcdeploy.{k}") is not None for k in PLUGIN_LABELS + extra)
    model_labels = docker_engine.labels(image["tag"])
    assert (
        model_labels["tcdeploy.model_key"] == image["model_key"]
        and model_labels["tcdeploy.env_key"] == image["env_key"]
    )
    assert model_labels["tcdeploy.model.uri"] == f"models:/{image_model.model_name}/1"
    assert image["profile"] == model_labels["tcdeploy.image.profile"] == "lean"  # the default for this model
    assert model_labels["org.opencontainers.image.base.name"] == image["env_image"]
    assert first["scan"]["status"] == "passed" and model_labels["tcdeploy.scan.status"] == "passed"
    assert model_labels["tcdeploy.scan.db_updated_at"] == first["scan"]["db_updated_at"] != ""
    registry = docker_engine.client.images
    assert registry.get_registry_data(image["tag"]).id == image["digest"]
    assert registry.get_registry_data(image["env_image"]).id.startswith("sha256:")
    build_dir = docker_engine.build_dir / image["tag"].rsplit(":", 1)[1]
    assert {p.name for p in build_dir.iterdir()} >= {
        "Dockerfile.env",
        "Dockerfile.model",
        "build-env.log",
        "build-model.log",
    }


def test_an_unchanged_model_builds_and_pushes_nothing(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, first: dict[str, Any]
) -> None:
    since = time.time()
    again = TcDeploymentClient().create_deployment(
        "ignored",
        f"models:/{image_model.model_name}/1",
        config={"wait": "false", **docker_engine.options()},
        endpoint="img-iris",
    )
    assert builds_and_pushes(docker_engine.events(since, time.time())) == (0, 0)
    assert again["image"]["built"] == [] and again["image"]["pushed"] == []
    assert again["image"]["reference"] == first["image"]["reference"]
    TcDeploymentClient().delete_deployment(again["name"])


def test_a_new_version_with_the_same_requirements_builds_only_the_model_image(
    cloud: Cloud, image_model: Registry, docker_engine: Docker, first: dict[str, Any]
) -> None:
    retrained = register_model(image_model.tracking_uri, image_model.model_name, seed=8)
    version = MlflowClient().search_model_versions(f"name = '{image_model.model_name}'")
    latest = max(int(v.version) for v in version)
    since = time.time()
    updated = TcDeploymentClient().update_deployment(
        first["name"],
        model_uri=f"models:/{image_model.model_name}/{latest}",
        config={**FAST, **docker_engine.options()},
    )
    image = updated["image"]
    assert image["env_key"] == first["image"]["env_key"] and image["model_key"] != first["image"]["model_key"]
    assert image["built"] == [image["tag"]] and image["pushed"] == [image["tag"]]
    assert builds_and_pushes(docker_engine.events(since, time.time())) == (1, 1)
    assert image["seconds"] <= 0.15 * first["image"]["seconds"], (image["seconds"], first["image"]["seconds"])
    assert updated["status"] == "RUNNING"
    answer = TcDeploymentClient().predict(first["name"], retrained.features)["predictions"]
    assert answer == retrained.expected


def test_the_environment_image_installs_exactly_the_set_the_gate_judged(
    docker_engine: Docker, first: dict[str, Any]
) -> None:
    """Resolved against the real package index for a scikit-learn model: the report lists scikit-learn's own
    dependencies with versions, and ``pip list`` inside the environment image is that set (plus the base image's
    installers, which trivy image scans with the rest)."""
    import json
    import re
    from pathlib import Path

    scan, image = first["scan"], first["image"]
    assert scan["status"] == "passed" and scan["coverage"]["percent"] == 100.0
    document = json.loads(Path(scan["report_path"]).read_text())
    resolved = {p["name"]: p["version"] for p in document["packages"]}
    assert {"joblib", "threadpoolctl", "numpy", "scipy", "scikit-learn", "mlflow-skinny", "pandas", "skops"} <= set(
        resolved
    )
    assert not {"mlflow", "flask", "sqlalchemy", "gunicorn", "pyarrow", "matplotlib"} & set(resolved)  # the lean set
    assert all(resolved[name] for name in ("joblib", "threadpoolctl", "numpy", "scipy"))
    listed = docker_engine.client.containers.run(
        image["env_image"], entrypoint=["python", "-m", "pip", "list", "--format", "json"], remove=True
    )
    installed = {re.sub(r"[-_.]+", "-", p["name"]).lower(): p["version"] for p in json.loads(listed)}
    base_tooling = {"pip", "setuptools", "wheel"} - set(resolved)
    assert {k: v for k, v in installed.items() if k not in base_tooling} == resolved
    assert image["env_scan"]["matches_lock"] and image["env_scan"]["python_packages"] == len(installed)
    labels = docker_engine.labels(image["env_image"])
    assert labels["tcdeploy.lock.sha256"] == scan["lock_sha256"]
    assert labels["tcdeploy.scan.coverage"] == f"{len(resolved)}/{len(resolved)}"
