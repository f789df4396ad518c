"""The option reference, from the option table and the backends' member tables and capabilities: the Markdown of
docs/options.md (``tools/options-reference.py`` writes it, a test keeps it in step) and ``target_help()``'s text."""

from __future__ import annotations

import json

from .backends import NAMES, capabilities_of, tione, wedata
from .options import OPTIONS, Option
from .schema import ListOf, Struct, describe

TABLES = {wedata.NAME: (wedata.MEMBERS, wedata.SENT_AS), tione.NAME: (tione.MEMBERS, tione.SENT_AS)}


def backends_of(option: Option) -> list[str]:
    return [name for name in NAMES if capabilities_of(name).takes(option.key)]


def _type_text(option: Option, separator: str) -> str:
    if option.choices:
        return separator.join(option.choices)
    if isinstance(option.type, (Struct, ListOf)):
        return f"object {describe(option.type)}"
    return {"custom": "object", "advisories": "advisories"}.get(str(option.type), str(option.type))


def _sent_on(name: str, option: Option) -> str:
    """What one backend sends for the option: its member (per method where they differ), an action, or ""."""
    members, sent_as = TABLES[name]
    if option.key in sent_as:
        return sent_as[option.key]
    field = members.get(option.key)
    if field is None:
        return ""
    if field.on_update:
        return f"`{field.member}` (create), `{field.on_update}` (update)"
    return f"`{field.member}`"


def member_text(option: Option) -> str:
    """The API member column: WeData's, then TI-ONE's where it differs; ``(client)`` for what the client uses."""
    sent = {name: _sent_on(name, option) for name in backends_of(option)}
    shown = list(dict.fromkeys(text for text in sent.values() if text))
    if not shown:
        return "(client)"
    if len(shown) == 1:
        return shown[0]
    return "; ".join(f"{text} ({name})" for name, text in sent.items() if text)


def markdown() -> str:
    """The option reference, as docs/options.md shows it (objects: ``*`` marks a required key)."""
    rows = [
        "| option | type | default | API member | used on | backends | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in OPTIONS:
        default = "" if o.default is None else json.dumps(o.default)
        kind = _type_text(o, " \\| ")
        rows.append(
            f"| `{o.key}` | {kind} | {default} | {member_text(o)} | {', '.join(o.scopes)} "
            f"| {', '.join(backends_of(o))} | {o.doc} |"
        )
    return "\n".join(rows)


def text() -> str:
    lines = []
    for o in OPTIONS:
        default = "" if o.default is None else f" (default {json.dumps(o.default)})"
        offered = backends_of(o)
        where = ", ".join(o.scopes) + ("" if len(offered) == len(NAMES) else f"; {', '.join(offered)} only")
        lines.append(f"  {o.key} <{_type_text(o, '|')}>{default} [{where}]\n      {o.doc}")
    return "\n".join(lines)
