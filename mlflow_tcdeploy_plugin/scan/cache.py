"""The gate's cache: Trivy's reports by (requirements, Trivy version, DB date). A new DB date is a new key, so a
cached verdict never outlives the DB that produced it; with no DB date there is no key and nothing is cached."""

from __future__ import annotations

import hashlib
import os
import tempfile
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
