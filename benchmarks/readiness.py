"""7. Time to RUNNING of a MODEL service and of an IMAGE service in the emulator, with their breakdown, read from the
emulator's events, the replica's own log lines and the Docker engine's container events."""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from datetime import datetime
from typing import Any

from mlflow_tcdeploy_plugin import TcDeploymentClient

from .figures import Figure
from .redeploy import REGISTRY, image_options, unavailable
from .setup import Bench, sdk

PHASES = (
    ("scheduled", "the create call → the pod is created (NEW → CREATING, the supervisor's tick)"),
    ("process start", "pod created → the replica logs 'loading model' (Python and MLflow imports)"),
    ("model load", "'loading model' → 'model loaded' (mlflow.pyfunc.load_model)"),
    ("health check", "'model loaded' → the replica answers HTTP (server start, the supervisor's probe)"),
    ("running", "ready → the service is RUNNING"),
)


def _logged_at(message: str) -> float:
    return datetime.strptime(message[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def _figure(what: str, phases: tuple[tuple[str, str], ...], samples: list[list[float]]) -> Figure:
    """The median total (the last column of each sample) and the median of each phase."""
    medians = [sorted(column)[len(column) // 2] for column in zip(*samples, strict=True)]
    breakdown = ", ".join(f"{name} {value:.2f} s" for (name, _), value in zip(phases, medians, strict=False))
    return Figure("7 readiness", what, medians[-1], "s", None, "", f"median of {len(samples)}: {breakdown}")


def _events(raw: Any, service_id: str) -> dict[str, float]:
    answer = raw.call_json("ListModelServiceEvents", {"ServiceId": service_id, "Order": "ASC", "Limit": 100})
    return {
        e["Message"]: datetime.fromisoformat(e["FirstTimestamp"].replace("Z", "+00:00")).timestamp()
        for e in answer["Response"]["Data"]["Events"]
    }


def run(bench: Bench, rounds: int) -> list[Figure]:
    client = TcDeploymentClient()
    raw = sdk(bench, "wedata")
    samples: list[list[float]] = []
    for i in range(rounds):
        started = time.time()
        made = client.create_deployment(
            f"bench-ready-{i}", bench.catalog_uri, config={"scan": "off", "poll_interval": "0.05"}
        )
        returned = time.time()
        events = _events(raw, made["name"])
        logs = [line["message"] for line in client.iter_pod_logs(made["name"])]
        loading = next(_logged_at(m) for m in logs if "loading model" in m)
        loaded = next(_logged_at(m) for m in logs if "model loaded" in m)
        marks = [
            started,
            events["Created pod"],
            loading,
            loaded,
            events["Replica is ready"],
            events["All replicas are available"],
        ]
        samples.append([b - a for a, b in itertools.pairwise(marks)] + [returned - started])
        client.delete_endpoint(f"bench-ready-{i}")
    return [_figure("MODEL service: create_deployment call until RUNNING (emulator, no NEW delay)", PHASES, samples)]


IMAGE_PHASES = (
    ("scheduled", "the create call → the pod is created"),
    ("container start", "pod created → the engine starts the container (the image is on the engine already)"),
    ("server start", "container started → it answers HTTP (MLflow's scoring server in the image loads the model)"),
    ("running", "ready → the service is RUNNING"),
)


def run_image(bench: Bench, rounds: int) -> list[Figure]:
    """Both image profiles, their services started in turn (the same engine, the same model)."""
    engine, reason = unavailable(need_trivy=False)
    if reason is not None:
        print(f"7 readiness (IMAGE): not measured: {reason}", file=sys.stderr)
        return []
    client = TcDeploymentClient()
    raw = sdk(bench, "wedata")
    images: dict[str, tuple[str, str]] = {}
    samples: dict[str, list[list[float]]] = {}
    for profile in ("lean", "mlflow"):
        repository = f"{REGISTRY}/tcdeploy-bench-{uuid.uuid4().hex[:8]}/iris"
        config = {**image_options(bench, repository), "image_profile": profile, "scan": "off", "wait": "false"}
        built = client.create_deployment(f"bench-image-build-{profile}", bench.catalog_uri, config=config)
        client.delete_endpoint(f"bench-image-build-{profile}")
        images[profile] = (repository, f'{{"image_type": "CUSTOM", "image_url": "{built["image"]["reference"]}"}}')
        samples[profile] = []
    for i in range(rounds):
        for profile, (_, image) in images.items():
            samples[profile].append(_image_sample(client, raw, engine, f"bench-image-{profile}-{i}", bench, image))
    for repository, _ in images.values():
        for found in engine.images.list(name=repository):
            engine.images.remove(found.id, force=True)
    what = "IMAGE service ({}): create_deployment call until RUNNING (emulator, Docker engine, image present)"
    return [_figure(what.format(f"image_profile={p}"), IMAGE_PHASES, samples[p]) for p in images]


def _image_sample(client: Any, raw: Any, engine: Any, name: str, bench: Bench, image: str) -> list[float]:
    started = time.time()
    made = client.create_deployment(
        name, bench.catalog_uri, config={"image_info": image, "scan": "off", "poll_interval": "0.05"}
    )
    returned = time.time()
    events = _events(raw, made["name"])
    pod = client.get_deployment(made["name"])["pod_infos"][0]["name"]
    docker_events = engine.events(since=int(started), until=int(time.time()) + 1, decode=True)
    container = next(
        e["timeNano"] / 1e9
        for e in docker_events
        if e.get("Type") == "container"
        and e.get("Action") == "start"
        and (e.get("Actor") or {}).get("Attributes", {}).get("name") == pod
    )
    marks = [
        started,
        events["Created pod"],
        container,
        events["Replica is ready"],
        events["All replicas are available"],
    ]
    client.delete_endpoint(name)
    return [b - a for a, b in itertools.pairwise(marks)] + [returned - started]
