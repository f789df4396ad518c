"""Rewrite the README's option reference (between <!-- options:start --> and <!-- options:end -->) from the option
table in code. Run after changing an option: .venv/bin/python tools/readme-options.py"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mlflow_tcdeploy_plugin.options import reference_markdown

README = Path(__file__).parents[1] / "README.md"
SECTION = re.compile(r"(<!-- options:start -->\n).*?(\n<!-- options:end -->)", re.S)


def main() -> int:
    text = README.read_text()
    if not SECTION.search(text):
        print(f"{README} has no <!-- options:start --> / <!-- options:end --> section", file=sys.stderr)
        return 1
    README.write_text(SECTION.sub(lambda m: m.group(1) + reference_markdown() + m.group(2), text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
