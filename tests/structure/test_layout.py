"""The layout's promises, read from the source: the option table knows nothing of the wire, request members are
named only by the backends (and the emulator), and functions stay short and simple."""

from __future__ import annotations

import ast
from pathlib import Path

from mlflow_tcdeploy_plugin.emulator import spec
from tests.structure.test_imports import PACKAGE, graph

MAX_LINES = 40


def _member_names(members: dict[str, spec.Member]) -> set[str]:
    found = set(members)
    for member in members.values():
        kind = member.type.item if isinstance(member.type, spec.ListOf) else member.type
        if isinstance(kind, spec.Struct):
            found |= _member_names(kind.members)
    return found


def request_members() -> set[str]:
    """Every member of every emulated action's request, nested objects included (the APIs' definitions)."""
    return set().union(*(_member_names(action.members) for action in spec.ACTIONS.values()))


def _outside_the_wire() -> list[Path]:
    """The package but the backends and the emulator, and the gate (``scan/`` reads Trivy's JSON, whose generic
    ``Name``, ``Version`` and ``Status`` are no cloud member)."""
    wire = {"backends", "emulator", "scan"}
    return [p for p in PACKAGE.rglob("*.py") if not wire & set(p.relative_to(PACKAGE).parts[:-1])]


def test_the_definitions_are_read() -> None:
    assert {"ServiceGroupId", "ImageUrl", "EnableInstanceRpsLimit", "TiProjectId"} <= request_members()


def test_no_request_member_is_named_outside_the_backends_and_the_emulator() -> None:
    members = request_members()
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value}"
        for path in _outside_the_wire()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in members
    ]
    assert found == []


def test_the_option_table_imports_no_backend() -> None:
    assert not {m for m in graph()["mlflow_tcdeploy_plugin.options"] if ".backends" in m}


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_function_is_longer_than_40_lines() -> None:
    long = [
        f"{path.relative_to(PACKAGE.parent)}:{fn.lineno} {fn.name} ({(fn.end_lineno or fn.lineno) - fn.lineno + 1})"
        for path in PACKAGE.rglob("*.py")
        for fn in _functions(ast.parse(path.read_text()))
        if (fn.end_lineno or fn.lineno) - fn.lineno + 1 > MAX_LINES
    ]
    assert long == []
