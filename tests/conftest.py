"""Shared helpers: write small cases to disk, run the CLI, and one solved default case."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dpm.cli import main  # noqa: E402
from dpm.scenarios import path as package_path  # noqa: E402

DEFAULT_CASE = Path(str(package_path("voorbeeldregio")))

# A small corporation row; tests override fields.
CORP = {"name": "", "region": "R", "homes": 100, "rent_per_home_eur": 8000, "opex_per_home_eur": 3000,
        "taxes_per_home_eur": 500, "debt_eur": 6_000_000, "interest_rate": 0.03,
        "beleidswaarde_eur": 10_000_000, "guaranteed_share": 1.0, "runoff": 0.1}


# Two linked regions (tests of a werkgebied): a short horizon, exact stages, the exact unfilled optimum
LINKED_SCENARIO = ("base_year = 2025\n[horizon]\npolicy_years = 2\nhorizon_years = 4\n[allocation]\n"
                   "min_transfer = {min_transfer}\nunfilled_tolerance = 0\n[solver]\nhomes_gap = 0\nmip_rel_gap = 0\n")


# R1: A and B; R2: C, who may also work in R1 (werkgebied), and D
LINKED_CORPORATIONS = [{"corporation_id": "A", "region": "R1", "debt_eur": 8.6e6},
                       {"corporation_id": "B", "region": "R1", "debt_eur": 8.5e6},
                       {"corporation_id": "C", "region": "R2", "debt_eur": 6.0e6, "werkgebied": "R1"},
                       {"corporation_id": "D", "region": "R2", "debt_eur": 8.0e6}]


def a_nieuwbouw(homes: int) -> list[dict]:
    """Opgave rows: ``homes`` nieuwbouw homes of A (region R1) in 2026 and in 2027."""
    return [{"region": "R1", "corporation_id": "A", "type": "nieuwbouw", "year": y, "homes": homes} for y in (2026, 2027)]


def linked_case(folder: Path, corporations: list[dict], opgave: list[dict], min_transfer: int) -> Path:
    """A case of two regions R1 and R2 (a corporation of R2 may have werkgebied R1)."""
    return write_case(folder, corporations, opgave, LINKED_SCENARIO.format(min_transfer=min_transfer))


def write_case(folder: Path, corporations: list[dict], opgave: list[dict], scenario: str = "base_year = 2025\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{**CORP, "name": c["corporation_id"], **c} for c in corporations]
    pd.DataFrame(rows).to_csv(folder / "corporations.csv", index=False)
    pd.DataFrame(opgave, columns=["region", "corporation_id", "type", "year", "homes"]).to_csv(
        folder / "opgave.csv", index=False)
    (folder / "scenario.toml").write_text(scenario, encoding="utf-8")
    return folder


def copy_default(tmp_path: Path, name: str = "case") -> Path:
    return Path(shutil.copytree(DEFAULT_CASE, tmp_path / name, ignore=shutil.ignore_patterns("*.md")))


def run_cli(case: Path, out: Path, *extra: str) -> int:
    return main(["run", str(case), "--out", str(out), *extra])


class Results:
    """A results folder, read back."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.projection = pd.read_csv(folder / "projection.csv")
        self.allocation = pd.read_csv(folder / "allocation.csv")
        self.shortfall = pd.read_csv(folder / "shortfall.csv")
        self.summary = json.loads((folder / "summary.json").read_text())


@pytest.fixture(scope="session")
def default_results(tmp_path_factory) -> Results:
    out = tmp_path_factory.mktemp("default") / "out"
    assert run_cli(DEFAULT_CASE, out) == 0
    return Results(out)


def relations_lp_bound(case, regions: tuple[str, ...]) -> float:
    """The relations LP's bound (dpm.efficiency.lp_bound) of a component as its plan computes it:
    from the aggregate optimum of stages 1-2, within the scenario's unfilled limit, on every pair,
    with the rows of the proven roles (who must give, who must take)."""
    from dpm.efficiency import _continuity_fix, efficiency_solver, lp_bound, unfilled_slack
    from dpm.model.allocation import build_region_model
    from dpm.solidarity import solidarity_roles
    from dpm.solvers.backends import make_solver
    from dpm.solvers.lexicographic import solve_lexicographic

    opts = {**case.scenario.solver.options(), "time_limit_s": case.scenario.solver.efficiency_time_limit_s}
    agg = build_region_model(case, regions, aggregate=True)
    first = solve_lexicographic(make_solver(agg.model, opts), agg.stages()[:2], agg.start(), opts["stage_tolerance"],
                                opts["homes_gap"])
    optimum = first.stages[1].objective
    limit = optimum + unfilled_slack(case.scenario, optimum)
    roles = solidarity_roles(agg, _continuity_fix(agg.stages()[0], first.x, opts["stage_tolerance"]), limit, opts)
    rm = build_region_model(case, regions, roles=roles)
    return lp_bound(rm, lambda m, relaxed=False: efficiency_solver(m, agg, first.x, limit, opts, False, relaxed), opts)


def aggregate_tie_break(case, regions: tuple[str, ...]):
    """The timing tie-break (MODEL.md 5) of a component's aggregate model on its own, as the
    ``balanced`` and ``cost`` runs solve it (dpm.efficiency.aggregate_solver): from the
    aggregate optimum of stages 1-2, within the scenario's unfilled limit, every pair allowed.
    Its StageReport (value and bound)."""
    from dpm.efficiency import aggregate_solver, unfilled_slack
    from dpm.model.allocation import build_region_model
    from dpm.solvers.backends import make_solver
    from dpm.solvers.lexicographic import solve_lexicographic

    opts = {**case.scenario.solver.options(), "threads": 1}
    agg = build_region_model(case, regions, aggregate=True)
    first = solve_lexicographic(make_solver(agg.model, opts), agg.stages()[:2], agg.start(), opts["stage_tolerance"],
                                opts["homes_gap"])
    optimum = first.stages[1].objective
    solver = aggregate_solver(agg, first.x, optimum + unfilled_slack(case.scenario, optimum), None, opts)
    return solve_lexicographic(solver, [agg.timing_stage(search=True)], first.x, opts["stage_tolerance"],
                               opts["homes_gap"]).stages[0]
