"""Wrong files out, as a property: any single mistake of the kinds users make, at any row
of the default case, in plain or Dutch-Excel CSV, is refused with exit code 2 and one
message naming the file, the line and the field and what was expected; nothing is written."""
from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import pandas as pd
from conftest import DEFAULT_CASE, run_cli
from dialects import Dialect, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from dpm.model.case import CORPORATION_COLUMNS, OPGAVE_COLUMNS

COLUMNS = {"corporations": CORPORATION_COLUMNS, "opgave": OPGAVE_COLUMNS}
TABLES = {t: pd.read_csv(DEFAULT_CASE / f"{t}.csv", dtype=str, keep_default_na=False) for t in COLUMNS}
DIALECTS = [Dialect(), Dialect(sep=";", encoding="cp1252", decimal_comma=True, grouping=True, crlf=True)]
CORP_IDS = list(TABLES["corporations"]["corporation_id"])
WORDS = st.text("bcdfghjkmpqrstvwxz", min_size=1, max_size=8)  # never a number, 'nan' or 'inf'


def _numeric(table: str, required: bool | None = None) -> list[str]:
    return [c for c, s in COLUMNS[table].items() if s.kind != "text" and c in TABLES[table]
            and (required is None or s.required == required)]


@st.composite
def mistakes(draw):
    """(table, edit, file line, field, words in the message): one mistake in the default case."""
    kind = draw(st.sampled_from(["misspelt column", "missing column", "wrong type", "empty required", "nan",
                                 "negative homes", "share above 1", "rate in percent", "unknown id",
                                 "duplicate id", "year outside", "region without corporations"]))
    table = draw(st.sampled_from(["corporations", "opgave"]))
    n = len(TABLES[table])
    row = draw(st.integers(0, n - 1))
    line = row + 2

    def cell(t, r, col, value):
        return lambda tabs: tabs[t].__setitem__(col, tabs[t][col].where(tabs[t].index != r, value))

    if kind == "misspelt column":
        col = draw(st.sampled_from([c for c in TABLES[table].columns if len(c) >= 5]))
        i = draw(st.integers(1, len(col) - 2))
        bad = col[:i] + col[i + 1:]
        return table, lambda tabs: tabs.__setitem__(table, tabs[table].rename(columns={col: bad})), 1, bad, \
            ["unknown column", f"did you mean '{col}'"]
    if kind == "missing column":
        col = draw(st.sampled_from([c for c, s in COLUMNS[table].items() if s.required]))
        return table, lambda tabs: tabs.__setitem__(table, tabs[table].drop(columns=[col])), 1, col, \
            ["required column is missing"]
    if kind == "wrong type":
        col = draw(st.sampled_from(_numeric(table)))
        word = draw(WORDS)
        return table, cell(table, row, col, word), line, col, ["expected a number", repr(word)]
    if kind == "empty required":
        col = draw(st.sampled_from([c for c, s in COLUMNS[table].items() if s.required]))
        return table, cell(table, row, col, ""), line, col, ["required value is empty"]
    if kind == "nan":
        col = draw(st.sampled_from(_numeric(table)))
        word = draw(st.sampled_from(["NaN", "nan", "inf", "-inf", "#N/B"]))
        return table, cell(table, row, col, word), line, col, ["expected a number"]
    if kind == "negative homes":
        v = draw(st.integers(-10**6, -1))
        return table, cell(table, row, "homes", str(v)), line, "homes", ["expected a value in [", "got -"]
    row = draw(st.integers(0, len(TABLES["corporations"]) - 1))
    line = row + 2
    if kind == "share above 1":
        col = draw(st.sampled_from(["guaranteed_share", "runoff"]))
        v = draw(st.sampled_from(["1.5", "2", "250", "1.0001"]))
        return "corporations", cell("corporations", row, col, v), line, col, ["expected a value in [0, 1]"]
    if kind == "rate in percent":
        v = draw(st.integers(101, 2000)) / 100  # 1.01 % to 20 %
        return "corporations", cell("corporations", row, "interest_rate", f"{v:g}"), line, "interest_rate", \
            [f"did you mean {v / 100:g}?"]
    if kind == "duplicate id":
        other = draw(st.integers(0, len(CORP_IDS) - 1).filter(lambda o: o != row))
        return "corporations", cell("corporations", row, "corporation_id", CORP_IDS[other]), \
            max(row, other) + 2, "corporation_id", ["duplicate id"]
    row = draw(st.integers(0, len(TABLES["opgave"]) - 1))
    line = row + 2
    if kind == "unknown id":
        word = draw(WORDS.filter(lambda w: w not in CORP_IDS))
        return "opgave", cell("opgave", row, "corporation_id", word), line, "corporation_id", \
            [f"unknown corporation_id {word!r}"]
    if kind == "year outside":
        year = draw(st.integers(1990, 2100).filter(lambda y: not 2026 <= y <= 2035))
        return "opgave", cell("opgave", row, "year", str(year)), line, "year", \
            [f"year {year} is outside the policy period 2026-2035"]
    word = draw(WORDS)  # region without corporations
    return "opgave", cell("opgave", row, "region", word), line, "region", [f"region {word!r} has no corporations"]


@settings(max_examples=120, deadline=None)
@given(mistake=mistakes(), dialect=st.sampled_from(DIALECTS))
def test_every_mistake_is_refused_with_file_line_and_field(mistake, dialect):
    table, edit, line, field, words = mistake
    tables = {t: df.copy() for t, df in TABLES.items()}
    edit(tables)
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case"
        case.mkdir()
        shutil.copy(DEFAULT_CASE / "scenario.toml", case)
        for t, df in tables.items():
            write_csv(df, case / f"{t}.csv", dialect)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = run_cli(case, Path(tmp) / "out")
        message = err.getvalue().strip()
        assert code == 2, message
        assert message.count("\n") == 0, "one message"
        assert message.startswith(f"error: {table}.csv, line {line}, field '{field}': "), message
        for word in words:
            assert word in message, message
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["case"]  # nothing written


@settings(max_examples=30, deadline=None)
@given(data=st.tuples(st.binary(max_size=100), st.binary(max_size=100)).map(lambda t: t[0] + b"\x00" + t[1]),
       table=st.sampled_from(["corporations.csv", "opgave.csv"]))
def test_an_unreadable_file_is_refused(data, table):
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(shutil.copytree(DEFAULT_CASE, Path(tmp) / "case"))
        (case / table).write_bytes(data)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert run_cli(case, Path(tmp) / "out") == 2
        assert err.getvalue().startswith(f"error: {table}"), err.getvalue()
        assert err.getvalue().count("\n") == 1
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["case"]
