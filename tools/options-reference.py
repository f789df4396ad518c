"""Rewrite the option reference in docs/options.md (between <!-- options:start --> and <!-- options:end -->) from the
option table in code. Run after changing an option: .venv/bin/python tools/options-reference.py"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mlflow_tcdeploy_plugin.reference import markdown

REFERENCE = Path(__file__).parents[1] / "docs" / "options.md"
SECTION = re.compile(r"(<!-- options:start -->\n).*?(\n<!-- options:end -->)", re.S)


def main() -> int:
    text = REFERENCE.read_text()
    if not SECTION.search(text):
        print(f"{REFERENCE} has no <!-- options:start --> / <!-- options:end --> section", file=sys.stderr)
        return 1
    REFERENCE.write_text(SECTION.sub(lambda m: m.group(1) + markdown() + m.group(2), text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
