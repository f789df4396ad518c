"""`mlflow server --app-name tcdeploy` as users run it: MLflow's server with basic-auth and the release pages, over
the test registry and an emulator, with the gate's offline DB; an administrator and a read-only user; and a real
headless Chromium (Debian's, driven by Playwright) to look at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator.replicas import free_port
from tests.helpers import Cloud, Registry, start_emulator, under_ci, wait_for

ADMIN = ("admin", "admin-password-for-tests")
READER = ("reader", "reader-password-for-tests")
SCREENSHOTS = Path(os.environ.get("TCDEPLOY_SCREENSHOTS", "build/screenshots"))


@dataclass
class Server:
    url: str
    cloud: Cloud
    log: Path
    env: dict[str, str]
    """The server's environment (the cloud's and the gate's settings): a CLI run beside it uses the same."""

    @property
    def client_env(self) -> dict[str, str]:
        """A client of this server, as an administrator's CLI would be set up (its artifacts go through it)."""
        login = {"MLFLOW_TRACKING_USERNAME": ADMIN[0], "MLFLOW_TRACKING_PASSWORD": ADMIN[1]}
        return {**self.env, "MLFLOW_TRACKING_URI": self.url, **login}

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """This process reads the records through the server (as the CLI's `tcdeploy releases` would)."""
        import mlflow

        previous = mlflow.get_tracking_uri()
        with pytest.MonkeyPatch.context() as mp:
            for name, value in self.client_env.items():
                if name.startswith("MLFLOW_TRACKING"):
                    mp.setenv(name, value)
            mlflow.set_tracking_uri(self.url)
            try:
                yield
            finally:
                mlflow.set_tracking_uri(previous)

    def page(self, browser: Any, user: tuple[str, str] | None) -> Any:
        credentials = {"username": user[0], "password": user[1]} if user else None
        context = browser.new_context(http_credentials=credentials, base_url=self.url)
        return context.new_page()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, registry: Registry, trivy_bin: str, trivy_db: Path, package_index: Any
) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    emulator = start_emulator(root / "emulator", registry.tracking_uri)
    ini = root / "auth.ini"
    ini.write_text(
        f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{root / 'auth.db'}\n"
        f"admin_username = {ADMIN[0]}\nadmin_password = {ADMIN[1]}\n"
    )
    env = {
        **os.environ,
        **emulator.env(),
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-secret-key-for-the-tests-only",
        "MLFLOW_TRACKING_URI": registry.tracking_uri,
        "TCDEPLOY_TRIVY_BIN": trivy_bin,
        "TCDEPLOY_TRIVY_CACHE_DIR": str(trivy_db),
        "TCDEPLOY_TRIVY_OFFLINE": "true",
        "TCDEPLOY_SCAN_CACHE_DIR": str(root / "scan-cache"),
        "TCDEPLOY_SCAN_REPORT_DIR": str(root / "reports"),
        "TCDEPLOY_PIP_INDEX_URL": package_index.url,
        "TCDEPLOY_BUILD_DIR": str(root / "builds"),  # this module's own: nothing of an earlier run is found in it
    }
    try:
        with serving(root, registry.tracking_uri, env) as url:
            _create_user(url, READER)
            yield Server(url, Cloud(emulator, registry, emulator.env()), root / "server.log", env)
    finally:
        emulator.stop()


@contextmanager
def serving(root: Path, tracking_uri: str, env: dict[str, str], *options: str) -> Iterator[str]:
    """`mlflow server --app-name tcdeploy` with ``options``, until the block ends; its address."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / ("server.log" if not options else "server-options.log")
    command = [sys.executable, "-m", "mlflow", "server", "--app-name", "tcdeploy", *(options or ("--workers", "1"))]
    command += ["--backend-store-uri", tracking_uri, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--artifacts-destination", str(root / "mlartifacts")]  # served artifacts, as by default
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _ready(url) or proc.poll() is not None, timeout=120, what="the MLflow server to start")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _create_user(url: str, user: tuple[str, str]) -> None:
    from mlflow.server.auth.client import AuthServiceClient

    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = ADMIN
    try:
        AuthServiceClient(url).create_user(*user)
    finally:
        del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium = None
    if chromium is None:
        why = "no chromium on PATH or no playwright (./build.sh test installs both)"
        if under_ci():
            pytest.fail(f"{why}; under CI the browser tests must run")
        pytest.skip(why)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def screenshot(page: Any, name: str) -> None:
    """Kept as a CI artifact (and one goes into the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
