"""Reading an input table as text, from the files users really have (MODEL.md 10).

Accepted:

* CSV as any spreadsheet exports it: separator ``,``, ``;`` or tab, detected from the
  header line; UTF-8 (with or without BOM), UTF-16 with BOM ("Unicode text"), or
  Windows-1252 (Excel's "CSV (gescheiden door lijstscheidingsteken)" on a Dutch Windows).
  When the separator is not a comma and some cell holds a decimal comma (``0,029``), the
  file uses the Dutch number format: decimal comma, and dots as thousands separators
  (``3.550.000.000``) in amounts and counts. A percentage (``2,9%``) is read as a fraction
  in rate fields.
* An ``.xlsx`` sheet: cell values as stored (no locale is involved).

Either way the result is a :class:`RawTable` of stripped text cells, each row with the line
(CSV) or row (sheet) it came from, so that every error can point at it. Converting text
to numbers, and checking it, is ``dpm.model.case``'s job.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dpm.model.errors import CaseError

SEPARATORS = (";", ",", "\t")
_DECIMAL_COMMA = r"[-+]?(\d{1,3}(\.\d{3})+|\d*),\d+%?"
_GROUPED = r"[-+]?[1-9]\d{0,2}(\.\d{3})+"


@dataclass
class RawTable:
    """A table as text: ``text`` has one stripped ``str`` per cell ('' when empty)."""

    source: str  # the name errors use: 'opgave.csv' or "case.xlsx, sheet 'opgave'"
    text: pd.DataFrame
    lines: np.ndarray  # the line (CSV, header = 1) or row (sheet) of each row
    decimal: str = "."  # ',' for the Dutch number format
    unit: str = "line"  # how ``lines`` are called in messages: 'line' or 'row'
    header_line: int = 1
    file: Path | None = None  # the file it was read from (provenance)

    def error(self, message: str, line: int | None = None, field: str | None = None) -> CaseError:
        """A :class:`CaseError` at ``line`` (a value of ``lines`` or ``header_line``) of this table."""
        return CaseError(self.source, message, None if line is None else int(line), field, self.unit)

    def numbers(self, column: str, grouping: bool, percent: bool) -> pd.Series:
        """``column`` as floats; NaN where empty or not a number. ``grouping``: dots may
        separate thousands (Dutch format only); ``percent``: '2,9%' means 0.029."""
        s = self.text[column]
        scale = pd.Series(1.0, index=s.index)
        if percent:
            pct = s.str.endswith("%")
            s = s.where(~pct, s.str[:-1].str.strip())
            scale[pct] = 0.01
        if self.decimal == ",":
            if grouping:
                grouped = s.str.fullmatch(_GROUPED + r"(,\d*)?")
                s = s.where(~grouped, s.str.replace(".", "", regex=False))
            comma = s.str.fullmatch(r"[-+]?\d*,\d+")
            s = s.where(~comma, s.str.replace(",", ".", regex=False))
        values = pd.to_numeric(s.where(s != "", None), errors="coerce")
        return values.where(scale == 1.0, (values * scale).round(12))  # '2,9%' -> 0.029, not 0.0289999...


def check_readable(file: Path) -> None:
    """One clear line for a path that cannot be read as a file: missing, a folder, no permission."""
    name = file.name
    if not file.exists():
        raise CaseError(name, "file not found")
    if file.is_dir():
        raise CaseError(name, "is a folder, not a file")
    if not os.access(file, os.R_OK):
        raise CaseError(name, "cannot read: permission denied (is it locked or protected?)")


def _decode(file: Path, data: bytes) -> str:
    name = file.name
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "cp1252"]
    for enc in encodings:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise CaseError(name, "cannot read as text: not UTF-8, UTF-16 or Windows-1252 CSV "
                    "(is it a binary file, or a workbook saved with a .csv name?)")


def _separator(text: str) -> str:
    """The separator used most often in the header line, outside quotes."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    outside, quoted = [], False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(ch)
    counts = {sep: outside.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def read_csv_table(file: Path) -> RawTable:
    """Read ``file`` as CSV in whatever dialect it was exported in (see the module doc)."""
    name = file.name
    check_readable(file)
    try:
        data = file.read_bytes()
    except OSError as err:
        raise CaseError(name, f"cannot read: {err.strerror or err}") from None
    text = _decode(file, data)
    sep = _separator(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    lines = np.arange(1, len(rows) + 1)
    keep = [i for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not keep:
        raise CaseError(name, "no header line: the file is empty")
    header = [c.strip() for c in rows[keep[0]]]
    body = []
    for i in keep[1:]:
        row = [c.strip() for c in rows[i]]
        if len(row) > len(header):
            raise CaseError(name, f"{len(row)} fields where the header has {len(header)}"
                            + ("; a decimal comma in a comma-separated file? export with ';'" if sep == "," else ""),
                            int(lines[i]))
        body.append(row[:len(header)] + [""] * (len(header) - len(row)))
    if len(set(header)) < len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise CaseError(name, "column given twice", int(lines[keep[0]]), dup)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    return RawTable(name, frame.astype(str), lines[keep[1:]], _decimal_mark(frame, sep),
                    header_line=int(lines[keep[0]]), file=file)


def _decimal_mark(frame: pd.DataFrame, sep: str) -> str:
    """',' (Dutch number format) or '.': a comma-separated file uses points; otherwise a cell
    with a decimal comma says ',', a cell with a decimal point (not a thousands group) says
    '.', and a file of whole numbers only is read in the Dutch format, as Excel writes ';'
    files only in locales with a decimal comma ('1.300' is then 1300)."""
    if sep == ",":
        return "."
    def any_match(pattern: str) -> bool:
        return bool(frame.apply(lambda c: c.str.fullmatch(pattern).any()).any()) if len(frame) else False
    if any_match(_DECIMAL_COMMA):
        return ","
    if any_match(r"[-+]?\d*\.\d+%?") and not any_match(_GROUPED):
        return "."
    return ","


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


def read_sheet(book: Path, sheet: str | None) -> RawTable:
    """Read the sheet named ``sheet`` (case-insensitive; None: the first sheet) of the
    workbook ``book``; its first non-empty row is the header."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    import zipfile

    check_readable(book)
    with open(book, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container: an encrypted workbook or an old .xls
        raise CaseError(book.name, "cannot read the workbook: it is password protected or an old .xls file; "
                        "save it as an .xlsx workbook without a password")
    if not head:
        raise CaseError(book.name, "cannot read the workbook: the file is empty")
    try:
        wb = openpyxl.load_workbook(book, read_only=True, data_only=True)
    except zipfile.BadZipFile:
        raise CaseError(book.name, "cannot read as an .xlsx workbook: not a zip file (a CSV or other file "
                        "with an .xlsx name?)") from None
    except (InvalidFileException, OSError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise CaseError(book.name, f"cannot read as an .xlsx workbook: {err}") from None
    try:
        names = {n.strip().lower(): n for n in wb.sheetnames}
        if not wb.sheetnames:
            raise CaseError(book.name, "the workbook has no sheets")
        sheet = sheet or wb.sheetnames[0]
        if sheet.lower() not in names:
            raise CaseError(book.name, f"no sheet '{sheet}' (sheets: {', '.join(wb.sheetnames)}); "
                            "a case workbook has the sheets 'corporations' and 'opgave'")
        source = f"{book.name}, sheet '{names[sheet.lower()]}'"
        rows = [(i, [_cell_text(v) for v in r])
                for i, r in enumerate(wb[names[sheet.lower()]].iter_rows(values_only=True), start=1)]
    finally:
        wb.close()
    rows = [(i, r) for i, r in rows if any(r)]
    if not rows:
        raise CaseError(source, "no header row: the sheet is empty")
    header = rows[0][1]
    while header and not header[-1]:
        header = header[:-1]
    width = len(header)
    if "" in header:
        raise CaseError(source, f"column {header.index('') + 1} has no name in the header row", rows[0][0],
                        unit="row")
    if len(set(header)) < width:
        dup = next(h for h in header if header.count(h) > 1)
        raise CaseError(source, "column given twice", rows[0][0], dup, "row")
    body = [r[:width] + [""] * (width - len(r)) for _, r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object).astype(str)
    return RawTable(source, frame, np.array([i for i, _ in rows[1:]], int), ".", "row", rows[0][0], file=book)
