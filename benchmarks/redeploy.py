"""3. Redeploying an unchanged model with the gate and the image builder on: what the second run does again (Trivy
scans, image builds, pushes; target 0, 0, 0) and its plugin-side time (create_deployment with wait=false) as a share
of the first run's (target <= 5%). Needs a Docker engine (DOCKER_HOST), the registry on 127.0.0.1:5000 and trivy,
as `./build.sh bench` provides."""

from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from mlflow_tcdeploy_plugin import TcDeploymentClient

from .figures import Figure, timed
from .setup import Bench

REGISTRY = os.environ.get("TCDEPLOY_TEST_REGISTRY", "127.0.0.1:5000")
PIP_INDEX_URL = os.environ.get("TCDEPLOY_TEST_PIP_INDEX_URL", "https://pypi.org/simple")
CA_FILES = [Path("/etc/ssl/certs/ca-certificates.crt"), *sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))]


def _trivy() -> Path:
    return Path(os.environ.get("TCDEPLOY_TRIVY_BIN") or shutil.which("trivy") or Path(sys.executable).parent / "trivy")


def unavailable(need_trivy: bool = True) -> tuple[Any, str | None]:
    """The Docker client, and why a figure that needs it cannot be measured here (None when it can)."""
    if need_trivy and not _trivy().exists():
        return None, "trivy is not installed (./build.sh bench installs it)"
    try:
        import docker

        engine = docker.from_env(timeout=600)
        engine.ping()
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
    except Exception as exc:
        return None, f"no Docker engine or registry ({type(exc).__name__}); ./build.sh bench starts them"
    return engine, None


def _gate_env(root: Path) -> Path:
    """The real trivy behind a wrapper that counts its runs, with the tests' offline DB; returns the runs file."""
    from tests.fixtures.trivy_db import build

    trivy = _trivy()
    runs, wrapper = root / "trivy-runs.txt", root / "trivy"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{runs}"\nexec "{trivy}" "$@"\n')
    wrapper.chmod(0o755)
    os.environ.update(
        {
            "TCDEPLOY_TRIVY_BIN": str(wrapper),
            "TCDEPLOY_TRIVY_CACHE_DIR": str(build(root / "trivy-cache")),
            "TCDEPLOY_TRIVY_OFFLINE": "true",
            "TCDEPLOY_SCAN_CACHE_DIR": str(root / "scan-cache"),
            "TCDEPLOY_SCAN_REPORT_DIR": str(root / "reports"),
            "TCDEPLOY_BUILD_DIR": str(root / "builds"),
        }
    )
    return runs


def image_options(bench: Bench, repository: str) -> dict[str, str]:
    """What a build on this machine needs: its CA certificates (a TLS-intercepting proxy here) and a package index."""
    bundle = bench.root / "ca-bundle.pem"
    bundle.write_text("\n".join(p.read_text() for p in CA_FILES if p.is_file()))
    return {"image_repository": repository, "ca_bundle": str(bundle), "pip_index_url": PIP_INDEX_URL}


def _scans(runs: Path) -> list[str]:
    """The trivy runs that scanned (the gate also asks `trivy version` for the DB's date, which scans nothing)."""
    lines = runs.read_text().splitlines() if runs.exists() else []
    return [line for line in lines if not line.startswith("version")]


def run(bench: Bench) -> list[Figure]:
    engine, reason = unavailable()
    if reason is not None:
        print(f"3 redeploy: not measured: {reason}", file=sys.stderr)
        return []
    runs = _gate_env(bench.root)
    repository = f"{REGISTRY}/tcdeploy-bench-{uuid.uuid4().hex[:8]}/iris"
    config = {**image_options(bench, repository), "scan": "required", "wait": "false"}
    client = TcDeploymentClient()
    work = []
    for i in (1, 2):
        scans = len(_scans(runs))
        since = time.time()
        seconds = timed(lambda i=i: client.create_deployment(f"bench-redeploy-{i}", bench.catalog_uri, config=config))
        events = engine.events(since=int(since), until=int(time.time()) + 1, decode=True)
        actions = [e.get("Action") for e in events if e.get("Type") == "image" and e.get("timeNano", 0) >= since * 1e9]
        scanned = len(_scans(runs)) - scans
        work.append(
            {"seconds": seconds, "trivy": scanned, "built": actions.count("tag"), "pushed": actions.count("push")}
        )
    for i in (1, 2):
        client.delete_endpoint(f"bench-redeploy-{i}")
    for image in engine.images.list(name=repository):
        engine.images.remove(image.id, force=True)
    first, second = work
    again = f"Trivy scans {second['trivy']}, images tagged {second['built']}, pushes {second['pushed']}"
    return [
        Figure(
            "3 redeploy",
            "an unchanged model again: Trivy scans + image builds + pushes",
            second["trivy"] + second["built"] + second["pushed"],
            "operations",
            None,
            "value <= 0",
            f"{again}; the first run: Trivy {first['trivy']}, tagged {first['built']}, pushes {first['pushed']}",
        ),
        Figure(
            "3 redeploy",
            "plugin-side time of the unchanged redeploy vs the first deploy",
            second["seconds"],
            "s",
            first["seconds"],
            "ratio <= 0.05",
            "create_deployment with wait=false, gate (scan=required) and image_repository on; the first run builds the "
            "environment image cold",
        ),
    ]
