"""The Pyomo backend (``[solver] backend = "pyomo:NAME"``, ``dpm run --solver``) reaches the
same stage optima as the direct HiGHS path (MODEL.md 5), here with Pyomo's appsi_highs."""
from __future__ import annotations

import pytest
from conftest import DEFAULT_CASE, run_cli
from bruteforce import INSTANCES, instance

from dpm.model.case import load_case
from dpm.regional import solve_component

BACKEND = "pyomo:appsi_highs"
EXACT = ("continuity", "unfilled", "transfers", "unfilled_on_relations", "unfilled_timing")


def _optima(case) -> dict:
    return {s.name: (s.objective, s.status) for s in solve_component(case, tuple(case.regions)).stages}


def _compare(case):
    direct = _optima(case)
    through_pyomo = _optima(case.with_setting("solver", "backend", BACKEND))
    assert direct.keys() == through_pyomo.keys()
    for name, (value, status) in direct.items():
        other, other_status = through_pyomo[name]
        if name in EXACT and status == "optimal" and other_status == "optimal":
            assert other == pytest.approx(value, abs=1.0 if name == "continuity" else 1e-6), name
        else:  # a tolerance stop: both within solver.homes_gap (2 homes) of the same optimum
            assert other == pytest.approx(value, abs=2.0 * case.scenario.solver.homes_gap + 1e-6), name


@pytest.mark.parametrize("name", ["one_transfer", "unfilled_after_transfer", "gap_and_unfilled"])
def test_pyomo_backend_gives_the_direct_stage_optima_on_brute_force_instances(tmp_path, name):
    _compare(instance(tmp_path, *INSTANCES[name]))


def test_pyomo_backend_gives_the_direct_stage_optima_on_the_default_case(capfd):
    _compare(load_case(DEFAULT_CASE))
    captured = capfd.readouterr()
    assert "W1002" not in captured.out + captured.err  # no start outside a solve's bounds is handed to Pyomo


@pytest.mark.parametrize("backend", ["gurobi", "pyomo:", "pyomo:no_such_solver"])
def test_solver_flag_is_checked_before_anything_is_written(tmp_path, capsys, backend):
    """A malformed backend, or a solver Pyomo cannot run here: one line naming the field, exit 2."""
    assert run_cli(DEFAULT_CASE, tmp_path / "out", "--solver", backend) == 2
    err = capsys.readouterr().err
    assert "solver.backend" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_stage_time_limit_holds_through_pyomo(capfd):
    """Pyomo's appsi interfaces take the time limit from their ``solve()`` argument and drop the
    one in their config (measured: the nieuwbouw x2 variant's 1 s tie-break then ran for
    minutes): at 0 s the unfilled stage stops at its limit and says so, and Pyomo prints no
    warning into the results (a start a hair off whole values, a solution of a stopped solve)."""
    case = load_case(DEFAULT_CASE).with_setting("solver", "backend", BACKEND).with_setting("solver", "time_limit_s", 0.0)
    stages = {s.name: s for s in solve_component(case, tuple(case.regions)).stages}
    assert stages["unfilled"].status == "time_limit"
    captured = capfd.readouterr()
    assert "W1001" not in captured.out + captured.err and "aborted" not in captured.out + captured.err
