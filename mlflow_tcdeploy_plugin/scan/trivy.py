"""The Trivy runner: find the binary, learn its version and its vulnerability DB's date, scan a directory."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .._subprocess import CommandError, run
from ..log import get_logger

logger = get_logger(__name__)


class GateError(Exception):
    """The gate could not reach a verdict (no Trivy, a crash, a timeout, an unreadable report)."""


@dataclass(frozen=True)
class TrivyConfig:
    binary: str | None = None
    """A path, or None to look ``trivy`` up on PATH."""
    cache_dir: str | None = None
    """Trivy's own cache (its vulnerability DB lives in ``<cache_dir>/db``); None: Trivy's default."""
    offline: bool = False
    """Never download the DB (``--skip-db-update --offline-scan``)."""
    timeout: float = 300.0


def find_binary(config: TrivyConfig) -> str:
    if config.binary:
        path = Path(config.binary)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise GateError(f"TCDEPLOY_TRIVY_BIN={config.binary!r} is not an executable file.")
    found = shutil.which("trivy")
    if not found:
        raise GateError(
            "Trivy is not installed: install it (https://trivy.dev, e.g. `apt install trivy` or "
            "`brew install trivy`) or set TCDEPLOY_TRIVY_BIN to its path; scan=off skips the gate."
        )
    return found


def _cache_args(config: TrivyConfig) -> list[str]:
    return ["--cache-dir", config.cache_dir] if config.cache_dir else []


@dataclass(frozen=True)
class TrivyInfo:
    version: str
    db_updated_at: str
    """When the DB in the cache the scan uses was built (RFC 3339), or ``""`` when there is none yet."""


def version_info(config: TrivyConfig, binary: str) -> TrivyInfo:
    """``trivy version --format json`` with the scan's cache arguments: Trivy itself says which DB it would use,
    wherever its cache lives (``--cache-dir``, ``TRIVY_CACHE_DIR``, ``XDG_CACHE_HOME``, the platform's default)."""
    argv = [binary, "version", "--format", "json", *_cache_args(config)]
    logger.debug("tcdeploy: running %s", " ".join(argv))
    try:
        answer = json.loads(run(argv, timeout=config.timeout))
        return TrivyInfo(str(answer["Version"]), str((answer.get("VulnerabilityDB") or {}).get("UpdatedAt") or ""))
    except CommandError as exc:
        raise GateError(f"Trivy failed: {exc}") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GateError(f"`trivy version --format json` printed something unexpected: {exc!r}") from exc


def _offline_args(config: TrivyConfig) -> list[str]:
    return ["--skip-db-update", "--skip-java-db-update", "--offline-scan"] if config.offline else []


def _run_scan(config: TrivyConfig, argv: list[str]) -> str:
    logger.debug("tcdeploy: running %s", " ".join(argv))
    try:
        return run(argv, timeout=config.timeout)
    except CommandError as exc:
        raise GateError(f"Trivy failed: {exc}") from exc


def scan(config: TrivyConfig, binary: str, directory: Path) -> str:
    """``trivy fs --format json --scanners vuln --list-all-pkgs`` on ``directory`` (every package it read is listed,
    so the gate can tell what was scanned); return the JSON text."""
    argv = [binary, "fs", "--format", "json", "--scanners", "vuln", "--list-all-pkgs", "--quiet", *_cache_args(config)]
    return _run_scan(config, [*argv, *_offline_args(config), str(directory)])


def scan_image(config: TrivyConfig, binary: str, reference: str, list_all: bool = False) -> str:
    """``trivy image`` on an image of the Docker engine at ``DOCKER_HOST``; return the JSON text. ``list_all``: list
    every package read, not only the vulnerable ones."""
    argv = [binary, "image", "--format", "json", "--scanners", "vuln", "--quiet", *_cache_args(config)]
    if list_all:
        argv.append("--list-all-pkgs")
    return _run_scan(config, [*argv, *_offline_args(config), reference])
