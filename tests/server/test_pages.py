"""The release pages in a real browser: an administrator starts a release of a scikit-learn model and watches it
run; a vulnerable model is refused with its findings table; a read-only user finds no action and is refused every
action; names and descriptions holding HTML are shown as text; a release from the page is recorded as one from the
CLI, and the page shows a CLI-started release; a version is scanned, then built into its image, from its row, and
that image released on a target."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sklearn
from mlflow import MlflowClient

from mlflow_tcdeploy_plugin.releases import history
from mlflow_tcdeploy_plugin.server.routes import ACTION_PATHS
from tests.helpers import register_model
from tests.image.helpers import PIP_INDEX_URL, Docker
from tests.server.conftest import ADMIN, READER, Server, screenshot, serving

pytestmark = pytest.mark.replicas
OPTIONS = "instance_type=TI.S.MEDIUM.POST\npoll_interval=0.2"
TIMEOUT = 180_000
"""Milliseconds a release may take to settle on the page."""
BUILD_TIMEOUT = 900_000
"""A build's (its environment image is built cold when no image test ran before in the session)."""


def _start(page: Any, model_uri: str, name: str, options: str = OPTIONS) -> str:
    """Fill in the release form and send it; the release page opens; its ID."""
    page.goto("/tcdeploy/")
    page.fill("input[name=model_uri]", model_uri)
    page.fill("input[name=name]", name)
    page.fill("textarea[name=options]", options)
    page.click("#start-release button[type=submit]")
    page.wait_for_url("**/tcdeploy/release?id=*")
    return str(page.get_attribute("#release", "data-id"))


def _settled(page: Any, status: str, timeout: int = TIMEOUT) -> None:
    """The page followed the release until it ended, then showed it as the server renders a settled release."""
    page.wait_for_selector(f"#release[data-status={status}]", timeout=timeout)
    page.wait_for_load_state()


def test_an_administrator_releases_a_model_and_watches_it_run(server: Server, browser: Any) -> None:
    page = server.page(browser, ADMIN)
    model = server.cloud.registry.model_name
    release_id = _start(page, f"models:/{model}/1", "ui-iris")
    _settled(page, "succeeded")
    stages = page.locator("#stages tr td:first-child").all_inner_texts()
    assert stages == ["resolve", "gate", "deploy", "wait", "verify"]
    screenshot(page, "release")

    page.goto("/tcdeploy/deployments")
    row = page.locator("tr", has_text="ui-iris").first
    assert "RUNNING" in row.inner_text()
    screenshot(page, "deployments")
    page.goto("/tcdeploy/")
    assert page.locator("section.model", has_text=model).locator("a", has_text="succeeded").count() >= 1
    screenshot(page, "models")

    # The same model released from the CLI: the same stages and evidence; and the page shows that release.
    command = [sys.executable, "-m", "mlflow", "deployments", "create", "-t", "tcdeploy", "--name", "cli-iris"]
    command += ["-m", f"models:/{model}/1"] + [f"-C{line}" for line in OPTIONS.splitlines()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=server.client_env)
    assert done.returncode == 0, done.stderr[-2000:]
    with server.tracking():
        from_cli = history.show(history.list_releases("tcdeploy-releases", model, "succeeded")[0]["id"])
        from_page = history.show(release_id)
    assert from_cli["id"] != release_id and from_page["user"] == from_cli["user"] == ADMIN[0]
    assert [s["stage"] for s in from_cli["stages"]] == [s["stage"] for s in from_page["stages"]]
    evidence = [
        sorted(a.rsplit(".", 1)[-1] + " in " + a.rsplit("/", 1)[0] for a in r["artifacts"])
        for r in (from_cli, from_page)
    ]
    assert evidence[0] == evidence[1] and evidence[0], evidence
    page.goto(f"/tcdeploy/release?id={from_cli['id']}")
    assert page.inner_text("#status") == "succeeded" and "cli-iris" not in page.inner_text("#reason")


def test_a_vulnerable_model_is_refused_with_its_findings(server: Server, browser: Any) -> None:
    sk = f"scikit-learn=={sklearn.__version__}"
    vulnerable = register_model(server.cloud.registry.tracking_uri, "ui_old_pyyaml", ["pyyaml==5.3", sk])
    page = server.page(browser, ADMIN)
    _start(page, f"models:/{vulnerable.model_name}/1", "ui-vuln", "instance_type=TI.S.MEDIUM.POST\nscan=required")
    _settled(page, "failed")
    assert page.inner_text("#stage") == "gate" and "CVE-2020-14343" in page.inner_text("#reason")
    findings = page.locator("#findings tbody tr")
    assert findings.count() >= 1 and "CVE-2020-14343" in findings.first.inner_text()
    assert "blocking" in page.inner_text("#findings")
    screenshot(page, "refused")


def _task(page: Any, task: str, model_uri: str) -> str:
    """Click a version's Scan or Build image button on the models page; the record's page opens; its ID."""
    page.click(f'button[data-task="{task}"][data-model-uri="{model_uri}"]')
    page.wait_for_url("**/tcdeploy/release?id=*")
    return str(page.get_attribute("#release", "data-id"))


def test_an_administrator_scans_a_version_builds_its_image_and_releases_it(
    server: Server, browser: Any, docker_engine: Docker
) -> None:
    model = register_model(server.cloud.registry.tracking_uri, "ui_built").model_name  # no verdict, no image yet
    uri = f"models:/{model}/1"
    page = server.page(browser, ADMIN)
    page.goto("/tcdeploy/")
    row = page.locator("section.model", has_text=model).locator("tr", has=page.locator(f'[data-model-uri="{uri}"]'))
    assert row.locator("td.verdict").inner_text() == "not scanned"
    # One set of settings for both buttons: the index and CA bundle serve the scan's resolution as the build's.
    page.fill("#task-options input[name=image_repository]", docker_engine.repository)
    settings = f"ca_bundle={docker_engine.ca_bundle}\npip_index_url={PIP_INDEX_URL}"
    page.fill("#task-options textarea[name=options]", settings)
    scan_id = _task(page, "scan", uri)
    _settled(page, "succeeded")
    assert page.inner_text("h1").startswith("Scan")
    assert page.locator("#stages tr td:first-child").all_inner_texts() == ["resolve", "gate"]
    page.goto("/tcdeploy/")
    assert row.locator("td.verdict").inner_text() == "passed"
    assert row.locator("a.record", has_text="scan succeeded").get_attribute("href").endswith(scan_id)

    page.fill("#task-options input[name=image_repository]", docker_engine.repository)
    page.fill("#task-options textarea[name=options]", settings)
    build_id = _task(page, "build", uri)
    _settled(page, "succeeded", BUILD_TIMEOUT)
    assert page.locator("#stages tr td:first-child").all_inner_texts() == ["resolve", "gate", "build"]
    evidence = page.inner_text(".artifacts").split()
    # The environment image may be the image tests' (then it has no build log here); the model image is new.
    wrote = ("Dockerfile.env", "Dockerfile.model", "build-model.log", "push.log")
    assert {f"evidence/build/{n}" for n in wrote} <= set(evidence), evidence
    with server.tracking():
        built = history.show(build_id)
    assert built["kind"] == "build" and built["image"].startswith(docker_engine.repository + "@sha256:")
    page.goto("/tcdeploy/")
    assert built["image"] in row.locator("td.image").inner_text()
    screenshot(page, "models-built")

    # The built image, released on a target as it is (no build), from the CLI; a scan has nothing to promote.
    def promote(record_id: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mlflow_tcdeploy_plugin.cli", "promote", record_id, "--target", "tcdeploy"]
        command += ["--name", "ui-built"] + [arg for line in OPTIONS.splitlines() for arg in ("-C", line)]
        return subprocess.run(command, capture_output=True, text=True, timeout=600, env=server.client_env)

    refused = promote(scan_id)
    assert refused.returncode == 2 and "is a scan" in refused.stderr, refused.stderr[-2000:]
    done = promote(build_id)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("{"), done.stdout[-3000:]  # no "View run" lines: the answer is JSON
    with server.tracking():
        released = history.show(json.loads(done.stdout)["release"])
    stages = {s["stage"]: s["status"] for s in released["stages"]}
    assert released["status"] == "succeeded" and stages["build"] == "skipped" and stages["wait"] == "succeeded"
    assert released["image"] == built["image"] and released["promoted_from"] == build_id
    (sent,) = [
        r["params"]
        for r in server.cloud.requests()
        if r["action"] == "CreateMLModelServices" and r["params"].get("ServiceName") == "ui-built"
    ]
    assert sent["Services"][0]["ImageInfo"]["ImageUrl"] == built["image"]


def test_a_scan_or_build_with_bad_input_is_refused_before_it_starts(server: Server, browser: Any) -> None:
    page = server.page(browser, ADMIN)
    page.goto("/tcdeploy/")
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    uri = f"models:/{server.cloud.registry.model_name}/1"
    with server.tracking():
        before = len(history.list_releases("tcdeploy-releases", limit=1000))
    refused = {
        "deploy": ({"task": "deploy", "model_uri": uri}, "scan or build"),
        "no repository": ({"task": "build", "model_uri": uri}, "image_repository"),
        "image for a scan": ({"task": "scan", "model_uri": uri, "options": {"push": "true"}}, "drop push"),
        "push, no host": ({"task": "build", "model_uri": uri, "options": {"image_repository": "x", "push": 1}}, "push"),
        "scan off": ({"task": "scan", "model_uri": uri, "options": {"scan": "off"}}, "not off"),
        "deploy option": ({"task": "scan", "model_uri": uri, "options": {"replicas": "2"}}, "replicas"),
    }
    for case, (body, said) in refused.items():
        answer = page.request.post("/tcdeploy/api/tasks", data=body, headers={"X-CSRFToken": token})
        assert answer.status == 400 and said in answer.json()["message"], (case, answer.status, answer.text())
    with server.tracking():
        assert len(history.list_releases("tcdeploy-releases", limit=1000)) == before


def test_a_reader_sees_no_action_and_every_action_is_refused(server: Server, browser: Any) -> None:
    page = server.page(browser, READER)
    page.goto("/tcdeploy/")
    assert page.locator("#start-release").count() == 0 and "(read only)" in page.inner_text("header")
    assert page.locator("#task-options, button[data-task]").count() == 0
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    for path in ACTION_PATHS:
        answer = page.request.post(path, data={"release": "x", "action": "rollback"}, headers={"X-CSRFToken": token})
        assert answer.status == 403, (path, answer.status, answer.text())
    anonymous = server.page(browser, None)
    assert anonymous.request.get("/tcdeploy/").status == 401
    admin = server.page(browser, ADMIN)
    admin.goto("/tcdeploy/")
    for path in ACTION_PATHS:
        no_token = admin.request.post(path, data={"model_uri": "models:/x/1"})
        assert no_token.status == 400 and "CSRF" in no_token.text(), path


def test_html_in_a_model_is_shown_as_text(server: Server, browser: Any) -> None:
    name = "ui_html_<i>x"
    description = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    client = MlflowClient()
    client.create_registered_model(name, description=description)
    page = server.page(browser, READER)
    page.goto("/tcdeploy/")
    section = page.locator("section.model", has_text="ui_html_")
    assert section.locator(".model-name").inner_text() == name
    assert section.locator(".description").inner_text() == description
    assert section.locator("img, script, i").count() == 0
    assert page.evaluate("window.pwned === undefined")


def _status(url: str, user: tuple[str, str] | None, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    if user:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(user).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_mlflow_server_offers_the_app_once_the_package_is_installed() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "mlflow", "server", "--help"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    (choices,) = [line for line in shown.splitlines() if "--app-name [" in line]
    assert "tcdeploy" in choices.split("[", 1)[1].rstrip("]").split("|")


def test_the_pages_are_served_and_guarded_under_gunicorn_too(server: Server, tmp_path: Path) -> None:
    with serving(tmp_path, server.cloud.registry.tracking_uri, server.env, "--gunicorn-opts", "--workers 1") as url:
        assert _status(f"{url}/tcdeploy/", None) == 401
        assert _status(f"{url}/tcdeploy/", READER) == 200
        assert _status(f"{url}/tcdeploy/api/releases", READER, "POST") == 403


def test_an_action_on_a_model_that_does_not_exist_is_refused(server: Server, browser: Any) -> None:
    page = server.page(browser, ADMIN)
    page.goto("/tcdeploy/")
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    body = {"target": "tcdeploy", "name": "ui-none", "model_uri": "models:/no_such_model/1", "options": {}}
    answer = page.request.post(ACTION_PATHS[0], data=body, headers={"X-CSRFToken": token})
    assert answer.status == 404 and "No registered model" in answer.json()["message"]
    bad = page.request.post(
        ACTION_PATHS[0],
        data={**body, "model_uri": "models:/" + server.cloud.registry.model_name + "/1", "options": {"replicas": "0"}},
        headers={"X-CSRFToken": token},
    )
    assert bad.status == 400 and "replicas" in bad.json()["message"]
    page.goto("/tcdeploy/release?id=0123456789abcdef0123456789abcdef")
    assert "RESOURCE_DOES_NOT_EXIST" in page.inner_text("h1") and "No release" in page.inner_text("#message")
