"""The library API (README "Library"): the same answers and files as the command."""
from __future__ import annotations

import pandas as pd
import pytest
from conftest import DEFAULT_CASE

import dpm
from dpm.outputs import OutputRefused


@pytest.fixture(scope="module")
def api_run():
    case = dpm.load_case(dpm.case_path("voorbeeldregio"))
    return case, dpm.run(case)


def test_run_to_folder_writes_what_the_command_writes(api_run, default_results, tmp_path):
    _, result = api_run
    out = tmp_path / "api"
    result.to_folder(out)
    for name in ("projection.csv", "allocation.csv", "shortfall.csv", "explanation.csv", "diagnosis.csv",
                 "investment_room.csv"):
        assert (out / name).read_bytes() == (default_results.folder / name).read_bytes(), name
    # (what lets a run claim it repeats: no solve of either was ended by a clock)
    assert result.clock_stops == {} and default_results.summary["clock"]["repeatable"] is True
    assert result.table("shortfall")["homes"].sum() == default_results.shortfall["homes"].sum()


def test_to_folder_keeps_the_output_rules(api_run):
    case, result = api_run
    with pytest.raises(OutputRefused):
        result.to_folder(DEFAULT_CASE)  # the case folder itself
    assert sorted(p.name for p in DEFAULT_CASE.iterdir()) == sorted(p.name for p in case.path.iterdir())


def test_projectsteun_and_room_through_the_api(api_run, tmp_path):
    case, _ = api_run
    steun = dpm.projectsteun(case, with_curve=False)
    assert len(steun) == 1 and steun[0].total_discounted_eur > 0
    steun.to_folder(tmp_path / "steun")
    table = pd.read_csv(tmp_path / "steun" / "steun.csv")
    assert table["steun_eur"].sum() == pytest.approx(steun[0].steun["steun_eur"].sum())
    room = dpm.room(case)
    assert {"corporation_id", "type", "homes", "binding_limit"} <= set(room.columns)


def test_sweep_gives_per_combination_what_a_run_gives(api_run, tmp_path):
    """``dpm.sweep``: one row per combination and region; at the case's own value the unfilled
    opgave is the run's (stages 1-2); the table is written under the output rules."""
    case, result = api_run
    rate = case.scenario.economy.discount_rate
    sw = dpm.sweep(case, {"discount_rate": [rate, rate + 0.01]}, workers=1)
    assert len(sw.table) == 2 * len(case.regions)
    own = sw.table[sw.table["discount_rate"] == rate]
    unfilled = next(s for s in result.components[0].stages if s.name == "unfilled").objective
    assert int(own["unfilled_homes"].sum()) == int(round(unfilled))
    sw.to_folder(tmp_path / "sweep")
    assert pd.read_csv(tmp_path / "sweep" / "sweep.csv").shape[0] == 2 * len(case.regions)
    with pytest.raises(OutputRefused):
        sw.to_folder(DEFAULT_CASE)


def test_api_functions_survive_their_modules_being_imported():
    """Importing the modules behind the API (as the command does) never replaces a function
    of the API by a module of the same name."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(dpm.__path__):
        importlib.import_module(f"dpm.{module.name}")
    for name in dpm.__all__:
        assert callable(getattr(dpm, name)), name
