"""Write a case's tables the way users' spreadsheets do: Dutch Excel CSV, other encodings,
.xlsx workbooks. Used to check that every accepted form reads to the same case."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dpm.model.case import CORPORATION_COLUMNS, OPGAVE_COLUMNS

KINDS = {**{c: s.kind for c, s in CORPORATION_COLUMNS.items()}, **{c: s.kind for c, s in OPGAVE_COLUMNS.items()}}


@dataclass(frozen=True)
class Dialect:
    sep: str = ","
    encoding: str = "utf-8"  # utf-8, utf-8-sig (BOM), cp1252, utf-16
    decimal_comma: bool = False  # only with sep != ','
    grouping: bool = False  # thousands dots in amounts (Dutch format only)
    percent: bool = False  # rates as '2,9%' (Dutch format only)
    crlf: bool = False
    blank_lines: bool = False  # an empty line after the header and at the end


def _dutch(value: str, column: str, d: Dialect) -> str:
    try:
        v = float(value)
    except ValueError:
        return value
    if not math.isfinite(v):
        return value
    kind = KINDS.get(column, "text")
    if kind == "text":
        return value
    if kind == "rate" and d.percent:
        return f"{v * 100:.10g}%".replace(".", ",")
    if "." not in value and d.grouping and (column.endswith("_eur") or column == "homes") and abs(v) >= 1000:
        return f"{int(v):,}".replace(",", ".")
    return value.replace(".", ",")


def write_csv(table: pd.DataFrame, path: Path, d: Dialect) -> None:
    """``table`` (all text, as read with dtype=str) written in dialect ``d``."""
    t = table.copy()
    if d.decimal_comma:
        for col in t.columns:
            t[col] = t[col].map(lambda v, c=col: _dutch(v, c, d))
    eol = "\r\n" if d.crlf else "\n"
    text = t.to_csv(index=False, sep=d.sep, lineterminator=eol)
    if d.blank_lines:
        head, _, rest = text.partition(eol)
        text = head + eol + eol + rest + eol
    path.write_bytes(text.encode(d.encoding))


def write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table, numbers stored as numbers (as Excel keeps them)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, table in tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(table.columns))
        for row in table.itertuples(index=False):
            cells = []
            for col, value in zip(table.columns, row):
                try:
                    f = float(value) if KINDS.get(col, "text") != "text" else None
                except ValueError:  # a wrong value stays text, as a user would type it
                    f = None
                if f is not None:
                    value = int(f) if f.is_integer() and "." not in value else f
                cells.append(None if value == "" else value)
            ws.append(cells)
    wb.save(path)
