"""Projectsteun (MODEL.md 6): the least money that fills the whole opgave, checked by plain runs."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import copy_default, run_cli, write_case

from dpm.cli import main
from dpm.model.case import load_case
from dpm.money import discount_factors, projectsteun
from dpm.run import run_case


@pytest.fixture(scope="module")
def steun(tmp_path_factory):
    folder = tmp_path_factory.mktemp("steun")
    case = copy_default(folder)
    assert main(["steun", str(case), "--out", str(folder / "out")]) == 0
    return case, pd.read_csv(folder / "out" / "steun.csv"), pd.read_csv(folder / "out" / "steun_curve.csv")


def _plain(tmp_path, case, steun_table: pd.DataFrame | None) -> dict:
    folder = copy_default(tmp_path, "with_steun")
    if steun_table is not None:
        steun_table.to_csv(folder / "steun.csv", index=False)
    return run_case(load_case(folder)).components[0].objectives


def test_with_the_reported_steun_a_plain_run_fills_everything(tmp_path, steun):
    case, table, _ = steun
    assert table["steun_eur"].sum() > 0
    o = _plain(tmp_path, case, table)
    assert o["unfilled_homes"] == 0 and o["continuity_gap_eur"] == 0


def test_less_money_leaves_homes_unfilled(tmp_path, steun):
    """Least money: 2 % less than the reported steun (per corporation and year) no longer fills everything."""
    case, table, _ = steun
    less = table.assign(steun_eur=(table["steun_eur"] * 0.98).round())
    assert _plain(tmp_path, case, less)["unfilled_homes"] > 0


def test_discounted_total_uses_the_scenario_discount_path(steun):
    case, table, _ = steun
    df = pd.Series(discount_factors(load_case(case).scenario), index=load_case(case).scenario.years)
    assert (table["discount_factor"] - table["year"].map(df)).abs().max() < 1e-6
    assert abs((table["steun_eur"] * table["year"].map(df)).sum() - table["discounted_eur"].sum()) < 1.0


def test_the_curve_goes_from_the_plain_run_to_nothing_unfilled_and_never_up(default_results, steun):
    _, _, curve = steun
    assert 5 <= len(curve) <= 10
    assert curve["unfilled_homes"].iloc[0] == default_results.summary["objectives"]["unfilled_homes"]
    assert curve["unfilled_homes"].iloc[-1] == 0
    assert (curve["unfilled_homes"].diff().dropna() <= 0).all(), "more money never leaves more unfilled"


def test_no_money_is_asked_where_nothing_is_unfilled(tmp_path, capsys):
    case = write_case(tmp_path / "easy", [{"corporation_id": "A"}, {"corporation_id": "B"}],
                      [{"region": "R", "corporation_id": "A", "type": "nieuwbouw", "year": 2027, "homes": 3}])
    assert run_cli(case, tmp_path / "run") == 0
    assert pd.read_csv(tmp_path / "run" / "shortfall.csv").empty
    result = projectsteun(load_case(case))
    assert all(r.steun.empty and r.total_discounted_eur == 0 for r in result)
    assert main(["steun", str(case), "--out", str(tmp_path / "steun")]) == 0
    assert "no projectsteun needed" in capsys.readouterr().out
