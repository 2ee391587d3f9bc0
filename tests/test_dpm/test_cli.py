"""The command line: time limits are reported, results are written whole or not at all."""
from __future__ import annotations

import io
import json
import sys

import pytest
from bruteforce import tiny_case
from conftest import copy_default, run_cli

import dpm.results
from dpm.results import OUTPUTS


def test_time_limit_is_reported_with_its_gap(tmp_path, capsys):
    """A limit of 0 s stops the unfilled stage at its first point, deterministically: it says
    time_limit (never optimal), with its gap when HiGHS has a bound, and the warning says so."""
    case = copy_default(tmp_path)
    (case / "scenario.toml").write_text("base_year = 2025\n[solver]\ntime_limit_s = 0.0\n"
                                        "efficiency_time_limit_s = 0.0\ntiebreak_time_limit_s = 0.0\n")
    out = tmp_path / "out"
    assert run_cli(case, out) == 0
    summary = json.loads((out / "summary.json").read_text())
    stages = {s["stage"]: s for s in summary["regions"][0]["stages"]}
    assert stages["unfilled"]["status"] == "time_limit"
    gap = stages["unfilled"]["mip_gap"]
    assert (gap is None and stages["unfilled"]["bound"] is None) or gap > 0
    assert summary["allocation_status"] == "time_limit"
    # and the run says it may not repeat byte for byte: which solves the clock ended
    assert summary["clock"]["repeatable"] is False and summary["clock"]["stops"]["stage unfilled"] >= 1
    assert summary["regions"][0]["clock_stops"] == summary["clock"]["stops"]
    err = capsys.readouterr().err
    assert "stopped with status time_limit" in err
    assert "note: " in err and "can give a different result" in err
    # each stopped stage's warning names the setting that holds its own limit
    setting = {"unfilled_timing": "tiebreak_time_limit_s", "transfers": "efficiency_time_limit_s",
               "unfilled_on_relations": "efficiency_time_limit_s", "homes_moved": "tiebreak_time_limit_s"}
    for name, stage in stages.items():
        if stage["status"] == "time_limit":
            line = next(w for w in err.splitlines() if f"stage '{name}' stopped" in w)
            assert f"raise [solver] {setting.get(name, 'time_limit_s')}," in line, line
            if name == "unfilled_timing":  # and what the stop means for the reader
                assert "'from year X' in the explanation may name a year too early" in line, line


def test_a_stage_without_progress_stops_as_stalled_with_its_gap(tmp_path, capsys):
    """The patience rule (solver.patience_checks): asked for the exact unfilled optimum, the
    nieuwbouw x2 variant spends its whole time limit on the last homes; with patience, stage 2
    stops once neither its plan nor its bound has improved for that many of HiGHS's checks. It
    says `stalled` (never optimal) with its bound and gap, as the run's allocation status, and
    the warning names the setting; a stall on the count is no clock stop; the stages after it
    run as usual (HiGHS 1.16 kept the stop's interrupt flag and stopped every later solve of
    the instance at once: `interrupted`)."""
    import pandas as pd

    case = copy_default(tmp_path)
    opgave = pd.read_csv(case / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
    nieuwbouw = opgave["type"] == "nieuwbouw"
    opgave.loc[nieuwbouw, "homes"] *= 2
    opgave.to_csv(case / "opgave.csv", index=False)
    (case / "scenario.toml").write_text("base_year = 2025\n[solver]\nhomes_gap = 0.0\nmip_rel_gap = 0.0\n"
                                        "prove_exact_s = 0.0\npatience_checks = 5\npatience_s = 0.0\npatience_gap = 1.0\n"
                                        "efficiency_time_limit_s = 2.0\ntime_limit_s = 20.0\n")
    out = tmp_path / "out"
    assert run_cli(case, out) == 0
    summary = json.loads((out / "summary.json").read_text())
    stages = {s["stage"]: s for s in summary["regions"][0]["stages"]}
    unfilled = stages["unfilled"]
    assert unfilled["status"] == "stalled"
    assert unfilled["objective"] - unfilled["bound"] >= 1.0 and unfilled["mip_gap"] > 0  # not proven, and says so
    assert summary["allocation_status"] == "stalled"
    assert not [s for s in stages.values() if s["status"] == "interrupted"], stages
    assert "stage unfilled" not in summary["clock"]["stops"]
    err = capsys.readouterr().err
    line = next(w for w in err.splitlines() if "stage 'unfilled' stopped" in w)
    assert "status stalled" in line and "patience_checks" in line, line


def test_honest_status_labels():
    """optimal only when the bound proves the value; a tolerance stop is within_tolerance."""
    from dpm.solvers.lexicographic import honest_status
    assert honest_status("time_limit", 12.0, 11.2, integral=True) == ("optimal", 0.0)  # HiGHS: limit, gap < 1 home
    assert honest_status("optimal", 12.0, 11.0, integral=True) == ("within_tolerance", 1 / 12)
    assert honest_status("time_limit", 20.0, 15.0, integral=True) == ("time_limit", 0.25)
    assert honest_status("optimal", 5.0, 5.0 - 1e-9, integral=False) == ("optimal", 0.0)
    assert honest_status("numerical_trouble", 5.0, 5.0, integral=True)[0] == "numerical_trouble"
    assert honest_status("time_limit", 5.0, None, integral=True) == ("time_limit", None)


def test_a_failure_while_writing_leaves_no_folder(tmp_path, monkeypatch):
    case = tiny_case(tmp_path / "case")
    calls = []

    def failing_csv(df, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        df.to_csv(path, index=False)

    monkeypatch.setattr(dpm.results, "_csv", failing_csv)
    with pytest.raises(OSError):
        run_cli(case, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]  # no out, no hidden partial folder


def test_force_replaces_an_existing_folder(tmp_path):
    case = tiny_case(tmp_path / "case")
    out = tmp_path / "out"
    assert run_cli(case, out) == 0
    (out / "summary.json").write_text("{}")  # the marker, not summary.json, says dpm wrote it
    assert run_cli(case, out, "--force") == 0
    assert json.loads((out / "summary.json").read_text())["objectives"]
    assert {p.name for p in out.iterdir()} == {*OUTPUTS, ".dpm-results.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "out"]


def _small_case(tmp_path, debt_a=6_000_000):
    from conftest import write_case
    return write_case(tmp_path / "small", [{"corporation_id": "A", "debt_eur": debt_a}, {"corporation_id": "B"}],
                      [{"region": "R", "corporation_id": "A", "type": "nieuwbouw", "year": 2027, "homes": 5}])


def test_quiet_by_default_verbose_shows_the_solver_log(tmp_path, capfd):
    case = _small_case(tmp_path)
    assert run_cli(case, tmp_path / "quiet") == 0
    quiet = capfd.readouterr()
    assert "HiGHS" not in quiet.out + quiet.err
    assert quiet.err == ""
    assert run_cli(case, tmp_path / "loud", "--verbose") == 0
    loud = capfd.readouterr().out
    assert "HiGHS" in loud and "MIP" in loud


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_shown_on_a_terminal_and_cleared(tmp_path, monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert run_cli(_small_case(tmp_path), tmp_path / "out") == 0
    text = term.getvalue()
    for stage in ("continuity", "unfilled", "transfers"):
        assert f"[1/1] R: stage '{stage}'" in text
    assert text.endswith("\r\033[K"), "the progress line is cleared before the results table"


def test_a_norm_broken_before_any_opgave_is_warned_once(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(_small_case(tmp_path, debt_a=9_000_000), out) == 0
    err = capsys.readouterr().err
    warning = "A (A) already breaks its norms in 2026 before any opgave: LTV 89.6% > 85.0%"
    assert err.count(warning) == 1 and err.count("warning:") == 1
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith(warning)


def test_default_case_has_no_warnings(default_results):
    assert default_results.summary["warnings"] == []


def test_numerical_trouble_without_a_solution_is_a_clear_error(tmp_path, capsys, monkeypatch):
    from dpm.solvers.highs import HighsSolver, SolveResult

    monkeypatch.setattr(HighsSolver, "solve", lambda self: SolveResult("numerical_trouble", False, None, None,
                                                                       None, 0.5, None))
    assert run_cli(_small_case(tmp_path), tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: stage 'continuity' ended with status numerical_trouble after 0.5 s and no "
                          "solution: HiGHS lost numerical accuracy")
    assert not (tmp_path / "out").exists()


def test_numerical_trouble_with_a_solution_is_reported_not_hidden(tmp_path, capsys, monkeypatch):
    from dpm.solvers.highs import HighsSolver

    solve = HighsSolver.solve

    def troubled(self):
        out = solve(self)
        out.status = "numerical_trouble"
        return out
    monkeypatch.setattr(HighsSolver, "solve", troubled)
    out = tmp_path / "out"
    assert run_cli(_small_case(tmp_path), out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"]["continuity"] == summary["status"]["unfilled"] == "numerical_trouble"
    assert set(summary["status"].values()) <= {"numerical_trouble", "optimal"}  # 'optimal': proven by the roles' bound
    assert any("status numerical_trouble" in w and "lost numerical accuracy" in w for w in summary["warnings"])
    assert "warning: R: stage 'continuity' stopped with status numerical_trouble" in capsys.readouterr().err


def test_regions_solved_in_parallel_give_the_same_files(tmp_path, capsys):
    """dpm run solves a case's components on a process pool (--workers, default the machine's
    cores): the same allocation, shortfall and projection, byte for byte, as one by one."""
    from conftest import write_case

    corps, opgave = [], []
    for r, debt in (("R1", 8.6e6), ("R2", 8.0e6), ("R3", 6.0e6)):
        corps += [{"corporation_id": f"{r}A", "region": r, "debt_eur": debt}, {"corporation_id": f"{r}B", "region": r}]
        opgave += [{"region": r, "corporation_id": f"{r}A", "type": "nieuwbouw", "year": y, "homes": 20} for y in (2026, 2027)]
    case = write_case(tmp_path / "three", corps, opgave)
    files = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        assert run_cli(case, out, "--workers", workers) == 0
        files[workers] = {name: (out / name).read_bytes() for name in ("allocation.csv", "shortfall.csv", "projection.csv")}
        regions = [r["regions"] for r in json.loads((out / "summary.json").read_text())["regions"]]
        assert regions == [["R1"], ["R2"], ["R3"]], "components in case order either way"
    assert files["1"] == files["2"]
    assert files["1"]["shortfall.csv"].count(b"\n") > 1, "some homes stay unfilled: the solves did work"
    # in a log (not a terminal): one line per region, as it starts (one by one) or is solved
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[")]
    solving = [line for line in lines if " solving " in line]
    solved = [line for line in lines if " solved " in line]
    assert [line.split(" (")[0] for line in solving] == [f"[{i}/3] solving R{i}" for i in (1, 2, 3)]
    assert sorted(line.split(" ")[2] for line in solved) == ["R1", "R2", "R3"] and len(lines) == 6
