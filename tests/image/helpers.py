"""Helpers of the image tests: the local registry, the CA bundle paths, the Docker engine handle."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import under_ci

REGISTRY = os.environ.get("TCDEPLOY_TEST_REGISTRY", "127.0.0.1:5000")
PIP_INDEX_URL = os.environ.get("TCDEPLOY_TEST_PIP_INDEX_URL", "https://pypi.org/simple")
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")
EXTRA_CA = Path("/usr/local/share/ca-certificates")


@dataclass
class Docker:
    client: Any
    repository: str
    """This session's own repository in the local registry, so nothing of an earlier run is found in it."""
    ca_bundle: str
    build_dir: Path

    def options(self, **extra: Any) -> dict[str, Any]:
        """Image options for a deployment of this session (the CA bundle and index this machine needs)."""
        return {
            "image_repository": self.repository,
            "ca_bundle": self.ca_bundle,
            "pip_index_url": PIP_INDEX_URL,
            **extra,
        }

    def labels(self, reference: str) -> dict[str, str]:
        return dict(self.client.images.get(reference).labels or {})

    def events(self, since: float, until: float) -> list[dict[str, Any]]:
        """What the engine did between two times: builds tag images and run build containers, pushes push."""
        events = self.client.events(since=int(since), until=int(until) + 1, decode=True)
        return [e for e in events if since * 1e9 <= e.get("timeNano", 0) <= until * 1e9]  # the API counts in seconds


def builds_and_pushes(events: list[dict[str, Any]]) -> tuple[int, int]:
    """Counted on the engine: images tagged by a build, and pushes (a build tags what it made)."""
    tags = [e for e in events if e.get("Type") == "image" and e.get("Action") == "tag"]
    pushes = [e for e in events if e.get("Type") == "image" and e.get("Action") == "push"]
    return len(tags), len(pushes)


def unavailable(why: str) -> None:
    if under_ci():
        pytest.fail(f"{why}; under CI the image tests must run (./build.sh test starts tools/docker-engine.sh)")
    pytest.skip(why)
