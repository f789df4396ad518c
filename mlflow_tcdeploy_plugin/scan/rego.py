"""A platform team's OPA/Rego policy over the gate's report document, evaluated in-process with regopy (rego-cpp).

The policy refuses a deployment through ``deny``, a set of messages (the conftest convention)::

    package gate
    import rego.v1
    deny contains msg if { some p in input.packages; p.name == "leftpad"; msg := "leftpad is banned" }

Fail closed: a policy that cannot be read, compiled or evaluated raises ``RegoPolicyError``; it never allows.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from ..log import get_logger

logger = get_logger(__name__)

INSTALL_HINT = "pip install 'mlflow-tcdeploy-plugin[rego]'"
_PACKAGE_RE = re.compile(r"^[ \t]*package[ \t]+([^\s#]+)", re.MULTILINE)
# rego-cpp reports errors as s-expressions: `(error 6:p.rego|46|1 (errormsg 16:this is unclosed) ...)`, where the
# location (module|byte offset|length) is absent for evaluation errors.
_ERROR_RE = re.compile(
    r"\(error(?:[ \t]+\d+:[^|\n]*\|(?P<offset>\d+)\|\d+)?\s*\(errormsg \d+:(?P<message>.*?)\)$", re.MULTILINE
)


class RegoPolicyError(Exception):
    """The policy file cannot be used: regopy is missing, the file is unreadable or does not compile, it has no
    ``deny`` set of strings, or evaluating it failed. The message names the file and the fix."""


def deny_messages(policy_path: str | Path, document: dict[str, Any]) -> list[str]:
    """Evaluate ``data.<package>.deny`` of the policy over ``input = document``; return the sorted messages (empty:
    allowed)."""
    path = Path(policy_path)
    try:
        # Lazy: the plugin's import stays light, and regopy is an optional extra.
        import regopy
    except ImportError as exc:
        raise RegoPolicyError(f"Rego policy {path} needs the regopy package: {INSTALL_HINT}") from exc
    source, rule = _read(path)
    started = time.perf_counter()
    bindings = _evaluate(_interpreter(regopy, path, source), document, path, source, rule)
    messages = _messages(bindings, path, rule)
    logger.debug(
        "Rego policy %s: %d deny message(s) in %.1f ms", path, len(messages), (time.perf_counter() - started) * 1000
    )
    return messages


def _read(path: Path) -> tuple[str, str]:
    """The policy's text and the rule to query, ``data.<its package>.deny``."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RegoPolicyError(
            f"Rego policy {path} cannot be read ({exc}): pass the path of a UTF-8 .rego file"
        ) from exc
    match = _PACKAGE_RE.search(source)
    if match is None:
        raise RegoPolicyError(f"Rego policy {path} has no `package` line: start it with one, e.g. `package gate`")
    return source, f"data.{match.group(1)}.deny"


def _interpreter(regopy: Any, path: Path, source: str) -> Any:
    interpreter = regopy.Interpreter()
    # The default level prints parse errors to stdout, where they would corrupt the CLI's JSON output.
    interpreter.log_level = regopy.LogLevel.NONE
    # A built-in that fails (divide by zero, to_number("x")) must be an error, not a silently missing message.
    interpreter.strict_built_in_errors = True
    try:
        interpreter.add_module(path.name, source)
    except regopy.RegoError as exc:
        raise RegoPolicyError(
            f"Rego policy {path} does not compile: {_describe(str(exc), path, source)}. Fix it (Rego v1 syntax: "
            "`import rego.v1`, `deny contains msg if { ... }`)"
        ) from exc
    return interpreter


def _evaluate(interpreter: Any, document: dict[str, Any], path: Path, source: str, rule: str) -> dict[str, Any]:
    from regopy import RegoError

    try:
        # JSON text, not regopy's Input: rego-cpp keeps Input strings unescaped, so `input.x == "a\"b"` would never
        # match. ensure_ascii=False: rego-cpp would count the escape \u00e9 as six characters.
        interpreter.set_input_term(json.dumps(document, ensure_ascii=False))
        output = interpreter.query(f"messages := {rule}; a_set := is_set(messages)")
    except json.JSONDecodeError as exc:
        # rego-cpp returns some errors (an unknown function) as a "successful" output that is not JSON.
        if _ERROR_RE.search(exc.doc):
            raise _evaluation_error(path, _describe(exc.doc, path, source)) from exc
        # rego-cpp 1.5 keeps the quotes of a built-in's string result when sprintf("%s") embeds it, and renders them
        # unescaped: the message is corrupt, so refuse rather than guess it.
        raise RegoPolicyError(
            f"Rego policy {path} produced a result rego-cpp cannot render as JSON ({exc.doc.strip()}). rego-cpp does "
            'this when sprintf("%s") formats the result of a built-in such as concat, upper or replace; build that '
            'message with concat instead, e.g. concat("", ["via ", concat(" > ", f.chain)])'
        ) from exc
    except RegoError as exc:
        raise _evaluation_error(path, _describe(str(exc), path, source)) from exc
    if not output.ok():
        # Only the error nodes under the ErrorSeq render their messages; the sequence itself renders as an address.
        errors = output.node()
        text = "\n".join(errors.at(i).json() for i in range(len(errors)))
        raise _evaluation_error(path, _describe(text, path, source))
    return dict(output[0].bindings)


def _messages(bindings: dict[str, Any], path: Path, rule: str) -> list[str]:
    if "messages" not in bindings:
        raise RegoPolicyError(
            f"Rego policy {path} defines no `deny` rule ({rule} is undefined): a policy that can never refuse is "
            "almost certainly a mistake. Add `deny contains msg if { ... }`"
        )
    messages = bindings["messages"]
    if not bindings["a_set"] or not all(isinstance(message, str) for message in messages):
        raise RegoPolicyError(
            f"Rego policy {path}: {rule} must be a set of strings, got {json.dumps(messages)}. "
            'Write it as `deny contains msg if { ...; msg := "why" }`'
        )
    return sorted(messages)


def _evaluation_error(path: Path, detail: str) -> RegoPolicyError:
    return RegoPolicyError(f"Rego policy {path} failed to evaluate: {detail}. Fix the policy")


def _describe(text: str, path: Path, source: str) -> str:
    """The messages of rego-cpp's error s-expressions, with ``file:line:column`` where it gives a location."""
    problems = []
    for match in _ERROR_RE.finditer(text):
        where = ""
        if match["offset"] is not None:
            before = source.encode()[: int(match["offset"])].decode(errors="ignore")
            line = before.count("\n") + 1
            column = len(before) - before.rfind("\n")
            where = f"{path}:{line}:{column}: "
        problems.append(where + match["message"])
    return "; ".join(problems) or text.strip()
