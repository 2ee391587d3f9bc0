"""Real files in (MODEL.md 10): the default case, exported as a Dutch Excel user would
(';', decimal comma, thousands dots, '2,9%', BOM or Windows-1252, CRLF) or kept as an .xlsx
workbook, reads to exactly the same case as the plain CSV."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import DEFAULT_CASE, run_cli
from dialects import Dialect, write_csv, write_workbook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpm.model.case import load_case
from dpm.model.errors import CaseError

TABLES = ("corporations", "opgave")


def _original() -> dict[str, pd.DataFrame]:
    tables = {t: pd.read_csv(DEFAULT_CASE / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}
    tables["corporations"].loc[2, "name"] = "Woonbedrijf Eén Polder"  # a character outside ASCII
    return tables


ORIGINAL = _original()


def _case(folder: Path, write) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULT_CASE / "scenario.toml", folder / "scenario.toml")
    write(folder)
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = _case(tmp_path_factory.mktemp("plain") / "case",
                   lambda f: [ORIGINAL[t].to_csv(f / f"{t}.csv", index=False) for t in TABLES])
    return load_case(folder)


def _assert_same(case, reference):
    pd.testing.assert_frame_equal(case.corporations, reference.corporations, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(case.opgave, reference.opgave)
    assert case.werkgebied == reference.werkgebied


DUTCH_EXCEL = Dialect(sep=";", encoding="cp1252", decimal_comma=True, grouping=True, crlf=True)


@pytest.mark.parametrize("dialect", [
    DUTCH_EXCEL,
    Dialect(sep=";", encoding="utf-8-sig", decimal_comma=True, percent=True),
    Dialect(sep="\t", encoding="utf-16", decimal_comma=True, grouping=True, crlf=True),
    Dialect(sep=",", encoding="utf-8-sig", blank_lines=True),
], ids=["excel-nl-cp1252", "excel-nl-utf8-bom-percent", "unicode-text", "bom-blank-lines"])
def test_spreadsheet_csv_exports_read_the_same(tmp_path, reference, dialect):
    case = _case(tmp_path / "case", lambda f: [write_csv(ORIGINAL[t], f / f"{t}.csv", dialect) for t in TABLES])
    _assert_same(load_case(case), reference)


def test_dutch_excel_export_runs_as_it_is(tmp_path, capsys):
    """A newcomer's export runs end to end, with the same headline result as the plain case."""
    case = _case(tmp_path / "case", lambda f: [write_csv(ORIGINAL[t], f / f"{t}.csv", DUTCH_EXCEL) for t in TABLES])
    raw = (case / "corporations.csv").read_bytes()
    assert b";" in raw and b"3.550.000.000" in raw and b"0,029" in raw and b"E\xe9n" in raw  # really Dutch cp1252
    assert run_cli(case, tmp_path / "out") == 0
    assert "Voorbeeldregio" in capsys.readouterr().out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sep=st.sampled_from([",", ";", "\t"]), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
       grouping=st.booleans(), percent=st.booleans(), crlf=st.booleans(), blank_lines=st.booleans())
def test_any_accepted_dialect_reads_the_same(reference, sep, encoding, grouping, percent, crlf, blank_lines):
    comma = sep != ","
    dialect = Dialect(sep, encoding, comma, grouping and comma, percent and comma, crlf, blank_lines)
    with tempfile.TemporaryDirectory() as tmp:
        case = _case(Path(tmp) / "case", lambda f: [write_csv(ORIGINAL[t], f / f"{t}.csv", dialect) for t in TABLES])
        _assert_same(load_case(case), reference)


def test_xlsx_workbook_case(tmp_path, reference):
    book = tmp_path / "regio.xlsx"
    write_workbook(ORIGINAL, book)
    shutil.copy(DEFAULT_CASE / "scenario.toml", tmp_path / "scenario.toml")
    case = load_case(book)
    assert case.name == "regio"
    _assert_same(case, reference)


def test_folder_with_an_xlsx_table(tmp_path, reference):
    def write(f):
        write_workbook({"Blad1": ORIGINAL["corporations"]}, f / "corporations.xlsx")
        ORIGINAL["opgave"].to_csv(f / "opgave.csv", index=False)
    _assert_same(load_case(_case(tmp_path / "case", write)), reference)


def test_xlsx_errors_name_sheet_row_and_field(tmp_path, capsys):
    tables = {t: df.copy() for t, df in ORIGINAL.items()}
    tables["opgave"].loc[4, "homes"] = "veel"
    book = tmp_path / "regio.xlsx"
    write_workbook({"corporations": tables["corporations"], "Opgave": tables["opgave"]}, book)
    shutil.copy(DEFAULT_CASE / "scenario.toml", tmp_path / "scenario.toml")
    assert run_cli(book, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: regio.xlsx, sheet 'Opgave', row 6, field 'homes': expected a number, got 'veel'"
    assert not (tmp_path / "out").exists()


def test_xlsx_without_the_sheet(tmp_path):
    book = tmp_path / "regio.xlsx"
    write_workbook({"corporations": ORIGINAL["corporations"]}, book)
    with pytest.raises(CaseError, match=r"regio.xlsx: no sheet 'opgave' \(sheets: corporations\)"):
        load_case(book)


def test_a_decimal_comma_in_a_comma_separated_file_is_explained(tmp_path):
    table = ORIGINAL["corporations"].copy()
    def write(f):
        text = table.to_csv(index=False).replace("0.029", "0,029", 1)  # unquoted: one field too many
        (f / "corporations.csv").write_text(text)
        ORIGINAL["opgave"].to_csv(f / "opgave.csv", index=False)
    with pytest.raises(CaseError, match=r"corporations.csv, line 2: 20 fields where the header has 19; "
                                        r"a decimal comma in a comma-separated file\? export with ';'"):
        load_case(_case(tmp_path / "case", write))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"], ids=["utf8-bom", "unicode-text"])
def test_a_scenario_saved_with_a_byte_order_mark_reads_the_same(tmp_path, encoding):
    """scenario.toml saved by a Windows editor ("UTF-8 with BOM", "Unicode") reads as the plain
    file; TOML itself allows neither."""
    from dpm.model.scenario import load_scenario

    plain = DEFAULT_CASE / "scenario.toml"
    saved = tmp_path / "scenario.toml"
    saved.write_text(plain.read_text(encoding="utf-8").replace("\n", "\r\n"), encoding=encoding)
    assert saved.read_bytes()[:2] in (b"\xef\xbb", b"\xff\xfe")  # (really with its mark)
    assert load_scenario(saved).raw == load_scenario(plain).raw


def test_a_scenario_not_in_utf8_is_refused_clearly(tmp_path):
    from dpm.model.scenario import load_scenario

    saved = tmp_path / "scenario.toml"
    saved.write_bytes("base_year = 2025 # \u00e9\u00e9n\n".encode("cp1252"))
    with pytest.raises(CaseError, match="not UTF-8"):
        load_scenario(saved)
