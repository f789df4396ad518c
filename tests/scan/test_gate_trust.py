"""The gate's trust rules with the real Trivy: ignores expire, a new DB invalidates cached verdicts wherever Trivy
keeps its cache, an old DB gives no verdict under ``required``, and a verdict without a DB date is never cached."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin import options as opt
from mlflow_tcdeploy_plugin.scan import gate
from mlflow_tcdeploy_plugin.scan.config import gate_config
from tests.fixtures.trivy_db import ADVISORIES, build

VULNERABLE = {"requirements.txt": "pyyaml==5.3\n", "python_env.yaml": "python: 3.11\n"}
CLEAN = {"requirements.txt": "pyyaml==6.0.2\n", "python_env.yaml": "python: 3.11\n"}
ADVISORY = "CVE-2020-14343"


def _check(files: dict[str, str], env: dict[str, str], **options: str) -> dict[str, Any]:
    config = gate_config(opt.parse(options, opt.CREATE), env)
    return gate.check("models:/m-0123456789abcdef", "test-model", config, read_files=lambda _: files)


@pytest.fixture(autouse=True)
def _local_index(package_index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve from the tests' local package index (``_env`` is passed to the gate; uv reads the process's)."""
    monkeypatch.setenv("TCDEPLOY_PIP_INDEX_URL", package_index.url)


def _env(tmp_path: Path, trivy: str, cache: Path | None) -> dict[str, str]:
    import os

    env = {
        "TCDEPLOY_PIP_INDEX_URL": os.environ["TCDEPLOY_PIP_INDEX_URL"],
        "TCDEPLOY_TRIVY_BIN": trivy,
        "TCDEPLOY_TRIVY_OFFLINE": "true",
        "TCDEPLOY_SCAN_CACHE_DIR": str(tmp_path / "scan-cache"),
        "TCDEPLOY_SCAN_REPORT_DIR": str(tmp_path / "reports"),
    }
    if cache is not None:
        env["TCDEPLOY_TRIVY_CACHE_DIR"] = str(cache)
    return env


def _counting(tmp_path: Path, trivy: str, version_json: str | None = None) -> tuple[str, Path]:
    """A wrapper around the real trivy that records each run; ``version_json`` replaces what `version` prints."""
    runs = tmp_path / "runs.txt"
    wrapper = tmp_path / "trivy-counting"
    fake_version = (
        f"if [ \"$1\" = version ]; then printf '%s\\n' '{version_json}'; exit 0; fi\n" if version_json else ""
    )
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{runs}"\n{fake_version}exec "{trivy}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), runs


@pytest.mark.parametrize(
    ("trivyignore", "passes"),
    [
        (f"{ADVISORY} exp:2999-01-01 # accepted for now\n", True),
        (f"{ADVISORY} exp:2020-01-01 # accepted until 2020\n", False),
        (f"{ADVISORY} exp:2020-02-30\n", False),
    ],
    ids=["not-yet-expired", "expired", "malformed-date"],
)
def test_trivyignore_entries_expire(
    trivy_bin: str, trivy_db: Path, tmp_path: Path, trivyignore: str, passes: bool
) -> None:
    files = {**VULNERABLE, ".trivyignore": trivyignore}
    env = _env(tmp_path, trivy_bin, trivy_db)
    if passes:
        assert _check(files, env)["ignored"] == {ADVISORY: "accepted for now"}
        return
    with pytest.raises(gate.GateFailed) as exc:
        _check(files, env)
    why = exc.value.summary["lapsed"][ADVISORY]
    assert why in exc.value.message and ("expired on 2020-01-01" in why or "not a date" in why)
    report = json.loads(Path(exc.value.summary["report_path"]).read_text())
    assert report["lapsed_ignores"] == {ADVISORY: why} and report["blocking"] == [ADVISORY]


def test_scan_ignore_takes_an_expiry(trivy_bin: str, trivy_db: Path, tmp_path: Path) -> None:
    env = _env(tmp_path, trivy_bin, trivy_db)
    later = json.dumps({ADVISORY: {"reason": "vendor fix due", "expires": "2999-12-31"}})
    assert _check(VULNERABLE, env, scan_ignore=later)["ignored"] == {ADVISORY: "vendor fix due"}
    past = json.dumps({ADVISORY: {"reason": "vendor fix due", "expires": "2021-06-30"}})
    with pytest.raises(gate.GateFailed, match="the ignore expired on 2021-06-30"):
        _check(VULNERABLE, env, scan_ignore=past)


def test_a_new_db_invalidates_the_cached_verdict_wherever_trivy_keeps_its_cache(
    trivy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trivy's cache set through its own environment variable, not through the plugin: the plugin must still learn
    # the DB's date (it used to read ~/.cache/trivy, find nothing, and keep one cache key for every DB).
    trivy_cache = tmp_path / "trivy-own-cache"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    without_pyyaml = [a for a in json.loads(ADVISORIES.read_text()) if a["package"].lower() != "pyyaml"]
    build(trivy_cache, without_pyyaml, updated_at=now - timedelta(hours=2))
    monkeypatch.setenv("TRIVY_CACHE_DIR", str(trivy_cache))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    env = _env(tmp_path, trivy_bin, None)
    first = _check(VULNERABLE, env, scan="required")
    assert first["status"] == "passed" and first["db_updated_at"] == (now - timedelta(hours=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    build(trivy_cache, updated_at=now - timedelta(hours=1))  # the DB learns of the advisory
    with pytest.raises(gate.GateFailed) as exc:
        _check(VULNERABLE, env, scan="required")
    assert exc.value.summary["blocking"] == [ADVISORY] and exc.value.summary["cached"] is False


def test_an_old_db_gives_no_verdict_under_required(
    trivy_bin: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = build(tmp_path / "old-db", updated_at=datetime.now(timezone.utc) - timedelta(days=10, hours=1))
    env = _env(tmp_path, trivy_bin, old)
    clean = CLEAN
    with pytest.raises(gate.GateUnavailable) as exc:
        _check(clean, env, scan="required")
    message = exc.value.message
    assert exc.value.error_code == "INTERNAL_ERROR" and "10.0 days old" in message
    assert f"trivy image --cache-dir {old} --download-db-only" in message and "scan_max_db_age" in message
    assert _check(clean, env, scan="required", scan_max_db_age="30")["status"] == "passed"
    with caplog.at_level(logging.WARNING, logger="mlflow_tcdeploy_plugin"):
        assert _check(clean, env, scan="auto")["status"] == "passed"
    assert "10.0 days old" in caplog.text


def test_a_verdict_without_a_db_date_is_never_cached(trivy_bin: str, trivy_db: Path, tmp_path: Path) -> None:
    wrapper, runs = _counting(tmp_path, trivy_bin, version_json='{"Version": "0.59.1"}')
    env = _env(tmp_path, wrapper, trivy_db)
    for _ in range(2):
        assert _check(CLEAN, env)["cached"] is False
    assert [line.split()[0] for line in runs.read_text().splitlines()].count("fs") == 2
    with pytest.raises(gate.GateUnavailable, match="no vulnerability DB date"):
        _check(CLEAN, env, scan="required")
