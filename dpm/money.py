"""Money (MODEL.md 6): the projectsteun requirement of a region, and its curve.

``steun_requirement``: the least money, discounted at the scenario's discount-rate path, that
paid into the corporations' cash flow per year lets the whole opgave be filled with every
limit met in every year (no unfilled home, no continuity gap). ``steun_curve``: for budgets
from nothing to that requirement, the fewest unfilled homes each budget allows.

Both use the region's aggregate model (the optimum of stages 1-2 does not depend on the task
split) with ``steun_in`` free; a component of several regions (werkgebied) takes the full model.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dpm.model.allocation import MONEY_SCALE, RegionModel, build_region_model
from dpm.model.case import Case
from dpm.model.scenario import TYPES, Scenario
from dpm.solvers.highs import HighsSolver
from dpm.solvers.lexicographic import Stage, StageReport, solve_lexicographic

CURVE_SHARES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def discount_factors(sc: Scenario) -> np.ndarray:
    """Present value of EUR 1 paid in projection year t = 1..H: prod 1 / (1 + dr(tau)), tau <= t."""
    return np.cumprod(1.0 / (1.0 + sc.discount_path()))


@dataclass
class SteunResult:
    regions: tuple[str, ...]
    steun: pd.DataFrame  # corporation_id, name, region, year, steun_eur, discount_factor, discounted_eur
    curve: pd.DataFrame  # budget_share, budget_discounted_eur, unfilled_homes (+ per type), continuity_gap_eur
    stages: list[StageReport]
    seconds: float

    @property
    def total_discounted_eur(self) -> float:
        return float(self.steun["discounted_eur"].sum())


def _model(case: Case, regions: tuple[str, ...]) -> RegionModel:
    return build_region_model(case, regions, aggregate=len(regions) == 1, steun=True)


def _solver(rm: RegionModel) -> HighsSolver:
    """A fresh HiGHS instance of ``rm`` where money only comes in (a region's own requirement)."""
    solver = HighsSolver(rm.model, rm.case.scenario["solver"])
    out = rm.model.variables["steun_out"].ids
    solver.fix_columns(out, np.zeros(len(out)))
    return solver


def _discounted_cost(rm: RegionModel) -> np.ndarray:
    """Objective: discounted steun_in above the case's input steun (EUR mln)."""
    df = discount_factors(rm.case.scenario)
    block = rm.model.variables["steun_in"]
    cost = np.zeros(rm.model.n_cols)
    cost[block.ids] = np.tile(df, len(block) // len(df))
    return cost


def steun_requirement(case: Case, regions: tuple[str, ...]) -> tuple[pd.DataFrame, list[StageReport], RegionModel]:
    """The least discounted money that fills the whole opgave with every limit met."""
    rm = _model(case, regions)
    solver = _solver(rm)
    lm = rm.model
    for name in ("unfilled", "continuity_gap"):
        ids = lm.variables[name].ids
        solver.fix_columns(ids, np.zeros(len(ids)))
    cost = _discounted_cost(rm)
    result = solve_lexicographic(solver, [Stage("steun", cost, scale=MONEY_SCALE)], None,
                                 case.scenario["solver"]["stage_tolerance"])
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
    return table, result.stages, rm


def steun_curve(case: Case, regions: tuple[str, ...], requirement_discounted_eur: float,
                shares=CURVE_SHARES) -> tuple[pd.DataFrame, list[StageReport]]:
    """Fewest unfilled homes for each budget share x the requirement (discounted EUR)."""
    rows, reports = [], []
    opts = case.scenario["solver"]
    rm = _model(case, regions)
    cost = _discounted_cost(rm)
    start = rm.start()
    for share in shares:
        solver = _solver(rm)  # fresh per budget: each solve adds its stages' rows
        budget = share * requirement_discounted_eur / MONEY_SCALE
        nz = np.flatnonzero(cost)
        solver.add_rows([-np.inf], [budget * (1 + 1e-9) + 1e-9], np.zeros(len(nz), np.int64), nz, cost[nz])
        result = solve_lexicographic(solver, rm.stages()[:2], start, opts["stage_tolerance"], opts["homes_gap"])
        reports += [StageReport(f"{s.name} (budget {share:.0%})", s.status, s.objective, s.bound, s.mip_gap,
                                s.seconds) for s in result.stages]
        u = rm.model.variables["unfilled"].series(result.x).round().astype(int)
        by_type = u.groupby(level="type").sum().reindex(list(TYPES), fill_value=0)
        rows.append({"budget_share": share, "budget_discounted_eur": share * requirement_discounted_eur,
                     "unfilled_homes": int(u.sum()), **{f"unfilled_{k}": int(by_type[k]) for k in TYPES},
                     "continuity_gap_eur": float(result.stages[0].objective)})
    return pd.DataFrame(rows), reports


def projectsteun(case: Case, with_curve: bool = True) -> list[SteunResult]:
    """The projectsteun requirement and curve of every component (region) of ``case``."""
    from dpm.model.allocation import components

    out = []
    for regions in components(case):
        start = time.perf_counter()
        table, stages, _ = steun_requirement(case, regions)
        total = float(table["discounted_eur"].sum())
        curve, more = steun_curve(case, regions, total) if with_curve and total > 0 else (pd.DataFrame(), [])
        out.append(SteunResult(regions, table, curve, stages + more, time.perf_counter() - start))
    return out
