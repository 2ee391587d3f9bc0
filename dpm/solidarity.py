"""The solves behind the efficiency stage's structure (MODEL.md 5, stage 3): which
corporations must give or take (:func:`solidarity_roles`) and the task split of given totals
(:func:`transport_split`). Their formulations, and why they hold, are in
:mod:`dpm.model.solidarity`; here they meet a solver."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dpm.model.linear import INF
from dpm.model.formulation import unfilled_limit
from dpm.model.solidarity import (HOMES_MOVED_REL_GAP, Participation, Roles, Split, SplitProblem, moved_rows,
                                 origins_room, own_balance, role_probe)
from dpm.solvers.backends import make_solver
from dpm.solvers.errors import NoSolution
from dpm.solvers.lexicographic import TRUSTED, Stage, counted_solve, solve_lexicographic


def solidarity_roles(agg, fix_rows, limit: float, opts: dict) -> Roles:
    """Which corporations must give and which must take in every plan that leaves at most
    ``limit`` (weighted) homes unfilled: up to 2 LPs per corporation on the aggregate model
    ``agg`` (homes continuous, so a 'must' is proven; none where one point within the limit
    shows it need not, :func:`_fewest_moves_witness`), with ``fix_rows(solver)`` adding the
    rows that hold the earlier stages (continuity) at their optimum; and per must-take
    corporation the fewest origins it needs (:func:`_fewest_origins`; 1 for one that also
    works in other regions, :meth:`Balance.works_elsewhere`)."""
    start = time.perf_counter()
    solver = make_solver(agg.model, opts, relaxed=True)
    fix_rows(solver)
    solver.set_objective(agg.stages()[1].cost)
    give, take = [], []
    balance = own_balance(agg)
    free = _fewest_moves_witness(agg, fix_rows, balance, limit, opts)
    for cid in agg.projection.ids:
        for sense, found in (("take", take), ("give", give)):
            if cid in free[sense]:
                continue
            if _exceeds(solver, role_probe(balance, cid, sense), limit):
                found.append(cid)
    elsewhere = balance.works_elsewhere()
    take_from = tuple(1 if cid in elsewhere else _fewest_origins(solver, balance, cid, limit) for cid in take)
    return Roles(tuple(give), tuple(take), time.perf_counter() - start, take_from=take_from)


def _fewest_moves_witness(agg, fix_rows, balance, limit: float, opts: dict) -> dict[str, set[str]]:
    """Corporations that take nothing ("take") and that give nothing ("give") at one point within
    ``limit``: the LP of the fewest homes moved (:func:`moved_rows`), where most corporations do
    their own tasks only. None of them must, so their probes are not needed."""
    solver = make_solver(agg.model, opts, relaxed=True)
    fix_rows(solver)
    cost = agg.stages()[1].cost
    unfilled_limit(cost, limit).add_to(solver)
    solver.set_objective(fewest_moved(solver, balance))
    out = solver.solve()
    if not (out.has_solution and out.status == "optimal"):
        return {"take": set(), "give": set()}
    x = out.x[:agg.model.n_cols]
    cid = np.asarray(balance.index.get_level_values("corporation_id"))
    tol = 1e-6 * np.maximum(1.0, balance.A)
    gives = set(cid[balance.value("give", x) < balance.A - tol])
    takes = set(cid[balance.value("take", x) > balance.A + tol])
    everyone = set(cid)
    return {"take": everyone - takes, "give": everyone - gives}


def fewest_moved(solver, balance) -> np.ndarray:
    """The objective of the fewest homes moved on an aggregate model's ``solver``: per
    corporation, tradeable type and year (``balance``, :func:`own_balance`) a column of the homes
    of its task that others complete, tied to it by :func:`moved_rows`; the cost vector of
    their sum (the solver's columns, these included)."""
    n = len(balance.index)
    moved = solver.add_columns(np.zeros(n), np.full(n, INF))
    moved_rows(balance, int(moved[0])).add_to(solver)
    cost = np.zeros(solver.n_cols)
    cost[moved] = 1.0
    return cost


def _exceeds(solver, probe, limit: float) -> bool:
    """Whether the LP with the rows ``probe`` added leaves more than ``limit`` unfilled (or has
    no solution): then no plan keeps them."""
    n = probe.add_to(solver)
    out = solver.solve()
    solver.delete_rows(n)
    value = out.objective if out.has_solution and out.status == "optimal" else INF
    return value > limit + 1e-6 * max(1.0, limit)


def _fewest_origins(solver, balance, cid: str, limit: float) -> int:
    """The fewest origins the must-take corporation ``cid`` takes from in every plan within
    ``limit``: the least k at which the LP, with ``cid`` taking no more per type and year than
    the k largest tasks of others (:func:`dpm.model.solidarity.origins_room`), stays within
    the limit (more room never leaves more unfilled, so a bisection; 1 LP where one origin
    can do). Measured: the synthetic 40-corporation region's S002 takes 25 flex homes of 2026
    from each of 13 corporations, in every plan (13 LPs in all, 0.4 s: the relations bound
    13 -> 19); the rent variant 6 -> 8 (9 LPs, 0.1 s); the other benchmark cases 1 each."""
    others = len(np.unique(balance.index.get_level_values("corporation_id"))) - 1

    def needs_more(k: int) -> bool:
        return _exceeds(solver, role_probe(balance, cid, "take", origins_room(balance, cid, k)), limit)

    low, high = 1, max(others, 1)  # (the fewest that suffice lies in [low, high])
    while low < high:
        mid = low if low == 1 else (low + high) // 2  # (one origin first: the usual answer, one LP)
        if needs_more(mid):
            low = mid + 1
        else:
            high = mid
    return low


@dataclass
class Participants:
    """The fewest givers and takers of any plan within the unfilled limit, as far as found."""

    bound: int  # the least max(#givers, #takers): a lower bound on the relations of every plan
    givers: tuple[str, ...]  # of the best participation found (empty if none was found)
    takers: tuple[str, ...]


def participants(agg, fix_rows, limit: float, x_agg: np.ndarray, roles: Roles, opts: dict,
                 time_limit_s: float, choice_limit: float | None = None, checks: int | None = None) -> Participants:
    """The participation bound (:class:`dpm.model.solidarity.Participation`): the aggregate
    model ``agg`` with homes continuous and ``fix_rows(solver)`` holding the earlier stages,
    at most ``limit`` unfilled, the fewest of max(#givers, #takers), started from ``x_agg``.
    Each solve up to ``checks`` of HiGHS's checks (HighsSolver.set_work_limit; None: no count)
    and ``time_limit_s``; stopped there, the bound is HiGHS's dual bound (never below the
    roles' bound). The givers and takers returned are those of the best point found within
    ``choice_limit`` (a second solve, as long again; default ``limit``): homes are continuous
    here, and the whole homes of a plan need some room below the limit."""
    lm = agg.model
    solver = make_solver(lm, {**opts, "time_limit_s": time_limit_s})
    fix_rows(solver)
    cost = agg.stages()[1].cost
    unfilled_limit(cost, limit).add_to(solver)
    part = Participation.of(agg, lm.n_cols, roles)
    solver.add_columns(*part.bounds())
    part.rows.add_to(solver)
    solver.set_integrality(np.arange(lm.n_cols), False)  # homes continuous: a relaxation, so still a bound
    solver.set_integrality(part.integer, True)
    solver.set_objective(part.cost(solver.n_cols), abs_gap=1.0 / part.n_columns)
    solver.set_start(np.concatenate([x_agg, part.start(x_agg)]))
    out = counted_solve(solver, checks)
    bound = roles.bound
    if out.bound is not None and np.isfinite(out.bound) and out.status in TRUSTED:
        bound = max(bound, part.bound(out.bound))
    if choice_limit is not None and not (out.has_solution and float(cost @ out.x[:lm.n_cols]) <= choice_limit):
        unfilled_limit(cost, choice_limit).add_to(solver)
        again = None
        if out.has_solution:  # the same givers and takers within the choice limit? (an LP: milliseconds)
            chosen = np.round(out.x[part.integer])
            solver.fix_columns(part.integer, chosen)
            again = counted_solve(solver, checks)
            solver.set_bounds(part.integer, np.zeros(len(chosen)), np.ones(len(chosen)))
        out = again if again is not None and again.has_solution else counted_solve(solver, checks)
    givers, takers = part.read(out.x) if out.has_solution else ((), ())
    return Participants(bound, givers, takers)


def transport_split(rm, x: np.ndarray, opts: dict, time_limit_s: float | None = None,
                    pairs: pd.DataFrame | None = None, fewest_moved: bool = True) -> Split:
    """Split the totals of the full-model point ``x`` over the origins (MODEL.md 5, stage 3):
    the homes each corporation completes per type and year, and the unfilled homes per region,
    type and year, are kept; decided are who completes whose task and whose nieuwbouw and
    flex tasks stay unfilled (:class:`SplitProblem`). Lexicographic: fewest relations, then
    fewest homes moved, on ``pairs`` (default: ``rm.pairs``), each relation carrying at least
    ``min_transfer`` homes (if no split can, the homes of the relations below it stay unfilled:
    ``unplaced_homes``). Mutual flows between two corporations are netted, whatever the time
    limit left (:func:`dpm.model.solidarity.net_mutual`). ``fewest_moved=False``: fewest
    relations only (a start for a later stage, which has its own homes-moved stage)."""
    time_limit_s = float(opts["time_limit_s"] if time_limit_s is None else time_limit_s)
    problem = SplitProblem.of(rm, x, pairs)
    # 1. without relations: a transportation problem (its matrix is totally unimodular), so the
    #    simplex vertex is whole; it always exists, since the totals come from a feasible plan
    lm = problem.model(with_least=False)
    if not lm.n_cols:  # no tradeable task in the region (only verduurzaming): nothing to split
        return problem.split(lm, np.zeros(0), "optimal")
    # (no time limit: a transportation LP takes milliseconds, and the split needs its vertex; measured:
    # at time limits of 0 s, the limit the LP inherited left it without one and the run failed)
    lp = make_solver(lm, {**opts, "time_limit_s": np.inf}, relaxed=True)
    lp.fix_columns(lm.variables["relation"].ids, np.ones(len(problem.pairs)))
    lp.set_objective(lm.cost({"flow": 1.0}))
    first = lp.solve()
    if not first.has_solution:  # pragma: no cover - the totals of a feasible plan always split
        raise RuntimeError(f"the transportation problem of the split ended with status {first.status}")
    x0 = problem.start(lm, first.x)
    # 2. fewest relations (each of at least min_transfer homes), then fewest homes moved, from there
    lm = problem.model(with_least=True)
    stages = [Stage("relations", lm.cost({"relation": 1.0}), integral=True)]
    if fewest_moved:
        stages.append(Stage("homes_moved", lm.cost({"flow": 1.0}), integral=True, in_homes=True, prove=False,
                            mip_rel_gap=HOMES_MOVED_REL_GAP))
    try:
        result = solve_lexicographic(make_solver(lm, {**opts, "time_limit_s": time_limit_s}), stages, x0)
        x_best, status = result.x, result.stages[0].status
    except NoSolution:  # no split meets min_transfer in time: the whole transportation split
        x_best, status = x0, "time_limit"
    return problem.split(lm, x_best, status)

