"""Solidarity under pressure (MODEL.md 5, stage 3): variants of the default region give a plan
one could sign, and netting never changes anyone's finances.

Facts asserted on each variant: no mutual transfers; homes conserved per task; every ratio
within its norm or a reported continuity gap; the unfilled opgave within the scenario's
tolerance of the proven optimum; the transfers stage labelled honestly against its bound.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEFAULT_CASE, copy_default, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpm.model.allocation import build_region_model
from dpm.model.case import load_case
from dpm.solidarity import transport_split
from dpm.model.scenario import TRADEABLE
from dpm.solvers.errors import NoSolution

VARIANTS = {  # (scenario lines, nieuwbouw factor, most relations a sensible plan has)
    "default": ("", 1, 3),
    "rent_growth_1.5%": ("[economy]\nrent_growth = 0.015\n", 1, 12),
    "nieuwbouw_x2": ("", 2, 7),
    "nieuwbouw_x2_icr_1.8": ("[norms]\nicr_min = 1.8\n", 2, 8),
    "nieuwbouw_x2_max_partners_1": ("[allocation]\nmax_partners = 1\n", 2, 7),
}


# larger regions (``pytest -m slow``, about 3 minutes): benchmarks/run.py's synthetic regions of 20
# and 40 corporations and two regions linked by a werkgebied, with the same facts asserted
# (benchmark case, scenario lines); min_transfer = 200 there once sent every stage to the full model
LARGE = {"synthetic_20": ("20", ""), "synthetic_40": ("40", ""), "linked": ("linked", ""),
         "synthetic_20_min_transfer_200": ("20", "[allocation]\nmin_transfer = 200\n")}


def _variant(tmp_path, name):
    if name in LARGE:
        sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
        from run import make_case
        bench, lines = LARGE[name]
        case = make_case(bench, tmp_path)
        with open(case / "scenario.toml", "a") as f:
            f.write("\n" + lines)
        return case
    lines, factor, _ = VARIANTS[name]
    case = copy_default(tmp_path, name)
    if factor != 1:
        opg = pd.read_csv(case / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
        opg.loc[opg["type"] == "nieuwbouw", "homes"] *= factor
        opg.to_csv(case / "opgave.csv", index=False)
    with open(case / "scenario.toml", "a") as f:
        f.write("\n" + lines)
    return case


@pytest.fixture(scope="module", params=[*VARIANTS, *(pytest.param(n, marks=pytest.mark.slow) for n in LARGE)])
def variant(request, variant_runs):
    return variant_runs(request.param)


@pytest.fixture(scope="session")
def variant_runs(tmp_path_factory):
    """Each variant is run once per test process, in whatever order its tests come (pytest-xdist
    does not keep pytest's grouping of a module fixture's parameters)."""
    done = {}

    def run(name: str):
        if name not in done:
            tmp = tmp_path_factory.mktemp(name)
            case = _variant(tmp, name)
            out = tmp / "out"
            assert run_cli(case, out) == 0
            tables = {n: pd.read_csv(out / f"{n}.csv") for n in ("allocation", "shortfall", "projection")}
            done[name] = name, load_case(case), tables, json.loads((out / "summary.json").read_text())
        return done[name]
    return run


def test_no_mutual_transfers(variant):
    _, _, t, _ = variant
    a = t["allocation"]
    moved = a[a["origin"] != a["executor"]]
    both = moved.merge(moved, left_on=["origin", "executor", "type", "year"],
                       right_on=["executor", "origin", "type", "year"])
    assert both.empty, both


def test_homes_are_conserved_per_task(variant):
    _, case, t, _ = variant
    done = t["allocation"].groupby(["origin", "type", "year"])["homes"].sum()
    left = t["shortfall"].groupby(["origin", "type", "year"])["homes"].sum()
    opgave = case.opgave.set_index(["corporation_id", "type", "year"])["homes"].rename_axis(["origin", "type", "year"])
    total = done.add(left, fill_value=0).reindex(opgave.index, fill_value=0)
    assert (total == opgave).all()
    assert set(done.index) | set(left.index) <= set(opgave.index)


def test_min_transfer_and_max_partners_hold(variant):
    """Every relation carries at least min_transfer homes (or the origin's whole tradeable task,
    if less), and no origin has more than max_partners takers."""
    _, case, t, _ = variant
    a = t["allocation"]
    moved = a[a["origin"] != a["executor"]]
    per_pair = moved.groupby(["origin", "executor"])["homes"].sum()
    trade = case.opgave[case.opgave["type"].isin(TRADEABLE)].groupby("corporation_id")["homes"].sum()
    least = np.minimum(case.scenario.allocation.min_transfer, trade.reindex(per_pair.index.get_level_values("origin")))
    assert (per_pair.to_numpy() >= least.to_numpy()).all()
    if case.scenario.allocation.max_partners > 0:
        assert (per_pair.groupby(level="origin").size() <= case.scenario.allocation.max_partners).all()


def test_every_ratio_within_its_norm_or_a_reported_gap(variant):
    _, _, t, _ = variant
    p = t["projection"]
    broken = (p["icr"] < p["icr_min"] - 1e-6) | (p["ltv"] > p["ltv_max"] + 1e-6) | \
        (p["solvency"] < p["solvency_min"] - 1e-6)
    assert (p.loc[broken, "continuity_gap_eur"] > 0).all()


def test_unfilled_stays_within_the_tolerance_of_the_optimum(variant):
    _, case, t, s = variant
    stages = {x["stage"]: x for x in s["regions"][0]["stages"]}
    optimum = stages["unfilled"]["objective"]
    slack = max(0.5, case.scenario.allocation.unfilled_tolerance * optimum)
    assert t["shortfall"]["homes"].sum() <= optimum + slack + 1e-6  # never worse than what was proven


def test_transfers_stage_is_labelled_against_its_bound(variant):
    name, _, _, s = variant
    stage = {x["stage"]: x for x in s["regions"][0]["stages"]}["transfers"]
    assert stage["bound"] <= stage["objective"] + 1e-9
    proven = stage["objective"] - stage["bound"] < 1 - 1e-6  # a bound a hair above 4 does not prove 5
    assert (stage["status"] == "optimal") == proven
    if not proven:
        assert stage["mip_gap"] == pytest.approx((stage["objective"] - stage["bound"]) / stage["objective"])
        if s["clock"]["repeatable"]:  # no clock ended any solve: not a time limit (x2 at ICR 1.8: 5 against 4)
            assert stage["status"] == "work_limit"
    if name in VARIANTS:
        assert s["objectives"]["transfers"] <= VARIANTS[name][2], "a hairball, not a plan"
    assert s["objectives"]["transfers"] == stage["objective"]  # the stage reports the plan's own relations
    if name in ("default", "rent_growth_1.5%", "nieuwbouw_x2"):
        # proven by the relations bound within its node limit (rent: 28 nodes, about 5 s here), a
        # count, so on a slow machine too (at the former 5 s time limit rent was proven one run in two)
        assert stage["status"] == "optimal"


def test_the_x2_variants_plan_is_decided_by_counts_not_clocks(variant_runs):
    """Nieuwbouw x2: its relations and the homes unfilled on them come from searches that end
    on node counts (the relations bound's, the rounding search's, HiGHS's from its point), and
    the tie-breaks (which years stay unfilled, fewest homes moved) on a count of HiGHS's checks
    (solver.tiebreak_checks), so the run is the same on any machine: no clock ended any solve,
    and the summary says it repeats. (Its whole homes used to wait for HiGHS's root cuts until a
    2.5 s safety net, then a search cut off at 0.5 s gave 7,906 or 7,907 homes by the machine's
    speed; the timing tie-break then stopped at 1 s, wherever HiGHS's root cuts were.)"""
    _, _, _, s = variant_runs("nieuwbouw_x2")
    assert s["clock"]["stops"] == {} and s["clock"]["repeatable"] is True
    assert s["status"]["unfilled_timing"] in ("optimal", "work_limit")


def test_solidarity_gap_is_not_the_headline(variant):
    """The allocation's status is that of stages 1-2; a gap of the efficiency stages is its own."""
    _, _, _, s = variant
    assert s["allocation_status"] == max(s["status"]["continuity"], s["status"]["unfilled"],
                                         key=["optimal", "within_tolerance", "stalled", "time_limit"].index)
    assert isinstance(s["mip_gap"], dict)


# --- netting ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_transfer_model():
    case = load_case(DEFAULT_CASE, {"allocation": {"min_transfer": 1}})
    return build_region_model(case, tuple(case.regions))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.05, 1.0), fewest_moved=st.booleans())
def test_netting_a_random_allocation_never_changes_a_projection(small_transfer_model, seed, share, fewest_moved):
    """Any whole-home split (with flows both ways), netted by the transportation split: every
    corporation completes the same homes per type and year, so its projection is identical;
    each task is conserved; and no two corporations swap homes of one type and year. The same
    for the split a start uses (fewest relations only, ``fewest_moved=False``)."""
    rm = small_transfer_model
    rng = np.random.default_rng(seed)
    task = rm.moves["task"].to_numpy()
    r = rng.random(len(rm.moves)) ** 3  # a few executors get most of a task
    per_task = np.bincount(task, weights=r, minlength=len(rm.tasks))
    w = np.floor(r / np.maximum(per_task[task], 1e-12) * share * rm.tasks["homes"].to_numpy()[task])  # <= the task
    x = rm.complete(w)
    opts = {**rm.case.scenario.solver.options(), "time_limit_s": 0.1}  # any split it returns must keep the totals
    netted = transport_split(rm, x, opts, fewest_moved=fewest_moved).point(rm)
    before = rm.projection.evaluate(rm.decisions(x))
    after = rm.projection.evaluate(rm.decisions(netted))
    pd.testing.assert_frame_equal(before, after)
    lm = rm.model
    u = lm.variables["unfilled"].series(netted).to_numpy()
    done = np.bincount(rm.moves["task"], weights=lm.variables["execute"].series(netted).to_numpy(),
                       minlength=len(rm.tasks))
    trade = rm.tasks["type"].isin(TRADEABLE).to_numpy()
    np.testing.assert_allclose((done + u)[trade], rm.tasks["homes"].to_numpy()[trade])
    flows = rm.moves.assign(homes=lm.variables["execute"].series(netted).to_numpy())
    flows = flows[(flows["homes"] > 0) & (flows["origin"] != flows["executor"])]
    mutual = flows.merge(flows, left_on=["origin", "executor", "type", "year"],
                         right_on=["executor", "origin", "type", "year"])
    assert mutual.empty
    relations = lambda p: int(np.round(lm.variables["transfer"].series(p).to_numpy()).sum())  # noqa: E731
    assert relations(netted) <= relations(x)


# --- the trade-off curve ------------------------------------------------------------------------
def test_tradeoff_curve_is_written_shown_and_consistent(tmp_path, capsys):
    case = copy_default(tmp_path)
    out = tmp_path / "out"
    assert run_cli(case, out, "--tradeoff") == 0
    printed = capsys.readouterr().out
    assert sum(line.startswith("Trade-off Voorbeeldregio") for line in printed.splitlines()) == 1
    curve = pd.read_csv(out / "tradeoff.csv")
    assert list(curve["tolerance_share"])[0] == 0.0 and curve["run_tolerance"].sum() == 1
    curve = curve.sort_values("unfilled_limit_homes")
    assert (np.diff(curve["relations"]) <= 0).all(), "more slack never needs more relations"
    assert (curve["unfilled_homes"] <= curve["unfilled_limit_homes"] + 1e-6).all()
    assert (curve["relations_bound"] <= curve["relations"]).all()
    assert ((curve["status"] == "optimal") == (curve["relations"] == curve["relations_bound"])).all()
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["tradeoff"]) == len(curve)


def test_tradeoff_curve_where_every_home_is_done(tmp_path, capsys):
    """A region that can do every home (unfilled optimum 0: every tolerance is the same limit
    of half a home) gets one point, its own, at share 0, on screen and in tradeoff.csv (it
    used to stop the run with a TypeError before anything was written)."""
    case = copy_default(tmp_path)
    for name in ("corporations", "opgave"):
        table = pd.read_csv(case / f"{name}.csv", dtype=str, keep_default_na=False)
        table[table["corporation_id"] == "V01"].to_csv(case / f"{name}.csv", index=False)
    out = tmp_path / "out"
    assert run_cli(case, out, "--tradeoff") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("Trade-off Voorbeeldregio"))
    assert "+0.00%*: 0 for 0" in line, line
    curve = pd.read_csv(out / "tradeoff.csv")
    assert list(curve["tolerance_share"]) == [0.0] and list(curve["run_tolerance"]) == [True]
    assert list(curve["unfilled_homes"]) == [0] and list(curve["relations"]) == [0]


def test_tradeoff_with_another_efficiency_is_refused_before_the_solve(tmp_path, capsys):
    """The curve is of fewest relations: with efficiency = "balanced" --tradeoff is refused at
    once with one clear line, exit 2, nothing written (it used to solve, then stop with a
    StopIteration)."""
    case = copy_default(tmp_path)
    (case / "scenario.toml").write_text('base_year = 2025\n[allocation]\nefficiency = "balanced"\n')
    out = tmp_path / "out"
    assert run_cli(case, out, "--tradeoff") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "field 'allocation.efficiency'" in err and '"balanced"' in err, err
    assert not out.exists()


def test_tradeoff_curve_on_two_processes_is_the_one_point_after_point():
    """The curve's extra points run on a process pool: the same rows as one after the other
    (the default region, no solve ended by a clock)."""
    from dpm.regional import run_case

    case = load_case(DEFAULT_CASE)
    one, two = (run_case(case, tradeoff=True, workers=w).components[0] for w in (1, 2))
    assert one.clock_stops == two.clock_stops == []
    assert len(one.tradeoff) == 5 and two.tradeoff_seconds is not None
    pd.testing.assert_frame_equal(one.tradeoff.drop(columns="seconds"), two.tradeoff.drop(columns="seconds"))


def test_a_looser_point_shows_a_tighter_plan_with_fewer_relations():
    """A plan within a tighter limit is within every looser one: a looser point that found more
    relations shows that plan; and a looser point's bound bounds every tighter point (the
    second point's 9 relations are proven by the third's bound of 9). Each row is labelled
    against its bound (proven where it meets it)."""
    from dpm.efficiency import never_rising

    curve = pd.DataFrame({"tolerance_share": [0.0, 0.0025, 0.005, 0.01, 0.02],
                          "relations": [12, 9, 10, 11, 7], "relations_bound": [8, 8, 9, 7, 6],
                          "status": ["time_limit", "work_limit", "time_limit", "work_limit", "work_limit"],
                          "mip_gap": [1 / 3, 1 / 9, 0.1, 4 / 11, 1 / 7], "unfilled_homes": [100, 102, 104, 108, 120]})
    out = never_rising(curve)
    assert list(out["relations"]) == [12, 9, 9, 9, 7]
    assert list(out["unfilled_homes"]) == [100, 102, 102, 102, 120]
    assert list(out["plan_tolerance_share"]) == [0.0, 0.0025, 0.0025, 0.0025, 0.02]  # whose plan each row shows
    assert list(out["relations_bound"]) == [9, 9, 9, 7, 6]
    assert list(out["status"]) == ["time_limit", "optimal", "optimal", "work_limit", "work_limit"]
    assert out["mip_gap"].iloc[0] == pytest.approx(3 / 12) and out["mip_gap"].iloc[3] == pytest.approx(2 / 9)


def test_the_runs_own_relations_are_labelled_against_a_looser_points_bound():
    """The run's transfers stage takes the curve's bound for its own tolerance where higher
    (a looser point's bound holds for every plan within the run's limit): 7 relations against
    6 become proven by a bound of 7; a lower bound changes nothing; fewer relations in the final
    plan are reported as before."""
    from dpm.efficiency import final_relations
    from dpm.solvers.lexicographic import StageReport

    stage = StageReport("transfers", "work_limit", 7.0, 6.0, 1 / 7, 1.0)
    other = StageReport("homes_moved", "optimal", 100.0, 100.0, 0.0, 1.0)
    lifted, same = final_relations([stage, other], 7, 7.0)
    assert (lifted.status, lifted.bound, lifted.mip_gap, same) == ("optimal", 7.0, 0.0, other)
    assert final_relations([stage], 7, 5.0) == [stage] and final_relations([stage], 7) == [stage]
    fewer = final_relations([stage], 6)[0]
    assert (fewer.objective, fewer.status, fewer.bound) == (6.0, "optimal", 6.0)

# --- regions linked by a werkgebied --------------------------------------------------------------
def test_linked_regions_take_the_aggregate_path_and_match_the_full_model(tmp_path):
    """Two regions, one corporation of R2 may work in R1: stages 1-2 on the aggregate model
    (with the homes each executor completes per region) give the full model's optimum, and
    the plan needs no more relations than the full model's own lexicographic solve."""
    from conftest import LINKED_CORPORATIONS, a_nieuwbouw, linked_case

    from dpm.model.allocation import components
    from dpm.regional import solve_component
    from dpm.solvers.highs import HighsSolver
    from dpm.solvers.lexicographic import solve_lexicographic

    opgave = a_nieuwbouw(12) + [{"region": "R2", "corporation_id": "D", "type": "flex", "year": 2026, "homes": 6}]
    case = load_case(linked_case(tmp_path / "linked", LINKED_CORPORATIONS, opgave, min_transfer=2))
    assert components(case) == [("R1", "R2")]
    got = solve_component(case, ("R1", "R2"))
    rm = build_region_model(case, ("R1", "R2"))
    full = solve_lexicographic(HighsSolver(rm.model, case.scenario.solver.options()), rm.stages(), rm.start(), 1e-7, 0)
    ours = {s.name: s.objective for s in got.stages}
    theirs = {s.name: s.objective for s in full.stages}
    assert ours["continuity"] == pytest.approx(theirs["continuity"], abs=1.0)
    assert got.objectives["unfilled_homes"] == pytest.approx(theirs["unfilled"])
    assert got.objectives["transfers"] <= theirs["transfers"]
    a = got.allocation
    assert ((a["origin"] == "A") & (a["executor"] == "C")).any(), "C works in R1 for A"


def test_a_stage_is_labelled_optimal_only_when_its_bound_proves_it(variant):
    """Labels are claims: a count (homes, relations, home-years) is 'optimal' only when its
    bound is less than one unit below it; a stage stopped at a tolerance says so."""
    _, _, _, summary = variant
    counted = [s for s in summary["regions"][0]["stages"]
               if s["stage"].startswith("unfilled") or s["stage"] in ("transfers", "homes_moved")]
    assert counted
    for s in counted:
        assert s["bound"] is not None and s["bound"] <= s["objective"] + 1e-6, s
        proven = s["objective"] - s["bound"] < 1 - 1e-6
        assert (s["status"] == "optimal") == proven, s


def _assert_homes_conserved(case, result) -> None:
    """Every task's homes: allocated + unfilled = opgave (per corporation, type and year)."""
    opgave = case.opgave.groupby(["corporation_id", "type", "year"])["homes"].sum()
    done = result.allocation.groupby(["origin", "type", "year"])["homes"].sum()
    short = result.shortfall.groupby(["origin", "type", "year"])["homes"].sum()
    total = done.add(short, fill_value=0).rename_axis(["corporation_id", "type", "year"])
    pd.testing.assert_series_equal(total.reindex(opgave.index).fillna(0), opgave.astype(float),
                                   check_names=False, check_dtype=False)


# --- the other efficiency objectives ------------------------------------------------------------
@pytest.mark.parametrize("efficiency", ["balanced", "cost"])
def test_balanced_and_cost_plans_conserve_homes_without_mutual_transfers(efficiency):
    """``[allocation] efficiency = balanced / cost`` (MODEL.md 5, stage 3): the plan keeps every
    task's homes (allocated + unfilled = opgave), leaves at most the unfilled limit, and is
    netted like the transfers plan; ``balanced`` adds its row group ``balanced_headroom``."""
    from dpm.regional import solve_component

    case = load_case(DEFAULT_CASE, {"allocation": {"efficiency": efficiency}})
    result = solve_component(case, tuple(case.regions))
    stages = {s.name: s for s in result.stages}
    _assert_homes_conserved(case, result)
    slack = max(0.5, case.scenario.allocation.unfilled_tolerance * stages["unfilled"].objective)
    assert result.shortfall["homes"].sum() <= stages["unfilled"].objective + slack
    flows = result.allocation[result.allocation["origin"] != result.allocation["executor"]]
    mutual = flows.merge(flows, left_on=["origin", "executor", "type", "year"],
                         right_on=["executor", "origin", "type", "year"])
    assert mutual.empty
    assert stages["efficiency"].status in ("optimal", "within_tolerance", "time_limit")


def test_balanced_where_min_transfer_binds_runs_on_the_full_model_against_the_better_bound(monkeypatch):
    """``balanced`` solves the timing tie-break and its own stage on the aggregate model; where
    the split of those totals would leave a home below ``min_transfer`` (here: every split
    refused), both run on the full model, and the tie-break is reported against the better of
    its own bound and the aggregate model's (a relaxation of it), labelled optimal only where
    that bound proves it. The plan still keeps every task's homes."""
    from conftest import aggregate_tie_break

    from dpm import efficiency
    from dpm.regional import solve_component

    split = efficiency._start  # every split that must place every home refused
    monkeypatch.setattr(efficiency, "_start",
                        lambda *args, placed=False, **kwargs: None if placed else split(*args, **kwargs))
    case = load_case(DEFAULT_CASE, {"allocation": {"efficiency": "balanced"}})
    regions = tuple(case.regions)
    result = solve_component(case, regions)
    timing = next(s for s in result.stages if s.name == "unfilled_timing")
    own = aggregate_tie_break(case, regions)
    assert timing.bound >= own.bound - 1e-6
    assert timing.bound <= timing.objective + 1e-6
    assert (timing.status == "optimal") == (timing.objective - timing.bound < 1 - 1e-6)
    _assert_homes_conserved(case, result)


def test_max_partners_below_the_aggregate_optimum_gives_the_full_models_answer(tmp_path):
    """A (debt EUR 9.0 mln) needs both B and C to fill all but 2 homes; with max_partners = 1
    the aggregate optimum is out of reach. The run warns, and its plan has the full model's
    own lexicographic optimum: as many homes unfilled, no more relations, one partner for A."""
    from bruteforce import OPGAVE, SCENARIO
    from conftest import write_case

    from dpm.regional import solve_component
    from dpm.solvers.highs import HighsSolver
    from dpm.solvers.lexicographic import solve_lexicographic

    corps = [{"corporation_id": c, "debt_eur": d} for c, d in zip("ABC", (9.0e6, 8.5e6, 8.5e6))]
    scenario = SCENARIO.format(min_transfer=1).replace("[allocation]\n", "[allocation]\nmax_partners = 1\n")
    case = load_case(write_case(tmp_path / "mp", corps, OPGAVE, scenario))
    got = solve_component(case, ("R",))
    assert any("rule out the allocation of the aggregate model" in w for w in got.warnings)
    rm = build_region_model(case, ("R",))
    full = solve_lexicographic(HighsSolver(rm.model, case.scenario.solver.options()), rm.stages(), rm.start(), 1e-7, 0)
    theirs = {s.name: s.objective for s in full.stages}
    assert got.objectives["unfilled_homes"] == pytest.approx(theirs["unfilled"])
    assert got.objectives["transfers"] <= theirs["transfers"]
    moved = got.allocation[got.allocation["origin"] != got.allocation["executor"]]
    assert moved.groupby("origin")["executor"].nunique().max() <= 1


def _national_region(tmp_path, number: int, extra: str = "") -> Path:
    """Regio ``number`` of scenarios/nederland as a case of its own."""
    from dpm.scenarios import path as package_path

    nl = Path(str(package_path("nederland")))
    folder = tmp_path / f"regio{number:02d}"
    folder.mkdir()
    for name in ("corporations.csv", "opgave.csv"):
        table = pd.read_csv(nl / name, dtype=str, keep_default_na=False)
        table[table["region"] == f"Regio {number:02d} (synthetisch)"].to_csv(folder / name, index=False)
    (folder / "scenario.toml").write_text((nl / "scenario.toml").read_text() + "\n" + extra)
    return folder


@pytest.mark.slow
def test_a_national_region_reports_the_relations_lps_bound(tmp_path):
    """Regio 25 of scenarios/nederland (13 corporations, 156 pairs): the plan's relations are
    reported against the relations LP's bound (14; the roles and the participation bound gave
    9, which made a plan of 19 relations look twice the optimum, where a 156-pair MIP proves at
    least 16). The bound is the LP's, recomputed here, and below the plan."""
    from conftest import relations_lp_bound
    from dpm.model.allocation import components
    from dpm.regional import solve_component

    case = load_case(_national_region(tmp_path, 25))
    [regions] = components(case)
    stage = next(s for s in solve_component(case, regions).stages if s.name == "transfers")
    lp = relations_lp_bound(case, regions)
    assert lp >= 12  # well above the participation bound of 9
    assert lp <= stage.bound <= stage.objective


@pytest.mark.slow
def test_when_max_partners_rules_out_the_aggregate_plan_the_full_model_starts_from_a_plan_that_keeps_it(tmp_path):
    """Regio 27 with max_partners = 1: no plan near the aggregate optimum keeps one taker per
    origin, so stages 1-2 run on the full model. They start from the efficiency search within
    a wider limit (rule_start), a point that keeps every rule: the answer leaves no more homes
    unfilled than that start (from nothing done the full model had stopped at its limit with
    1,769 homes against 1,506 in the start), and still one partner per origin."""
    from dpm.efficiency import _fits
    from dpm.model.allocation import components
    from dpm.regional import rule_start, solve_component
    from dpm.solvers.backends import make_solver
    from dpm.solvers.lexicographic import solve_lexicographic

    case = load_case(_national_region(tmp_path, 27, "[allocation]\nmax_partners = 1\n"))
    [regions] = components(case)
    opts = case.scenario.solver.options()
    agg = build_region_model(case, regions, aggregate=True)
    first = solve_lexicographic(make_solver(agg.model, opts), agg.stages()[:2], agg.start(), opts["stage_tolerance"],
                                opts["homes_gap"])
    rm = build_region_model(case, regions)
    start = rule_start(case, regions, agg, first.x, first.stages[1].objective, rm)
    assert start is not None and _fits(rm, start, np.inf), "a point of the full model: every rule kept"
    got = solve_component(case, regions)
    assert any("rule out the allocation of the aggregate model" in w for w in got.warnings)
    unfilled = next(s for s in got.stages if s.name == "unfilled")
    assert unfilled.objective <= rm.stages()[1].cost @ start + 1e-6
    moved = got.allocation[got.allocation["origin"] != got.allocation["executor"]]
    assert moved.groupby("origin")["executor"].nunique().max() <= 1



def test_a_search_out_of_time_is_not_blamed_on_the_rules(default_results):
    """With no time for the efficiency search (efficiency_time_limit_s = 0, a deterministic
    stop) no plan near the aggregate optimum is found and the full model answers. The full
    model keeps min_transfer and max_partners and leaves the same homes unfilled, so the run
    must not say that the rules rule out the aggregate allocation (it did: synthetic 20 at ICR
    1.6 warned so with every home done in both models); it says the search ran out of time."""
    from dpm.regional import solve_component

    # (time to prove the full model's optimum exact, so its figure does not depend on the machine:
    # with the default 1 s a slower machine stopped at 859 homes against a bound of 857; 2.3 s here;
    # no count of checks: its proof takes 25, and the default 20 stop it at 859 on any machine)
    case = load_case(DEFAULT_CASE, {"solver": {"efficiency_time_limit_s": 0.0, "prove_exact_s": 30.0,
                                               "prove_exact_checks": 0}})
    got = solve_component(case, tuple(case.regions))
    said = [w for w in got.warnings if "full model" in w]
    assert len(said) == 1 and "no plan that keeps min_transfer" in said[0] and "rule out" not in said[0], said
    optimum = default_results.summary["objectives"]["unfilled_homes"]  # the run with time for its search
    assert got.objectives["unfilled_homes"] == optimum
    assert f"{optimum:,} (weighted) homes unfilled over 2026-2035" in said[0]  # with its unit and years


def test_a_failed_search_is_not_repeated_at_a_limit_no_wider(monkeypatch, tmp_path):
    """When the efficiency search finds no plan within the unfilled limit, the full model's
    start is searched only within wider limits: with nothing unfilled at the optimum every
    share of it is 0, so no search at all (measured: a synthetic 20-corporation region at ICR
    1.6 ran the same failing search three times, 113 s), and at a positive optimum only the
    shares beyond the run's own tolerance."""
    import dpm.efficiency
    from dpm.regional import RULE_START_SHARES, rule_start

    case = load_case(copy_default(tmp_path))
    limits = []

    def failing(case, regions, agg, x_agg, optimum, slack, *args, **kwargs):
        limits.append(slack)
        raise NoSolution("no plan")

    monkeypatch.setattr(dpm.efficiency, "plan", failing)
    assert rule_start(case, ("Voorbeeldregio",), None, None, 0.0, None) is None
    assert limits == []
    assert rule_start(case, ("Voorbeeldregio",), None, None, 1000.0, None) is None
    tolerance = case.scenario.allocation.unfilled_tolerance
    assert limits == [s * 1000.0 for s in RULE_START_SHARES if s > tolerance] and limits

def test_a_region_without_tradeable_tasks_has_nothing_to_move(tmp_path):
    """Only verduurzaming (no nieuwbouw, flex or sloop-nieuwbouw): no relation, every home of the
    opgave done by its owner or reported unfilled (the task split once failed on its empty model)."""
    case = copy_default(tmp_path)
    opg = pd.read_csv(case / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
    opg[opg["type"] == "verduurzaming"].to_csv(case / "opgave.csv", index=False)
    out = tmp_path / "out"
    assert run_cli(case, out) == 0
    allocation, shortfall = (pd.read_csv(out / f"{n}.csv") for n in ("allocation", "shortfall"))
    assert (allocation["origin"] == allocation["executor"]).all()
    assert json.loads((out / "summary.json").read_text())["objectives"]["transfers"] == 0
    verduurzaming = load_case(case).opgave["homes"].sum()
    assert allocation["homes"].sum() + shortfall["homes"].sum() == verduurzaming


def test_balanced_stops_once_proven_within_its_headroom_tolerance(tmp_path):
    """Under pressure (nieuwbouw x2) the smallest headroom is a tiny share of beleidswaarde;
    the balanced stage stops once proven within BALANCED_ABS_GAP of its bound (it used to run
    to its time limit 0.004 % away) and says so: optimal or within_tolerance, with that gap."""
    from dpm.model.solidarity import BALANCED_ABS_GAP
    from dpm.regional import solve_component

    loaded = load_case(_variant(tmp_path, "nieuwbouw_x2"), {"allocation": {"efficiency": "balanced"}})
    stage = next(s for s in solve_component(loaded, tuple(loaded.regions)).stages if s.name == "efficiency")
    assert stage.status in ("optimal", "within_tolerance"), stage
    assert stage.objective - stage.bound <= BALANCED_ABS_GAP + 1e-9


@pytest.mark.slow
def test_relations_that_fit_only_with_continuous_homes_are_chosen_again_with_room(tmp_path):
    """Regio 27 of scenarios/nederland (10 corporations): the 7 relations of the continuous-homes
    bound cannot carry a whole-homes plan within the unfilled limit (proven), and the stage had
    fallen back to a plan of 50 relations; chosen again with room below the limit for whole
    homes, they carry a plan that fits every row, min_transfer included."""
    from dpm.efficiency import (REPAIR_ROUNDS, _continuity_fix, _fits, _on_only, efficiency_solver, relations,
                                relations_bound, unfilled_slack)
    from dpm.model.allocation import components
    from dpm.solidarity import solidarity_roles
    from dpm.solvers.backends import make_solver
    from dpm.solvers.lexicographic import solve_lexicographic

    case = load_case(_national_region(tmp_path, 27))
    [regions] = components(case)
    sc = case.scenario
    opts = {**sc.solver.options(), "time_limit_s": sc.solver.efficiency_time_limit_s, "threads": 1}
    tol = opts["stage_tolerance"]
    agg = build_region_model(case, regions, aggregate=True)
    first = solve_lexicographic(make_solver(agg.model, opts), agg.stages()[:2], agg.start(), tol, opts["homes_gap"])
    optimum = first.stages[1].objective
    limit = optimum + unfilled_slack(sc, optimum)
    roles = solidarity_roles(agg, _continuity_fix(agg.stages()[0], first.x, tol), limit, opts)
    rm = build_region_model(case, regions, roles=roles)

    def solver_for(model, relaxed=False):
        return efficiency_solver(model, agg, first.x, limit, opts, relaxed=relaxed)

    bound, plain = relations_bound(rm, solver_for, None, roles, opts, limit)
    assert plain is None, "the bound's own relations carry no whole-homes plan"
    y = rm.model.variables["transfer"].ids
    s = solver_for(rm)
    s.set_integrality(np.setdiff1d(np.arange(rm.model.n_cols), y), False)
    s.set_objective(rm.stage("transfers").cost, abs_gap=0.999)
    out = s.solve()
    whole, least = _on_only(rm, solver_for, opts, np.flatnonzero(np.round(out.x[y]) > 0.5))
    assert whole is None and least == np.inf, "proven: whole homes on them leave more than the limit"
    again, plan = relations_bound(rm, solver_for, None, roles, opts, limit, repair=REPAIR_ROUNDS)
    assert again == bound and plan is not None
    assert _fits(rm, plan, limit), "every row, min_transfer included, within the unfilled limit"
    assert bound <= relations(rm, plan) <= 2 * bound
