"""Who gives and who takes (MODEL.md 5, stage 3; docs/model.md, the participation bound).

Facts: the participation bound never exceeds the fewest relations found by brute force; homes
a corporation completes in another region never fill its own task (who gives, who takes);
the aggregate model with "only these give, only those take" (``role_rows``) has the same
unfilled optimum as the full model built on just the pairs from those givers to those
takers; and the participants of two linked regions have a plan on their pairs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bruteforce import INSTANCES, SCENARIO, brute_force, instance
from conftest import linked_case, write_case

from dpm.efficiency import _continuity_fix, unfilled_slack
from dpm.model.allocation import build_region_model
from dpm.model.case import load_case
from dpm.model.solidarity import Participation, Roles, own_balance, role_rows
from dpm.solidarity import participants, solidarity_roles
from dpm.solvers.backends import make_solver
from dpm.solvers.lexicographic import fix_optimum, solve_lexicographic


def _stages_1_2(case, regions):
    opts = {**case.scenario.solver.options(), "threads": 1}
    agg = build_region_model(case, regions, aggregate=True)
    first = solve_lexicographic(make_solver(agg.model, opts), agg.stages()[:2], agg.start(),
                                opts["stage_tolerance"], opts["homes_gap"])
    return agg, first, opts


@pytest.mark.parametrize("name", list(INSTANCES))
def test_participation_bound_never_exceeds_the_fewest_relations(tmp_path, name):
    case = instance(tmp_path, *INSTANCES[name])
    agg, first, opts = _stages_1_2(case, ("R",))
    optimum = first.stages[1].objective
    limit = optimum + unfilled_slack(case.scenario, optimum)
    fix = _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"])
    roles = solidarity_roles(agg, fix, limit, opts)
    part = participants(agg, fix, limit, first.x, roles, opts, time_limit_s=10.0)
    best = brute_force(case)
    assert roles.bound <= best["transfers"] and part.bound <= best["transfers"]
    if best["transfers"] > 0:  # a plan with transfers has givers and takers, and the bound sees them
        assert part.bound >= 1 and part.givers and part.takers


def _two_origins_case(tmp_path, debt: float):
    """A and B (debt ``debt``) with 2 nieuwbouw homes of 2026 each, C (debt EUR 6 mln) without
    opgave; corporations of 100 homes and EUR 10 mln beleidswaarde, min_transfer 1."""
    corps = [{"corporation_id": "A", "debt_eur": debt}, {"corporation_id": "B", "debt_eur": debt},
             {"corporation_id": "C", "debt_eur": 6.0e6}]
    opgave = [{"region": "R", "corporation_id": o, "type": "nieuwbouw", "year": 2026, "homes": 2} for o in "AB"]
    return load_case(write_case(tmp_path / f"two{int(debt)}", corps, opgave, SCENARIO.format(min_transfer=1)))


def test_a_taker_that_needs_two_origins_counts_two_relations(tmp_path):
    """A and B break their LTV before any opgave (debt EUR 9 mln), so each hands its 2 nieuwbouw
    homes of 2026 to C, the only one with room: C takes 4 homes of 2026 where one origin has at
    most 2, so every plan relates C to both (take_from 2, found by the LP with C's room at one
    origin's task); brute force agrees, and the run's plan has those 2 relations, proven."""
    case = _two_origins_case(tmp_path, 9.0e6)
    agg, first, opts = _stages_1_2(case, ("R",))
    optimum = first.stages[1].objective
    limit = optimum + unfilled_slack(case.scenario, optimum)
    roles = solidarity_roles(agg, _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"]), limit, opts)
    assert optimum == 0 and roles.must_take == ("C",) and roles.take_from == (2,)
    assert roles.bound == 2 == brute_force(case)["transfers"]
    fix = _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"])
    assert participants(agg, fix, limit, first.x, roles, opts, time_limit_s=10.0).bound == 2  # (C counted twice)
    from dpm.regional import solve_component
    transfers = next(s for s in solve_component(case, ("R",)).stages if s.name == "transfers")
    assert (transfers.status, transfers.objective, transfers.bound) == ("optimal", 2.0, 2.0)


@pytest.mark.parametrize("debt", [8.6e6, 8.7e6, 9.0e6])
def test_the_tie_breaks_are_reported_against_bounds_over_every_plan(tmp_path, debt):
    """The homes_moved and unfilled_timing stages are solved on the plan's own relations; their
    bounds must hold for every plan with as few relations (MODEL.md 5), and they are optimal
    only where no such plan does better. At a debt of EUR 8.6 mln the relations chosen are
    A -> C and B -> A: 3 homes moved, where B -> C and A -> C move 2 (brute force)."""
    from dpm.regional import solve_component
    case = _two_origins_case(tmp_path, debt)
    best = brute_force(case)
    result = solve_component(case, ("R",))
    stages = {s.name: s for s in result.stages}
    for name in ("homes_moved", "unfilled_timing"):
        assert stages[name].bound is not None and stages[name].bound <= best[name] + 1e-6, name
    assert result.objectives["homes_moved"] >= best["homes_moved"]
    if stages["homes_moved"].status == "optimal":
        assert stages["homes_moved"].objective == best["homes_moved"]


def test_origins_room_is_the_largest_tasks_of_the_others_per_type_and_year():
    """From k origins a corporation takes at most the k largest tasks of the others in each
    type and year (its own never counts)."""
    from dpm.model.solidarity import Balance, origins_room
    index = pd.MultiIndex.from_tuples([(c, "nieuwbouw", t) for c in "ABCD" for t in (1, 2)],
                                      names=["corporation_id", "type", "t"])
    A = np.array([5, 1, 7, 0, 3, 4, 9, 2], float)  # A: 5 1; B: 7 0; C: 3 4; D: 9 2
    none = (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    balance = Balance(index, A, none, none)
    assert origins_room(balance, "A", 1).tolist() == [9, 4]
    assert origins_room(balance, "A", 2).tolist() == [16, 6]
    assert origins_room(balance, "D", 2).tolist() == [12, 5]
    assert origins_room(balance, "D", 9).tolist() == [15, 5]


def _linked_case(tmp_path):
    """R1: A with 24 nieuwbouw homes; R2: C (werkgebied R1) with 3 nieuwbouw homes of its own,
    and D. C may do A's homes in R1, D may do C's in R2."""
    corps = [{"corporation_id": "A", "region": "R1", "debt_eur": 8.6e6},
             {"corporation_id": "C", "region": "R2", "debt_eur": 7.0e6, "werkgebied": "R1"},
             {"corporation_id": "D", "region": "R2", "debt_eur": 6.0e6}]
    opgave = [{"region": "R1", "corporation_id": "A", "type": "nieuwbouw", "year": y, "homes": 12} for y in (2026, 2027)]
    opgave += [{"region": "R2", "corporation_id": "C", "type": "nieuwbouw", "year": 2026, "homes": 3}]
    return load_case(linked_case(tmp_path / "linked", corps, opgave, min_transfer=1))


def test_homes_completed_in_another_region_never_fill_a_corporations_own_task(tmp_path):
    """C completes 3 of A's homes in R1 and D completes C's 3 in R2 (year 1): C gives (its own
    region's completions fall short of its task) and takes; D takes; A gives. Counting all of
    C's completions against its own task would say C gives nothing."""
    case = _linked_case(tmp_path)
    agg = build_region_model(case, ("R1", "R2"), aggregate=True)
    lm, lay = agg.model, agg.projection.layout
    x = np.zeros(lm.n_cols)
    serve, z = lm.variables["serve"], lm.variables["decision"]
    slot = lay.start("build:nieuwbouw")  # year 1
    for executor, region in (("C", "R1"), ("D", "R2")):
        x[serve.at([(executor, region, "nieuwbouw", 1)])] = 3
        x[z.at([(executor, slot)])] = 3
    a_unfilled = agg.tasks.index[(agg.tasks["origin"] == "A")]
    x[lm.variables["unfilled"].ids[a_unfilled]] = agg.tasks.loc[a_unfilled, "homes"].to_numpy(float)
    x[lm.variables["unfilled"].ids[a_unfilled[0]]] -= 3  # A's first task: 3 homes done (by C)
    part = Participation.of(agg, lm.n_cols)
    givers, takers = part.read(np.concatenate([x, part.start(x)]))
    assert set(givers) == {"A", "C"} and set(takers) == {"C", "D"}
    balance = own_balance(agg)
    cell = balance.index.get_loc(("C", "nieuwbouw", 1))
    assert balance.value("give", x)[cell] == 0 < balance.A[cell] == 3
    assert balance.value("take", x)[cell] > balance.A[cell]


def _least_unfilled(model, opts, extra=None):
    solver = make_solver(model.model, opts)
    st = model.stages()
    first = solve_lexicographic(solver, st[:1], model.start(), opts["stage_tolerance"], 0)
    fix_optimum(solver, st[0], st[0].cost, first.x, opts["stage_tolerance"])
    if extra is not None:
        extra.add_to(solver)
    solver.set_objective(st[1].cost)
    out = solver.solve()
    assert out.status == "optimal"
    return out.objective


@pytest.mark.parametrize("givers, takers", [(("A",), ("C", "D")), (("A", "C"), ("C", "D")), (("A",), ("C",)),
                                            ((), ()), (("C",), ("D",))])
def test_only_these_give_and_those_take_is_the_same_in_both_models(tmp_path, givers, takers):
    """The aggregate model with ``role_rows`` (only ``givers`` give, only ``takers`` take) and the
    full model on the pairs from ``givers`` to ``takers`` leave the same least unfilled opgave.
    With C working in R1 for A, C's own flex homes are not filled by those homes: when C may
    not give, D cannot do them."""
    case = _linked_case(tmp_path)
    regions = ("R1", "R2")
    roles = Roles(may_give=givers, may_take=takers)
    opts = {**case.scenario.solver.options(), "threads": 1}
    agg = build_region_model(case, regions, aggregate=True)
    full = build_region_model(case, regions, roles=roles, restrict=True)
    assert set(full.pairs["origin"]) <= set(givers) and set(full.pairs["executor"]) <= set(takers)
    assert _least_unfilled(agg, opts, role_rows(agg, roles)) == pytest.approx(_least_unfilled(full, opts), abs=1e-6)


def test_participants_of_linked_regions_give_a_plan_on_their_pairs(tmp_path):
    """The givers and takers of the participation bound, on two linked regions: the model on
    just their pairs has a plan within the unfilled limit."""
    case = _linked_case(tmp_path)
    regions = ("R1", "R2")
    agg, first, opts = _stages_1_2(case, regions)
    optimum = first.stages[1].objective
    limit = optimum + unfilled_slack(case.scenario, optimum)
    fix = _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"])
    roles = solidarity_roles(agg, fix, limit, opts)
    part = participants(agg, fix, limit, first.x, roles, opts, time_limit_s=10.0)
    assert part.givers and part.takers
    narrow = build_region_model(case, regions, roles=Roles(may_give=part.givers, may_take=part.takers), restrict=True)
    assert _least_unfilled(narrow, opts) <= limit + 1e-6
    assert len(narrow.pairs) >= part.bound
    assert np.isfinite(part.bound)


def _sparse_setting(case, regions):
    """The aggregate stages 1-2, the unfilled limit and its choice limit, the roles, the model
    of every pair and its efficiency solver, as dpm.efficiency.plan sets them up."""
    from dpm.efficiency import CHOICE_SHARE, efficiency_solver

    agg, first, opts = _stages_1_2(case, regions)
    optimum = first.stages[1].objective
    slack = unfilled_slack(case.scenario, optimum)
    limit = optimum + slack
    fix = _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"])
    roles = solidarity_roles(agg, fix, limit, opts)
    rm = build_region_model(case, regions, roles=roles)
    opts = {**opts, "time_limit_s": case.scenario.solver.efficiency_time_limit_s}
    return rm, lambda m, relaxed=False: efficiency_solver(m, agg, first.x, limit, opts, relaxed=relaxed), \
        opts, limit, optimum + CHOICE_SHARE * slack


@pytest.mark.parametrize("name", list(INSTANCES))
def test_sparse_plan_is_a_whole_homes_plan_within_the_limit(tmp_path, name):
    """The reweighted-LP plan (for regions too large for the relations MIP) is a point of the
    full model: every row, min_transfer included, whole totals, within the unfilled limit; and
    on these tiny cases it has the brute-force optimum's relations (never fewer: that would be
    a plan the model forbids)."""
    from dpm.efficiency import _fits, relations, sparse_plan

    case = instance(tmp_path, *INSTANCES[name])
    rm, solver_for, opts, limit, choice = _sparse_setting(case, ("R",))
    plan = sparse_plan(rm, solver_for, opts, choice)
    best = brute_force(case)
    if best["transfers"] == 0:  # nothing needs to move: the LP moves nothing either
        assert plan is None or relations(rm, plan) == 0
        return
    assert plan is not None
    assert _fits(rm, plan, limit)
    decided = rm.model.variables["decision"].ids
    assert np.allclose(plan[decided], np.round(plan[decided]))
    assert relations(rm, plan) == best["transfers"]


def test_the_reweighted_lps_relations_are_those_its_plan_is_made_on():
    """``sparse_relations``: the reweighted LP's relations, which the callers compare with a
    bound before whole homes are tried on them (the transfers stage's proof by the roles'
    bound, the participants' pairs after relations_bound's plan); on the default region the LP
    relates 3 pairs, and the plan made on them given (``used``) is the plan made without them."""
    from dpm.efficiency import relations, sparse_plan, sparse_relations
    from conftest import DEFAULT_CASE

    case = load_case(DEFAULT_CASE)
    rm, solver_for, opts, limit, choice = _sparse_setting(case, tuple(case.regions))
    used = sparse_relations(rm, solver_for, choice)
    assert used is not None and len(used) == 3
    plan = sparse_plan(rm, solver_for, opts, choice, used)
    assert plan is not None and relations(rm, plan) == 3
    assert set(np.flatnonzero(np.round(plan[rm.model.variables["transfer"].ids]) > 0.5)) <= set(used)
    assert np.array_equal(plan, sparse_plan(rm, solver_for, opts, choice))


@pytest.mark.parametrize("max_partners", [0, 1])
def test_sparse_plan_on_the_default_region_needs_no_more_than_twice_the_fewest_relations(max_partners):
    """On scenarios/voorbeeldregio (3 relations, proven by the full stage) the sparse plan is a
    whole-homes plan within the limit on at most twice as many relations; with
    ``max_partners = 1`` too (the LP relaxes that rule, so its relations are cut back to each
    origin's largest before whole homes are sought)."""
    from dpm.efficiency import _fits, relations, sparse_plan
    from conftest import DEFAULT_CASE

    case = load_case(DEFAULT_CASE, {"allocation": {"max_partners": max_partners}})
    rm, solver_for, opts, limit, choice = _sparse_setting(case, tuple(case.regions))
    plan = sparse_plan(rm, solver_for, opts, choice)
    assert plan is not None and _fits(rm, plan, limit)
    assert 3 <= relations(rm, plan) <= 6
    if max_partners:
        per_origin = rm.pairs[np.round(plan[rm.model.variables["transfer"].ids]) > 0.5].groupby("origin").size()
        assert per_origin.max() <= max_partners


def test_participants_that_narrow_nothing_are_searched_again_for_longer(monkeypatch):
    """Where the participation search stopped before it improved on its start (every
    corporation a giver and a taker, so no pair is left out), it runs once more with
    PARTICIPATION_RETRY_CHECKS of HiGHS's checks (and PARTICIPATION_RETRY_SHARE of the
    efficiency limit as its safety net), and the plan then runs only from its givers to its
    takers (measured: synthetic 50 got 237 relations without the retry, 47 with)."""
    import dpm.efficiency as efficiency
    from conftest import DEFAULT_CASE
    from dpm.regional import solve_component
    from dpm.solidarity import Participants

    monkeypatch.setattr(efficiency, "RELATIONS_BOUND_PAIRS", 0)  # the participants' path on the default region
    case = load_case(DEFAULT_CASE)
    everyone = tuple(case.corporations["corporation_id"])
    limits, found = [], []

    def stopped_early_at_first(*args, **kwargs):
        limits.append((args[6], args[8]))
        part = participants(*args, **kwargs)
        found.append(part)
        return Participants(part.bound, everyone, everyone) if len(limits) == 1 else part

    monkeypatch.setattr(efficiency, "participants", stopped_early_at_first)
    got = solve_component(case, tuple(case.regions))
    limit_s = case.scenario.solver.efficiency_time_limit_s
    assert limits == [(pytest.approx(efficiency.PARTICIPATION_SHARE * limit_s), efficiency.PARTICIPATION_CHECKS),
                      (pytest.approx(efficiency.PARTICIPATION_RETRY_SHARE * limit_s),
                       efficiency.PARTICIPATION_RETRY_CHECKS)]
    assert efficiency.PARTICIPATION_RETRY_CHECKS > efficiency.PARTICIPATION_CHECKS
    assert len(found[1].givers) + len(found[1].takers) < 2 * len(everyone)  # (the retry narrows)
    moved = got.allocation[got.allocation["origin"] != got.allocation["executor"]]
    assert len(moved) and set(moved["origin"]) <= set(found[1].givers)
    assert set(moved["executor"]) <= set(found[1].takers)


def test_whole_homes_on_chosen_relations_come_from_the_rounding_search_when_highs_finds_none(monkeypatch):
    """``_on_only``: the neighbourhood search of the LP optimum runs first, and HiGHS from its
    point; where HiGHS stops without a point and without proving that none exists (as on a
    slower machine: nieuwbouw x2 with max_partners = 1 spent its 2.5 s in root cuts, and the
    region fell back to the full model, 85 s), the search's point is the whole-homes plan on
    those relations, within the unfilled limit, with nothing proven."""
    from conftest import DEFAULT_CASE
    from dpm.efficiency import DIVE_NODES, _fits, _on_only
    from dpm.solvers.highs import HighsSolver, SolveResult

    case = load_case(DEFAULT_CASE)
    rm, solver_for, opts, limit, _ = _sparse_setting(case, tuple(case.regions))
    real, stopped = HighsSolver.solve, []

    def highs_finds_nothing(self):
        if self.h.getOptionValue("mip_max_nodes")[1] == DIVE_NODES:  # the MIP on the relations
            stopped.append(1)
            return SolveResult("time_limit", False, None, None, None, 2.5, None)
        return real(self)

    monkeypatch.setattr(HighsSolver, "solve", highs_finds_nothing)
    everything = np.arange(len(rm.pairs))
    plan, least = _on_only(rm, solver_for, opts, everything)
    assert stopped == [1]
    assert plan is not None and _fits(rm, plan, limit)
    decided = rm.model.variables["decision"].ids
    assert np.allclose(plan[decided], np.round(plan[decided]))
    assert least == -np.inf  # (nothing proven: no bound to report)


def test_the_participants_path_gives_the_same_plan_however_fast_the_machine(monkeypatch, tmp_path):
    """On the path of regions with more pairs than relations_bound takes (here nieuwbouw x2
    of the default region, made to take it), every search ends on a count (HiGHS's checks or
    nodes, an LP's end), not a clock: with every time limit ten times as long, as on a machine
    ten times as fast, the plan and the homes left unfilled are the same, and no solve of
    either run ended on a clock. (The participation search, relations_bound on its pairs, the
    totals that keep the roles and the MIPs on the relations tried used to end on clocks of
    1-2.5 s: on 22 of the 44 variants of benchmarks/variants.md a solve ended on one, so the
    plan depended on the machine; here the participation search ended on its 1 s clock, and
    now ends at its count, 12 checks, in about 0.7 s.)"""
    import pandas as pd

    import dpm.efficiency as efficiency
    from conftest import copy_default
    from dpm.regional import solve_component
    from dpm.solvers.highs import HighsSolver

    folder = copy_default(tmp_path)
    opgave = pd.read_csv(folder / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
    opgave.loc[opgave["type"] == "nieuwbouw", "homes"] *= 2
    opgave.to_csv(folder / "opgave.csv", index=False)
    case = load_case(folder)
    monkeypatch.setattr(efficiency, "RELATIONS_BOUND_PAIRS", 0)
    runs = []
    for faster in (1.0, 10.0):
        real_run = HighsSolver._run

        def run(self, real_run=real_run, faster=faster):
            limit, self.limit_s = self.limit_s, self.limit_s * faster
            try:
                real_run(self)
            finally:
                self.limit_s = limit

        monkeypatch.setattr(HighsSolver, "_run", run)
        runs.append(solve_component(case, tuple(case.regions)))
        monkeypatch.setattr(HighsSolver, "_run", real_run)
    first, second = runs
    assert first.clock_stops == [] and second.clock_stops == []
    for table in ("allocation", "shortfall"):
        assert getattr(first, table).equals(getattr(second, table)), table
    assert [(s.name, s.status, s.objective) for s in first.stages] == [(s.name, s.status, s.objective)
                                                                      for s in second.stages]


def test_a_plan_on_as_many_relations_as_the_roles_force_is_proven_without_the_relations_mip(monkeypatch):
    """The default region: three corporations must give (the roles' bound is 3), and the
    reweighted LP relates them over 3 relations; the whole-homes plan on those is the plan,
    proven optimal by the roles' bound alone, so relations_bound's MIP never runs. The MIP,
    where it runs, proves no fewer: the same count, and the same homes unfilled."""
    import dpm.efficiency as efficiency
    from conftest import DEFAULT_CASE
    from dpm.regional import solve_component

    case = load_case(DEFAULT_CASE)
    called = []
    real_bound = efficiency.relations_bound

    def bound_noted(*args, **kwargs):
        called.append(1)
        return real_bound(*args, **kwargs)

    monkeypatch.setattr(efficiency, "relations_bound", bound_noted)
    shortcut = solve_component(case, tuple(case.regions))
    assert called == []
    transfers = next(s for s in shortcut.stages if s.name == "transfers")
    assert transfers.status == "optimal" and transfers.objective == transfers.bound == 3
    moved = shortcut.allocation[shortcut.allocation["origin"] != shortcut.allocation["executor"]]
    assert len(moved.groupby(["origin", "executor"])) == 3

    monkeypatch.setattr(efficiency, "sparse_relations", lambda *a, **k: None)  # (the shortcut declined)
    mip = solve_component(case, tuple(case.regions))
    assert called == [1]
    assert next(s for s in mip.stages if s.name == "transfers").objective == 3
    assert mip.objectives["unfilled_homes"] == shortcut.objectives["unfilled_homes"]


def test_the_participants_pairs_need_no_search_for_totals_that_keep_the_roles(monkeypatch):
    """On the participants' path (the default region, made to take it), the plan comes from
    the participants' pairs, compared with every pair: the totals that keep the roles, a
    search that ended on its safety-net clock on the linked benchmark region, are never
    searched (they serve only the roles' model, which this plan does not use)."""
    import dpm.efficiency as efficiency
    from conftest import DEFAULT_CASE
    from dpm.regional import solve_component

    monkeypatch.setattr(efficiency, "RELATIONS_BOUND_PAIRS", 0)
    searched = []
    real = efficiency.role_totals
    monkeypatch.setattr(efficiency, "role_totals", lambda *a, **k: searched.append(1) or real(*a, **k))
    case = load_case(DEFAULT_CASE)
    got = solve_component(case, tuple(case.regions))
    assert searched == []
    moved = got.allocation[got.allocation["origin"] != got.allocation["executor"]]
    optimum = next(s for s in got.stages if s.name == "unfilled").objective
    assert len(moved) and got.objectives["unfilled_homes"] <= optimum + unfilled_slack(case.scenario, optimum)


@pytest.mark.parametrize("variant", ["default", "rent"])
def test_roles_skip_only_probes_a_point_within_the_limit_answers(monkeypatch, variant):
    """The roles' LPs are skipped for corporations that give nothing, or take nothing, at the
    LP point of the fewest homes moved within the limit (a point where they need not: no probe
    could find them must-give or must-take): the same roles as probing every corporation, with
    fewer LPs (the default region and its variant at 1.5 % rent growth)."""
    import dpm.solidarity as solidarity
    from conftest import DEFAULT_CASE

    case = load_case(DEFAULT_CASE, {"economy": {"rent_growth": 0.015}} if variant == "rent" else None)
    regions = tuple(case.corporations["region"].unique())
    agg, first, opts = _stages_1_2(case, regions)
    optimum = first.stages[1].objective
    limit = optimum + unfilled_slack(case.scenario, optimum)
    fix = _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"])
    probes = []
    exceeds = solidarity._exceeds
    monkeypatch.setattr(solidarity, "_exceeds", lambda *a: probes.append(1) or exceeds(*a))
    skipped = solidarity_roles(agg, fix, limit, opts)
    with_skips = len(probes)
    witness = solidarity._fewest_moves_witness(agg, fix, own_balance(agg), limit, opts)
    monkeypatch.setattr(solidarity, "_fewest_moves_witness", lambda *a: {"take": set(), "give": set()})
    probes.clear()
    every = solidarity_roles(agg, fix, limit, opts)
    assert (skipped.must_give, skipped.must_take, skipped.take_from) == (every.must_give, every.must_take,
                                                                         every.take_from)
    assert witness["take"] or witness["give"]  # (it answers for someone) ...
    assert with_skips < len(probes)  # ... so fewer LPs
