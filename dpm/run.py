"""A regional run: build and solve each component's MIP, read back the tables of MODEL.md 7.

This module computes; ``dpm.results`` writes. Nothing here touches the disk.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dpm.model.allocation import RegionModel, build_region_model, components
from dpm.model.case import Case
from dpm.model.scenario import TRADEABLE, TYPES
from dpm.solvers.highs import HighsSolver
from dpm.solvers.lexicographic import StageReport, solve_lexicographic


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

    def table(self, name: str) -> pd.DataFrame:
        return pd.concat([getattr(c, name) for c in self.components], ignore_index=True)


def _read_back(rm: RegionModel, x: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Projection, allocation and shortfall tables of a solution (homes rounded to whole homes)."""
    sc = rm.case.scenario
    lm = rm.model
    region_of = rm.case.corporations["region"]
    projection = rm.projection.evaluate(rm.decisions(x))

    u = np.round(lm.variables["unfilled"].series(x).to_numpy()).astype(int)
    w = np.round(lm.variables["execute"].series(x).to_numpy()).astype(int)
    allocation = rm.moves[["origin", "executor", "type", "year"]].assign(homes=w)
    tasks = rm.tasks.assign(homes_done=rm.tasks["homes"] - u)
    done_by_owner = tasks.loc[tasks["type"] == "verduurzaming", ["origin", "type", "year", "homes_done"]]
    allocation = pd.concat([allocation, done_by_owner.assign(executor=done_by_owner["origin"])
                            .rename(columns={"homes_done": "homes"})[allocation.columns]], ignore_index=True)
    allocation = allocation[allocation["homes"] > 0]
    allocation.insert(0, "region", allocation["origin"].map(region_of))

    shortfall = rm.tasks[["origin", "type", "year"]].assign(homes=u)
    shortfall = shortfall[shortfall["homes"] > 0].copy()
    shortfall.insert(0, "region", shortfall["origin"].map(region_of))
    unit = {k: sc["types"][k]["investment_per_home_eur"] for k in TRADEABLE}
    unit["verduurzaming"] = sc["costs"]["verduurzaming_per_home_eur"]
    g_B = pd.Series(sc.index("construction_inflation"), index=sc.years)
    shortfall["value_eur"] = (shortfall["homes"] * shortfall["type"].map(unit) * shortfall["year"].map(g_B)).round(2)

    transfers = int(np.round(lm.variables["transfer"].series(x).to_numpy()).sum())
    order = ["region", "origin", "type", "year"]
    return (projection, allocation.sort_values(order + ["executor"]).reset_index(drop=True),
            shortfall.sort_values(order).reset_index(drop=True), transfers)


def solve_component(case: Case, regions: tuple[str, ...], verbose: bool = False) -> ComponentResult:
    start = time.perf_counter()
    rm = build_region_model(case, regions)
    solver = HighsSolver(rm.model, case.scenario["solver"], verbose=verbose)
    build_seconds = time.perf_counter() - start
    opts = case.scenario["solver"]
    result = solve_lexicographic(solver, rm.stages(), rm.start(), opts["stage_tolerance"], opts["homes_gap"])
    projection, allocation, shortfall, transfers = _read_back(rm, result.x)
    return ComponentResult(regions, result.stages, rm.model.size(), build_seconds,
                           projection, allocation, shortfall, transfers)


def run_case(case: Case, verbose: bool = False) -> RunResult:
    """Solve every component of ``case`` (regions linked by werkgebied are solved together)."""
    start = time.perf_counter()
    run = RunResult(case)
    for regions in components(case):
        run.components.append(solve_component(case, regions, verbose))
    run.seconds = time.perf_counter() - start
    return run
