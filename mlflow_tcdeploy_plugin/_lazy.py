"""A module loaded the first time one of its names is read. MLflow imports the plugin's client on every
``get_deploy_client``; what its methods use (the option table, the rules, the backends) loads with the first call."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name``, imported (thread-safely, by ``import_module``) on the first read and kept."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:  # two threads may both get here: they import and keep the same module
            module = self._module = import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
