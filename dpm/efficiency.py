"""Stages 3+ of a region (MODEL.md 5): the most efficient solidarity, fast and provable.

After stages 1-2 on the aggregate model (continuity gap, then unfilled opgave ``U*``), the
plan is found in these steps (see :mod:`dpm.model.solidarity` for why each is valid):

1. the unfilled limit: ``U* + slack``, slack = ``allocation.unfilled_tolerance`` x U* (or
   ``unfilled_tolerance_homes``, whichever is larger; at least half a home). A steering group
   sees the price of the last homes in the trade-off curve (:func:`tradeoff_curve`);
2. the roles: who must give, who must take (LPs), and so a lower bound on the relations;
3. totals that keep the roles (aggregate model, first solution within the limit, within
   :data:`ROLE_TOTALS_CHECKS` of HiGHS's checks), searched only where a later step uses the
   model on the pairs the roles allow (:class:`FullModels`); if none is found, every pair stays
   allowed;
4. ``transfers``: fewest relations. First, where the roles force relations, the reweighted
   LP on every pair (:func:`sparse_plan`): a whole-homes plan on no more relations than the
   roles' bound is proven by it. Else the relations stage with only the relations
   integer, on every pair (:func:`relations_bound`): its optimum is a lower bound for every
   whole-homes plan, and its relations are tried in whole homes; a plan that meets the
   bound is proven. On regions with more pairs than that stage can take, the participation
   bound (:func:`dpm.solidarity.participants`: the fewest corporations that give or take at
   all) and a plan on the pairs from those givers to those takers (:func:`_narrow_plan`: the
   relations stage above, else a reweighted LP's relations in whole homes, :func:`sparse_plan`).
   Otherwise the reweighted LP's relations on the pairs that can matter, else the dive there
   (:func:`dive`) add a plan, and the fewest of them is reported against the bound, with its gap;
5. ``unfilled_on_relations``: the least unfilled opgave on the chosen relations (never more
   than the limit, usually ``U*`` itself), then ``homes_moved``: fewest homes moved;
6. the reported plan is the transportation split of the final totals: netted by
   construction, with at most as many relations.

For ``balanced`` and ``cost`` step 4-5 are that stage's objective instead, after the timing
tie-break, on the aggregate model where the split of its totals places every home
(:func:`aggregate_solver`).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from dpm.model.allocation import RegionModel, build_region_model
from dpm.model.formulation import unfilled_limit
from dpm.model.solidarity import HOMES_MOVED_REL_GAP, Roles, own_balance, role_rows
from dpm.solidarity import fewest_moved, participants, solidarity_roles, transport_split
from dpm.solvers.errors import NoSolution
from dpm.solvers.backends import make_solver
from dpm.solvers.highs import HighsSolver, clock_stops, pass_on_clock_stops
from dpm.solvers.lexicographic import (TRUSTED, Stage, StageReport, counted_solve, fix_optimum, honest_status,
                                       rounded_start, solve_lexicographic)

CURVE_TIME_SHARE = 0.125  # each extra point of the trade-off curve: this share of the efficiency time limit per stage
TRADEOFF_SHARES = (0.0, 0.0025, 0.005, 0.01, 0.02)  # the trade-off curve's unfilled tolerances (share of U*)


def unfilled_slack(scenario, optimum: float) -> float:
    """Weighted homes above the unfilled optimum that the efficiency stage may use."""
    alloc = scenario.allocation
    return max(0.5, alloc.unfilled_tolerance * optimum, float(alloc.unfilled_tolerance_homes))


@dataclass
class Plan:
    rm: RegionModel
    x: np.ndarray
    stages: list[StageReport]
    roles: Roles
    restricted: bool
    limit: float  # the unfilled limit used (weighted homes)
    warnings: list[str] = field(default_factory=list)


def _continuity_fix(stage: Stage, x: np.ndarray, tol: float):
    return lambda solver: fix_optimum(solver, stage, stage.cost, x, tol)


def _limit_row(solver: HighsSolver, cost: np.ndarray, limit: float) -> None:
    """``unfilled_limit``: the (weighted) unfilled opgave at most ``limit`` (MODEL.md 5, stage 2
    held with the scenario's tolerance)."""
    unfilled_limit(cost, limit).add_to(solver)


def role_totals(agg: RegionModel, x_agg: np.ndarray, roles: Roles, limit: float, opts: dict,
                verbose: bool = False) -> np.ndarray | None:
    """Totals that keep the roles (:func:`role_rows`) and leave at most ``limit`` unfilled, or
    None if none is found within :data:`ROLE_TOTALS_CHECKS` of HiGHS's checks (a count, the same
    answer on any machine; :data:`ROLE_TOTALS_SHARE` of the time limit of ``opts`` is its safety
    net. When HiGHS finds none quickly it rarely finds one: synthetic 20 at 1.5 % rent spent the whole
    10 s and found none, the linked region none in 2 s, synthetic 20 at ICR 1.6 with the
    participants' roles none in 10 s): the first point of the aggregate model HiGHS finds while it
    minimises the unfilled opgave (measured: with the participants' roles on the synthetic
    40-corporation region HiGHS finds no point in 10 s without an objective, and one in 0.6 s
    with it; with the roles of a region's plan, synthetic 20 and 12 of other seeds none in 2 s
    without, one in 1.0-1.6 s with it)."""
    stages = agg.stages()
    solver = make_solver(agg.model, {**opts, "time_limit_s": ROLE_TOTALS_SHARE * float(opts["time_limit_s"])},
                         verbose=verbose)
    fix_optimum(solver, stages[0], stages[0].cost, x_agg, opts["stage_tolerance"])
    _limit_row(solver, stages[1].cost, limit)
    role_rows(agg, roles).add_to(solver)
    # every point is within the limit, so within this gap of the bound: the first stops it
    solver.set_objective(stages[1].cost, abs_gap=max(1.0, limit))
    out = counted_solve(solver, ROLE_TOTALS_CHECKS)
    return agg.model.solution(out.x).x if out.has_solution else None


def _start(rm: RegionModel, agg: RegionModel, x_totals: np.ndarray, opts: dict,
           time_limit_s: float | None = None, fewest_moved: bool = True, placed: bool = False) -> np.ndarray | None:
    """A full point of ``rm``: the totals of ``x_totals`` split by the transportation problem
    (each of its stages up to ``time_limit_s``, default the stage's; ``fewest_moved=False``:
    fewest relations only); None when they do not split over ``rm``'s pairs (HiGHS then looks
    for its own start), and with ``placed`` also where the split leaves a home unplaced (below
    ``min_transfer``): then it does not keep the values of stages solved on the aggregate model."""
    try:
        split = transport_split(rm, rm.lift(agg, x_totals), opts, time_limit_s, fewest_moved=fewest_moved)
    except RuntimeError:
        return None
    return None if placed and split.unplaced_homes else split.point(rm)


def _on_pairs(rm: RegionModel, make_solver, pairs_used) -> HighsSolver:
    """A whole-homes solver of ``rm`` with only the relations ``pairs_used`` allowed, minimising
    the unfilled opgave (in homes: an absolute gap below 1 proves it)."""
    y = rm.model.variables["transfer"].ids
    solver = make_solver(rm)
    unused = np.setdiff1d(np.arange(len(y)), pairs_used)
    solver.fix_columns(y[unused], np.zeros(len(unused)))
    solver.set_objective(rm.stages()[1].cost, abs_gap=0.999)
    return solver


def _on_only(rm: RegionModel, make_solver, opts: dict, pairs_used,
             floor: float = 0.0) -> tuple[np.ndarray | None, float]:
    """The least unfilled opgave, then the fewest relations, with only the relations
    ``pairs_used`` allowed (None: no plan within the limit), and the proven lower bound on
    the (weighted) unfilled opgave in whole homes on those relations (inf: none within the
    limit; -inf: the search proved nothing). ``floor``: a proven lower bound on the relations
    of every plan; a plan on no more relations than that skips the search for fewer (measured:
    0.6 s on the rent variant, whose plan on the bound's 10 relations that search proved again).

    First the neighbourhood search of the LP optimum on these relations (the first window of
    stage 2's rounding search, :func:`dpm.solvers.lexicographic.rounded_start`, up to
    :data:`ON_ONLY_ROUNDING_NODES` nodes, on a solver of its own), then HiGHS from its point (up
    to :data:`DIVE_NODES` nodes and :data:`ON_ONLY_CHECKS` of its checks): a point within the
    stage's gaps of the LP bound lets HiGHS stop at its root, where on its own it can spend
    seconds in root cuts without a point. Node limits and counts, so the same plan on any
    machine; the time limit is their safety net. Measured
    (HiGHS first, the search only where it found nothing): nieuwbouw x2 spent the 2.5 s safety
    net in root cuts without a point, and the search after it gave 7,906 or 7,907 homes by where
    its own 0.5 s net fell; the search first reaches 7,906 at its root in 0.6 s on every run,
    and the transfers stage takes 1.3-1.7 s instead of 4.0 s (synthetic 10: 1.4 s instead of
    2.8 s, 10,019 homes instead of 10,020; rent: 4,430 homes proven instead of 4,432 within the
    gap, 0.6 s more). (Its own solver: a search that found nothing leaves HiGHS's next solve on
    the same instance on another path; measured on synthetic 20, no point in 2,000 nodes where
    a fresh instance finds one in 0.6 s.)"""
    lm = rm.model
    safety_s = ON_ONLY_SHARE * float(opts["time_limit_s"])  # (the node limits and counts end the searches first)
    searcher = _on_pairs(rm, make_solver, pairs_used)
    start = rounded_start(searcher, searcher.cost, None, safety_s, wide=False, nodes=ON_ONLY_ROUNDING_NODES)
    solver = _on_pairs(rm, make_solver, pairs_used)
    solver.set_node_limit(DIVE_NODES)
    solver.set_time_limit(safety_s)
    if start is not None:
        solver.set_start(start)
    found = counted_solve(solver, ON_ONLY_CHECKS)
    bounded = found.bound is not None and np.isfinite(found.bound) and found.status in TRUSTED
    least = np.inf if found.status == "infeasible" else float(found.bound) if bounded else -np.inf
    x = found.x if found.has_solution else start
    if x is None:
        return None, least
    if relations(rm, x) <= floor:  # (no plan has fewer)
        return lm.solution(x).x, least
    solver.set_objective(rm.stage("transfers").cost, abs_gap=0.999)
    solver.set_start(x)
    solver.set_node_limit(FEWEST_NODES)
    fewest = counted_solve(solver, ON_ONLY_CHECKS)
    return lm.solution(fewest.x if fewest.has_solution else x).x, least


def dive(rm: RegionModel, make_solver, roles: Roles, opts: dict, rounds: int = 4,
         max_lps: int = 40) -> np.ndarray | None:
    """A plan on few relations. First try: each corporation with a role gets the one partner
    the LP relaxation of the relations stage relates it to most (relation value, then flow);
    if the whole-homes model on just those relations meets the roles' bound, done. Else a
    dive in that LP: fix the relation with the largest LP value to 1, solve again, until the
    LP uses no relation beyond the fixed ones (each LP takes milliseconds). Then the model with
    only those relations is solved in whole homes for the least unfilled opgave within the
    limit, and for the fewest of them; if it has no solution, the relation with the next
    largest LP value is allowed too, up to ``rounds`` times (each try at most
    :data:`DIVE_NODES` nodes, so that the plan does not depend on the machine's speed, and a
    quarter of the stage's time limit as a safety net). With the roles' bound met, the plan is
    proven to need the fewest relations. None: no plan found."""
    lm = rm.model
    y = lm.variables["transfer"].ids
    if not len(y):
        return None
    lp = make_solver(rm, relaxed=True)
    lp.set_objective(rm.stage("transfers").cost)
    lp.set_time_limit(0.1 * float(opts["time_limit_s"]))  # large regions: the LP itself can be slow

    # first try: one partner for each corporation with a role, the one the LP relates it to most
    out = lp.solve()
    if not out.has_solution:
        return None
    flow = rm.pair_homes(out.x[lm.variables["execute"].ids])
    score = np.round(out.x[y], 6) * (1.0 + flow.max()) + flow
    partners: set[int] = set()
    for column, members in (("origin", roles.must_give), ("executor", roles.must_take)):
        for m in members:
            mine = np.flatnonzero((rm.pairs[column] == m).to_numpy())
            if len(mine) and not partners & set(mine.tolist()):
                partners.add(int(mine[np.argmax(score[mine])]))
    if partners and len(partners) <= roles.bound + 1:
        first, _ = _on_only(rm, make_solver, opts, sorted(partners))
        if first is not None and np.round(first[y]).sum() <= roles.bound:
            return first
    chosen: list[int] = []
    for _ in range(max_lps):
        out = lp.solve()  # the first is the LP above, solved again from its basis: milliseconds
        if not out.has_solution:
            return None
        value = out.x[y]
        open_ = [int(p) for p in np.argsort(-value, kind="stable") if value[p] > 1e-6 and p not in chosen]
        if not open_:
            break
        # fix the largest; with many open relations, every one the LP already half pays for
        pick = [p for p in open_ if value[p] >= 0.5] if len(open_) > 8 else []
        pick = pick or open_[:1]
        chosen += pick
        lp.fix_columns(y[pick], np.ones(len(pick)))
    else:  # out of LP solves: the relations the last LP still uses join the chosen ones
        chosen += [int(p) for p in np.flatnonzero(value > 1e-6) if p not in chosen]
    order = [int(p) for p in np.argsort(-value, kind="stable") if p not in chosen]
    for _ in range(rounds):
        found, _ = _on_only(rm, make_solver, opts, chosen)
        if found is not None:
            return found
        if not order:
            return None
        chosen.append(order.pop(0))
    return None


def sparse_relations(rm: RegionModel, make_solver, choice_limit: float) -> np.ndarray | None:
    """The relations (pair positions) of a reweighted LP, None where it has no solution (or
    ``rm`` no pair). The LP relaxation of the full model (at most ``choice_limit`` unfilled,
    room below the stage's limit for whole homes) minimises the homes moved per relation, each
    weighted 1 / (its flow in the previous LP + :data:`SPARSE_DELTA` homes) (iteratively
    reweighted l1, as in sparse recovery: a relation that carries little becomes dear, one that
    carries much cheap), until the relations used repeat (at most :data:`SPARSE_LPS` LPs,
    warm-started: milliseconds after the first); where relations break ``min_transfer`` or
    ``max_partners`` (the LP relaxes both), they are closed and the LP solved again
    (:func:`_within_rules`)."""
    lm = rm.model
    y = lm.variables["transfer"].ids
    if not len(y):
        return None
    execute = lm.variables["execute"].ids
    pair = rm.moves["pair"].to_numpy()
    moved = pair >= 0
    least = rm.least_transfer()
    lp = make_solver(rm, relaxed=True)
    _limit_row(lp, rm.stages()[1].cost, choice_limit)
    # a safety net, of the scenario's efficiency limit even on a point of the trade-off curve (which
    # has less): the plan then does not depend on the stage's limit (measured: 0.7 s for all 4 LPs)
    lp.set_time_limit(SPARSE_ROUNDING_SHARE * rm.case.scenario.solver.efficiency_time_limit_s)
    weight, used = np.ones(len(y)), None
    for _ in range(SPARSE_LPS):
        cost = np.zeros(lm.n_cols)
        cost[execute[moved]] = weight[pair[moved]]
        lp.set_objective(cost)
        out = lp.solve()
        if not out.has_solution:
            return None
        flow = rm.pair_homes(out.x[execute])
        support = np.flatnonzero(flow > 1e-6)
        allowed = _within_rules(rm, support, flow, least)
        if len(allowed) < len(support):  # the LP relaxes the rules: the rest are closed, and the LP solved again
            dropped = np.setdiff1d(support, allowed)
            lp.fix_columns(y[dropped], np.zeros(len(dropped)))
        elif used is not None and np.array_equal(support, used):
            break
        used, weight = allowed, 1.0 / (flow + SPARSE_DELTA)
    return used


def sparse_plan(rm: RegionModel, make_solver, opts: dict, choice_limit: float,
                used: np.ndarray | None = None) -> np.ndarray | None:
    """A whole-homes plan on few relations where :func:`relations_bound` does not fit (too many
    pairs) or finds none: whole homes on the relations of a reweighted LP
    (:func:`sparse_relations`, or ``used`` where the caller has them already), by the
    neighbourhood search of the LP optimum on those relations only
    (:func:`dpm.solvers.lexicographic.rounded_start`), else by :func:`_on_only`. Measured on the
    synthetic 40-corporation region, on the participants' 250 pairs: 38 relations in 1.4 s,
    where the split of role totals gave 65 in 4.5 s (a longer relations MIP proves at least 26
    on those pairs, 22 on every pair, in 120 s each). None: no plan found."""
    used = sparse_relations(rm, make_solver, choice_limit) if used is None else used
    if used is None:
        return None
    lm = rm.model
    unfilled = rm.stages()[1].cost
    safety_s = SPARSE_ROUNDING_SHARE * rm.case.scenario.solver.efficiency_time_limit_s
    solver = _on_pairs(rm, make_solver, used)
    # (its node limit, not the stage's 5 % safety net, ends it: measured on synthetic 40, 0.5 s
    # stopped it at 31,906 homes, its 500 nodes reach 31,881 in 1.5 s, within the next stage's gap;
    # no wider window once its point is within the choice limit: the stage on these relations goes on
    # from there, measured on nieuwbouw x1.5: 1,973 homes after the first window, the wide one spent
    # its 10 s safety net for 1,972, where that stage reaches 1,972 in 3.5 s)
    x = rounded_start(solver, unfilled, None, safety_s, enough=choice_limit)
    if x is not None:
        return lm.solution(x).x
    return _on_only(rm, make_solver, opts, used)[0]


def _within_rules(rm: RegionModel, used: np.ndarray, flow: np.ndarray, least: np.ndarray) -> np.ndarray:
    """The relations ``used`` that ``allocation.min_transfer`` and ``max_partners`` allow, as the
    LP's ``flow`` reads them (the LP relaxes both: a relation may be used a fraction): those
    that carry at least the homes a relation must carry (``least``), and per origin the largest."""
    used = used[flow[used] >= least[used] - 1e-6]
    most = rm.case.scenario.allocation.max_partners
    if most <= 0 or not len(used):
        return used
    kept = pd.DataFrame({"pair": used, "origin": rm.pairs["origin"].to_numpy()[used], "flow": -flow[used]})
    kept = kept.sort_values(["origin", "flow", "pair"], kind="stable").groupby("origin").head(most)
    return np.sort(kept["pair"].to_numpy())


def relations_bound(rm: RegionModel, make_solver, x: np.ndarray | None, roles: Roles, opts: dict, limit: float,
                    share: float = 0.5, repair: int = 0, least_room: float = 0.0,
                    nodes: int | None = None, checks: int | None = None) -> tuple[float, np.ndarray | None]:
    """A lower bound on the relations of every plan within the unfilled limit (``limit``, as
    ``make_solver`` holds it), and a whole-homes plan on the relations that reach it (None if
    none was found); ``rm`` must allow every pair, ``x`` is an optional start.

    The relations stage with *only the relations integer*: continuous homes relax the
    problem, so its optimum bounds the relations of every whole-homes plan, and with at most
    C(C-1) binaries HiGHS solves it in about a second where the full stage stalls at its LP
    bound (measured in benchmarks/results.md). Its relations are then tried in whole homes
    (:func:`_on_only`). Up to ``nodes`` branch-and-bound nodes and ``checks`` of HiGHS's checks
    (None: no such limit) and ``share`` of the efficiency time limit; stopped there, the bound is
    HiGHS's dual bound; never below the roles' bound. (Trying other sets of
    relations when these fail in whole homes, each excluded by a no-good row, was measured
    slower than the dive on the nieuwbouw x2, ICR 1.8 variant; as a proof of the plan it found
    there, 5 relations against a bound of 4, it was measured too: with the bound's 4 excluded,
    the MIP finds another 4 in 3.3 s, on which whole homes are not proven unfit in 2.5 s.)

    When whole homes on those relations leave more than the limit, the relations are chosen
    again (up to ``repair`` times, each as long) with room below the limit for what whole
    homes cost on them: the least unfilled opgave whole homes can reach on them less what
    continuous homes reach, at least a home, at least ``least_room`` and at least twice the room
    before (measured: on
    a synthetic national region of 10 corporations the 7 relations of the bound reach 1,484.2
    homes continuous and 1,487 whole against a limit of 1,485.4; the rest of the stage then
    fell back to a plan of 50 relations, the repair finds 13). It starts only when whole homes
    on the bound's own relations are proven not to fit (measured: where that search merely
    stopped at its node limit, as on nieuwbouw x1.5, the repair added 16 s for the same plan);
    later rounds go on after a search that stopped too, with twice the room."""
    lm = rm.model
    y = lm.variables["transfer"].ids
    solver = make_solver(rm)
    solver.set_integrality(np.setdiff1d(np.arange(lm.n_cols), y), False)
    solver.set_objective(rm.stage("transfers").cost, abs_gap=0.999)
    if x is not None:
        solver.set_start(x)
    solver.set_time_limit(share * float(opts["time_limit_s"]))
    solver.set_node_limit(nodes)
    if solver.verbose:  # label the HiGHS log that follows
        print("\n=== dpm: stage 'transfers': the relations' bound (homes continuous) ===", flush=True)
    out = counted_solve(solver, checks)
    bound = float(roles.bound)
    if out.bound is not None and np.isfinite(out.bound) and out.status in TRUSTED:
        bound = max(bound, float(np.ceil(out.bound - 1e-6)))
    unfilled = rm.stages()[1].cost
    room = 0.0
    for repaired in range(1 + repair):
        if not out.has_solution:
            return bound, None
        plan, least = _on_only(rm, make_solver, opts, np.flatnonzero(np.round(out.x[y]) > 0.5), floor=bound)
        if plan is not None or least == -np.inf or (room == 0.0 and least != np.inf):
            return bound, plan  # (a plan; no bound to make room for; the first set not proven unfit)
        if repaired == repair:  # (no relations chosen again that would not be tried)
            break
        continuous = out.x[:lm.n_cols] @ unfilled  # (at most the limit less the room so far)
        whole = least if np.isfinite(least) else limit + 1.0
        room = max(1.0, 2.0 * room, room + whole - continuous, least_room)
        _limit_row(solver, unfilled, limit - room)
        out = counted_solve(solver, checks)
    return bound, None


DIVE_NODES = 2000  # branch-and-bound nodes per try of the dive
# the rounding search before it in _on_only: at most this many nodes. Measured: nieuwbouw x2, synthetic 10
# and the linked region reach their target at the root, rent its window's optimum at node 1; nieuwbouw
# x1.5 reaches no point in 500 nodes (1.7 s). Trade-off curves at 20 nodes against 100: x1.5 37.9 s against
# 56.8 s, rent 19.7 against 21.3, x2 13.9 against 12.7, the linked region 36.9 against 36.3, the same plans
ON_ONLY_ROUNDING_NODES = 20
# ... and of its search for fewer of the relations tried (measured: on the benchmark cases and
# synthetic regions of other seeds it stopped at its 2.5 s safety net after 600-800 nodes; it drops
# relations on a few regions, e.g. synthetic 15 17 -> 15, the linked region 18 -> 16)
FEWEST_NODES = 200
# the two MIPs of _on_only (the unfilled opgave on the relations tried, then their fewest): at most this many of
# HiGHS's checks each (a count: the same plan on any machine), with ON_ONLY_SHARE of the efficiency limit as
# their safety net. Measured on the 44 variants of benchmarks/variants.md: where the first found a plan it did
# so within 12 checks; where it did not it ended on its clock (then 2.5 s) after 11-38 checks, in 11 variants
# (default at a market rate of 5 %, synthetic 10 of seed 2, the linked regions among them), so their plans
# depended on the machine. The second proved its plan within 144 checks in 0.3 s, or ended on that clock
# after 7-19 (synthetic 15 dropped 2 relations in 14).
# (measured and left: on the linked region at ICR 1.8 the second MIP took 23 of its checks in 5.2 s in a slow hour,
# a clock stop; the whole limit as its net removes that stop, but the trade-off curve's points, whose limits are
# shorter and whose searches end on their nets, then took longer: nieuwbouw x1.5 37.5 -> 44.8 s, x2 at ICR 1.8
# 21.7 -> 26.4 s)
ON_ONLY_CHECKS = 25
ON_ONLY_SHARE = 0.5
# relations_bound on every pair: times the relations are chosen again with room for whole homes
# (measured on the regions of scenarios/nederland: 50 -> 13 relations, 18 -> 9, 15 -> 11)
REPAIR_ROUNDS = 2
# ... the first time with at least this share of the room the choice limit leaves below the limit
# (half of it: a quarter of the unfilled slack). Measured on a synthetic 10-corporation region of
# another seed: the bound's 6 relations do not fit in whole homes, and with the room of that misfit
# alone (1 home) the repair chose 6 again twice and the stage ended at 10 relations; with a quarter
# of the slack (11 homes) it chooses 7, which fit (with half of it 8; nieuwbouw x2 at ICR 1.8:
# the same 5 relations in 2.9 s instead of 5.2 s)
REPAIR_ROOM_SHARE = 0.5
# ... and on the participants' pairs (_narrow_plan), whose plan has its own fallback: once.
# Measured: a synthetic 12-corporation region of another seed 9 -> 7 relations (bound 6); the
# linked region 4.6 s more for the same 15; the other benchmark and family cases unchanged
# (before the room above: 12 -> 4 relations once, 5-11 s more for the same plan on others)
NARROW_REPAIR_ROUNDS = 1
# relations_bound on every pair, for the run's own plan: at most this many branch-and-bound nodes (a
# count: the same bound and plan on any machine), with RELATIONS_BOUND_SHARE of the efficiency limit as
# its safety net. Measured: the rent variant proves its 10 relations after 28 nodes in 4.6-5.1 s, so
# at the former 5 s limit it was proven in some runs and stopped at a bound of 8 or 9 in others;
# nieuwbouw x1.5 24 nodes (4.8 s), x2 at ICR 1.8's second choice 9 (4.8 s), the other variants 1;
# synthetic 10 of seed 1 does not prove its bound in 91 nodes (10 s), so no more than 50 (about 5 s
# there, as at the former limit). (The trade-off curve's points keep half their shorter limit.)
RELATIONS_BOUND_NODES = 50
RELATIONS_BOUND_SHARE = 1.0
# relations_bound only up to this many pairs: measured, it proves the variants of the default
# region (56 pairs) in 0.4-4.8 s, but stops at its limit with 120 pairs (two linked regions)
# and more (synthetic 20 and 40 corporations); there the dive and the roles' bound remain
RELATIONS_BOUND_PAIRS = 100
# above that, where the plan is not proven, the relations LP's bound (lp_bound) up to this many pairs
# (20 corporations): the dual simplex for up to LP_BOUND_SIMPLEX_ITERATIONS, else the interior point
# method within LP_BOUND_IPM_ITERATIONS of its iterations and its crossover's simplex within
# LP_BOUND_ITERATIONS (counts, not seconds, so the same bound on any machine), with this share of the
# efficiency limit as a safety net. Measured (LP bound against the roles' and participation bound,
# seconds): Regio 25 of scenarios/nederland 14 against 9 (interior point 0.4 s; the simplex 1.1 s,
# 7,937 iterations), Regio 15 11 against 7 (0.35 s; 3.5 s, 23,152), synthetic 20 of seed 1 9 against
# 8 (1.0 s; 2.4 s), synthetic 15 7 against 6 (0.3 s); no better on the benchmarks' synthetic 20
# (simplex 0.15 s, 2,129 iterations; interior point 0.6 s) or the linked region (0.3 s).
# Synthetic 40 (1,560 pairs): 21 against 13, but in 6.2 s, not spent (its solve would pass 15 s).
LP_BOUND_PAIRS = 400
LP_BOUND_SIMPLEX_ITERATIONS = 5_000
LP_BOUND_IPM_ITERATIONS = 500
LP_BOUND_ITERATIONS = 50_000
LP_BOUND_SHARE = 0.5
SPARSE_LPS = 10  # sparse_plan: at most this many reweighted LPs (measured: the relations repeat after 4)
SPARSE_ROUNDING_SHARE = 0.5  # sparse_plan: each LP's and the rounding's safety net, this share of the efficiency limit
SPARSE_DELTA = 10.0  # sparse_plan: homes added to a relation's flow in its weight (1, 3, 10 and 30 gave the same plan)
# The searches below end on a count of HiGHS's checks (HighsSolver.set_work_limit: about one per root cut round
# or node, at the same points on any machine), each with a share of the efficiency limit as its safety net.
# Measured on the 44 variants of benchmarks/variants.md: these searches almost never end by themselves (the
# participation search proves its bound on no variant; relations_bound on the participants' pairs ended at its
# 2 s clock on all 8 that ran it; role_totals either finds its totals within 20 checks or found none by its
# 2 s clock), so with clocks alone their plans depended on the machine: 22 of the 44 variants had a solve
# ended by a clock (10 now, benchmarks/variants.md). Each count is near what the search reached at its former
# clock (participants 16-19 checks in its 1 s on most regions, 8-12 on the linked and the largest ones, where
# 15 checks took 3 s and changed the linked region's plan; relations_bound on the participants' pairs 15-36 in
# its 2 s; role_totals 9-31 in its 2 s).
PARTICIPATION_CHECKS = 12  # the participation bound: each of its solves up to this many checks
# ... and this share of the efficiency time limit, its safety net: twice what the count takes on the largest
# family region (measured: synthetic 50's 12 checks took 2.7 s of a 3 s net; with the machine 1.5 times busier
# its net ended the solve at twice the participants, whose pairs then gave 241 relations instead of 47)
PARTICIPATION_SHARE = 0.6
# ... once more with more checks where its participants narrow no pair: its solves stopped before they
# improved on their start, which counts every corporation in (measured, when shares of the limit were its
# only limits, on a machine 1.6 times slower:
# synthetic 50 at 0.1 got every corporation, no plan on its pairs, and the relations MIP on all 2,450
# pairs gave 237 relations in 72 s; at 0.3 15 givers, 47 relations in 38 s; at 0.2 still everyone)
PARTICIPATION_RETRY_CHECKS = 20
PARTICIPATION_RETRY_SHARE = 1.0
NARROW_SHARE = 0.2  # a start's split: this share of the efficiency time limit
NARROW_CHECKS = 20  # relations_bound on the participants' pairs: up to this many checks ...
# ... and this share of the efficiency time limit, its safety net (measured: synthetic 20's 20 checks took
# 3.8-4.0 s in a slow hour of this machine, within 0.01 s of the former 0.4)
NARROW_NET_SHARE = 0.8
ROLE_TOTALS_CHECKS = 20  # the totals that keep the roles: up to this many checks ...
# ... and this share of the efficiency time limit, its safety net (measured: nieuwbouw x1.5's 20 checks took
# 2.1 s of the former 3 s with the other core busy; as the participation search's, about twice the count)
ROLE_TOTALS_SHARE = 0.6
CHOICE_SHARE = 0.5  # the participants are chosen within this share of the unfilled slack (room for whole homes)


def lp_bound(rm: RegionModel, make_solver, opts: dict) -> float:
    """A lower bound on the relations of every plan within the unfilled limit (as
    ``make_solver`` holds it): the LP relaxation of the transfers stage on every pair (``rm``
    must allow every pair), rounded up. Moving h of the A homes of one of o's tasks (a type
    and year) to c needs y[o,c] >= h / A (``transfer_link``), so the LP counts each relation
    by the largest share of one task it carries, and the roles' cover rows (``role_cover``)
    count a whole relation for each corporation that must give or take (measured: a
    13-corporation national region, 19 relations found, LP 13.8, where the roles and the
    participation bound give 9, and 7 without the cover rows; a 156-pair MIP proves 16 in 40 s).
    The dual simplex first (quick where the LP is easy), the interior point method where it
    takes more than :data:`LP_BOUND_SIMPLEX_ITERATIONS`; 0 where that does not finish within
    its iteration limits either."""
    lp = make_solver(rm, relaxed=True)
    lp.set_objective(rm.stage("transfers").cost)
    lp.set_time_limit(LP_BOUND_SHARE * float(opts["time_limit_s"]))
    for method, limits in (("simplex", {"simplex_iteration_limit": LP_BOUND_SIMPLEX_ITERATIONS}),
                           ("ipm", {"ipm_iteration_limit": LP_BOUND_IPM_ITERATIONS,
                                    "simplex_iteration_limit": LP_BOUND_ITERATIONS})):
        for key, value in {"solver": method, **limits}.items():
            lp.set_option(key, value)
        out = lp.solve()
        if out.status == "optimal" and out.has_solution:
            return float(np.ceil(out.objective - 1e-6))
    return 0.0


def whole_totals(solver: HighsSolver, rm: RegionModel) -> None:
    """Integer the homes each corporation completes per type and year (its totals) and the
    unfilled homes, continuous the split over origins: with the relations fixed, the split is a
    transportation problem with whole supplies and demands, so whole flows exist, and
    :func:`transport_split` finds them for the reported plan."""
    lm = rm.model
    z = lm.variables["decision"]
    build = z.index.get_level_values("slot") < rm.projection.layout.start("demolish")
    solver.set_integrality(lm.variables["execute"].ids, False)
    solver.set_integrality(z.ids[build], True)


def efficiency_solver(model: RegionModel, agg: RegionModel, x_agg: np.ndarray, limit: float, opts: dict,
                      verbose: bool = False, relaxed: bool = False) -> HighsSolver:
    """A solver of ``model`` for the efficiency stages: the continuity stage held at the
    aggregate optimum ``x_agg``, at most ``limit`` (weighted) homes unfilled, whole totals
    (:func:`whole_totals`; ``relaxed``: every column continuous, the LP)."""
    s = make_solver(model.model, opts, verbose=verbose, relaxed=relaxed)
    if not relaxed:
        whole_totals(s, model)
    st = model.stages()
    fix_optimum(s, st[0], st[0].cost, model.lift(agg, x_agg), opts["stage_tolerance"])
    _limit_row(s, st[1].cost, limit)
    return s


def aggregate_solver(agg: RegionModel, x_agg: np.ndarray, limit: float, roles: Roles | None, opts: dict,
                     verbose: bool = False) -> HighsSolver:
    """A solver of the aggregate model for ``unfilled_timing`` (MODEL.md 5, stage 2's
    tie-break) and the ``balanced`` or ``cost`` stage: which homes stay unfilled and when,
    each corporation's headroom and its debt depend on the homes it completes per type and
    year, not on who takes whose task. With the continuity stage held at ``x_agg``, at most
    ``limit`` unfilled and, where ``roles`` is given, the totals keeping them
    (:func:`role_rows`, as the model on the pairs they allow does), the aggregate model is a
    relaxation of the full one: its bounds hold there, and the split of its totals has its
    values where every home is placed (:func:`_start` with ``placed``). Measured (docs/model.md, Which year
    falls short): on the default region the full model's tie-break stopped at 6,613
    home-years against a bound of 5,313, the aggregate one proves 5,313; on the synthetic
    40-corporation region (balanced) the full model's stopped at its 3 s limit 96 % above its
    bound."""
    st = agg.stages()
    solver = make_solver(agg.model, opts, verbose=verbose)
    fix_optimum(solver, st[0], st[0].cost, x_agg, opts["stage_tolerance"])
    _limit_row(solver, st[1].cost, limit)
    if roles is not None:
        role_rows(agg, roles).add_to(solver)
    return solver


def tie_break_bounds(agg: RegionModel, x_agg: np.ndarray, limit: float,
                     opts: dict) -> tuple[float | None, float | None]:
    """Lower bounds on the tie-breaks ``unfilled_timing`` (home-years unfilled before the end of
    the policy period) and ``homes_moved`` (MODEL.md 5) of every plan that leaves at most
    ``limit`` (weighted) homes unfilled, on any relations: one LP of the aggregate model (a
    relaxation of every full plan), the continuity stage held at ``x_agg``, solved for each;
    None where it did not end optimal. Homes moved: the least sum of ``moved_at_least``
    (:func:`dpm.model.solidarity.moved_rows`). Both stages are solved on the plan's own
    relations, whose bounds hold for those only: another set of as many relations may do
    better (a three-corporation case: 3 homes moved on the plan's 2 relations, 2 on another 2,
    by brute force; with any relations the aggregate model reaches 23,764 home-years on the
    nieuwbouw x2 variant, where its plan has 25,126 and the bound on its relations was 23,966).
    With ``limit`` the unfilled opgave the plan holds rather than the scenario's limit, each
    home the LP may not leave unfilled is one it must have done by someone (measured, homes
    moved: rent 7,605 -> 7,708 against the plan's 7,736, synthetic 10 2,963 -> 3,427,
    synthetic 40 8,755 -> 10,521)."""
    solver = efficiency_solver(agg, agg, x_agg, limit, opts, relaxed=True)
    timing = _lp_value(solver, agg.timing_stage().cost)
    return timing, _lp_value(solver, fewest_moved(solver, own_balance(agg)))


def _lp_value(solver: HighsSolver, cost: np.ndarray) -> float | None:
    solver.set_objective(np.concatenate([cost, np.zeros(solver.n_cols - len(cost))]))
    out = solver.solve()
    return float(out.objective) if out.has_solution and out.status == "optimal" else None


def against_every_plan(report: StageReport, bound: float | None, homes_gap: float = 0.0,
                       rel_gap: float = 0.0) -> StageReport:
    """A stage ``report`` solved on the plan's own relations (``unfilled_timing``,
    ``homes_moved``; values in whole homes or home-years) against ``bound``, a bound over every
    plan (:func:`tie_break_bounds`; None: 0, which every plan reaches at best): ``optimal``
    where it proves the value, ``within_tolerance`` within ``homes_gap`` or
    ``rel_gap`` of it, else ``work_limit`` (a count ended the stage's own search, and more of it
    would not widen its relations); a stage that a clock or another limit stopped keeps its
    status."""
    if report.objective is None:
        return report
    bound = min(np.ceil((bound or 0.0) - 1e-6), report.objective)
    diff = report.objective - bound
    gap = diff / max(1.0, abs(report.objective))
    status = report.status
    if status in ("optimal", "within_tolerance"):
        status = ("optimal" if diff < 1.0 - 1e-6 else
                  "within_tolerance" if diff <= homes_gap or gap <= rel_gap else "work_limit")
    return replace(report, status=status, bound=bound, mip_gap=0.0 if status == "optimal" else gap)


def _with_bound(report: StageReport, relaxed: StageReport, integral: bool) -> StageReport:
    """``report`` with the better of its bound and that of ``relaxed``, the same stage on a
    relaxation (:func:`aggregate_solver`), and its honest status (``integral``: the stage's
    values are whole); the seconds of both."""
    bound = max(b for b in (report.bound, relaxed.bound, -np.inf) if b is not None)
    bound = None if not np.isfinite(bound) else bound
    status, gap = honest_status(report.status, report.objective, bound, integral)
    return replace(report, status=status, bound=bound, mip_gap=gap, seconds=report.seconds + relaxed.seconds)


def _fix_relations(solver: HighsSolver, rm: RegionModel, x: np.ndarray) -> None:
    """Only the relations of ``x`` may stay in use (each may still be dropped)."""
    y = rm.model.variables["transfer"].ids
    unused = y[np.round(x[y]) < 0.5]
    solver.fix_columns(unused, np.zeros(len(unused)))


def _fewest_relations(models: "FullModels", solver_for, roles: Roles, agg: RegionModel, x_agg: np.ndarray,
                      limit: float, choice_limit: float, hint: Plan | None, opts: dict, curve_point: bool = False):
    """Stage ``transfers``: :func:`_fewest_relations_searched`, labelled ``time_limit`` where a
    plan not proven comes from searches a clock ended, ``work_limit`` where only their counts
    (node and work limits) did: the same plan on any machine, which more time would not change
    (measured: nieuwbouw x2 at ICR 1.8, 5 relations against a bound of 4, was labelled
    ``time_limit`` with no solve of the run ended by a clock)."""
    with clock_stops(passed_on=True) as stops:
        rm, solver, x, restricted, report = _fewest_relations_searched(
            models, solver_for, roles, agg, x_agg, limit, choice_limit, hint, opts, curve_point)
    if report.status == "time_limit" and not stops:
        report = replace(report, status="work_limit")
    return rm, solver, x, restricted, report


def _fewest_relations_searched(models: "FullModels", solver_for, roles: Roles, agg: RegionModel, x_agg: np.ndarray,
                               limit: float, choice_limit: float, hint: Plan | None, opts: dict,
                               curve_point: bool = False):
    """Stage ``transfers`` (MODEL.md 5; docs/model.md, the efficiency stage, step 4): the plan on
    the fewest relations found, reported against the best bound. First, up to
    :data:`RELATIONS_BOUND_PAIRS` pairs, the hint's plan if it meets the roles' bound, else
    :func:`sparse_plan` on every pair where the reweighted LP relates no more corporations than
    that bound (a plan then proven by it), else :func:`relations_bound` on every pair, with the
    hint's plan as a start; if that does not prove a plan, the participation bound (:func:`participants`) and a search on the
    pairs of its givers and takers (:func:`_narrow_plan`); else :func:`sparse_plan`, failing
    that the :func:`dive`; if none found a plan, the relations MIP on every pair for half the
    stage's time. Where the plan is not proven, on up to :data:`LP_BOUND_PAIRS` pairs, the
    relations LP's bound too (:func:`lp_bound`; not for a point of the trade-off curve,
    ``curve_point``, whose relations_bound also has half its shorter time limit and no node
    limit). ``models``: the full models on every pair and on the pairs the roles allow, each
    built where a search above first needs it. Returns the model the plan is a point of, its
    solver, the plan, whether its pairs are restricted, the report."""
    clock = time.perf_counter()
    tol = opts["stage_tolerance"]
    case, regions, wide = models.case, models.regions, models.every_pair
    carried = carry(wide, hint.rm, hint.x) if hint is not None else None
    bound = float(roles.bound)
    plans = [(wide, carried, False)] if carried is not None else []
    sparse = None  # the reweighted LP's relations on every pair, where computed

    def proven() -> bool:
        return bool(plans) and min(relations(m, p) for m, p, _ in plans) <= bound

    if len(wide.pairs) <= RELATIONS_BOUND_PAIRS and roles.bound > 0 and not proven():
        # the reweighted LP's relations, where they are no more than the roles' bound: a plan on
        # them is proven at once (measured: the default region, 3 relations in 0.14 s where
        # relations_bound took 0.64 s; synthetic 10 4 relations in 0.6 s instead of 1.3 s; on the
        # other benchmark variants the LP's relations are more, and the check costs its LPs only)
        sparse = sparse_relations(wide, solver_for, choice_limit)
        first = sparse_plan(wide, solver_for, opts, choice_limit, sparse) if (
            sparse is not None and len(sparse) <= roles.bound) else None
        plans = [(wide, first, False)] + plans if first is not None else plans
    found = None
    if len(wide.pairs) <= RELATIONS_BOUND_PAIRS and not proven():
        share, nodes = (0.5, None) if curve_point else (RELATIONS_BOUND_SHARE, RELATIONS_BOUND_NODES)
        bound, found = relations_bound(wide, solver_for, carried, roles, opts, limit, share=share, nodes=nodes,
                                       repair=REPAIR_ROUNDS, least_room=REPAIR_ROOM_SHARE * (limit - choice_limit))
        plans = [(wide, found, False)] + plans if found is not None else plans

    narrowed = []
    if not proven() and len(wide.pairs) > RELATIONS_BOUND_PAIRS:  # (below, relations_bound's bound is as strong)
        held = _continuity_fix(agg.stages()[0], x_agg, tol)
        for checks, share in ((PARTICIPATION_CHECKS, PARTICIPATION_SHARE),
                              (PARTICIPATION_RETRY_CHECKS, PARTICIPATION_RETRY_SHARE)):
            part = participants(agg, held, limit, x_agg, roles, opts, share * float(opts["time_limit_s"]), choice_limit,
                                checks)
            bound = max(bound, float(part.bound))
            narrow = _narrowed(case, regions, roles, part, wide)
            if narrow is not None or proven():
                break
        narrowed = (_narrow_plan(narrow, solver_for, roles, agg, x_agg, limit, choice_limit, opts)
                    if narrow is not None and not proven() else [])
        plans += narrowed
    if not proven() and not narrowed and found is None:  # (the participants' plan, where found, has fewer)
        # the reweighted LP's relations first, the dive where they carry no plan (measured: the same
        # relations on every benchmark variant and region of scenarios/nederland; synthetic 10 at 1.5 %
        # rent 14.4 s -> 5.8 s, nieuwbouw x1.5 16.3 s -> 12.7 s: the dive's tries stop at their safety net)
        rm, _, restricted = models.by_roles
        other = sparse_plan(rm, solver_for, opts, choice_limit, sparse if rm is wide else None)
        other = dive(rm, solver_for, roles, opts) if other is None else other
        plans += [(rm, other, restricted)] if other is not None else []
    if plans:
        rm, x, restricted = min(plans, key=lambda mp: relations(mp[0], mp[1]))  # the first of the fewest
        status = "time_limit"  # honest_status says optimal when the bound proves it
    else:  # no plan yet: the relations stage on the full model, every pair
        rm, status, restricted = wide, None, False
    solver = solver_for(rm)
    if status is None:  # (half the stage's time: the dive has used up to the other half)
        fallback = rm.stage("transfers")
        fallback.time_limit_s = 0.5 * float(opts["time_limit_s"])
        # (a start: the split's own stages capped, measured: on synthetic 20 at ICR 1.6, 10 s for a
        # split that still left homes below min_transfer)
        start = _start(rm, agg, x_agg, opts, NARROW_SHARE * float(opts["time_limit_s"]))
        first = solve_lexicographic(solver, [fallback], start, tol, opts["homes_gap"])
        x, status = first.x, first.stages[0].status
        bound = max(bound, first.stages[0].bound or 0.0)
    value = float(relations(rm, x))
    if not curve_point and value > bound and RELATIONS_BOUND_PAIRS < len(wide.pairs) <= LP_BOUND_PAIRS:
        bound = max(bound, lp_bound(wide, solver_for, opts))
    status, gap = honest_status(status, value, bound, True)
    return rm, solver, x, restricted, StageReport("transfers", status, value, bound, gap, time.perf_counter() - clock)


def _narrowed(case, regions, roles: Roles, part, rm: RegionModel) -> RegionModel | None:
    """The model whose relations run only from the givers to the takers of the participation
    bound (``part``), or None where it has no fewer pairs than ``rm`` (every pair; or no
    participants). (Not against the pairs the roles allow: those need the totals that keep the
    roles, a search of 20 checks that ended on its 3 s safety net on the linked benchmark
    region, whose participants have 37 pairs of its 132, and the roles' model 132 too.)"""
    if not (part.givers and part.takers):
        return None
    narrow = build_region_model(case, regions, roles=replace(roles, may_give=part.givers, may_take=part.takers),
                                restrict=True)
    return narrow if len(narrow.pairs) and len(narrow.pairs) < len(rm.pairs) else None


def _narrow_plan(narrow: RegionModel, solver_for, roles: Roles, agg: RegionModel, x_agg: np.ndarray, limit: float,
                 choice_limit: float, opts: dict) -> list:
    """A plan whose relations run only from the givers to the takers of the participation
    bound: few corporations take part, so few relations are needed. On their model ``narrow``
    (:func:`_narrowed`, its roles those givers and takers; ``roles`` the proven ones): up to
    :data:`RELATIONS_BOUND_PAIRS` pairs, :func:`relations_bound` (its bound holds for those
    pairs only); where that plan does not meet its bound, or on more pairs, also
    :func:`sparse_plan` (relations chosen within ``choice_limit``), and the caller keeps the
    fewer. Measured: relations_bound's plan on these pairs against the sparse plan, on the 44
    variants of benchmarks/variants.md once relations_bound ended on a count
    (:data:`NARROW_CHECKS`) instead of its 2 s clock: the chain of three default regions 27
    against 22, two synthetic regions linked both ways 12 against 10, synthetic 20 of the
    benchmark 12 against 13 (the sparse plan 1.5 s more, now skipped: whole homes are tried on
    the reweighted LP's relations only where they are fewer than the plan's, and there they are
    12 or more); on the linked benchmark region's 37 pairs relations_bound found no plan in
    4.1 s and the sparse plan has 15 relations (0.9 s).
    Failing both, the transportation split of whole totals in which only those givers give and
    those takers take (:func:`role_totals`). Returns [(model, plan, True), ...] or []."""
    plans, x = [], None
    if len(narrow.pairs) <= RELATIONS_BOUND_PAIRS:
        bound, x = relations_bound(narrow, solver_for, None, roles, opts, limit, share=NARROW_NET_SHARE,
                                   checks=NARROW_CHECKS, repair=NARROW_REPAIR_ROUNDS,
                                   least_room=REPAIR_ROOM_SHARE * (limit - choice_limit))
        plans += [(narrow, x, True)] if x is not None else []
        if x is not None and relations(narrow, x) <= bound:
            return plans
    # (whole homes on the reweighted LP's relations only where those are fewer than the plan's)
    used = sparse_relations(narrow, solver_for, choice_limit)
    x = sparse_plan(narrow, solver_for, opts, choice_limit, used) if (
        used is not None and (x is None or len(used) < relations(narrow, x))) else None
    plans += [(narrow, x, True)] if x is not None else []
    if plans:
        return plans
    totals = role_totals(agg, x_agg, narrow.roles, limit, opts)
    x = None if totals is None else _start(narrow, agg, totals, opts, NARROW_SHARE * float(opts["time_limit_s"]))
    # (the split knows min_transfer only by leaving homes unfilled, and not max_partners)
    return [(narrow, x, True)] if x is not None and _fits(narrow, x, limit) else []


def _fits(rm: RegionModel, x: np.ndarray, limit: float, tol: float = 1e-6) -> bool:
    """Whether ``x`` is a point of ``rm`` (every row and bound, ``min_transfer`` and
    ``max_partners`` among them) that leaves at most ``limit`` (weighted) homes unfilled."""
    lm = rm.model
    ax = lm.matrix() @ x
    slack = tol * (1.0 + np.abs(ax))
    rows = np.all(ax >= lm.row_lower - slack) and np.all(ax <= lm.row_upper + slack)
    cols = np.all(x >= lm.col_lower - tol) and np.all(x <= lm.col_upper + tol)
    return bool(rows and cols and rm.stages()[1].cost @ x <= limit + tol * max(1.0, limit))


class FullModels:
    """The full models of one region's efficiency stage (MODEL.md 5), each built when first
    used: on up to :data:`RELATIONS_BOUND_PAIRS` pairs the transfers stage's plan is mostly on
    every pair (measured: 0.5 s of the rent variant's 8 s went to totals and a model it did not
    use). ``role_totals()``: totals that keep the roles (:func:`role_totals`)."""

    def __init__(self, case, regions: tuple[str, ...], roles: Roles, role_totals):
        self.case, self.regions, self.roles, self._role_totals = case, regions, roles, role_totals

    @functools.cached_property
    def every_pair(self) -> RegionModel:
        """Every pair allowed (the roles' cover rows only)."""
        return build_region_model(self.case, self.regions, roles=self.roles)

    @functools.cached_property
    def by_roles(self) -> tuple[RegionModel, np.ndarray | None, bool]:
        """The model whose pairs the roles restrict (:meth:`Roles.allows`) where totals that keep
        the roles exist (without them every pair stays allowed): the model, those totals, and
        whether it is restricted."""
        totals = self._role_totals()
        if totals is None or not (self.roles.must_give or self.roles.must_take):
            return self.every_pair, totals, False
        return build_region_model(self.case, self.regions, roles=self.roles, restrict=True), totals, True


def plan(case, regions: tuple[str, ...], agg: RegionModel, x_agg: np.ndarray, optimum: float, slack: float,
         verbose: bool = False, on_stage=None, stages_wanted: str = "all", hint: Plan | None = None,
         time_limit_s: float | None = None) -> Plan:
    """Stages 3+ of one region from the aggregate optimum ``x_agg`` (unfilled ``optimum``).
    ``stages_wanted``: 'all', or 'transfers' (the trade-off curve: relations and the unfilled
    opgave on them, no homes-moved stage). ``hint``: a plan within a tighter limit, a start
    for this one (the trade-off curve). ``time_limit_s``: per stage (default
    ``solver.efficiency_time_limit_s``)."""
    sc = case.scenario
    limit_s = sc.solver.efficiency_time_limit_s if time_limit_s is None else time_limit_s
    # the efficiency stages' limit; one thread, so that the plan is the same whatever [solver] threads says
    opts = {**sc.solver.options(), "time_limit_s": limit_s, "threads": 1}
    tol = opts["stage_tolerance"]
    limit = optimum + slack
    agg_stages = agg.stages()
    roles = solidarity_roles(agg, _continuity_fix(agg_stages[0], x_agg, tol), limit, opts)
    efficiency = sc.allocation.efficiency

    models = FullModels(case, regions, roles, lambda: role_totals(agg, x_agg, roles, limit, opts, verbose))

    def solver_for(model: RegionModel, relaxed: bool = False) -> HighsSolver:
        return efficiency_solver(model, agg, x_agg, limit, opts, verbose, relaxed)

    reports: list[StageReport] = []
    if efficiency != "transfers":
        rm, totals, restricted = models.by_roles
        held = totals if restricted else x_agg
        # the timing tie-break, then the stage, on the aggregate model (see aggregate_solver), as
        # long as the split of its totals places every home (else min_transfer binds: the full model)
        on_agg = aggregate_solver(agg, x_agg, limit, roles if restricted else None, opts, verbose)
        full = rm.stages()[2:]  # the same two stages on the full model
        timing = solve_lexicographic(on_agg, [agg.timing_stage(search=True)], held, tol, opts["homes_gap"], on_stage)
        split_s = NARROW_SHARE * float(opts["time_limit_s"])  # (the plan's own split, below, polishes it)
        start = _start(rm, agg, timing.x, opts, split_s, fewest_moved=False, placed=True)
        if start is None:  # both stages on the full model, from the split of the totals held
            solver = solver_for(rm)
            result = solve_lexicographic(solver, full, _start(rm, agg, held, opts, fewest_moved=False), tol,
                                         opts["homes_gap"], on_stage)
            reports += [_with_bound(result.stages[0], timing.stages[0], full[0].integral), result.stages[1]]
            x = rm.model.solution(result.x).x
        else:
            reports += timing.stages
            stage = solve_lexicographic(on_agg, [agg_stages[3]], timing.x, tol, opts["homes_gap"], on_stage)
            z = agg.model.variables["decision"].ids
            same = np.array_equal(np.round(stage.x[z]), np.round(timing.x[z]))  # the same totals: the same split
            x = start if same else _start(rm, agg, stage.x, opts, split_s, fewest_moved=False, placed=True)
            if x is not None:
                reports += stage.stages
            else:  # the stage on the full model, the tie-break held at the split that placed every home
                solver = solver_for(rm)
                fix_optimum(solver, full[0], full[0].cost, start, tol)
                result = solve_lexicographic(solver, full[1:], start, tol, opts["homes_gap"], on_stage)
                reports += [_with_bound(result.stages[0], stage.stages[0], full[1].integral)]
                x = rm.model.solution(result.x).x
    else:
        if on_stage is not None:
            on_stage("transfers")
        rm, solver, x, restricted, report = _fewest_relations(models, solver_for, roles, agg, x_agg, limit,
                                                              optimum + CHOICE_SHARE * slack, hint, opts,
                                                              curve_point=stages_wanted != "all")
        reports.append(report)
        full = rm.stages()
        transfers, moved = (next(s for s in full if s.name == n) for n in ("transfers", "homes_moved"))
        fix_optimum(solver, transfers, transfers.cost, x, tol)
        # the unfilled opgave on these relations, as late as possible; whose tasks stay
        # unfilled; fewest homes moved
        _fix_relations(solver, rm, x)
        # (the trade-off curve's points report relations and unfilled homes only: no tie-break)
        # (in homes like stage 2 itself: within solver.homes_gap, then its proof; measured:
        # without it, nieuwbouw x1.5 spent 8.7 s going from 2 homes above the bound to 1)
        on_stages = [replace(full[1], name="unfilled_on_relations", round_lp=False)]
        on_stages += [rm.timing_stage(search=True)] if stages_wanted == "all" else []
        on = solve_lexicographic(solver, on_stages, x, tol, opts["homes_gap"], on_stage)
        reports += on.stages[:1]
        x = transport_split(rm, rm.model.solution(on.x).x, opts, pairs=used_pairs(rm, on.x)).point(rm)
        if stages_wanted == "all":
            # the tie-breaks' bounds within the unfilled opgave they held (the earlier stages at their values,
            # as each stage of the order is reported): in whole (weighted) homes its value itself, as every
            # home of room is worth about 400 home-years to the LP; else fix_optimum's tolerance
            held = on.stages[0].objective
            held += 1e-6 * max(1.0, held) if on_stages[0].integral else tol * max(1.0, abs(held))
            timing_bound, moved_bound = tie_break_bounds(agg, x_agg, held, opts)
            reports.append(against_every_plan(on.stages[1], timing_bound))
            u = rm.model.variables["unfilled"].ids
            solver.fix_columns(u, x[u])  # the attribution just chosen: see the module doc
            # (a search over each corporation in a relation with its partners first; measured: HiGHS
            # stopped at its 10 s limit on the linked region at 19,897 homes, 1.1 % from its bound,
            # where the search reaches 19,713 in 1.9 s, within 1 %)
            moved = replace(moved, neighbourhoods=rm.partner_neighbourhoods(used_pairs(rm, x)))
            last = solve_lexicographic(solver, [moved], x, tol, opts["homes_gap"], on_stage)
            reports.append(against_every_plan(last.stages[0], moved_bound, opts["homes_gap"], HOMES_MOVED_REL_GAP))
            x = last.x
    x = rm.model.solution(x).x
    warnings = []
    split = transport_split(rm, x, opts, pairs=used_pairs(rm, x))
    if split.unplaced_homes:
        warnings.append(f"{' + '.join(regions)}: {split.unplaced_homes} homes could not be moved in relations of at "
                        f"least min_transfer = {sc.allocation.min_transfer} homes; they stay unfilled")
    # (the split of x's totals on x's own relations never needs more relations than x: its
    # transportation start uses only those pairs, and netting and min_transfer only drop relations)
    netted = split.point(rm)
    return Plan(rm, netted, final_relations(reports, relations(rm, netted)), roles, restricted, limit, warnings)


def final_relations(reports: list[StageReport], count: int, bound: float | None = None) -> list[StageReport]:
    """The ``transfers`` stage reported with the ``count`` relations of the final plan where
    the later stages and the split dropped some (the plan's relations are the stage's claim),
    against the same bound, or ``bound`` where higher (a bound on every plan within the same or
    a looser unfilled limit: :func:`never_rising`)."""
    out = []
    for r in reports:
        if r.name == "transfers" and r.objective is not None:
            value = min(float(count), r.objective)
            best = max(b for b in (r.bound, bound, -np.inf) if b is not None)
            best = None if not np.isfinite(best) else best
            if value < r.objective or best != r.bound:
                status, gap = honest_status(r.status, value, best, True)
                r = replace(r, objective=value, bound=best, status=status, mip_gap=gap)
        out.append(r)
    return out


def carry(to: RegionModel, frm: RegionModel, x: np.ndarray) -> np.ndarray:
    """The plan ``x`` of model ``frm`` as a point of model ``to`` (same tasks, more pairs)."""
    key = ["origin", "executor", "type", "year"]
    w = frm.model.variables["execute"].series(x).to_numpy()
    pos = pd.MultiIndex.from_frame(to.moves[key]).get_indexer(pd.MultiIndex.from_frame(frm.moves[key]))
    out = np.zeros(len(to.moves))
    out[pos] = w
    return to.complete(out, frm.model.variables["unfilled"].series(x).to_numpy())


def used_pairs(rm: RegionModel, x: np.ndarray) -> pd.DataFrame:
    """The pairs whose relation ``x`` uses."""
    return rm.pairs[np.round(rm.model.solution(x).values["transfer"].to_numpy()) > 0.5]


def relations(rm: RegionModel, x: np.ndarray) -> int:
    """The relations (pairs in use) of the plan ``x``."""
    return len(used_pairs(rm, x))


def tradeoff_curve(case, regions: tuple[str, ...], agg: RegionModel, x_agg: np.ndarray, optimum: float,
                   main: Plan, verbose: bool = False, workers: int | None = 1) -> pd.DataFrame:
    """Fewest relations at the exact unfilled optimum and at the tolerances of
    :data:`TRADEOFF_SHARES`, plus the run's own tolerance (``main``, its plan): per point the
    unfilled limit (weighted homes), the relations (with bound, status and gap) and the least
    unfilled opgave on those relations. Each extra point has :data:`CURVE_TIME_SHARE` of the
    efficiency time limit per stage (measured: the curve of x2, rent, x2icr and synthetic 10
    in 12-15 s; with a quarter 17-27 s, with the same relations but one point of x2, 8 where
    6 were found).

    The extra points are independent solves, on ``workers`` processes (:func:`dpm.engines.map_local`;
    with 1 or ``verbose`` one after the other here), tightest first; a point looser than the
    run's own starts from its plan. A plan within a tighter limit is within every looser one,
    so where a looser point found more relations than a tighter point's plan has, it shows that
    plan (its own bound kept): the relations never rise as the limit loosens."""
    from dpm.engines import map_local

    points = {round(max(0.5, s * optimum), 9): s for s in TRADEOFF_SHARES}
    own = round(main.limit - optimum, 9)
    points[own] = None  # the run's own plan (replaces an equal share)
    limit_s = CURVE_TIME_SHARE * case.scenario.solver.efficiency_time_limit_s
    extra = [(slack, share) for slack, share in sorted(points.items()) if share is not None]
    jobs = [(case, regions, agg, x_agg, optimum, slack, share, main if slack > own else None, verbose, limit_s)
            for slack, share in extra]
    done = map_local(jobs, lambda *_: None, 1 if verbose else workers, curve_point)
    pass_on_clock_stops([name for _, stops in done for name in stops])
    seconds = next(s for s in main.stages if s.name == "transfers").seconds
    rows = {slack: row for (slack, _), (row, _) in zip(extra, done)}
    rows[own] = _curve_row(regions, optimum, own, None, main, seconds)
    return never_rising(pd.DataFrame([rows[slack] for slack in sorted(rows)]))


def curve_point(case, regions: tuple[str, ...], agg: RegionModel, x_agg: np.ndarray, optimum: float, slack: float,
                share: float, hint: Plan | None, verbose: bool, limit_s: float) -> tuple[dict, list[str]]:
    """The row of one extra point of the trade-off curve (:func:`tradeoff_curve`), from the plan
    ``hint`` where given, and the solves a clock ended (run in a worker process, too)."""
    start = time.perf_counter()
    with clock_stops() as stops:
        try:
            p = plan(case, regions, agg, x_agg, optimum, slack, verbose, stages_wanted="transfers", hint=hint,
                     time_limit_s=limit_s)
        except NoSolution as err:
            return ({"region": " + ".join(regions), "tolerance_share": share, "status": f"no solution: {err}",
                     "seconds": round(time.perf_counter() - start, 3)}, list(stops))
    return _curve_row(regions, optimum, slack, share, p, time.perf_counter() - start), list(stops)


def _curve_row(regions: tuple[str, ...], optimum: float, slack: float, share: float | None, p: Plan,
               seconds: float) -> dict:
    """A point of the trade-off curve (share None: the run's own, ``p`` its plan). Where every
    home can be done (an optimum of 0), every share is the same limit, half a home: share 0."""
    t = next(s for s in p.stages if s.name == "transfers")
    u = next(s for s in p.stages if s.name == "unfilled_on_relations")
    own = share is None
    if own:
        share = round(slack / optimum, 6) if optimum else 0.0
    return {"region": " + ".join(regions),
            "tolerance_share": share,
            "run_tolerance": own,
            "unfilled_limit_homes": round(optimum + (0.0 if slack <= 0.5 else slack), 1),
            "relations": int(round(t.objective)), "relations_bound": int(np.ceil(t.bound - 1e-6)),
            "status": t.status, "mip_gap": t.mip_gap,
            "unfilled_homes": int(round(u.objective)), "unfilled_optimum_homes": int(round(optimum)),
            "seconds": round(seconds, 3)}


def never_rising(curve: pd.DataFrame) -> pd.DataFrame:
    """The curve (rows from tight to loose), each point's plan and bound the best the others
    prove for it. Plans: where a point found more relations than the plan of a tighter point
    has, it shows that plan's relations and unfilled homes instead (the tighter plan with the
    fewest relations; a plan within a tighter limit is within this one); ``plan_tolerance_share``
    says whose plan each row shows (its own tolerance, or that tighter point's). Bounds: every
    plan within a tighter limit is within a looser one, so a looser point's bound bounds every
    tighter point too (measured on the rent variant: the run's own point, +0.5 %, proves 10
    relations, and the +0.25 % point's 10, against its own bound of 8, are proven by it). Each
    row is labelled against its bound (:func:`honest_status`)."""
    if "relations" not in curve:  # (no point found a plan)
        return curve
    best = None
    curve = curve.copy()
    curve.insert(curve.columns.get_loc("relations"), "plan_tolerance_share", curve["tolerance_share"])
    found = curve.index[curve["relations"].notna()]
    for i in found:
        if best is not None and curve.at[i, "relations"] > best[0]:
            curve.loc[i, ["relations", "unfilled_homes", "plan_tolerance_share"]] = best
        if best is None or curve.at[i, "relations"] < best[0]:
            best = (curve.at[i, "relations"], curve.at[i, "unfilled_homes"], curve.at[i, "tolerance_share"])
    bounds = curve.loc[found, "relations_bound"].to_numpy(float)
    curve.loc[found, "relations_bound"] = np.maximum.accumulate(bounds[::-1])[::-1].astype(int)
    for i in found:
        status, gap = honest_status(str(curve.at[i, "status"]), float(curve.at[i, "relations"]),
                                    float(curve.at[i, "relations_bound"]), True)
        curve.loc[i, ["status", "mip_gap"]] = status, gap
    return curve
