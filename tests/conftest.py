"""Shared fixtures: a local MLflow registry with a small scikit-learn model, the emulator, and SDK clients."""

from __future__ import annotations

import logging
import os
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    GUARDED_LOGGERS,
    MODEL_NAME,
    SECRET_GUARD,
    Cloud,
    GateEnv,
    Registry,
    create_service,
    register_model,
    sdk_client,
    serve_cloud,
    start_emulator,
    under_ci,
)
from tests.image.helpers import EXTRA_CA, REGISTRY, SYSTEM_CA, Docker, unavailable


def pytest_configure(config: pytest.Config) -> None:
    for name in GUARDED_LOGGERS:
        logging.getLogger(name).addHandler(SECRET_GUARD)


HEAVY_FIXTURES = {"trivy": {"trivy_bin"}, "docker": {"docker_engine"}}
"""A marker per heavy dependency, from the fixtures a test uses (directly or through others), so that
``-m "not docker"`` or ``-m "not trivy"`` leaves those tests out on a machine without them."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in HEAVY_FIXTURES.items():
            if used & fixtures:
                item.add_marker(marker)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = SECRET_GUARD.leaks()
    if leaks:
        print("\nSECRET LEAKED INTO LOGS:\n" + "\n".join(leaks[:10]))
        session.exitstatus = 1


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    return register_model(uri, MODEL_NAME)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Any]:
    """An emulator without a model registry: for protocol and validation tests."""
    emu = start_emulator(tmp_path / "emulator")
    yield emu
    emu.stop()


@pytest.fixture
def serving_emulator(tmp_path: Path, registry: Registry) -> Iterator[Any]:
    """An emulator that reads models from the test registry."""
    emu = start_emulator(tmp_path / "emulator", registry.tracking_uri)
    yield emu
    emu.stop()


@pytest.fixture
def wedata(emulator: Any) -> Any:
    return sdk_client(emulator)


@pytest.fixture
def make_service(serving_emulator: Any, registry: Registry) -> Callable[..., dict[str, Any]]:
    client = sdk_client(serving_emulator)

    def make(name: str, **service: Any) -> dict[str, Any]:
        return create_service(client, name, registry.model_path, **service)

    return make


@pytest.fixture(scope="session")
def trivy_bin() -> str:
    """The real trivy: $TCDEPLOY_TRIVY_BIN, the venv's (./build.sh test installs it), or PATH. Never skipped in CI."""
    import shutil
    import sys

    venv_trivy = Path(sys.executable).parent / "trivy"
    found = os.environ.get("TCDEPLOY_TRIVY_BIN") or (str(venv_trivy) if venv_trivy.exists() else None)
    found = found or shutil.which("trivy")
    if not found:
        if under_ci():
            pytest.fail("trivy is not installed; under CI the Trivy tests must run (tools/install-trivy.sh)")
        pytest.skip("trivy is not installed (tools/install-trivy.sh installs it)")
    return found


@pytest.fixture(scope="session")
def trivy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real Trivy DB built offline from tests/fixtures/advisories.json."""
    from tests.fixtures.trivy_db import build

    return build(tmp_path_factory.mktemp("trivy-cache"))


@pytest.fixture(scope="session")
def package_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local package index the gate resolves from, so its tests are hermetic: stand-ins for what the test models
    and either image profile's serving stack name (at the versions they name), and ``tinytop``: 1.0 pins ``tinydep``
    1.0 (which tests/fixtures/advisories.json makes vulnerable), 2.0 pins the fixed 1.1."""
    import mlflow
    import sklearn

    from tests.fixtures.package_index import Dist, PackageIndex

    dists = [
        Dist("mlflow", mlflow.__version__, (f"mlflow-skinny=={mlflow.__version__}",)),
        Dist("mlflow-skinny", mlflow.__version__, ("pyyaml>=5.1",)),
        Dist("gunicorn", "23.0.0", ('gevent>=1.4.0; extra == "gevent"',)),
        Dist("gevent", "25.5.1"),
        Dist("numpy", "2.3.4"),  # the lean image's stack: numpy, pandas, and skops for a skops-saved model
        Dist("pandas", "2.3.3", ("numpy>=1.26",)),
        Dist("skops", "0.13.0"),
        Dist("scikit-learn", sklearn.__version__, ("threadpoolctl>=3.1.0",)),
        Dist("threadpoolctl", "3.6.0"),
        Dist("pyyaml", "5.3"),
        Dist("pyyaml", "6.0.2"),
        Dist("requests", "2.19.0"),
        Dist("tinytop", "1.0", ("tinydep==1.0",)),
        Dist("tinytop", "2.0", ("tinydep==1.1",)),
        Dist("tinydep", "1.0"),
        Dist("tinydep", "1.1"),
    ]
    with PackageIndex(tmp_path_factory.mktemp("package-index"), dists) as index:
        yield index


@pytest.fixture
def gate_env(
    trivy_bin: str, trivy_db: Path, package_index: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> GateEnv:
    """The gate's environment: the real trivy behind a wrapper that counts its runs, the offline DB, the local
    package index, fresh caches."""
    runs = tmp_path / "trivy-runs.txt"
    wrapper = tmp_path / "trivy"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{runs}"\nexec "{trivy_bin}" "$@"\n')
    wrapper.chmod(0o755)
    env = {
        "TCDEPLOY_TRIVY_BIN": str(wrapper),
        "TCDEPLOY_TRIVY_CACHE_DIR": str(trivy_db),
        "TCDEPLOY_TRIVY_OFFLINE": "true",
        "TCDEPLOY_SCAN_CACHE_DIR": str(tmp_path / "scan-cache"),
        "TCDEPLOY_SCAN_REPORT_DIR": str(tmp_path / "reports"),
        "TCDEPLOY_PIP_INDEX_URL": package_index.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return GateEnv(runs, tmp_path / "reports", env, trivy_db, package_index)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Iterator[Cloud]:
    """An emulator serving the test registry; the client's environment points at it."""
    yield from serve_cloud(tmp_path_factory, registry)


@pytest.fixture
def client(cloud: Cloud) -> Any:
    from mlflow.deployments import get_deploy_client

    cloud.emulator.set_faults({})
    return get_deploy_client("tcdeploy")


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    """A real Docker engine (DOCKER_HOST) and the local registry on 127.0.0.1:5000, for the session. `./build.sh
    test` starts both (tools/docker-engine.sh); without them the tests that need them skip, and under CI they fail."""
    try:
        import docker

        engine = docker.from_env(timeout=600)
        engine.ping()
    except Exception as exc:
        unavailable(f"no Docker engine at {os.environ.get('DOCKER_HOST') or 'the default socket'} ({exc})")
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
    except OSError as exc:
        unavailable(f"no registry at {REGISTRY} ({exc})")
    root = tmp_path_factory.mktemp("images")
    session = uuid.uuid4().hex[:10]
    # The system's CAs, the machine's extra ones (an intercepting proxy's), and this session's mark: the bundle
    # is copied in the environment image's first step, so its first build here is a real first build.
    parts = [SYSTEM_CA.read_text()] if SYSTEM_CA.is_file() else []
    parts += [p.read_text() for p in sorted(EXTRA_CA.glob("*.crt"))] if EXTRA_CA.is_dir() else []
    bundle = root / "ca-bundle.pem"
    bundle.write_text("\n".join(parts) + f"\n# tcdeploy test session {session}\n")
    repository = f"{REGISTRY}/tcdeploy-tests-{session}/iris"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TCDEPLOY_BUILD_DIR", str(root / "builds"))
        yield Docker(engine, repository, str(bundle), root / "builds")
    # This session's images are of no use to the next one (its CA bundle differs): free the engine's disk.
    for image in engine.images.list(name=repository):
        engine.images.remove(image.id, force=True)
