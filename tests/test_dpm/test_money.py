"""Projectsteun (MODEL.md 6): the least money that fills the whole opgave, checked by plain runs."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import DEFAULT_CASE, copy_default, run_cli, write_case

from dpm.cli import main
from dpm.model.case import load_case
from dpm.money import discount_factors, projectsteun
from dpm.regional import run_case


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


def test_money_follows_the_projects_of_its_year():
    """money.timing = projects (default): the requirement's money in a year is at most what the
    corporation's projects of that year cost, and nothing comes in the continuity years."""
    from dpm.money import steun_requirement

    case = load_case(DEFAULT_CASE)
    assert case.scenario.money.timing == "projects"
    table, _, rm, x = steun_requirement(case, tuple(case.regions))
    proj = rm.evaluate(x)
    assert proj["steun_in_eur"].sum() > 0
    assert (proj["steun_in_eur"] <= proj["steun_fundable_eur"] + 1.0).all()
    late = proj["year"] > case.scenario.policy_calendar_years[-1]
    assert (proj.loc[late, "steun_in_eur"] == 0).all()
    assert set(table["year"]) <= set(case.scenario.policy_calendar_years)


def test_free_timing_never_asks_more_and_is_reported():
    (result,) = projectsteun(load_case(DEFAULT_CASE), with_curve=False)
    assert result.free_timing_discounted_eur is not None
    assert result.free_timing_discounted_eur <= result.total_discounted_eur + 1.0


def test_a_gap_no_project_money_can_close_is_reported(tmp_path):
    """A corporation above its LTV limit with no opgave: money free in time closes its gap;
    money that follows projects cannot, and the requirement says what stays."""
    case = load_case(write_case(tmp_path / "gap", [{"corporation_id": "A", "debt_eur": 9_500_000},
                                                   {"corporation_id": "B"}],
                                [{"region": "R", "corporation_id": "B", "type": "nieuwbouw", "year": 2027, "homes": 3}]))
    (projects,) = projectsteun(case, with_curve=False)
    assert projects.residual["continuity_gap_eur"] > 0
    (free,) = projectsteun(case.with_setting("money", "timing", "free"), with_curve=False)
    assert free.residual == {"continuity_gap_eur": 0.0, "unfilled_homes": 0}
    assert free.steun.loc[free.steun["corporation_id"] == "A", "steun_eur"].sum() > 0


def test_the_money_discount_rate_is_a_setting():
    case = load_case(DEFAULT_CASE)
    funding = discount_factors(case.scenario)
    assert funding[0] == pytest.approx(1 / (1 + case.scenario.economy.market_rate))
    value = discount_factors(case.with_setting("money", "discount", "beleidswaarde").scenario)
    assert value[0] == pytest.approx(1 / (1 + case.scenario.discount_path()[0]))


def _linked_steun_case(tmp_path):
    """Two regions, C of R2 may work in R1; more opgave than the region can carry alone."""
    from conftest import LINKED_CORPORATIONS, a_nieuwbouw, linked_case

    opgave = a_nieuwbouw(30) + [{"region": "R2", "corporation_id": "D", "type": "flex", "year": 2026, "homes": 12}]
    return load_case(linked_case(tmp_path / "linked", LINKED_CORPORATIONS, opgave, min_transfer=2))


def test_a_linked_component_needs_the_money_of_the_full_model(tmp_path):
    """Regions linked by a werkgebied: the requirement is solved on the aggregate model (each
    executor's homes per region); it is the full model's least money, and the curve of that
    component falls to none, never up."""
    from dpm.model.allocation import build_region_model
    from dpm.money import _solver, discounted_cost
    from dpm.solvers.lexicographic import Stage, solve_lexicographic

    case = _linked_steun_case(tmp_path)
    [result] = projectsteun(case)
    assert result.regions == ("R1", "R2") and result.total_discounted_eur > 0
    full = build_region_model(case, ("R1", "R2"), steun=True)
    stages = [*full.stages()[:2], Stage("steun", discounted_cost(full), scale=1e6)]
    exact = solve_lexicographic(_solver(full), stages, full.start(), 1e-9, 0.0)
    assert [s.objective for s in exact.stages[:2]] == [pytest.approx(0.0, abs=1e-6)] * 2
    # (the reported money is rounded up to whole EUR per corporation and year)
    assert result.total_discounted_eur == pytest.approx(exact.stages[2].objective, rel=1e-7, abs=len(result.steun) + 1.0)
    curve = result.curve["unfilled_homes"]
    # no money: at most what dpm run leaves (the aggregate model leaves min_transfer to dpm run,
    # which here takes the full model and leaves 2 homes more)
    assert 0 < curve.iloc[0] <= run_case(case).components[0].objectives["unfilled_homes"]
    assert curve.iloc[-1] == 0 and (curve.diff().dropna() <= 0).all()


def test_the_curve_starts_each_budget_from_the_one_below(monkeypatch):
    """More money never leaves more unfilled by construction: each budget's solve starts from
    the plan of the budget below, and the whole requirement from the requirement's own plan."""
    import dpm.money as money

    starts = []
    real = money.solve_lexicographic

    def spy(solver, stages, start, *args, **kwargs):
        result = real(solver, stages, start, *args, **kwargs)
        starts.append((None if start is None else start.copy(), result.x.copy()))
        return result

    case = load_case(DEFAULT_CASE)
    regions = tuple(case.regions)
    table, _, _, x_req = money.steun_requirement(case, regions)
    monkeypatch.setattr(money, "solve_lexicographic", spy)
    money.steun_curve(case, regions, float(table["discounted_eur"].sum()), shares=(0.5, 0.0, 1.0), requirement_x=x_req)
    assert len(starts) == 3
    assert (starts[1][0] == starts[0][1]).all(), "budget 50 % starts from the plan of budget 0"
    assert (starts[2][0] == x_req).all(), "the whole requirement starts from its own plan"
