"""Helpers of the client tests: the fast-poll options and the emulator the client's environment points at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import Registry, start_emulator

FAST = {"poll_interval": "0.1"}


@dataclass
class Cloud:
    emulator: Any
    registry: Registry
    env: dict[str, str]

    def requests(self) -> list[dict[str, Any]]:
        return self.emulator.request_log()

    def actions(self) -> list[str]:
        return [r["action"] for r in self.requests()]


def serve_cloud(tmp_path_factory: pytest.TempPathFactory, registry: Registry, **overrides: Any) -> Iterator[Cloud]:
    emu = start_emulator(tmp_path_factory.mktemp("cloud"), registry.tracking_uri, **overrides)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in emu.env().items():
            mp.setenv(name, value)
        yield Cloud(emu, registry, emu.env())
    emu.stop()
