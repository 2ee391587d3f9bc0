"""Lexicographic solve (MODEL.md 5): solve a stage, fix its optimum with a small tolerance,
solve the next, each stage warm-started from the last solution.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dpm.solvers.errors import NoSolution  # noqa: F401  (raised here, re-exported)
from dpm.solvers.highs import ADVICE, HighsSolver, SolveResult


@dataclass
class Stage:
    """One objective of the lexicographic order.

    ``cost`` is the objective over the model's columns (minimised). ``integral`` says the
    objective takes whole values at integer points, so an absolute gap below 1 proves the
    optimum; ``in_homes`` that it counts homes (``homes_gap`` applies). ``prepare`` may add columns and rows from the previous stage's solution and
    return a cost over the new columns; ``scale`` converts the objective to its reported unit.
    """

    name: str
    cost: np.ndarray
    integral: bool = False
    in_homes: bool = False
    scale: float = 1.0
    groups: np.ndarray | None = None  # fix the optimum per group of columns instead of in total
    prepare: Callable[[HighsSolver, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None


@dataclass
class StageReport:
    name: str
    status: str
    objective: float | None
    bound: float | None
    mip_gap: float | None
    seconds: float

    def as_dict(self) -> dict:
        return {"stage": self.name, "status": self.status, "objective": self.objective,
                "bound": self.bound, "mip_gap": self.mip_gap, "seconds": round(self.seconds, 3)}


@dataclass
class LexicographicResult:
    stages: list[StageReport] = field(default_factory=list)
    x: np.ndarray | None = None

    @property
    def status(self) -> str:
        order = ("infeasible", "error", "time_limit")
        worst = [s.status for s in self.stages if s.status != "optimal"]
        for s in order:
            if s in worst:
                return s
        return worst[0] if worst else "optimal"


def fix_optimum(solver: HighsSolver, stage: Stage, cost: np.ndarray, x: np.ndarray, tolerance: float) -> None:
    """Add rows that keep ``stage``'s objective at its value at ``x``: cost @ x <= value + tol,
    in total or per group. Counts (``integral``) get half a unit, money a relative tolerance."""
    nz = np.flatnonzero(cost)
    group = np.zeros(len(nz), np.int64) if stage.groups is None else stage.groups[nz]
    keep = group >= 0
    nz, group = nz[keep], group[keep]
    ids, row = np.unique(group, return_inverse=True)
    part = np.bincount(row, weights=cost[nz] * x[nz], minlength=len(ids))
    slack = np.full(len(ids), 0.5) if stage.integral else tolerance * np.maximum(1.0, np.abs(part))
    solver.add_rows(np.full(len(ids), -np.inf), part + slack, row, nz, cost[nz])


def solve_lexicographic(solver: HighsSolver, stages: list[Stage], start: np.ndarray,
                        tolerance: float = 1e-7, homes_gap: float = 0.0,
                        on_stage: Callable[[str], None] | None = None) -> LexicographicResult:
    """Solve ``stages`` in order on ``solver``; ``start`` is a feasible point for the first
    (None: HiGHS finds one).

    A stage valued in whole homes (``in_homes``) stops once its incumbent is proven within
    ``homes_gap`` homes of the optimum (or within the relative MIP gap); 0 asks for the exact
    optimum. The bound reached is reported either way. ``on_stage(name)`` is called as each
    stage starts (progress display)."""
    result = LexicographicResult()
    x = None if start is None else np.asarray(start, float)
    for stage in stages:
        if on_stage is not None:
            on_stage(stage.name)
        cost = stage.cost
        if stage.prepare is not None and x is not None:
            extra_cost, extra_start = stage.prepare(solver, x)
            cost = np.concatenate([cost, extra_cost])
            x = np.concatenate([x, extra_start])
        if stage.integral:  # whole values: an absolute gap below 1 proves the optimum
            abs_gap = max(0.999, homes_gap) if stage.in_homes else 0.999
        else:
            abs_gap = None
        solver.set_objective(cost, abs_gap=abs_gap)
        if x is not None:
            solver.set_start(x)
        out: SolveResult = solver.solve()
        if not out.has_solution:
            advice = ADVICE.get(out.status, "")
            raise NoSolution(f"stage '{stage.name}' ended with status {out.status} after {out.seconds:.1f} s "
                             f"and no solution" + (f": {advice}" if advice else ""))
        x = out.x
        value = float(cost @ x)
        result.stages.append(StageReport(
            stage.name, out.status, value * stage.scale,
            None if out.bound is None else out.bound * stage.scale, out.mip_gap, out.seconds))
        fix_optimum(solver, stage, cost, x, tolerance)
    result.x = x
    return result
