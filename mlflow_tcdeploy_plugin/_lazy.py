"""A module loaded the first time one of its names is read. MLflow imports the plugin's client on every
``get_deploy_client``; what its methods use (the option table, the rules, the backends) loads with the first call."""

from __future__ import annotations

from importlib import import_module
from typing import Any


class LazyModule:
    """Stands for the module ``name``; ``import_module`` (thread-safe, then a ``sys.modules`` look-up) on each read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
