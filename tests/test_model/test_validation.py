"""Bad input: one clear message naming file, line and field; exit code 2; nothing written."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import copy_default, run_cli


def _edit_csv(case, name, edit):
    path = case / name
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = edit(df)
    df.to_csv(path, index=False)


def _set(name, row, col, value):
    def edit(df):
        df.loc[row, col] = value
        return df
    return name, edit


def _rename(name, old, new):
    return name, lambda df: df.rename(columns={old: new})


def _drop(name, col):
    return name, lambda df: df.drop(columns=[col])


def _dup_row(name, row):
    return name, lambda df: pd.concat([df, df.iloc[[row]]], ignore_index=True)


# rule -> (edit, file, line, field, words expected in the message)
CASES = {
    "misspelt column": (_rename("corporations.csv", "debt_eur", "debt_euro"), "corporations.csv", 1, "debt_euro",
                        ["unknown column", "did you mean 'debt_eur'"]),
    "missing column": (_drop("corporations.csv", "interest_rate"), "corporations.csv", 1, "interest_rate",
                       ["required column is missing"]),
    "wrong type": (_set("corporations.csv", 2, "homes", "veel"), "corporations.csv", 4, "homes",
                   ["expected a number", "'veel'"]),
    "empty required": (_set("corporations.csv", 0, "name", ""), "corporations.csv", 2, "name",
                       ["required value is empty"]),
    "nan required": (_set("corporations.csv", 1, "debt_eur", "NaN"), "corporations.csv", 3, "debt_eur",
                     ["expected a number"]),
    "negative homes": (_set("opgave.csv", 3, "homes", "-5"), "opgave.csv", 5, "homes", ["expected a value in [0"]),
    "fractional homes": (_set("opgave.csv", 0, "homes", "12.5"), "opgave.csv", 2, "homes", ["whole number"]),
    "share above 1": (_set("corporations.csv", 1, "guaranteed_share", "1.5"), "corporations.csv", 3,
                      "guaranteed_share", ["[0, 1]"]),
    "rate in percent": (_set("corporations.csv", 0, "interest_rate", "3.25"), "corporations.csv", 2,
                        "interest_rate", ["did you mean 0.0325?"]),
    "unknown corporation": (_set("opgave.csv", 30, "corporation_id", "V99"), "opgave.csv", 32, "corporation_id",
                            ["unknown corporation_id 'V99'"]),
    "corporation in other region": (_set("opgave.csv", 30, "region", "Elders"), "opgave.csv", 32, "region",
                                    ["has no corporations"]),
    "duplicate id": (_set("corporations.csv", 3, "corporation_id", "V01"), "corporations.csv", 5, "corporation_id",
                     ["duplicate id 'V01'"]),
    "duplicate opgave row": (_dup_row("opgave.csv", 0), "opgave.csv", 58, "year", ["duplicate row"]),  # the copy, last
    "year outside policy period": (_set("opgave.csv", 0, "year", "2040"), "opgave.csv", 2, "year",
                                   ["outside the policy period 2026-2035"]),
    "unknown type": (_set("opgave.csv", 0, "type", "nieuwbow"), "opgave.csv", 2, "type",
                     ["unknown type", "did you mean 'nieuwbouw'"]),
    "region without corporations": (_set("opgave.csv", 0, "region", "Nergensland"), "opgave.csv", 2, "region",
                                    ["'Nergensland' has no corporations"]),
    "unknown werkgebied": (_set("corporations.csv", 0, "werkgebied", "Voorbeeldregion"), "corporations.csv", 2,
                           "werkgebied", ["unknown region", "did you mean 'Voorbeeldregio'"]),
    "region row and corporation rows": (
        _set("opgave.csv", 20, "corporation_id", ""), "opgave.csv", None, "corporation_id",
        ["region row and corporation rows"]),
}


@pytest.mark.parametrize("rule", CASES)
def test_bad_input_is_refused_clearly(tmp_path, capsys, rule):
    (name, edit), file, line, field, words = CASES[rule]
    case = copy_default(tmp_path)
    _edit_csv(case, name, edit)
    out = tmp_path / "out"
    assert run_cli(case, out) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, "one message"
    assert err.startswith(f"error: {file}")
    if line is not None:
        assert f"line {line}," in err
    assert f"field '{field}'" in err
    for word in words:
        assert word in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [case]  # nothing else written, no partial folder


SCENARIO_CASES = {
    "unknown key": ("base_year = 2025\n[norms]\nltv_maximum = 0.8\n", "norms.ltv_maximum", ["unknown scenario key"]),
    "percent rate": ("base_year = 2025\n[economy]\nmarket_rate = 3.25\n", "economy.market_rate",
                     ["did you mean 0.0325?"]),
    "no base year": ("[norms]\nltv_max = 0.8\n", "base_year", ["expected base_year"]),
    "wrong path length": ("base_year = 2025\n[economy]\nrent_growth = [0.02, 0.03]\n", "economy.rent_growth",
                          ["one value per projection year"]),
    "text for number": ("base_year = 2025\n[norms]\nicr_min = \"hoog\"\n", "norms.icr_min", ["expected a number"]),
    "fraction for a count": ("base_year = 2025\n[solver]\npatience_checks = 2.5\n", "solver.patience_checks",
                             ["expected a whole number, got 2.5"]),
    "fraction of a home": ("base_year = 2025\n[allocation]\nmin_transfer = 12.5\n", "allocation.min_transfer",
                           ["expected a whole number, got 12.5"]),
    "unknown efficiency": ("base_year = 2025\n[allocation]\nefficiency = \"snel\"\n", "allocation.efficiency",
                           ["expected one of transfers, balanced, cost"]),
}


@pytest.mark.parametrize("rule", SCENARIO_CASES)
def test_bad_scenario_is_refused_clearly(tmp_path, capsys, rule):
    text, field, words = SCENARIO_CASES[rule]
    case = copy_default(tmp_path)
    (case / "scenario.toml").write_text(text)
    out = tmp_path / "out"
    assert run_cli(case, out) == 2
    err = capsys.readouterr().err
    assert "scenario.toml" in err and f"field '{field}'" in err
    for word in words:
        assert word in err
    assert not out.exists()


def test_missing_file(tmp_path, capsys):
    case = copy_default(tmp_path)
    (case / "opgave.csv").unlink()
    assert run_cli(case, tmp_path / "out") == 2
    assert "opgave.csv: file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unreadable_file(tmp_path, capsys):
    case = copy_default(tmp_path)
    (case / "corporations.csv").write_bytes(b"\x00\xff\xfe garbage \x00\n\"unterminated")
    assert run_cli(case, tmp_path / "out") == 2
    assert "corporations.csv" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_existing_out_folder_is_not_overwritten_without_force(tmp_path, capsys):
    case = copy_default(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert run_cli(case, out) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
