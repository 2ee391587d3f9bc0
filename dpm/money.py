"""Money (MODEL.md 6): the projectsteun requirement of a region, and its curve.

``steun_requirement``: the least money, discounted at the scenario's discount-rate path, that
paid into the corporations' cash flow per year lets the whole opgave be filled with every
limit met in every year (no unfilled home, no continuity gap). ``steun_curve``: for budgets
from nothing to that requirement, the fewest unfilled homes each budget allows.

Both use the component's aggregate model (the optimum of stages 1-2 does not depend on the task
split; regions linked by a werkgebied with the homes each executor completes per region) with
``steun_in`` free.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dpm.model.allocation import MONEY_SCALE, RegionModel, build_region_model
from dpm.model.case import Case
from dpm.model.formulation import steun_budget
from dpm.model.scenario import TYPES, Scenario
from dpm.solvers.backends import make_solver
from dpm.solvers.highs import HighsSolver
from dpm.solvers.lexicographic import Stage, StageReport, solve_lexicographic

CURVE_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def discount_factors(sc: Scenario) -> np.ndarray:
    """Present value of EUR 1 paid in projection year t = 1..H: prod 1 / (1 + r(tau)), tau <= t,
    with r the scenario's money discount rate (``money.discount``: the funding rate by default)."""
    return np.cumprod(1.0 / (1.0 + sc.money_discount_path()))


@dataclass
class SteunResult:
    regions: tuple[str, ...]
    steun: pd.DataFrame  # corporation_id, name, region, year, steun_eur, discount_factor, discounted_eur
    curve: pd.DataFrame  # budget_share, budget_discounted_eur, unfilled_homes (+ per type), continuity_gap_eur
    stages: list[StageReport]
    seconds: float
    residual: dict = field(default_factory=dict)  # what the money cannot close (see residual())
    free_timing_discounted_eur: float | None = None  # the requirement with money free in time (timing = projects only)

    @property
    def total_discounted_eur(self) -> float:
        return float(self.steun["discounted_eur"].sum())


def _model(case: Case, regions: tuple[str, ...]) -> RegionModel:
    """The aggregate model of a component, with money (measured: two regions linked by a
    werkgebied, benchmarks' ``linked``: the requirement and its curve took 215 s on the full
    model)."""
    return build_region_model(case, regions, aggregate=True, steun=True)


def _solver(rm: RegionModel) -> HighsSolver:
    """A fresh HiGHS instance of ``rm`` where money only comes in (a region's own requirement)."""
    solver = make_solver(rm.model, rm.case.scenario.solver.options())
    out = rm.model.variables["steun_out"].ids
    solver.fix_columns(out, np.zeros(len(out)))
    return solver


def discounted_cost(rm: RegionModel, blocks: tuple[str, ...] = ("steun_in",), sign: float = 1.0) -> np.ndarray:
    """Objective: the discounted money of ``blocks`` (EUR mln per unit), times ``sign``."""
    df = discount_factors(rm.case.scenario)
    cost = np.zeros(rm.model.n_cols)
    for name in blocks:
        block = rm.model.variables[name]
        cost[block.ids] = sign * np.tile(df, len(block) // len(df))
    return cost


def steun_requirement(case: Case, regions: tuple[str, ...]) -> tuple[pd.DataFrame, list[StageReport], RegionModel,
                                                                    np.ndarray]:
    """The least discounted money that fills the whole opgave with every limit met.

    Lexicographic: least continuity gap, fewest unfilled homes, then least discounted money.
    With money free in time (``money.timing = "free"``) the first two are always 0: money
    paid early closes any gap. When money follows the projects (the default) a gap that no
    project's money can close, e.g. a corporation that breaks a limit with no opgave at all,
    is left and reported (:func:`residual`)."""
    rm = _model(case, regions)
    solver = _solver(rm)
    opts = case.scenario.solver.options()
    stages = [*rm.stages()[:2], Stage("steun", discounted_cost(rm), scale=MONEY_SCALE)]
    result = solve_lexicographic(solver, stages, rm.start(), opts["stage_tolerance"], opts["homes_gap"])
    lm = rm.model
    block = lm.variables["steun_in"]
    given = lm.col_lower[block.ids]
    extra = np.ceil(np.maximum(result.x[block.ids] - given, 0.0) * MONEY_SCALE - 1e-6)  # whole EUR, rounded up
    df = discount_factors(case.scenario)
    table = block.index.to_frame(index=False).assign(steun_eur=extra)
    table["discount_factor"] = np.tile(df, len(table) // len(df))
    table["discounted_eur"] = table["steun_eur"] * table["discount_factor"]
    corps = case.corporations
    table.insert(1, "name", table["corporation_id"].map(corps["name"]))
    table.insert(2, "region", table["corporation_id"].map(corps["region"]))
    table = table[table["steun_eur"] > 0].reset_index(drop=True)
    return table, result.stages, rm, lm.solution(result.x).x


def residual(stages: list[StageReport]) -> dict:
    """What the requirement's money cannot close (its first two stages): continuity gap in
    EUR and unfilled homes; both 0 unless money is tied to projects that cannot absorb it."""
    return {"continuity_gap_eur": round(float(stages[0].objective or 0.0), 2),
            "unfilled_homes": int(round(stages[1].objective or 0.0))}


def steun_curve(case: Case, regions: tuple[str, ...], requirement_discounted_eur: float,
                shares=CURVE_SHARES, requirement_x: np.ndarray | None = None) -> tuple[pd.DataFrame, list[StageReport]]:
    """Fewest unfilled homes for each budget share x the requirement (discounted EUR). The
    budgets go up, each solve starting from the plan of the budget below (it spends no more,
    so it fits): more money never leaves more unfilled, whatever a time limit or tolerance
    stop leaves open. A budget of the whole requirement starts from ``requirement_x`` (the
    requirement's own plan, a point of the same model), so it reports the opgave filled."""
    rows, reports = [], []
    opts = case.scenario.solver.options()
    rm = _model(case, regions)
    cost = discounted_cost(rm)
    start = rm.start()
    for share in sorted(shares):
        if share >= 1.0 and requirement_x is not None:
            start = requirement_x
        solver = _solver(rm)  # fresh per budget: each solve adds its stages' rows
        budget = share * requirement_discounted_eur / MONEY_SCALE
        steun_budget(cost, budget).add_to(solver)  # discounted EUR mln
        result = solve_lexicographic(solver, rm.stages()[:2], start, opts["stage_tolerance"], opts["homes_gap"])
        reports += [StageReport(f"{s.name} (budget {share:.0%})", s.status, s.objective, s.bound, s.mip_gap,
                                s.seconds) for s in result.stages]
        u = rm.model.variables["unfilled"].series(result.x).round().astype(int)
        by_type = u.groupby(level="type").sum().reindex(list(TYPES), fill_value=0)
        rows.append({"budget_share": share, "budget_discounted_eur": share * requirement_discounted_eur,
                     "unfilled_homes": int(u.sum()), **{f"unfilled_{k}": int(by_type[k]) for k in TYPES},
                     "continuity_gap_eur": float(result.stages[0].objective)})
        start = result.x
    return pd.DataFrame(rows), reports


class Projectsteun(list):
    """The projectsteun of every component of a case (a list of :class:`SteunResult`), with
    its tables, ``summary.json`` and :meth:`to_folder`."""

    def __init__(self, case: Case, results: list[SteunResult], seconds: float):
        super().__init__(results)
        self.case = case
        self.seconds = seconds

    def tables(self) -> dict[str, pd.DataFrame]:
        frames = [r.steun for r in self if len(r.steun)]
        curves = [r.curve.assign(region=" + ".join(r.regions)) for r in self if len(r.curve)]
        return {"steun.csv": pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
                "steun_curve.csv": pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()}

    def summary(self) -> dict:
        from dpm.results import versions

        sc = self.case.scenario
        return {"case": self.case.name, "seconds": round(self.seconds, 3),
                "regions": [{"regions": list(r.regions), "steun_discounted_eur": round(r.total_discounted_eur, 2),
                             "steun_nominal_eur": float(r.steun["steun_eur"].sum()),
                             "steun_discounted_eur_if_timing_free": r.free_timing_discounted_eur,
                             "not_closed_by_money": r.residual,
                             "stages": [s.as_dict() for s in r.stages]} for r in self],
                "money": sc.raw["money"],
                "units": {"steun_eur": "EUR nominal, paid in that year", "discounted_eur": f"EUR of {sc.base_year}"},
                "versions": versions(), "scenario": sc.raw}

    def to_folder(self, out, force: bool = False, on_done=None):
        """Write steun.csv, steun_curve.csv and summary.json into ``out``, whole or not at all,
        under the output rules of :mod:`dpm.outputs`."""
        from pathlib import Path

        from dpm.outputs import check_out
        from dpm.results import json_file, table_files, write_folder

        check_out(Path(out), [self.case.path], force)
        files = {**table_files(self.tables()), "summary.json": json_file(self.summary())}
        return write_folder(Path(out), files, force, on_done=on_done)


def projectsteun(case: Case, with_curve: bool = True) -> Projectsteun:
    """The projectsteun requirement and curve of every component (region) of ``case``."""
    from dpm.model.allocation import components

    clock = time.perf_counter()
    out = []
    free = case.with_setting("money", "timing", "free") if case.scenario.money.timing != "free" else None
    for regions in components(case):
        start = time.perf_counter()
        table, stages, _, x = steun_requirement(case, regions)
        total = float(table["discounted_eur"].sum())
        curve, more = (steun_curve(case, regions, total, requirement_x=x) if with_curve and total > 0
                       else (pd.DataFrame(), []))
        free_total = None
        if free is not None:  # what tying money to projects costs, in EUR
            free_table, free_stages, _, _ = steun_requirement(free, regions)
            free_total = float(free_table["discounted_eur"].sum())
            more += [dataclasses.replace(s, name=f"{s.name} (timing free)") for s in free_stages]
        out.append(SteunResult(regions, table, curve, stages + more, time.perf_counter() - start,
                               residual(stages), free_total))
    return Projectsteun(case, out, time.perf_counter() - clock)
