"""Fixtures for the reliability suite: the client tests' emulator."""

from __future__ import annotations
