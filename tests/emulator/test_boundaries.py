"""The emulator is written from the API reference: it must not import the client's code."""

from __future__ import annotations

import ast
from pathlib import Path

import mlflow_tcdeploy_plugin.emulator as emulator_package


def test_emulator_imports_nothing_of_the_client() -> None:
    root = Path(emulator_package.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level == 1 else [f"(relative level {node.level}) {node.module}"]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.startswith("(relative")
                or (n.startswith("mlflow_tcdeploy_plugin") and not n.startswith("mlflow_tcdeploy_plugin.emulator"))
            ]
    assert offenders == []
