"""The gate's cache: resolutions by their whole input (requirements, serving stack, Python, platform, index options),
with the time they were made; Trivy's reports by (resolved set, Trivy version, DB date). A new DB date is a new key,
so a cached verdict never outlives the DB that produced it; with no DB date there is no key and nothing is cached."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def scan_key(requirements: str, trivy_version: str, db_updated_at: str) -> str:
    return hashlib.sha256(f"{requirements}\0{trivy_version}\0{db_updated_at}".encode()).hexdigest()


class ScanCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def report(self, key: str) -> str | None:
        try:
            return (self.root / "scans" / f"{key}.json").read_text()
        except OSError:
            return None

    def store(self, key: str, raw: str) -> None:
        _write_atomically(self.root / "scans" / f"{key}.json", raw)

    def resolution(self, key: str) -> tuple[datetime, str] | None:
        """When the resolution under ``key`` was made, and its text; None when there is none (or it is unreadable)."""
        try:
            entry = json.loads((self.root / "resolutions" / f"{key}.json").read_text())
            return datetime.fromisoformat(entry["resolved_at"]), str(entry["resolution"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store_resolution(self, key: str, when: datetime, text: str) -> None:
        entry = {"resolved_at": when.isoformat(), "resolution": text}
        _write_atomically(self.root / "resolutions" / f"{key}.json", json.dumps(entry))
