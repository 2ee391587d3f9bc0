"""Write the README's input column tables from the schema in ``model/case.py``.

    python docs/columns.py          # rewrite README.md's tables in place
    python docs/columns.py --check  # exit 1 if README.md is out of date (tests/test_model/test_schema.py)

The tables sit between ``<!-- columns:NAME -->`` and ``<!-- /columns -->`` markers.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from dpm.model.case import CORPORATION_COLUMNS, OPGAVE_COLUMNS, STEUN_COLUMNS, column_table

README = Path(__file__).resolve().parent.parent / "README.md"
TABLES = {"corporations": CORPORATION_COLUMNS, "opgave": OPGAVE_COLUMNS, "steun": STEUN_COLUMNS}


def generated(text: str) -> str:
    """``text`` with every marked table regenerated."""
    for name, columns in TABLES.items():
        pattern = re.compile(rf"(<!-- columns:{name} -->\n).*?(<!-- /columns -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + column_table(columns) + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    text = README.read_text(encoding="utf-8")
    new = generated(text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else 1)
    README.write_text(new, encoding="utf-8")
