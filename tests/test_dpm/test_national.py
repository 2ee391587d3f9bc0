"""The national run on a small national case (five regions of the synthetic national case):
donors keep their opgave, the pool balances, solidarity off equals the regions one by one,
and Dask gives what the local engine gives."""
from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pandas as pd
import pytest

from dpm.cli import main
from dpm.model.case import load_case
from dpm.nationwide import run_national, solve_regional
from dpm.scenarios import path as package_path

NEDERLAND = package_path("nederland")
REGIONS = ["Regio 04 (synthetisch)", "Regio 09 (synthetisch)", "Regio 12 (synthetisch)",
           "Regio 22 (synthetisch)", "Regio 30 (synthetisch)"]


def _subset(folder, regions):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("corporations.csv", "opgave.csv"):
        table = pd.read_csv(NEDERLAND / name, dtype=str, keep_default_na=False)
        table[table["region"].isin(regions)].to_csv(folder / name, index=False)
    shutil.copy(NEDERLAND / "scenario.toml", folder / "scenario.toml")
    return folder


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = _subset(tmp_path_factory.mktemp("nl") / "small", REGIONS)
    # the national answer exact (the synthetic case's own scenario stops within 2 homes)
    case = load_case(folder).with_setting("national", "homes_gap", 0.0).with_setting("national", "mip_rel_gap", 0.0)
    return folder, case, run_national(case, workers=1)  # in-process: the pools are tested below


def test_the_small_case_has_donors_and_recipients(small):
    _, _, result = small
    roles = result.region_summary()["role"]
    assert {"donor", "recipient"} <= set(roles)
    assert result.flows["steun_out_eur"].sum() > 0


def test_a_donor_region_keeps_its_whole_opgave_and_every_limit(small):
    _, _, result = small
    summary = result.region_summary()
    donors = summary[summary["role"] == "donor"]
    assert (donors["unfilled_national_homes"] == 0).all()
    assert (donors["continuity_gap_national_eur"] == 0).all()
    paying = result.flows.loc[result.flows["steun_out_eur"] > 0, "corporation_id"].unique()
    proj = result.projection[result.projection["corporation_id"].isin(paying)]
    assert len(proj) and (proj["continuity_gap_eur"] == 0).all()
    assert (proj["steun_in_eur"] == 0).all() and proj["steun_out_eur"].sum() > 0, "a donor's projection carries its payments"
    only_donors = set(result.flows.loc[result.flows["steun_out_eur"] > 0, "region"])
    assert only_donors <= set(donors["region"])


@pytest.fixture(scope="module")
def decomposed(small):
    _, case, _ = small
    return run_national(case.with_setting("national", "method", "decomposition"), workers=1)


@pytest.fixture(params=["single_mip", "decomposition"])
def either(request, small, decomposed):
    return small[1], small[2] if request.param == "single_mip" else decomposed


def test_the_pool_balances_in_every_year_and_nobody_pays_and_receives(either):
    case, result = either
    f = result.flows.groupby("year")[["steun_out_eur", "steun_in_eur"]].sum().reindex(case.scenario.years,
                                                                                     fill_value=0.0)
    assert (f["steun_out_eur"] - f["steun_in_eur"]).abs().max() < 1.0  # EUR: cents of rounding per year
    assert ((result.pool["paid_in_eur"] - result.pool["paid_out_eur"]).abs() < 1.0).all()
    assert not ((result.flows["steun_in_eur"] > 0) & (result.flows["steun_out_eur"] > 0)).any()
    per_region = result.flows.groupby(["region", "year"])[["steun_in_eur", "steun_out_eur"]].sum()
    assert not ((per_region["steun_in_eur"] > 0) & (per_region["steun_out_eur"] > 0)).any()


def test_paying_donors_keep_every_limit_recomputed_independently(either):
    """Each paying corporation's finances from MODEL.md 4 by hand (tests/reference.py): its
    executed homes, its own sloop and verduurzaming opgave (a donor fills all), and its
    payments: every ratio at its norm in every year, and the reported debt."""
    from reference import reference_projection

    case, result = either
    paying = result.flows.loc[result.flows["steun_out_eur"] > 0, "corporation_id"].unique()
    assert len(paying)
    execution = pd.concat([f.execution for f in result.final])
    for cid in paying:
        corp = case.corporations.loc[cid]
        mine = execution[execution["executor"] == cid]
        built = {k: dict(zip(g["year"], g["homes"])) for k, g in mine.groupby("type")}
        own = case.opgave[case.opgave["corporation_id"] == cid]
        dem = own[own["type"] == "sloop_nieuwbouw"].groupby("year")["homes"].sum().to_dict()
        verd = own[own["type"] == "verduurzaming"].groupby("year")["homes"].sum().to_dict()
        pays = result.flows[result.flows["corporation_id"] == cid]
        steun = dict(zip(pays["year"], pays["steun_in_eur"] - pays["steun_out_eur"]))
        ref = pd.DataFrame(reference_projection(corp.to_dict(), case.scenario.raw, case.scenario.base_year, built,
                                                dem, verd, steun)).set_index("year")
        got = result.projection[result.projection["corporation_id"] == cid].set_index("year")
        assert (ref["debt_eur"] - got["debt_eur"]).abs().max() < 1.0
        assert (ref["icr"] >= got["icr_min"] - 1e-9).all(), cid
        assert (ref["ltv"] <= got["ltv_max"] + 1e-9).all(), cid
        assert (ref["solvency"] >= got["solvency_min"] - 1e-9).all(), cid


def test_money_follows_the_projects(either):
    """money.timing = projects: money in a year is at most what the corporation's projects of
    that year cost (steun_fundable_eur), so nothing is paid before the homes it funds."""
    _, result = either
    p = result.projection
    assert p["steun_in_eur"].sum() > 0
    assert (p["steun_in_eur"] <= p["steun_fundable_eur"] + 1.0).all()
    assert (p.loc[p["steun_fundable_eur"] == 0, "steun_in_eur"] < 1.0).all()


def test_the_decomposition_is_bounded_and_meets_the_exact_optimum_closely(small, decomposed):
    """On a small case the default method is one MIP of MODEL.md 6 (donors re-plan), proven
    optimal; the decomposition used at scale is never below it, its LP bound never above it."""
    exact = small[2]
    assert exact.method == "single_mip" and decomposed.method == "decomposition"
    assert [s.status for s in exact.stages[:2]] == ["optimal", "optimal"]
    assert exact.bound_homes == pytest.approx(exact.shortfall_homes, abs=0.999)
    assert decomposed.bound_homes <= exact.shortfall_homes + 1e-6
    assert exact.shortfall_homes <= decomposed.shortfall_homes <= exact.shortfall_homes + 0.01 * exact.shortfall_homes + 5
    # tying money to projects never leaves fewer homes unfilled than free timing
    assert decomposed.bound_free_timing_homes <= decomposed.bound_homes + 1e-6


def test_the_free_timing_bound_beside_the_national_lp_is_the_one_computed_after_it(small, decomposed):
    """With two workers the bound with money free in time is solved in a process of its own
    while the national LP runs: the same bound, and the same answer, as computed after it."""
    _, case, _ = small
    side = run_national(case.with_setting("national", "method", "decomposition"), workers=2)
    assert side.bound_free_timing_homes == decomposed.bound_free_timing_homes
    assert side.bound_homes == decomposed.bound_homes and side.shortfall_homes == decomposed.shortfall_homes
    pd.testing.assert_frame_equal(side.flows, decomposed.flows)


def test_a_receiving_region_stops_at_its_count_of_checks_not_a_clock(small, decomposed):
    """[national] recipient_checks: a receiving region's unfilled stage ends on a count of
    HiGHS's checks (the same answer on any machine), labelled work_limit (with HiGHS's bound
    where it has one), never below the region's optimum of the run without that stop."""
    _, case, _ = small
    short = run_national(case.with_setting("national", "method", "decomposition")
                         .with_setting("national", "recipient_checks", 2), workers=1)
    assert short.clock_stops == {}
    before = {o.regions: o for o in short.regional}
    receiving = [o for o in short.final if o is not before[o.regions] and o.stages[0].name == "continuity"]
    stopped = [o for o in receiving if o.stages[1].status == "work_limit"]
    assert stopped, "no receiving region stopped at its count"
    full = {o.regions: o for o in decomposed.final}
    for o in stopped:
        unfilled = o.stages[1]
        assert unfilled.name == "unfilled" and (unfilled.bound is None or unfilled.bound <= unfilled.objective)
        assert full[o.regions].stages[1].status == "optimal" and o.unfilled >= full[o.regions].unfilled


def test_unfilled_verduurzaming_is_reported_per_corporation(small):
    _, _, result = small
    table = result.unfilled_by_corporation()
    assert list(table.columns) == ["region", "corporation_id", "type", "homes", "value_eur"]
    assert table["homes"].sum() == result.shortfall_homes


def test_solidarity_fills_at_least_what_the_regions_alone_fill(small):
    _, case, result = small
    summary = result.region_summary()
    homes_gap = case.scenario.solver.homes_gap
    assert summary["unfilled_national_homes"].sum() < summary["unfilled_regional_homes"].sum()
    assert (summary["unfilled_national_homes"] <= summary["unfilled_regional_homes"] + homes_gap).all()
    assert result.bound_homes <= summary["unfilled_national_homes"].sum() + 1e-6


def test_without_solidarity_national_equals_the_regions_one_by_one(small, tmp_path):
    folder, case, _ = small
    off = run_national(case, workers=1, solidarity=False)
    assert off.flows.empty
    for region in REGIONS:
        alone_case = load_case(_subset(tmp_path / region.split()[1], [region]))
        alone = solve_regional(alone_case, (region,)).shortfall
        national = off.shortfall[off.shortfall["region"] == region]
        pd.testing.assert_frame_equal(national.reset_index(drop=True), alone.reset_index(drop=True))


def test_dask_gives_what_the_local_engine_gives(small):
    _, case, local = small
    dask = run_national(case, engine="dask", workers=2)
    drop = ["seconds", "status"]
    pd.testing.assert_frame_equal(local.region_summary().drop(columns=drop), dask.region_summary().drop(columns=drop))
    pd.testing.assert_frame_equal(local.flows, dask.flows)
    pd.testing.assert_frame_equal(local.shortfall, dask.shortfall)


def test_the_answer_does_not_depend_on_how_fast_the_solver_ran(small, monkeypatch):
    """The same case gives the same national answer on a fast and a slow machine: HiGHS's
    instance is never renewed on its clock alone (a renewal changes which of tied optima
    HiGHS returns). Both clocks are simulated: one that reads zero, one that reads an hour."""
    import highspy

    _, case, _ = small
    answers = []
    for seconds in (0.0, 3600.0):
        monkeypatch.setattr(highspy.Highs, "getRunTime", lambda self, s=seconds: s)
        answers.append(run_national(case, workers=1))
    fast, slow = answers
    pd.testing.assert_frame_equal(fast.region_summary().drop(columns=["seconds"]),
                                  slow.region_summary().drop(columns=["seconds"]))
    pd.testing.assert_frame_equal(fast.flows, slow.flows)
    # (and each run may say so: no solve of either was ended by a clock)
    assert fast.clock_stops == {} and slow.summary()["clock"]["repeatable"] is True


def test_national_command_writes_its_tables(small, tmp_path, capsys):
    folder, _, result = small
    out = tmp_path / "out"
    assert main(["national", str(folder), "--out", str(out), "--workers", "2"]) == 0
    assert {p.name for p in out.iterdir()} == {"region_summary.csv", "national_shortfall.csv", "regional_shortfall.csv",
                                               "solidarity.csv", "execution.csv", "projection.csv", "summary.json",
                                               "pool.csv", "unfilled_by_corporation.csv", ".dpm-results.json"}
    short = pd.read_csv(out / "national_shortfall.csv")
    assert list(short.columns) == ["region", "type", "year", "homes", "value_eur"]
    summary = json.loads((out / "summary.json").read_text())
    assert short["homes"].sum() == summary["national_shortfall_homes"]
    assert summary["lower_bound_homes"] <= summary["national_shortfall_homes"]
    assert summary["gap_to_bound_homes"] == pytest.approx(summary["national_shortfall_homes"] - summary["lower_bound_homes"])
    assert "National shortfall" in capsys.readouterr().out


def test_sweep_of_the_faq_discount_rate(tmp_path, default_results):
    from conftest import DEFAULT_CASE

    out = tmp_path / "sweep"
    assert main(["sweep", str(DEFAULT_CASE), "--vary", "discount_rate=0.06,0.0725", "--out", str(out),
                 "--workers", "1"]) == 0
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["discount_rate"]) == [0.06, 0.0725]
    # a higher discount rate lowers the beleidswaarde: never fewer unfilled homes
    assert table["unfilled_homes"].iloc[1] >= table["unfilled_homes"].iloc[0]
    assert table["unfilled_homes"].iloc[0] == default_results.summary["objectives"]["unfilled_homes"]  # 6 % is the default


def test_dask_engine_without_dask_is_a_clear_error(small, monkeypatch, capsys):
    import builtins

    folder, _, _ = small
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert main(["national", str(folder), "--engine", "dask", "--out", str(folder.parent / "x")]) == 2
    assert "pip install -e '.[dask]'" in capsys.readouterr().err
    assert not (folder.parent / "x").exists()


# --- a worker that dies --------------------------------------------------------------------------
FAULT_REGIONS = REGIONS[:3]


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_a_worker_killed_once_is_survived_with_the_same_answer(tmp_path, monkeypatch, engine):
    if engine == "dask":
        pytest.importorskip("distributed")
    folder = _subset(tmp_path / "nl", FAULT_REGIONS)
    case = load_case(folder)
    reference = run_national(case, workers=1)
    monkeypatch.setenv("DPM_TEST_KILL_WORKER", f"{FAULT_REGIONS[1]}:once")
    monkeypatch.setenv("DPM_TEST_KILL_MARKER", str(tmp_path / "killed"))
    result = run_national(case, engine=engine, workers=2)
    assert (tmp_path / "killed").exists(), "the worker was not killed"
    assert result.region_summary().equals(reference.region_summary().assign(
        seconds=result.region_summary()["seconds"]))


def test_a_worker_that_always_dies_is_named_and_nothing_is_written(tmp_path, monkeypatch, capsys):
    folder = _subset(tmp_path / "nl", FAULT_REGIONS)
    monkeypatch.setenv("DPM_TEST_KILL_WORKER", FAULT_REGIONS[2])
    out = tmp_path / "out"
    assert main(["national", str(folder), "--workers", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and FAULT_REGIONS[2] in err[0] and "died" in err[0]
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def _dies_in_a_worker(parent: int) -> int:
    if os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return 7


def _sleeps(seconds: float) -> int:
    time.sleep(seconds)
    return 0


def test_a_process_beside_that_dies_is_survived_and_one_left_on_an_error_is_ended():
    from dpm.engines import beside

    with beside(_dies_in_a_worker, os.getpid(), workers=2) as result:
        assert result() == 7  # computed here after its process died
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt), beside(_sleeps, 60.0, workers=2) as result:
        raise KeyboardInterrupt
    assert time.perf_counter() - start < 10  # not the 60 s of its solve


@pytest.mark.parametrize("extra_region", [False, True])
def test_regions_linked_by_a_werkgebied_in_a_national_run(tmp_path, capsys, extra_region):
    """A component of regions linked by a werkgebied takes part in national solidarity as
    neither donor nor recipient: a case of only such regions is answered by the component's
    own plan (no pool, its own bound; this once ended in a ZeroDivisionError), and beside a
    single region it keeps the unfilled homes of its own run."""
    from conftest import LINKED_CORPORATIONS, a_nieuwbouw, linked_case

    from dpm.regional import run_case

    corps, opgave = list(LINKED_CORPORATIONS), a_nieuwbouw(30)
    if extra_region:
        corps.append({"corporation_id": "E", "region": "R3"})
        opgave.append({"region": "R3", "corporation_id": "E", "type": "flex", "year": 2026, "homes": 2})
    case = linked_case(tmp_path / "case", corps, opgave, min_transfer=2)
    alone = run_case(load_case(case)).components
    linked = next(c for c in alone if c.regions == ("R1", "R2")).objectives["unfilled_homes"]
    assert linked > 0
    assert main(["national", str(case), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    regions = pd.read_csv(tmp_path / "out" / "region_summary.csv").set_index("region")
    assert regions.loc[["R1", "R2"], "role"].eq("linked").all()
    # its own stages 1-2, before and after solidarity (the national run, like its single regions,
    # leaves min_transfer to dpm run, which may leave a home more unfilled)
    mine = regions.loc[["R1", "R2"]]
    assert (mine["unfilled_national_homes"] == mine["unfilled_regional_homes"]).all()
    assert 0 < mine["unfilled_national_homes"].sum() <= linked
    assert summary["national_shortfall_homes"] >= summary["lower_bound_homes"] - 1e-6
    if not extra_region:
        assert summary["method"] == "linked_only" and summary["pool_in_eur"] == 0
        assert "no national pool" in capsys.readouterr().out
