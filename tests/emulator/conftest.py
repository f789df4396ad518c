"""Fixtures shared by the emulator's tests (helpers: tests/emulator/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_tcdeploy_plugin.emulator import Timing
from tests.helpers import sdk_client, start_emulator


@pytest.fixture
def idle(tmp_path: Path) -> Iterator[Any]:
    """An SDK client of an emulator whose services stay NEW: no replica is ever started."""
    emu = start_emulator(tmp_path / "idle", timing=Timing(new_delay=3600))
    yield sdk_client(emu)
    emu.stop()
