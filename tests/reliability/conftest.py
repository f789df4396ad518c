"""Fixtures for the reliability suite: the client tests' emulator."""

from __future__ import annotations

from tests.client.conftest import cloud  # noqa: F401  (the emulator the client's environment points at)
