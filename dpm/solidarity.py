"""The solves behind the efficiency stage's structure (MODEL.md 5, stage 3): which
corporations must give or take (:func:`solidarity_roles`) and the task split of given totals
(:func:`transport_split`). Their formulations, and why they hold, are in
:mod:`dpm.model.solidarity`; here they meet a solver."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from dpm.model.linear import INF
from dpm.model.solidarity import HOMES_MOVED_REL_GAP, Roles, Split, SplitProblem, own_balance, role_probe
from dpm.solvers.backends import make_solver
from dpm.solvers.errors import NoSolution
from dpm.solvers.lexicographic import Stage, solve_lexicographic


def solidarity_roles(agg, fix_rows, limit: float, opts: dict) -> Roles:
    """Which corporations must give and which must take in every plan that leaves at most
    ``limit`` (weighted) homes unfilled: 2 LPs per corporation on the aggregate model
    ``agg`` (homes continuous, so a 'must' is proven), with ``fix_rows(solver)`` adding the
    rows that hold the earlier stages (continuity) at their optimum."""
    start = time.perf_counter()
    solver = make_solver(agg.model, opts, relaxed=True)
    fix_rows(solver)
    solver.set_objective(agg.stages()[1].cost)
    give, take = [], []
    balance = own_balance(agg)
    for cid in agg.projection.ids:
        for sense, found in (("take", take), ("give", give)):
            n = role_probe(balance, cid, sense).add_to(solver)
            out = solver.solve()
            solver.delete_rows(n)
            value = out.objective if out.has_solution and out.status == "optimal" else INF
            if value > limit + 1e-6 * max(1.0, limit):
                found.append(cid)
    return Roles(tuple(give), tuple(take), time.perf_counter() - start)


def transport_split(rm, x: np.ndarray, opts: dict, time_limit_s: float | None = None,
                    pairs: pd.DataFrame | None = None) -> Split:
    """Split the totals of the full-model point ``x`` over the origins (MODEL.md 5, stage 3):
    the homes each corporation completes per type and year, and the unfilled homes per region,
    type and year, are kept; decided are who completes whose task and whose nieuwbouw and
    flex tasks stay unfilled (:class:`SplitProblem`). Lexicographic: fewest relations, then
    fewest homes moved, on ``pairs`` (default: ``rm.pairs``), each relation carrying at least
    ``min_transfer`` homes (if no split can, the homes of the relations below it stay unfilled:
    ``unplaced_homes``). Mutual flows between two corporations are netted, whatever the time
    limit left (:func:`dpm.model.solidarity.net_mutual`)."""
    time_limit_s = float(opts["time_limit_s"] if time_limit_s is None else time_limit_s)
    problem = SplitProblem.of(rm, x, pairs)
    # 1. without relations: a transportation problem (its matrix is totally unimodular), so the
    #    simplex vertex is whole; it always exists, since the totals come from a feasible plan
    lm = problem.model(with_least=False)
    lp = make_solver(lm, opts, relaxed=True)
    lp.fix_columns(lm.variables["relation"].ids, np.ones(len(problem.pairs)))
    lp.set_objective(lm.cost({"flow": 1.0}))
    first = lp.solve()
    if not first.has_solution:  # pragma: no cover - the totals of a feasible plan always split
        raise RuntimeError(f"the transportation problem of the split ended with status {first.status}")
    x0 = problem.start(lm, first.x)
    # 2. fewest relations (each of at least min_transfer homes), then fewest homes moved, from there
    lm = problem.model(with_least=True)
    stages = [Stage("relations", lm.cost({"relation": 1.0}), integral=True),
              Stage("homes_moved", lm.cost({"flow": 1.0}), integral=True, in_homes=True, prove=False,
                    mip_rel_gap=HOMES_MOVED_REL_GAP)]
    try:
        result = solve_lexicographic(make_solver(lm, {**opts, "time_limit_s": time_limit_s}), stages, x0)
        x_best, status = result.x, result.stages[0].status
    except NoSolution:  # no split meets min_transfer in time: the whole transportation split
        x_best, status = x0, "time_limit"
    return problem.split(lm, x_best, status)

