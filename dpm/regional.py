"""A regional run: build and solve each component's MIP, read back the tables of MODEL.md 7.

This module computes; ``dpm.results`` writes. Nothing here touches the disk.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from dpm.model.allocation import RegionModel, build_region_model, components
from dpm.explain import diagnose, limit_table, shadow_prices
from dpm.model.case import Case
from dpm.model.projection import LIMITS
from dpm.model.room import investment_room
from dpm.model.scenario import TRADEABLE, TYPES
from dpm.solvers.backends import make_solver
from dpm.solvers.highs import ADVICE, noting_clock_stops
from dpm.solvers.lexicographic import NoSolution, StageReport, keeps_optimum, solve_lexicographic


@dataclass
class ComponentResult:
    """The solved allocation of one component (usually one region)."""

    regions: tuple[str, ...]
    stages: list[StageReport]
    size: dict
    build_seconds: float
    projection: pd.DataFrame
    allocation: pd.DataFrame
    shortfall: pd.DataFrame
    transfers: int
    warnings: list[str] = field(default_factory=list)
    explanation: pd.DataFrame | None = None  # per corporation, year and limit (dpm.explain)
    diagnosis: pd.DataFrame | None = None  # per region, type and possible taker of unfilled homes
    tradeoff: pd.DataFrame | None = None  # fewest relations per unfilled tolerance (dpm.efficiency.tradeoff_curve)
    tradeoff_seconds: float | None = None  # the wall time of the curve's extra points (its own point is the run's)
    # the solves a clock ended (a time limit, a stall), by stage or by the search that asked for each
    # (dpm.solvers.highs.clock_stops): where empty, the same case gives the same files however fast the machine
    clock_stops: list[str] = field(default_factory=list)

    @property
    def objectives(self) -> dict:
        moved = self.allocation.loc[self.allocation["origin"] != self.allocation["executor"], "homes"]
        return {
            "continuity_gap_eur": round(float(self.projection["continuity_gap_eur"].sum()), 2),
            "unfilled_homes": int(self.shortfall["homes"].sum()),
            "unfilled_homes_by_type": {k: int(self.shortfall.loc[self.shortfall["type"] == k, "homes"].sum())
                                       for k in TYPES},
            "transfers": self.transfers,
            "homes_moved": int(moved.sum()),
        }


@dataclass
class RunResult:
    case: Case
    components: list[ComponentResult] = field(default_factory=list)
    seconds: float = 0.0
    room: pd.DataFrame | None = None  # investment room per corporation and type (dpm.model.room)

    def table(self, name: str) -> pd.DataFrame:
        return pd.concat([getattr(c, name) for c in self.components], ignore_index=True)

    def to_folder(self, out, force: bool = False, report: bool = False, on_done=None):
        """Write the run's files (README "What a run writes") into ``out``, whole or not at
        all, under the output rules of :mod:`dpm.outputs`; ``report``: also report.xlsx and
        report.html."""
        from pathlib import Path

        from dpm.outputs import check_out
        from dpm.results import write_results

        check_out(Path(out), [self.case.path], force)
        extra = None
        if report:
            from dpm.report import report_writers

            extra = report_writers()
        return write_results(self, Path(out), force=force, on_done=on_done, extra=extra)

    @property
    def clock_stops(self) -> dict[str, int]:
        """How many solves of the run a clock ended, by what they were (:func:`count_stops`)."""
        return count_stops(name for c in self.components for name in c.clock_stops)

    @property
    def warnings(self) -> list[str]:
        """Every warning of the run, each once: norms broken before any opgave, stages that
        did not end optimal (with what to do about it)."""
        out = list(self.case.warnings)
        for c in self.components:
            out += c.warnings
            for s in c.stages:
                if s.status not in ("optimal", "within_tolerance"):  # a tolerance stop is what was asked for
                    gap = f", MIP gap {s.mip_gap:.2%}" if s.mip_gap is not None else ""
                    advice = stage_advice(s.name, s.status)
                    meaning = STOP_MEANING.get(s.name)
                    out.append(f"{' + '.join(c.regions)}: stage '{s.name}' stopped with status {s.status}{gap}; "
                               "the best solution found is reported" + (f": {meaning}" if meaning else "")
                               + (f" ({advice})" if advice else ""))
        return list(dict.fromkeys(out))


def count_stops(names) -> dict[str, int]:
    """How many solves a clock ended (a time limit, a stall; dpm.solvers.highs.clock_stops), by
    what they were: a stage (``stage NAME``), else the search that asked for them."""
    return dict(sorted(Counter(names).items()))


def clock_summary(stops: dict[str, int]) -> dict:
    """summary.json's ``clock``: the solves a clock ended (:func:`count_stops`), whether none did
    (then a repeat gives the same result tables), and what that means, in one sentence."""
    if not stops:
        note = ("no solve was ended by a clock: the same case gives byte-identical result tables however fast "
                "the machine (with the same versions of dpm, HiGHS and Python)")
    else:
        where = ", ".join(f"{name} {n}" for name, n in stops.items())
        note = (f"{sum(stops.values())} solve(s) ended at a time limit or stalled ({where}); each kept the best "
                "point found by then, so a repeat, or a run on another machine, can give a different result, "
                "labelled the same way (raise the [solver] time limits, or accept it)")
    return {"stops": stops, "repeatable": not stops, "note": note}


# what a user can do about a stage that ended at its work limit (counts: the same plan on any machine)
WORK_LIMIT_ADVICE = {
    "unfilled_timing": "the tie-break runs on the plan's own relations (raise [solver] tiebreak_checks for more of "
                       "it); another set of as many relations may leave homes unfilled later, and the bound (over "
                       "every plan that leaves no more homes unfilled, homes continuous) may be below what any "
                       "plan can reach: accept the reported gap",
    "homes_moved": "the stage finds the fewest homes moved on the plan's own relations; another set of as many "
                   "relations may move fewer, and the bound (over every plan that leaves no more homes unfilled, "
                   "homes continuous) may be below what any plan can reach: accept the reported gap",
    "transfers": "its searches for fewer relations ended at their node limits, not on a clock, so more time would "
                 "not change the plan; allow more homes unfilled for fewer relations ([allocation] "
                 "unfilled_tolerance; dpm run --tradeoff shows what each step buys), or accept the reported gap",
}
# the setting that holds each stage's time limit (the rest: solver.time_limit_s)
TIME_LIMIT_SETTING = {"unfilled_timing": "tiebreak_time_limit_s", "transfers": "efficiency_time_limit_s",
                      "unfilled_on_relations": "efficiency_time_limit_s", "homes_moved": "tiebreak_time_limit_s",
                      "efficiency": "efficiency_time_limit_s"}


# what a stop short of the optimum means for the reader of the plan, per stage
STOP_MEANING = {
    "unfilled_timing": "some unfilled homes may fall in earlier years than they must, so a 'from year X' "
                       "in the explanation may name a year too early",
    "transfers": "the plan may use more transfer relations than needed",
    "homes_moved": "the plan may move more homes between corporations than needed",
}


def stage_advice(stage: str, status: str) -> str | None:
    """What a user can do about ``stage`` ending with ``status``: a time or work limit names
    the setting that holds that stage's limit."""
    if status == "time_limit":
        return f"raise [solver] {TIME_LIMIT_SETTING.get(stage, 'time_limit_s')}, or accept the reported MIP gap"
    if status == "work_limit":
        return WORK_LIMIT_ADVICE.get(stage, ADVICE["work_limit"])
    return ADVICE.get(status)


def _describe(limit: str, row) -> str:
    if limit == "icr":
        return f"ICR {row.icr:.2f} < {row.icr_min:.2f}"
    if limit == "ltv":
        return f"LTV {row.ltv:.1%} > {row.ltv_max:.1%}"
    if limit == "solvency":
        return f"solvency {row.solvency:.1%} < {row.solvency_min:.1%}"
    return f"guaranteed debt EUR {row.guaranteed_debt_eur / 1e6:,.0f} mln > EUR {row.guarantee_cap_eur / 1e6:,.0f} mln"


def baseline_warnings(rm: RegionModel) -> list[str]:
    """Corporations that break a norm in the first projection year with no opgave taken on:
    their excess shows as continuity gap whatever the allocation does."""
    base = rm.projection.evaluate(np.zeros((len(rm.projection.ids), rm.projection.layout.slots)))
    first = base[base["year"] == base["year"].min()]
    names = rm.case.corporations["name"]
    out = []
    for row in first.itertuples(index=False):
        broken = [_describe(lim, row) for lim in LIMITS if getattr(row, f"{lim}_gap_eur") > 0]
        if broken:
            out.append(f"{row.corporation_id} ({names[row.corporation_id]}) already breaks its norms in {row.year} "
                       f"before any opgave: {'; '.join(broken)}; this shows as continuity gap")
    return out


def _read_back(rm: RegionModel, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Projection, allocation and shortfall tables of a solution (homes rounded to whole homes)."""
    sol = rm.model.solution(x)
    region_of = rm.case.corporations["region"]
    projection = rm.evaluate(x)

    u = np.round(sol.values["unfilled"].to_numpy()).astype(int)
    w = np.round(sol.values["execute"].to_numpy()).astype(int)
    allocation = rm.moves[["origin", "executor", "type", "year"]].assign(homes=w)
    tasks = rm.tasks.assign(homes_done=rm.tasks["homes"] - u)
    done_by_owner = tasks.loc[tasks["type"] == "verduurzaming", ["origin", "type", "year", "homes_done"]]
    allocation = pd.concat([allocation, done_by_owner.assign(executor=done_by_owner["origin"])
                            .rename(columns={"homes_done": "homes"})[allocation.columns]], ignore_index=True)
    allocation = allocation[allocation["homes"] > 0]
    allocation.insert(0, "region", allocation["origin"].map(region_of))

    shortfall = shortfall_table(rm, u)
    transfers = int(np.round(sol.values["transfer"].to_numpy()).sum())
    order = ["region", "origin", "type", "year"]
    return (projection, allocation.sort_values(order + ["executor"]).reset_index(drop=True),
            shortfall.sort_values(order).reset_index(drop=True), transfers)


def shortfall_table(rm: RegionModel, u: np.ndarray) -> pd.DataFrame:
    """shortfall.csv rows of whole unfilled homes ``u`` per task: homes and their value in EUR
    (the investment they would have needed, at that year's construction-cost index)."""
    sc = rm.case.scenario
    shortfall = rm.tasks[["origin", "type", "year"]].assign(homes=u)
    shortfall = shortfall[shortfall["homes"] > 0].copy()
    shortfall.insert(0, "region", shortfall["origin"].map(rm.case.corporations["region"]))
    unit = {k: sc.types[k].investment_per_home_eur for k in TRADEABLE}
    unit["verduurzaming"] = sc.costs.verduurzaming_per_home_eur
    g_B = pd.Series(sc.index("construction_inflation"), index=sc.years)
    value = shortfall["homes"] * shortfall["type"].map(unit) * shortfall["year"].map(g_B)
    shortfall["value_eur"] = value.astype(float).round(2)
    return shortfall.sort_values(["region", "origin", "type", "year"]).reset_index(drop=True)


@noting_clock_stops()
def solve_component(case: Case, regions: tuple[str, ...], verbose: bool = False,
                    on_stage: Callable[[str], None] | None = None, tradeoff: bool = False,
                    workers: int | None = 1) -> ComponentResult:
    """Solve one component lexicographically (MODEL.md 5), noting every solve that a clock
    ended (``ComponentResult.clock_stops``, :func:`dpm.solvers.highs.noting_clock_stops`).

    Stages 1-2 on the small aggregate model (no task split; regions linked by a werkgebied
    with the homes each executor completes per region), then the efficiency stages on the
    pairs that can matter (:mod:`dpm.efficiency`), whose plan is netted by construction. In the
    rare case that ``min_transfer`` or ``max_partners`` rule out every plan near the aggregate
    optimum, stages 1-2 are solved on the full model and the efficiency stages run from its
    optimum (and if they find no plan there, the rest on the full model too, each efficiency
    stage at its own time limit), the plan netted the same way.
    ``tradeoff``: also the curve of fewest relations against the unfilled tolerance
    (``ComponentResult.tradeoff``), its extra points on a pool of ``workers`` processes
    (None: the machine's cores; 1: one after the other here; :func:`dpm.efficiency.tradeoff_curve`).
    """
    from dpm.efficiency import final_relations, plan, relations, tradeoff_curve, unfilled_slack, used_pairs
    from dpm.solidarity import transport_split

    opts = case.scenario.solver.options()
    tol, homes_gap = opts["stage_tolerance"], opts["homes_gap"]
    start = time.perf_counter()
    extra_warnings: list[str] = []
    curve = curve_seconds = None
    p = None
    agg = build_region_model(case, regions, aggregate=True)
    build_seconds = time.perf_counter() - start
    # stages 1-2; the timing tie-break comes once the relations are chosen (dpm.efficiency.plan)
    first = solve_lexicographic(make_solver(agg.model, opts, verbose), agg.stages()[:2], agg.start(), tol, homes_gap,
                                on_stage)
    optimum = first.stages[1].objective
    try:
        p = plan(case, regions, agg, first.x, optimum, unfilled_slack(case.scenario, optimum), verbose, on_stage)
    except NoSolution:  # no plan near the aggregate optimum that keeps min_transfer and max_partners was found
        pass
    else:
        rm, x, stages = p.rm, p.x, first.stages + p.stages
        extra_warnings += p.warnings
        if tradeoff:
            clock = time.perf_counter()
            curve = tradeoff_curve(case, regions, agg, first.x, optimum, p, verbose, workers)
            curve_seconds = time.perf_counter() - clock
            # (a looser point's bound bounds the run's own plan too: dpm.efficiency.never_rising)
            if "relations_bound" in curve:
                own = curve.loc[curve["run_tolerance"].eq(True), "relations_bound"].dropna()
                stages = final_relations(stages, relations(rm, x), float(own.iloc[0])) if len(own) else stages
    if p is None:  # stages 1-2 on the full model (it knows min_transfer and max_partners), then as above
        clock = time.perf_counter()
        rm = build_region_model(case, regions)
        build_seconds += time.perf_counter() - clock
        solver = make_solver(rm.model, opts, verbose=verbose)
        full = rm.stages()
        head = solve_lexicographic(solver, full[:1], rm.start(), tol, homes_gap, on_stage)
        # stage 2 from a plan that keeps every rule, where it keeps stage 1 as solved (a start
        # from which stage 1 itself would end nearer its bound leaves stage 2 less room than
        # the aggregate path gives other regions: measured, 83 more homes unfilled on Regio 30)
        start = rule_start(case, regions, agg, first.x, optimum, rm)
        if start is None or not keeps_optimum(full[0], full[0].cost, head.x, start, tol):
            start = head.x
        second = solve_lexicographic(solver, full[1:2], start, tol, homes_gap, on_stage)
        head.stages += second.stages
        head.x = second.x
        full_optimum = head.stages[1].objective
        extra_warnings.append(_fallback_warning(regions, case.scenario.policy_calendar_years, optimum, head.stages[1]))
        try:
            if full_optimum <= optimum + 0.5:  # the same limit as the search that just failed: it would again
                raise NoSolution("the efficiency search found no plan within the unfilled limit")
            p = plan(case, regions, agg, first.x, full_optimum, unfilled_slack(case.scenario, full_optimum), verbose,
                     on_stage)
        except NoSolution:  # no plan within the full model's own optimum found by the efficiency search
            efficiency_s = case.scenario.solver.efficiency_time_limit_s
            for stage in full[3:]:  # the efficiency stages: their own time limit
                stage.time_limit_s = efficiency_s if stage.time_limit_s is None else stage.time_limit_s
            result = solve_lexicographic(solver, full[2:], head.x, tol, homes_gap, on_stage)
            stages = head.stages + result.stages
            x = rm.model.solution(result.x).x
            # the split on the plan's own relations: never more of them, and within max_partners
            x = transport_split(rm, x, {**opts, "time_limit_s": efficiency_s}, pairs=used_pairs(rm, x)).point(rm)
            stages = final_relations(stages, relations(rm, x))
        else:
            rm, x, stages = p.rm, p.x, head.stages + p.stages
            extra_warnings += p.warnings
    projection, allocation, shortfall, transfers = _read_back(rm, x)
    warnings = baseline_warnings(rm) + extra_warnings
    size = {**rm.model.size(), "coefficient_range": list(rm.model.ranges()["matrix"])}
    prices, price_warning = shadow_prices(rm, x, opts)
    warnings += [price_warning] if price_warning else []
    explanation = limit_table(projection, prices)
    diagnosis = diagnose(rm, shortfall, explanation)
    out = ComponentResult(regions, stages, size, build_seconds, projection, allocation, shortfall,
                          transfers, warnings, explanation, diagnosis)
    out.tradeoff, out.tradeoff_seconds = curve, curve_seconds
    return out


def _fallback_warning(regions: tuple[str, ...], years, optimum: float, full: StageReport) -> str:
    """Why a component's unfilled opgave was solved on the full model, and what that says, from
    the full model's unfilled stage ``full`` against the aggregate optimum: the rules cost homes
    (its bound is above that optimum), they may (only its plan is), or they did not and only the
    search for a plan near that optimum found none in its time (measured: synthetic 20 at ICR
    1.6, every home done in both models, was told the rules ruled the aggregate plan out)."""
    name, found = " + ".join(regions), full.objective
    homes = f"(weighted) homes unfilled over {years[0]}-{years[-1]}"
    head = f"{name}: no plan that keeps min_transfer and max_partners was found near the aggregate optimum"
    if full.bound is not None and full.bound > optimum + 0.5:
        return (f"{name}: min_transfer or max_partners rule out the allocation of the aggregate model: the full "
                f"model, which keeps them, leaves at least {np.ceil(full.bound - 1e-6):,.0f} {homes} "
                f"(its plan {found:,.0f}) where the aggregate model leaves {optimum:,.0f}")
    if found > optimum + 0.5:
        bound = "no bound" if full.bound is None else f"its bound {full.bound:,.1f}"
        return (f"{head}; the full model, which keeps them, found a plan that leaves {found:,.0f} {homes} "
                f"where the aggregate model leaves {optimum:,.0f}, and did not prove that the rules cost "
                f"the difference ({bound})")
    return (f"{head} in the efficiency search's time; stages 1-2 were solved again on the full model, which keeps "
            f"them and leaves {found:,.0f} {homes}, as the aggregate model; the efficiency stages "
            f"ran on it")


# rule_start: the wider unfilled limits tried, as shares of the aggregate optimum
RULE_START_SHARES = (0.02, 0.1, 0.5)


def rule_start(case: Case, regions: tuple[str, ...], agg: RegionModel, x_agg: np.ndarray, optimum: float,
               rm: RegionModel) -> np.ndarray | None:
    """A start for the full model's unfilled stage when ``min_transfer`` or ``max_partners`` rule
    out every plan near the aggregate optimum: the efficiency search (fewest relations, the
    least unfilled opgave on them) within a wider limit, the first of
    :data:`RULE_START_SHARES` that has a plan, carried over to ``rm`` (None: none found, the
    full model starts from nothing done). Measured on a synthetic national region of 10
    corporations with ``max_partners = 1`` (Regio 27): from nothing done, the full model's
    unfilled stage stopped at its 20 s limit at 1,769 homes (bound 1,479); the search at +2 %
    has a plan of 1,506 in 8 s."""
    from dpm.efficiency import carry, plan, unfilled_slack

    tried = unfilled_slack(case.scenario, optimum)  # the limit of the search that found no plan
    for share in RULE_START_SHARES:
        if share * optimum <= tried:  # (no wider: it would fail the same way; e.g. every share of an optimum of 0)
            continue
        try:
            p = plan(case, regions, agg, x_agg, optimum, share * optimum, stages_wanted="transfers")
        except NoSolution:
            continue
        return carry(rm, p.rm, p.x)
    return None


def run_case(case: Case, verbose: bool = False,
             progress: Callable[[int, int, tuple[str, ...], str | None], None] | None = None,
             tradeoff: bool = False, workers: int | None = 1) -> RunResult:
    """Solve every component of ``case`` (regions linked by werkgebied are solved together).
    ``progress(i, n, regions, stage)`` is called as each stage of component i of n starts;
    ``tradeoff``: also each region's curve of relations against the unfilled tolerance.
    ``workers``: components solved at once, each in a process of its own (None: the machine's
    cores); the same results as one by one (every solve is single-threaded by default), and
    ``progress(done, n, regions, None)`` as each component is done. 1 (the default), or
    ``verbose`` (HiGHS logs would interleave): one by one in this process. A case of one
    component solves its trade-off curve's extra points on a pool of ``workers`` (unless 1)."""
    start = time.perf_counter()
    run = RunResult(case)
    parts = components(case)
    if len(parts) > 1 and workers != 1 and not verbose:
        from dpm.engines import map_local

        def report(done: int, total: int, regions: tuple[str, ...]) -> None:
            if progress is not None:
                progress(done, total, regions, None)
        run.components = map_local([(case, regions, False, None, tradeoff) for regions in parts], report, workers,
                                   solve_component)
    else:
        for i, regions in enumerate(parts, start=1):
            on_stage = None if progress is None else (lambda name, i=i, r=regions: progress(i, len(parts), r, name))
            run.components.append(solve_component(case, regions, verbose, on_stage, tradeoff, workers))
    run.room = investment_room(case)
    run.seconds = time.perf_counter() - start
    return run
