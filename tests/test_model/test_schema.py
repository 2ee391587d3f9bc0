"""The input schema is declared once (``model/case.py``): validation, the defaults of empty
fields and the README's column tables all follow from it."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import pandas as pd
from conftest import write_case

from dpm.model.case import CORPORATION_COLUMNS, load_case
from dpm.model.errors import CaseError
from dpm.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
OPGAVE = [{"region": "R", "corporation_id": "A", "type": "nieuwbouw", "year": 2026, "homes": 3}]


def test_readme_column_tables_are_the_schema():
    spec = importlib.util.spec_from_file_location("columns", ROOT / "docs" / "columns.py")
    columns = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(columns)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- columns:corporations -->" in text
    assert columns.generated(text) == text, "README.md is out of date: run python docs/columns.py"


def test_absent_optional_columns_take_their_declared_defaults(tmp_path):
    folder = write_case(tmp_path / "c", [{"corporation_id": "A"}], OPGAVE)
    required = [k for k, spec in CORPORATION_COLUMNS.items() if spec.required]
    corp = pd.read_csv(folder / "corporations.csv", dtype=str)
    corp[required].to_csv(folder / "corporations.csv", index=False)  # the optional columns absent
    case = load_case(folder)
    row = case.corporations.loc["A"]
    defaults = load_scenario(None, {"base_year": 2025}).corporation_defaults
    for name, spec in CORPORATION_COLUMNS.items():
        if spec.required or spec.default is None:
            continue
        expected = getattr(defaults, spec.default.split(":", 1)[1]) if isinstance(spec.default, str) else spec.default
        assert row[name] == pytest.approx(expected), name


@pytest.mark.parametrize("name", [n for n, s in CORPORATION_COLUMNS.items()
                                  if s.kind != "text" and s.upper != float("inf")])
def test_every_declared_upper_limit_is_enforced_with_file_line_and_field(tmp_path, name):
    spec = CORPORATION_COLUMNS[name]
    above = spec.upper + (1 if spec.kind == "whole" else spec.upper * 0.5 + 0.01)
    case = write_case(tmp_path / "c", [{"corporation_id": "A"}, {"corporation_id": "B", name: above}], OPGAVE)
    with pytest.raises(CaseError) as err:
        load_case(case)
    message = str(err.value)
    assert "corporations.csv" in message and "line 3" in message and f"'{name}'" in message
