"""The Trivy runner: find the binary, learn its version and DB date, scan a directory of requirements."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .._subprocess import CommandError, run


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


def binary_identity(binary: str) -> str:
    """What identifies a build of Trivy without running it: its path, size and modification time."""
    st = Path(binary).stat()
    return f"{Path(binary).resolve()}:{st.st_size}:{st.st_mtime_ns}"


def _cache_args(config: TrivyConfig) -> list[str]:
    return ["--cache-dir", config.cache_dir] if config.cache_dir else []


def version(config: TrivyConfig, binary: str) -> str:
    try:
        out = run([binary, "version", "--format", "json", *_cache_args(config)], timeout=config.timeout)
        return str(json.loads(out)["Version"])
    except CommandError as exc:
        raise GateError(f"Trivy failed: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise GateError(f"`trivy version --format json` printed something unexpected: {exc}") from exc


def db_updated_at(config: TrivyConfig) -> str:
    """The vulnerability DB's date, read from its metadata file (no Trivy run needed)."""
    root = Path(config.cache_dir) if config.cache_dir else Path.home() / ".cache" / "trivy"
    try:
        return str(json.loads((root / "db" / "metadata.json").read_text())["UpdatedAt"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def scan(config: TrivyConfig, binary: str, directory: Path) -> str:
    """``trivy fs --format json --scanners vuln`` on ``directory``; return the JSON text."""
    argv = [binary, "fs", "--format", "json", "--scanners", "vuln", "--quiet", *_cache_args(config)]
    if config.offline:
        argv += ["--skip-db-update", "--skip-java-db-update", "--offline-scan"]
    argv.append(str(directory))
    try:
        return run(argv, timeout=config.timeout)
    except CommandError as exc:
        raise GateError(f"Trivy failed: {exc}") from exc
