"""The guard against HiGHS 1.16 valuing a MIP start without its presolve offset
(``HighsSolver.solve``): a stage never fails, and never reports a value its point does not
have, because HiGHS stopped on a wrongly valued start. HiGHS's runs are replaced by scripted
results here, since the bug shows only on some large models (a synthetic region of 30
corporations)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from bruteforce import INSTANCES, instance

from dpm.model.allocation import build_region_model
from dpm.solvers.backends import make_solver
from dpm.solvers.highs import SolveResult, clock_stops


@pytest.fixture
def solver(tmp_path):
    case = instance(tmp_path, *INSTANCES["one_transfer"])
    rm = build_region_model(case, ("R",))
    s = make_solver(rm.model, {**case.scenario.solver.options(), "threads": 1})
    cost = rm.stages()[1].cost
    s.set_objective(cost, abs_gap=2.0)
    s.set_mip_rel_gap(0.0)
    x = rm.start()
    return s, x, float(cost @ x)


def _script(monkeypatch, solver, results):
    """Let the solver's HiGHS runs return ``results`` in turn (and count the runs)."""
    runs = []
    monkeypatch.setattr(solver, "_run", lambda: runs.append(1))
    monkeypatch.setattr(solver, "_result", lambda seconds: results[len(runs) - 1])
    return runs


def test_a_start_valued_wrongly_but_within_the_gap_is_kept_with_its_true_value(monkeypatch, solver):
    s, x, value = solver
    # HiGHS says optimal at value - 1 (the offset lost) with bound value - 1.5: valued right,
    # the point is 1.5 above the bound, within the absolute gap of 2
    runs = _script(monkeypatch, s, [SolveResult("optimal", True, value - 1.0, value - 1.5, 0.0, 0.1, x)])
    out = s.solve()
    assert len(runs) == 1 and s.restarts == 0
    assert out.objective == pytest.approx(value) and out.status == "optimal"
    assert out.bound == pytest.approx(value - 1.5)


def test_a_wrongly_valued_start_beyond_the_gap_is_searched_again_and_kept_if_nothing_better_is_found(
        monkeypatch, solver):
    s, x, value = solver
    first = SolveResult("optimal", True, value - 5.0, value - 6.0, 0.0, 0.1, x)
    second = SolveResult("time_limit", False, None, value - 4.0, None, 10.0, None)  # nothing found without it
    runs = _script(monkeypatch, s, [first, second])
    out = s.solve()
    assert len(runs) == 2 and s.restarts == 1
    assert out.has_solution and np.array_equal(out.x, x)
    assert out.objective == pytest.approx(value)  # its true value, not HiGHS's
    assert out.status == "time_limit" and out.bound == pytest.approx(value - 4.0)  # the larger bound
    assert out.mip_gap == pytest.approx(4.0 / abs(value))


def test_a_better_point_of_the_second_search_replaces_the_first(monkeypatch, solver):
    s, x, value = solver
    first = SolveResult("optimal", True, value - 5.0, value - 6.0, 0.0, 0.1, x)
    second = SolveResult("optimal", True, value - 3.0, value - 3.0, 0.0, 1.0, x.copy())
    runs = _script(monkeypatch, s, [first, second])
    assert s.solve() is second and len(runs) == 2


def test_a_wrongly_valued_point_at_the_time_limit_is_kept_with_its_true_value_and_no_second_search(
        monkeypatch, solver):
    s, x, value = solver
    # HiGHS stopped at its time limit, its incumbent valued 3 below its true value: no proof was
    # claimed, so nothing to undo; the point is kept valued right, HiGHS's bound stays a bound
    first = SolveResult("time_limit", True, value - 3.0, value - 10.0, 0.0, 10.0, x)
    runs = _script(monkeypatch, s, [first])
    out = s.solve()
    assert len(runs) == 1 and s.restarts == 0
    assert out.objective == pytest.approx(value) and out.status == "time_limit"
    assert out.bound == pytest.approx(value - 10.0) and out.mip_gap == pytest.approx(10.0 / abs(value))



def test_the_rounding_search_stops_at_a_point_the_stage_accepts(tmp_path):
    """The rounding search's target (``objective_target``): the value the stage's own gaps
    accept against the LP bound, rounded up where the objective is whole at integer points;
    the point it returns is within it (so the stage can stop at its root), and the target is
    lifted again for the stage itself."""
    from dpm.solvers.lexicographic import _good_enough, rounded_start

    case = instance(tmp_path, *INSTANCES["one_transfer"])
    rm = build_region_model(case, ("R",))
    opts = {**case.scenario.solver.options(), "threads": 1}
    s = make_solver(rm.model, opts)
    cost = rm.stages()[1].cost
    s.set_objective(cost, abs_gap=2.0)
    s.set_mip_rel_gap(0.0)
    nz = np.flatnonzero(cost)
    assert s.integer[nz].all() and np.all(cost[nz] == np.round(cost[nz]))
    assert _good_enough(s, cost, 10.2) == pytest.approx(13.0, abs=1e-5)  # ceil(10.2) + 2
    s.set_mip_rel_gap(0.5)  # v - b <= 0.5 v: v <= 2 b, beyond the absolute gap
    assert _good_enough(s, cost, 10.2) == pytest.approx(22.0, abs=1e-5)
    s.set_mip_rel_gap(0.0)
    assert _good_enough(s, cost * 0.5, 10.2) == pytest.approx(12.2, abs=1e-5)  # not whole: not rounded up
    lp = make_solver(rm.model, opts, relaxed=True)
    lp.set_objective(cost)
    bound = lp.solve().objective
    point = rounded_start(s, cost, None)
    assert point is not None and float(cost @ point) <= _good_enough(s, cost, bound)
    assert s.h.getOptionValue("objective_target")[1] == -np.inf


class _ScriptedSearch:
    """Just what rounded_start uses of a solver; its solves return ``results`` in turn."""

    def __init__(self, results, n=3):
        self.integer = np.ones(n, bool)
        self.options = {"mip_abs_gap": 0.999, "mip_rel_gap": 0.0}
        self.limit_s, self.results, self.windows, self.nodes, self.starts = 60.0, list(results), [], [], []
        self.label, self.checks = None, []

    def set_integrality(self, ids, integer):
        pass

    def set_work_limit(self, checks):
        if checks is not None:
            self.checks.append(checks)

    def solve(self):
        return self.results.pop(0)

    def bounds(self, ids):
        return np.zeros(len(ids)), np.full(len(ids), 100.0)

    def set_bounds(self, ids, low, high):
        self.windows.append(high - low)

    def set_option(self, key, value):
        self.options[key] = value

    def gaps(self):
        return self.options["mip_abs_gap"], self.options["mip_rel_gap"]

    def set_node_limit(self, nodes):
        self.nodes.append(nodes)

    def set_time_limit(self, seconds):
        self.limit_s = seconds

    def set_start(self, x):
        self.starts.append(x)


def _point(status, x):
    return SolveResult(status, True, float(np.sum(x)), None, None, 0.1, np.asarray(x, float))


def test_the_rounding_searches_a_wider_window_only_when_its_point_is_not_good_enough():
    from dpm.solvers.lexicographic import (ROUNDING_CHECKS, ROUNDING_NODES, ROUNDING_WINDOW, WIDE_NODES, WIDE_WINDOW,
                                           rounded_start)

    cost, lp = np.ones(3), _point("optimal", [10.5, 10.0, 10.0])  # LP bound 30.5: good enough at 31 + 0.999
    not_enough, enough = _point("solution_limit", [12, 12, 12]), _point("target_reached", [11, 10, 10])
    s = _ScriptedSearch([lp, not_enough, enough])
    assert np.array_equal(rounded_start(s, cost, None), enough.x)
    assert s.nodes[:2] == [ROUNDING_NODES, WIDE_NODES]
    assert s.checks == [ROUNDING_CHECKS, 2 * ROUNDING_CHECKS]  # (counts of HiGHS's checks: the same on any machine)
    assert s.windows[0].max() == 2 * ROUNDING_WINDOW + 1 and s.windows[1].max() == 2 * WIDE_WINDOW + 1
    assert np.array_equal(s.starts[0], not_enough.x)  # the wider search starts from the first's point
    assert s.windows[-1].max() == 100 and s.options["objective_target"] == -np.inf  # bounds and target restored
    s = _ScriptedSearch([lp, enough])  # good enough at once: no second search
    assert np.array_equal(rounded_start(s, cost, None), enough.x) and s.nodes[:1] == [ROUNDING_NODES]
    assert len(s.windows) == 2  # the window, then the bounds restored
    # a caller that needs only a point within a limit (enough): no wider window once the first has one
    s = _ScriptedSearch([lp, not_enough, enough])
    assert np.array_equal(rounded_start(s, cost, None, enough=36.0), not_enough.x) and len(s.windows) == 2
    s = _ScriptedSearch([lp, not_enough, enough])  # ... but where its point is above that, the wider window
    assert np.array_equal(rounded_start(s, cost, None, enough=35.0), enough.x) and len(s.windows) == 3


@pytest.mark.parametrize("homes_gap", [0.0, 2.0, 5.0])
def test_a_stage_in_homes_stops_exactly_when_proven_within_homes_gap(monkeypatch, tmp_path, homes_gap):
    """``solver.homes_gap``: a stage counted in whole homes stops once its value is proven
    within that many homes of the optimum. HiGHS compares its raw bound b (v - b <= its
    absolute gap), while whole homes prove the bound ceil(b): the gap handed to HiGHS must
    stop it for every b with v - ceil(b) <= homes_gap and for no other."""
    from dpm.solvers.lexicographic import Stage, solve_lexicographic

    case = instance(tmp_path, *INSTANCES["one_transfer"])
    rm = build_region_model(case, ("R",))
    s = make_solver(rm.model, {**case.scenario.solver.options(), "threads": 1})
    handed = []
    set_objective = s.set_objective
    monkeypatch.setattr(s, "set_objective", lambda cost, sense="min", abs_gap=None: (
        handed.append(abs_gap), set_objective(cost, sense, abs_gap)))
    unfilled = rm.stages()[1]
    stage = Stage("unfilled", unfilled.cost, integral=True, in_homes=True, prove=False)
    solve_lexicographic(s, [stage], rm.start(), homes_gap=homes_gap)
    abs_gap = handed[0]
    v = 130.0
    for b in np.linspace(v - homes_gap - 3.0, v, 601):
        assert (v - b <= abs_gap) == (v - np.ceil(b - 1e-9) <= homes_gap), b


def test_the_neighbourhood_search_moves_only_what_it_frees_and_never_worsens(tmp_path):
    """``neighbourhood_search``: from a feasible point, a neighbourhood's search changes only
    the integer columns it frees (one corporation's own decisions, ``RegionModel.neighbourhoods``)
    and returns a point at least as good; the solver's bounds and limits are as before."""
    from dpm.solvers.lexicographic import neighbourhood_search

    case = instance(tmp_path, *INSTANCES["one_transfer"])
    rm = build_region_model(case, ("R",))
    s = make_solver(rm.model, {**case.scenario.solver.options(), "threads": 1})
    cost = rm.stages()[1].cost
    s.set_objective(cost, abs_gap=0.999)
    ints = np.flatnonzero(s.integer)
    before, limit = s.bounds(ints), s.limit_s
    x0 = rm.start()  # nothing done: every home unfilled
    hoods = rm.neighbourhoods
    assert len(hoods) == len(rm.projection.ids)
    for hood in hoods:
        x = neighbourhood_search(s, cost, x0, [hood], 5.0)
        held = np.setdiff1d(ints, hood)
        assert np.array_equal(np.round(x[held]), np.round(x0[held]))
        assert cost @ x <= cost @ x0 + 1e-9
    assert cost @ neighbourhood_search(s, cost, x0, hoods, 5.0) < cost @ x0  # someone can do a home of their own
    assert all(np.array_equal(a, b) for a, b in zip(s.bounds(ints), before)) and s.limit_s == limit
    assert neighbourhood_search(s, cost, x0, [], 5.0) is x0
    solves = []
    s.solve = lambda: solves.append(1)  # a neighbourhood already at its least is not searched
    assert neighbourhood_search(s, np.zeros_like(cost), x0, hoods, 5.0) is x0 and not solves


def test_the_neighbourhood_search_ends_on_its_counts_and_notes_its_clock(tmp_path, monkeypatch):
    """The search ends once its MIPs have made NEIGHBOURHOOD_BUDGET_CHECKS of HiGHS's checks in
    all (a count: the same point on any machine), each MIP getting what is left; its clock
    budget, where it ends the search, is noted as a clock stop; the solver's work limit is
    cleared afterwards."""
    import dpm.solvers.lexicographic as lexicographic

    case = instance(tmp_path, *INSTANCES["one_transfer"])
    rm = build_region_model(case, ("R",))
    s = make_solver(rm.model, {**case.scenario.solver.options(), "threads": 1})
    cost = rm.stages()[1].cost
    s.set_objective(cost, abs_gap=0.999)
    x0, hoods = rm.start(), rm.neighbourhoods
    limits = []
    solve = s.solve
    s.solve = lambda: limits.append(s.work_limit) or solve()
    lexicographic.neighbourhood_search(s, cost, x0, hoods, 5.0)
    assert len(limits) >= 2 and limits[0] == lexicographic.NEIGHBOURHOOD_BUDGET_CHECKS  # (one hood is at its least)
    assert all(later < earlier for earlier, later in zip(limits, limits[1:]))  # (each MIP spends some)
    assert s.work_limit is None
    limits.clear()
    monkeypatch.setattr(lexicographic, "NEIGHBOURHOOD_BUDGET_CHECKS", 1)  # spent by the first MIP
    lexicographic.neighbourhood_search(s, cost, x0, hoods, 5.0)
    assert limits == [1]
    limits.clear()
    with clock_stops() as stops:
        assert lexicographic.neighbourhood_search(s, cost, x0, hoods, 5.0, budget_s=-1.0) is x0
    assert limits == [] and stops == ["neighbourhood_search (budget)"]

def test_partner_neighbourhoods_shift_homes_that_one_corporation_alone_cannot(tmp_path):
    """The homes-moved stage's search (``RegionModel.partner_neighbourhoods``): from a plan that
    moves as many homes as its relation allows, one corporation at a time cannot move fewer
    (each of its tasks' homes must still be done by someone, every other plan held), while a
    corporation with its partners reaches the least homes moved on that relation, as an exact
    solve finds it; each neighbourhood holds the columns of every corporation outside it."""
    from dpm.efficiency import used_pairs, whole_totals
    from dpm.solvers.lexicographic import neighbourhood_search, solve_lexicographic

    case = instance(tmp_path, *INSTANCES["one_transfer"])
    rm = build_region_model(case, ("R",))
    s = make_solver(rm.model, {**case.scenario.solver.options(), "threads": 1})
    whole_totals(s, rm)  # integer what each corporation completes, continuous the split, as in the plan
    stages = {st.name: st for st in rm.stages()}
    head = solve_lexicographic(s, [stages[n] for n in ("continuity", "unfilled", "unfilled_timing", "transfers")],
                               rm.start())
    y = rm.model.variables["transfer"].ids
    s.fix_columns(y, np.round(head.x[y]))  # the relations of the plan, as the stage holds them
    moved = stages["homes_moved"].cost
    s.set_objective(-moved)
    most = s.solve().x  # the plan on these relations that moves the most homes
    u = rm.model.variables["unfilled"].ids
    s.fix_columns(u, most[u])  # whose tasks stay unfilled, as the stage holds them
    s.set_objective(moved, abs_gap=0.5)
    least = float(moved @ s.solve().x)
    assert moved @ most > least + 1  # (the instance leaves room to move fewer)

    pairs = used_pairs(rm, most)
    hoods = rm.partner_neighbourhoods(pairs)
    ends = sorted(set(pairs["origin"]) | set(pairs["executor"]))
    assert len(hoods) == len(ends)
    own = dict(zip(rm.projection.ids, rm.neighbourhoods))
    for cid, hood in zip(ends, hoods):
        partners = set(pairs.loc[pairs["origin"] == cid, "executor"]) | set(pairs.loc[pairs["executor"] == cid, "origin"])
        assert set(hood) == set(np.concatenate([own[k] for k in {cid} | partners]))
    alone = neighbourhood_search(s, moved, most, rm.neighbourhoods, 5.0)
    assert moved @ alone == pytest.approx(moved @ most)
    together = neighbourhood_search(s, moved, most, hoods, 5.0)
    assert moved @ together == pytest.approx(least)


class _Event:
    """A HiGHS MIP interrupt callback event as the patience rule reads it."""

    def __init__(self, value: float, bound: float, now: float):
        self.data_out = SimpleNamespace(mip_primal_bound=value, mip_dual_bound=bound, running_time=now)
        self.data_in = SimpleNamespace(user_interrupt=False)


def _watch(solver, seconds: float, gap: float, checks: int = 0):
    """The solver with the patience rule (``seconds``, ``gap``, ``checks``) on, and
    ``at(value, bound, now)``: whether the rule stops the solve at that callback event."""
    s = solver[0]
    s.patience = (seconds, gap, checks)
    s.set_patience(True)
    watch = s._watch()

    def at(value: float, bound: float, now: float) -> bool:
        event = _Event(value, bound, now)
        watch(event)
        return event.data_in.user_interrupt

    return s, at


def test_patience_stops_only_after_its_seconds_without_a_better_point_or_whole_bound(solver):
    """The patience rule (solver.patience_s, patience_gap): a stage in homes stops once neither
    its point nor its bound in whole homes has improved for patience_s seconds, while within
    patience_gap of that bound; a bound that rises by less than a home is no progress."""
    s, at = _watch(solver, 5.0, 0.01)

    assert not at(1000.0, 995.2, 0.0)
    assert not at(1000.0, 995.9, 4.9)  # (the bound's whole homes: 996 both times)
    assert at(1000.0, 995.9, 5.0) and s._stalled == "clock"
    s._stalled = None
    s, at = _watch(solver, 5.0, 0.01)
    assert not at(1000.0, 995.2, 0.0)
    assert not at(999.0, 995.2, 4.0)  # a better point: the clock starts again
    assert not at(999.0, 996.1, 8.0)  # a bound a whole home higher: again
    assert not at(999.0, 996.1, 12.9)
    assert at(999.0, 996.1, 13.0)
    s, at = _watch(solver, 5.0, 0.001)  # 3 homes open of 999: beyond a gap of 0.1 %, no stop
    assert not at(999.0, 995.5, 0.0) and not at(999.0, 995.5, 60.0)


def test_patience_counts_checks_without_a_better_point_or_whole_bound_not_seconds(solver):
    """The patience rule on its count (solver.patience_checks): a stage in homes stops once
    neither its point nor its whole bound has improved for that many of HiGHS's checks,
    however long they took, and the stop is not a clock's; before that, only its safety net
    (patience_s) stops it, as a clock stop."""
    s, at = _watch(solver, 10.0, 0.01, checks=3)

    assert not at(1000.0, 995.2, 0.0)
    assert not at(1000.0, 995.9, 0.1) and not at(1000.0, 995.9, 0.2)  # two checks without progress
    assert not at(999.0, 995.9, 0.3)  # a better point: the count starts again
    assert not at(999.0, 995.9, 0.4) and not at(999.0, 995.9, 0.5)
    assert at(999.0, 995.9, 0.6) and s._stalled == "checks"  # the third check without progress
    s._stalled = None
    s, at = _watch(solver, 10.0, 0.01, checks=3)
    assert not at(1000.0, 995.2, 0.0) and not at(1000.0, 995.2, 9.9)
    assert at(1000.0, 995.2, 10.0) and s._stalled == "clock"  # slow checks: the safety net
    s._stalled = None
    s, at = _watch(solver, 0.0, 0.001, checks=3)  # beyond the gap: no stop however many checks
    assert not any(at(999.0, 995.5, float(k)) for k in range(10))


def test_a_stall_on_the_count_is_no_clock_stop(solver):
    """A stage that the patience rule's count ended is the same on any machine: not noted as a
    clock stop (dpm.solvers.highs.clock_stops); one that its clock ended is."""
    s = solver[0]
    out = SimpleNamespace(status="stalled")
    for by, noted in (("checks", []), ("clock", ["stage unfilled"])):
        s._solve, s._stalled, s.label = (lambda: out), by, "stage unfilled"
        with clock_stops() as stops:
            s.solve()
        assert stops == noted


def test_patience_is_off_at_zero_and_outside_the_stages_in_homes(solver):
    s = solver[0]
    s.patience = (0.0, 0.01, 0)
    s.set_patience(True)
    assert s._watch() is None
    s.patience = (5.0, 0.01, 30)
    s.set_patience(False)  # (solve_lexicographic sets it per stage: only a stage counted in homes)
    assert s._watch() is None


def _market_split(m: int = 3, n: int = 26, seed: int = 0):
    """A market-split MIP (Cornuejols and Dahl): split ``n`` items into two halves of equal
    weight in ``m`` markets at once, slack minimised. Small, and hard for branch-and-bound:
    HiGHS needs about 12 s for this one (measured)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, (m, n)).astype(float)
    half = np.floor(a.sum(axis=1) / 2)
    return SimpleNamespace(
        n_cols=n + 2 * m, n_rows=m, matrix=lambda: sp.hstack([sp.csc_matrix(a), sp.eye(m), -sp.eye(m)]).tocsc(),
        col_lower=np.zeros(n + 2 * m), col_upper=np.r_[np.ones(n), np.full(2 * m, 1e4)],
        row_lower=half, row_upper=half, integrality=np.r_[np.ones(n, bool), np.zeros(2 * m, bool)],
        cost=np.r_[np.zeros(n), np.ones(2 * m)])


def test_a_solve_stops_at_its_own_time_limit_however_long_the_instance_has_run(monkeypatch):
    """The time limit is the solve's, also on an instance whose clock reads an hour (HiGHS
    reads its whole run time in some phases and this run's in branch-and-bound), and the
    instance is not renewed for its clock; an interrupted solve renews it."""
    import highspy

    model = _market_split()
    s = make_solver(model, {"time_limit_s": 0.5, "mip_rel_gap": 0.0, "threads": 1, "random_seed": 0})
    s.set_objective(model.cost)
    monkeypatch.setattr(highspy.Highs, "getRunTime", lambda self: 3600.0)
    instance = s.h
    out = s.solve()
    assert out.status == "time_limit" and out.seconds < 2.0
    assert s.h is instance, "not renewed before the solve: its clock alone is no reason"
    s.set_time_limit(0.3)
    again = s.solve()
    assert again.status == "time_limit" and again.seconds < 2.0, "the cancelled instance was renewed and runs again"
    assert s.h is not instance


def test_every_solve_a_clock_ends_is_noted_by_what_it_was():
    """``clock_stops`` collects the solves within its block that a time limit ended, by the
    search that asked for them or the stage they solve; a solve that ends on its own (optimal,
    a node limit or a work limit: a count, not the clock) is not noted, nor one outside any
    block. A search's counted solve (``counted_solve``) is noted by the search too."""
    from dpm.solvers.highs import clock_stops
    from dpm.solvers.lexicographic import Stage, counted_solve, solve_lexicographic

    model = _market_split()
    s = make_solver(model, {"time_limit_s": 0.2, "mip_rel_gap": 0.0, "threads": 1, "random_seed": 0})
    s.set_objective(model.cost)

    def a_search():
        return s.solve()

    with clock_stops() as stops:
        assert a_search().status == "time_limit"
        s.set_node_limit(1)
        assert a_search().status != "time_limit"  # (the node limit ends it)
        s.set_node_limit(None)
        with clock_stops() as inner:  # the innermost block collects
            a_search()
        solve_lexicographic(s, [Stage("slack", model.cost)], None)
    assert stops == ["a_search", "stage slack"] and inner == ["a_search"]
    assert a_search().status == "time_limit"  # (outside any block: nothing to note it in)
    assert stops == ["a_search", "stage slack"]
    with clock_stops() as run:  # a part of a run that asks whether a clock decided it, within the run's record
        with clock_stops(passed_on=True) as part:
            a_search()
    assert part == ["a_search"] and run == ["a_search"]

    def a_counted_search(checks):  # (a count far off: the clock, its safety net, ends it; a near one does)
        return counted_solve(s, checks)

    with clock_stops() as counted:
        assert a_counted_search(10**9).status == "time_limit"
        assert a_counted_search(5).status == "work_limit"
    assert counted == ["a_counted_search"] and s.label is None


def test_a_work_limit_stops_a_solve_at_the_same_point_however_fast_the_machine(monkeypatch):
    """``set_work_limit``: the solve stops from HiGHS's n-th check with status ``work_limit``,
    not noted as a clock stop, and at the same point, bound and count of checks on a machine
    made slower (here: 10 ms of sleep at every check); a larger count goes on from further;
    None lifts it."""
    import time

    from dpm.solvers.highs import clock_stops

    model = _market_split()

    def run(checks, slow=False):
        s = make_solver(model, {"time_limit_s": 60.0, "mip_rel_gap": 0.0, "threads": 1, "random_seed": 0})
        s.set_objective(model.cost)
        s.set_work_limit(checks)
        seen = []
        inner = s._watch

        def counting():
            watch = inner()

            def w(event):
                seen.append(event.data_out.mip_node_count)
                if slow:
                    time.sleep(0.01)
                watch(event)
            return w

        monkeypatch.setattr(s, "_watch", counting)
        with clock_stops() as stops:
            out = s.solve()
        return out, len(seen), stops

    first, n, stops = run(30)
    assert first.status == "work_limit" and n >= 30 and stops == []  # (HiGHS checks a few times more on its way out)
    again, n_again, _ = run(30, slow=True)
    assert n_again == n and again.bound == first.bound and again.objective == first.objective
    assert np.array_equal(again.x, first.x) and again.seconds > first.seconds
    further, m, _ = run(300)
    assert further.status == "work_limit" and m >= 300 and further.bound >= first.bound
    s = make_solver(model, {"time_limit_s": 0.3, "mip_rel_gap": 0.0, "threads": 1, "random_seed": 0})
    s.set_objective(model.cost)
    s.set_work_limit(30)
    s.set_work_limit(None)
    assert s.solve().status == "time_limit"  # (no count: the clock ends it, about 12 s before the optimum)


def test_a_stage_with_a_work_limit_reports_it_with_its_gap_and_the_next_stage_has_none():
    """A stage's ``work_limit`` (the tie-breaks: solver.tiebreak_checks) holds for its own solve
    only: it is reported as ``work_limit`` with HiGHS's bound and gap, and the next stage runs
    without it (to its time limit here)."""
    from dpm.solvers.lexicographic import Stage, solve_lexicographic

    model = _market_split()
    s = make_solver(model, {"time_limit_s": 0.3, "mip_rel_gap": 0.0, "threads": 1, "random_seed": 0})
    slack = np.flatnonzero(model.cost)
    second = np.zeros(model.n_cols)
    second[slack[0]] = 1.0
    result = solve_lexicographic(s, [Stage("slack", model.cost, work_limit=20), Stage("one", second)], None)
    first, then = result.stages
    assert first.status == "work_limit" and first.bound is not None and first.mip_gap > 0
    assert then.status in ("time_limit", "optimal") and s.work_limit is None


def test_the_verbose_log_says_which_limit_of_dpm_interrupted_a_solve(capfd):
    """HiGHS's log says "Interrupted by user" for a stop dpm asked for; with --verbose, dpm says
    which: the work limit, the time limit (where its wait cancelled the solve before HiGHS's own
    limit said "Time limit reached"), or the patience rule."""
    from dpm.solvers.highs import HighsSolver

    model = _market_split()
    s = HighsSolver(model, {"time_limit_s": 60.0, "mip_rel_gap": 0.0, "threads": 1, "random_seed": 0}, verbose=True)
    s.set_objective(model.cost)
    s.set_work_limit(20)
    assert s.solve().status == "work_limit"
    assert "=== dpm: the solve above was stopped at its work limit (20 of HiGHS's checks) ===" in capfd.readouterr().out
    s.set_work_limit(None)
    s.set_time_limit(0.3)
    assert s.solve().status == "time_limit"
    out = capfd.readouterr().out  # (HiGHS stops at its own limit, or dpm's wait cancels it first)
    assert "Time limit reached" in out or "=== dpm: the solve above was stopped at its time limit ===" in out
