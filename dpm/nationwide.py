"""The national run (MODEL.md 6, 8): every region's stages, in parallel, then national solidarity.

1. **Regional stages.** Regions are independent until solidarity, so each component (a
   region, or regions linked by a werkgebied) is solved on its own, in parallel: locally on
   a process pool, or on a Dask cluster (``engine="dask"``; a local cluster by default, or
   the address of a running scheduler). Stages 1-2 (continuity gap, unfilled opgave) decide
   the national shortfall; who executes which task (stage 3) is left to ``dpm run`` on a
   region, so the national run writes each executor's homes (``execution.csv``).
2. **National solidarity** (MODEL.md 6). Corporations of *donor* regions (every home of the
   opgave filled, no continuity gap) may pay ``steun_out`` into a national pool; corporations
   of the other regions may receive ``steun_in`` from it. The national LP (homes continuous)
   decides every region's plan and the money together: a donor region may *re-plan* who
   builds what so that it can pay more, as long as its whole opgave stays filled and every
   limit holds in every year; the pool balances in every year (``pool_balance``); money
   follows the projects (``money.timing``). Lexicographic: least continuity gap, fewest
   unfilled homes, least discounted money moved. Its unfilled optimum is a lower bound of
   MODEL.md 6 (homes continuous, ``min_transfer`` relaxed). The same LP with money free in
   time (what tying money to the projects costs) runs beside it, in a process of its own.
3. **Whole homes.** Each paying donor region is solved in whole homes for the most it can pay
   up to the LP's amounts (its opgave filled, no gap); the receiving regions get the LP's
   money scaled to what the donors can pay in each year, use what they need (stages 1-2,
   then least money), and the donors pay exactly that, each in proportion to its capacity in
   that year. Paying less never breaks a donor's limit (every limit loosens as debt falls).
   The national shortfall is what stays unfilled; its gap to the LP bound is reported.
   Components of several regions (werkgebied) take part as neither donor nor recipient.
"""
from __future__ import annotations

import dataclasses
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from dpm.model.allocation import MONEY_SCALE, build_region_model, components
from dpm.model.formulation import pool_balance
from dpm.model.case import Case
from dpm.model.scenario import TRADEABLE, TYPES
from dpm.money import discounted_cost
from dpm.regional import clock_summary, count_stops, shortfall_table
from dpm.engines import Job, beside, in_worker, map_local
from dpm.solvers.errors import EngineUnavailable, WorkerLost
from dpm.solvers.backends import make_solver
from dpm.solvers.highs import clock_stops, noting_clock_stops, pass_on_clock_stops
from dpm.solvers.lexicographic import Extension, Stage, StageReport, solve_lexicographic


@dataclass
class RegionalOutcome:
    """Stages 1-2 of one component: small and picklable, to come back from a worker."""

    regions: tuple[str, ...]
    stages: list[StageReport]
    values: dict[str, pd.Series]  # the solution by block (see RegionModel.values)
    projection: pd.DataFrame
    shortfall: pd.DataFrame
    execution: pd.DataFrame  # region, executor, type, year, homes
    seconds: float
    clock_stops: list[str] = field(default_factory=list)  # the solves a clock ended (dpm.regional.ComponentResult)

    @property
    def unfilled(self) -> int:
        return int(self.shortfall["homes"].sum())

    @property
    def continuity_gap_eur(self) -> float:
        return float(self.projection["continuity_gap_eur"].sum())

    @property
    def donor(self) -> bool:
        return self.unfilled == 0 and self.continuity_gap_eur == 0 and len(self.regions) == 1


def execution_table(rm, x: np.ndarray) -> pd.DataFrame:
    """Homes each corporation completes per tradeable type and year (its own and others')."""
    z = rm.decisions(x)
    lay, ids = rm.projection.layout, rm.projection.ids
    region = rm.case.corporations["region"].reindex(ids).to_numpy()
    parts = []
    for k in TRADEABLE:
        block = z[:, lay.start(f"build:{k}"):lay.start(f"build:{k}") + lay.policy_years]
        c, t = np.nonzero(block > 0)  # corporation-major, as the rows were always ordered
        parts.append(pd.DataFrame({"region": region[c], "executor": ids[c], "type": k,
                                   "year": (rm.case.scenario.base_year + t + 1).astype(int),
                                   "homes": np.round(block[c, t]).astype(int)}))
    return pd.concat(parts, ignore_index=True)


def answer_options(case: Case) -> dict:
    """The solver options of a solve whose result is the national answer (a receiving region,
    the single national MIP): the tolerances of ``[national]`` (``homes_gap``, ``mip_rel_gap``;
    exact by default) and no stop for patience (docs/model.md, Solving: Patience)."""
    national = case.scenario.national
    return case.scenario.solver.options(homes_gap=float(national.homes_gap),
                                        mip_rel_gap=float(national.mip_rel_gap), patience_checks=0,
                                        patience_s=0.0)


@noting_clock_stops()
def solve_regional(case: Case, regions: tuple[str, ...], start_values: dict | None = None,
                   money: tuple[str, pd.DataFrame] | None = None) -> RegionalOutcome:
    """Stages 1-2 of one component (its aggregate model; regions linked by a werkgebied with
    the homes each executor completes per region, as in ``dpm run``), noting every solve that a
    clock ended (``clock_stops``); ``start_values``
    (an earlier solution's blocks) give the first feasible point, gaps recomputed.

    ``money`` = (role, most), ``most`` a table corporation_id, year, eur:
    - ``"recipient"``: money in up to ``most`` (tied to the projects as the scenario says);
      stages 1-2, then the least discounted money used;
    - ``"donor"``: the whole opgave filled and no continuity gap, paying out up to ``most``;
      one stage, the most discounted money paid (shown negative)."""
    start = time.perf_counter()
    recipient = money is not None and money[0] == "recipient"  # (the shortfall reported)
    opts = answer_options(case) if recipient else case.scenario.solver.options()
    rm = build_region_model(case, regions, aggregate=True, steun=money is not None)
    lm = rm.model
    solver = make_solver(lm, opts)
    # continuity, unfilled; its timing tie-break only where this solve is the answer reported
    # (not the regional stage before solidarity, which only decides who can give and where
    # the national LP starts)
    stages = rm.stages()[:3] if money is not None else rm.stages()[:2]
    if recipient:  # (its unfilled stage ends on a count, where one is set: the same answer on any machine)
        stages[1] = dataclasses.replace(stages[1], work_limit=int(case.scenario.national.recipient_checks) or None)
    if money is not None:
        role, table = money
        s_in, s_out = lm.variables["steun_in"], lm.variables["steun_out"]
        most = (table.set_index(["corporation_id", "year"])["eur"].reindex(s_in.index).fillna(0.0).to_numpy()
                / MONEY_SCALE)
        if role == "recipient":
            solver.set_bounds(s_in.ids, 0.0, most)
            solver.fix_columns(s_out.ids, np.zeros(len(s_out)))
            stages.append(Stage("money used", discounted_cost(rm, ("steun_in",)), scale=MONEY_SCALE,
                                extend=_keep_homes(rm)))
        else:
            solver.fix_columns(s_in.ids, np.zeros(len(s_in)))
            solver.set_bounds(s_out.ids, 0.0, most)
            for name in ("unfilled", "continuity_gap"):
                solver.fix_columns(lm.variables[name].ids, np.zeros(len(lm.variables[name])))
            # a whole-homes plan paying close to the LP: the MIP starts from the donor's own
            # plan (paying nothing) and finds better ones quickly; a stop keeps the best
            stages = [Stage("money paid", discounted_cost(rm, ("steun_out",), -1.0), scale=MONEY_SCALE,
                            time_limit_s=float(case.scenario.national.donor_time_limit_s),
                            work_limit=int(case.scenario.national.donor_checks) or None)]
    x0 = rm.start() if start_values is None else rm.with_gaps(rm.point(
        {k: v for k, v in start_values.items() if not k.startswith("steun")}))
    result = solve_lexicographic(solver, stages, x0, opts["stage_tolerance"], opts["homes_gap"])
    x = lm.solution(result.x).x
    u = np.round(lm.variables["unfilled"].series(x).to_numpy()).astype(int)
    return RegionalOutcome(regions, result.stages, rm.values(x), rm.evaluate(x),
                           shortfall_table(rm, u), execution_table(rm, x), time.perf_counter() - start)


def _keep_homes(rm):
    """Stage extension: keep the homes of the last stage's plan (its integer columns), so
    that the money stage after it is an LP: the least money that plan needs."""
    def extend(x: np.ndarray, first: int) -> Extension:
        ids = np.flatnonzero(rm.model.integrality)
        # fixed as solved (rounding could push a fixed stage past its tolerance). HiGHS 1.16's
        # presolve can call this LP infeasible (its dual reductions with the stage-fixing rows'
        # tiny right-hand sides; measured on a synthetic region): an LP of money only, small
        # enough without it
        return Extension(fix=(ids, x[ids]), options={"presolve": "off"})
    return extend


# --- engines: the same function over jobs (case, regions), results in job order --------------
# (the local process pool: dpm.engines)
def solve_job(*job) -> RegionalOutcome:
    """:func:`solve_regional` of one job, as a worker runs it."""
    return in_worker(solve_regional, *job)



def _map_dask(jobs: list[Job], progress, address: str | None, workers: int | None) -> list[RegionalOutcome]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise EngineUnavailable("--engine dask needs Dask: pip install -e '.[dask]' "
                                "(or pip install 'dask[distributed]')") from None

    if not jobs:
        return []
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(address or cluster)
    try:
        cases = {id(job[0]): client.scatter(job[0], broadcast=True) for job in jobs}  # each case sent once
        futures = [client.submit(solve_job, cases[id(job[0])], *job[1:], pure=False) for job in jobs]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(jobs)
        try:  # a lost worker's task is run again by the scheduler (up to its allowed failures)
            # (each result fetched as it completes, not gathered after the loop: measured, with a worker
            # killed once under load, the gather failed in one of eight runs of the test suite with
            # "cancelled for reason: already forgotten")
            for done, (future, result) in enumerate(as_completed(futures, with_results=True), start=1):
                results[index[future.key]] = result
                progress(done, len(jobs), jobs[index[future.key]][1])
            return results
        except KilledWorker as err:
            i = next((index[f.key] for f in futures if f.status == "error"), None)
            name = " + ".join(jobs[i][1]) if i is not None else str(err)
            raise WorkerLost(f"the Dask worker solving {name} died repeatedly (killed, or out of memory?); "
                             "nothing was written. Try fewer --workers, or run that region alone") from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_regions(jobs: list[Job], engine: str = "local", address: str | None = None, workers: int | None = None,
                progress: Callable | None = None) -> list[RegionalOutcome]:
    """:func:`solve_regional` over ``jobs`` on the chosen engine ('local': a process pool;
    'dask': a Dask cluster, local unless ``address`` names a scheduler). Same results either way."""
    progress = progress or (lambda done, total, regions: None)
    if engine == "dask":
        return _map_dask(jobs, progress, address, workers)
    if engine == "local":
        return map_local(jobs, progress, workers, solve_regional)
    raise ValueError(f"unknown engine {engine!r}: expected 'local' or 'dask'")


# --- national solidarity -------------------------------------------------------------------
@dataclass
class NationalResult:
    case: Case
    regional: list[RegionalOutcome]  # before solidarity
    final: list[RegionalOutcome] = field(default_factory=list)  # after: donors re-planned, recipients with their money
    stages: list[StageReport] = field(default_factory=list)  # the national LP's stages
    flows: pd.DataFrame | None = None  # corporation_id, region, year, steun_in_eur, steun_out_eur (paid)
    pool: pd.DataFrame | None = None  # per year: paid_in_eur, paid_out_eur, lp_paid_in_eur
    projection: pd.DataFrame | None = None  # after solidarity, every corporation
    shortfall: pd.DataFrame | None = None  # the national shortfall: after solidarity
    bound_homes: float | None = None  # no whole-homes plan of MODEL.md 6 leaves fewer unfilled (None: not proven)
    bound_free_timing_homes: float | None = None  # the same bound with money free in time (timing = projects only)
    lp_unfilled: pd.Series | None = None  # per region: unfilled homes in the national LP (or single MIP)
    method: str = "decomposition"  # national.method used
    solidarity: bool = True
    seconds: dict = field(default_factory=dict)
    national_clock_stops: list[str] = field(default_factory=list)  # the national LP's and MIP's (clock_stops)

    @property
    def clock_stops(self) -> dict[str, int]:
        """The solves of the whole run a clock ended, by what they were (dpm.regional.count_stops)."""
        outcomes = {id(o): o for o in [*self.regional, *self.final]}.values()
        return count_stops([*self.national_clock_stops, *(n for o in outcomes for n in o.clock_stops)])

    def lines(self, engine: str = "local") -> list[str]:
        """What ``dpm national`` prints: the shortfall per type before and after solidarity
        (homes, EUR mln nominal), the pool, the bound and its gap, the seconds per phase."""
        from dpm.results import thousands

        out: list[str] = []
        summary = self.summary(engine=engine)
        tables = self.tables()
        short, before = tables["national_shortfall.csv"], tables["regional_shortfall.csv"]
        years = self.case.scenario.policy_calendar_years
        out.append(f"National shortfall {years[0]}-{years[-1]} ({len(tables['region_summary.csv'])} regions, "
                   f"{len(self.case.corporations)} corporations), homes and EUR mln (nominal):")
        out.append(f"{'type':<18}{'regional alone':>16}{'with solidarity':>17}{'EUR mln':>10}")
        for k in [*sorted(set(self.case.opgave["type"]))]:
            b = int(before.loc[before["type"] == k, "homes"].sum()) if len(before) else 0
            n = short[short["type"] == k]
            out.append(f"{k:<18}{thousands(b):>16}{thousands(int(n['homes'].sum())):>17}{n['value_eur'].sum() / 1e6:>10,.1f}")
        out.append(f"{'total':<18}{thousands(summary['regional_shortfall_homes']):>16}"
                   f"{thousands(summary['national_shortfall_homes']):>17}{summary['national_shortfall_eur'] / 1e6:>10,.1f}")
        regions = tables["region_summary.csv"]
        out.append(f"Solidarity pool: EUR {summary['pool_in_eur'] / 1e6:,.1f} mln paid in by "
                   f"{(regions['steun_out_eur'] > 0).sum()} donor regions, EUR {summary['pool_out_eur'] / 1e6:,.1f}"
                   f" mln paid out to {(regions['steun_in_eur'] > 0).sum()} regions"
                   + ("" if self.solidarity else " (solidarity off)"))
        paid = self.pool[self.pool["paid_in_eur"] > 0]
        if len(paid):
            out.append("Pool per year (EUR mln paid in = paid out): " + ", ".join(
                f"{int(y)} {v / 1e6:,.1f}" for y, v in zip(paid["year"], paid["paid_in_eur"])))
        gap = summary["gap_to_bound_homes"]
        how = {"single_mip": "one MIP of MODEL.md 6",
               "linked_only": "the components' own: every region is linked by a werkgebied, so there is no "
                              "national pool"}.get(self.method, "national LP: donors re-plan, homes continuous")
        if self.bound_homes is None:
            out.append(f"No lower bound proven ({how} stopped before its optimum; see summary.json)")
        else:
            out.append(f"Lower bound {self.bound_homes:,.0f} homes ({how}); the shortfall is {gap:,.0f} homes above it "
                       f"(gap {gap / max(summary['national_shortfall_homes'], 1):.2%})")
        if self.bound_free_timing_homes is not None and self.bound_homes is not None:
            out.append(f"Money follows the projects (money.timing = projects); paid free in time the bound would be "
                       f"{self.bound_free_timing_homes:,.0f} homes: tying money to projects costs "
                       f"{self.bound_homes - self.bound_free_timing_homes:,.0f} homes (LP)")
        if summary["clock"]["stops"]:
            out.append(f"Note: {summary['clock']['note']}")
        out.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.seconds.items()))
        return out

    @property
    def shortfall_homes(self) -> int:
        return int(self.shortfall["homes"].sum())

    def region_summary(self) -> pd.DataFrame:
        corps = self.case.corporations
        flows = self.flows.groupby("region")[["steun_in_eur", "steun_out_eur"]].sum()
        before = pd.concat([o.shortfall for o in self.regional], ignore_index=True)
        rows = []
        for o, f in zip(self.regional, self.final):
            for region in o.regions:
                mine = corps[corps["region"] == region]
                opg = self.case.opgave[self.case.opgave["region"] == region]
                row = {"region": region, "corporations": len(mine), "homes": int(mine["homes"].sum()),
                       "role": "donor" if o.donor else ("recipient" if len(o.regions) == 1 else "linked"),
                       "opgave_homes": int(opg["homes"].sum())}
                for when, table in (("regional", before), ("national", self.shortfall)):
                    t = table[table["region"] == region]
                    row[f"unfilled_{when}_homes"] = int(t["homes"].sum())
                    row.update({f"unfilled_{when}_{k}_homes": int(t.loc[t["type"] == k, "homes"].sum()) for k in TYPES})
                    row[f"unfilled_{when}_value_eur"] = float(t["value_eur"].sum())
                for when, proj in (("regional", o.projection), ("national", self.projection)):
                    row[f"continuity_gap_{when}_eur"] = float(proj.loc[proj["region"] == region, "continuity_gap_eur"].sum())
                row["unfilled_national_lp_homes"] = round(float(self.lp_unfilled.get(region, np.nan)), 2) \
                    if self.lp_unfilled is not None else np.nan
                row["steun_in_eur"] = float(flows["steun_in_eur"].get(region, 0.0))
                row["steun_out_eur"] = float(flows["steun_out_eur"].get(region, 0.0))
                row["status"] = ", ".join(sorted({s.status for s in o.stages + f.stages}))
                row["seconds"] = round(o.seconds + (f.seconds if f is not o else 0.0), 3)
                rows.append(row)
        return pd.DataFrame(rows).sort_values("region").reset_index(drop=True)

    def summary(self, engine: str = "local") -> dict:
        """``summary.json`` of the national run: the shortfall, its bound and what the bound
        means, the pool, every stage, the versions and the effective scenario."""
        from dpm.results import versions

        case = self.case
        before = pd.concat([o.shortfall for o in self.regional], ignore_index=True)
        if self.method == "linked_only":
            meaning = ("the unfilled bound of each component's own stage 2: every region is linked by a werkgebied, "
                       "and such components take no part in the national pool (MODEL.md 6 as built here)")
        else:
            meaning = ("bound of the single MIP of " if self.method == "single_mip" else
                       "optimum of the national LP (homes continuous, min_transfer relaxed) of ")
            meaning += ("MODEL.md 6: donor regions re-plan with their whole opgave filled and every limit met; the "
                        "pool balances per year; money timing as in the scenario; components linked by a werkgebied "
                        "at their own bound")
        return {"case": case.name, "solidarity": self.solidarity, "engine": engine,
                "national_shortfall_homes": self.shortfall_homes,
                "national_shortfall_eur": round(float(self.shortfall["value_eur"].sum()), 2),
                "regional_shortfall_homes": int(before["homes"].sum()) if len(before) else 0,
                "lower_bound_homes": None if self.bound_homes is None else round(self.bound_homes, 2),
                "method": self.method,
                "lower_bound_meaning": meaning + ". No whole-homes plan leaves fewer homes unfilled",
                "gap_to_bound_homes": None if self.bound_homes is None else round(self.shortfall_homes - self.bound_homes, 2),
                "lower_bound_free_timing_homes": self.bound_free_timing_homes,
                "money": case.scenario.raw["money"],
                "pool_in_eur": round(float(self.flows["steun_out_eur"].sum()), 2),
                "pool_out_eur": round(float(self.flows["steun_in_eur"].sum()), 2),
                "national_stages": [s.as_dict() for s in self.stages],
                "regions": [{"regions": list(o.regions), "stages": [s.as_dict() for s in o.stages],
                             "after_solidarity": [s.as_dict() for s in f.stages] if f is not o else None}
                            for o, f in zip(self.regional, self.final)],
                "seconds": self.seconds,
                "clock": clock_summary(self.clock_stops),
                "units": {"*_homes": "homes over the policy period", "*_eur": "EUR, nominal"},
                "versions": versions(), "scenario": case.scenario.raw}

    def tables(self) -> dict[str, pd.DataFrame]:
        """The national run's tables by file name (MODEL.md 7)."""
        short = self.shortfall.groupby(["region", "type", "year"], as_index=False)[["homes", "value_eur"]].sum()
        before = pd.concat([o.shortfall for o in self.regional], ignore_index=True)
        return {"region_summary.csv": self.region_summary(), "national_shortfall.csv": short,
                "regional_shortfall.csv": before, "solidarity.csv": self.flows, "pool.csv": self.pool,
                "unfilled_by_corporation.csv": self.unfilled_by_corporation(),
                "execution.csv": pd.concat([f.execution for f in self.final], ignore_index=True),
                "projection.csv": self.projection}

    def to_folder(self, out, force: bool = False, engine: str = "local", on_done=None):
        """Write the tables and ``summary.json`` into ``out``, whole or not at all, under the
        output rules of :mod:`dpm.outputs` (a folder dpm did not write is never replaced)."""
        from pathlib import Path

        from dpm.outputs import check_out
        from dpm.results import json_file, table_files, write_folder

        check_out(Path(out), [self.case.path], force)
        files = {**table_files(self.tables()), "summary.json": json_file(self.summary(engine))}
        return write_folder(Path(out), files, force, on_done=on_done)

    def unfilled_by_corporation(self) -> pd.DataFrame:
        """After solidarity: unfilled homes per region, corporation (origin) and type, incl. verduurzaming."""
        table = self.shortfall.groupby(["region", "origin", "type"], as_index=False)[["homes", "value_eur"]].sum()
        return table.rename(columns={"origin": "corporation_id"})


def _table(block_series: pd.Series, column: str) -> pd.DataFrame:
    """A money block (EUR mln per corporation and year) as a table corporation_id, year, ``column`` in EUR."""
    return (block_series * MONEY_SCALE).rename(column).reset_index()


def _money(outcomes: list[RegionalOutcome], block: str, column: str) -> pd.DataFrame:
    """The money block ``block`` of every outcome, one table corporation_id, year, ``column`` (EUR)."""
    if not outcomes:
        return pd.DataFrame(columns=["corporation_id", "year", column])
    return pd.concat([_table(o.values[block], column) for o in outcomes], ignore_index=True)


def _linked_bound(regional: list[RegionalOutcome]) -> float:
    """The unfilled bound of the components linked by a werkgebied (outside solidarity)."""
    return sum(float(s.bound if s.bound is not None else s.objective)
               for o in regional if len(o.regions) > 1 for s in o.stages[1:2])


def _proven(stage: StageReport) -> float | None:
    """The unfilled optimum of the national LP as a bound: only when the LP was solved to
    optimality (an LP stopped early has no bound to give)."""
    return float(stage.objective) if stage.status == "optimal" else None


def free_timing_bound(case: Case, regional: list[RegionalOutcome]) -> tuple[float | None, list[str]]:
    """The national LP's unfilled optimum with money free in time (``money.timing = "free"``), a
    bound of what tying money to the projects costs, and the solves a clock ended on the way
    (run in a process of its own: :func:`run_national`)."""
    with clock_stops() as stops:
        stages = solidarity_lp(case.with_setting("money", "timing", "free"), regional, True, False)[3]
    return _proven(stages[1]), list(stops)


def solidarity_lp(case: Case, regional: list[RegionalOutcome], solidarity: bool = True, money_stage: bool = True,
                  whole_homes: bool = False):
    """The national LP (homes continuous, MODEL.md 6): every single-region component's plan
    and money together. Donor regions keep their whole opgave filled and every limit, and may
    re-plan; the others only receive; the pool balances per year. Returns (flows in EUR,
    national model, its solution, stages); its unfilled optimum bounds every whole-homes plan.
    ``whole_homes``: the same as one MIP (``national.method = "single_mip"``), started from the
    regions' own plans, its unfilled opgave as late as possible."""
    opts = answer_options(case) if whole_homes else case.scenario.solver.options()
    single = [o for o in regional if len(o.regions) == 1]
    regions = tuple(sorted(o.regions[0] for o in single))
    rm = build_region_model(case, regions, aggregate=True, steun=True)
    lm = rm.model
    pool_balance(lm, case.scenario.years)
    solver = make_solver(lm, opts, relaxed=not whole_homes)
    donor_regions = {o.regions[0] for o in single if o.donor}
    corp_region = rm.projection.corporations["region"]

    def fix(name: str, mask: np.ndarray) -> None:
        ids = lm.variables[name].ids[mask]
        solver.fix_columns(ids, np.zeros(len(ids)))

    def donor(name: str) -> np.ndarray:
        idx = lm.variables[name].index.get_level_values("corporation_id")
        return corp_region.reindex(idx).isin(donor_regions).to_numpy()

    fix("steun_in", donor("steun_in"))  # donors only pay,
    fix("unfilled", rm.tasks["region"].isin(donor_regions).to_numpy())  # keep their whole opgave,
    fix("continuity_gap", donor("continuity_gap"))  # and every limit; their plans are free
    everyone = np.ones(len(lm.variables["steun_out"]), bool)
    fix("steun_out", ~donor("steun_out") if solidarity else everyone)  # the others only receive
    if not solidarity:
        fix("steun_in", everyone)

    stages = rm.stages()[:3]
    kind = "MIP" if whole_homes else "LP"
    stages = [dataclasses.replace(stages[0], name=f"continuity ({kind})", groups=None),
              dataclasses.replace(stages[1], name=f"unfilled ({kind})", integral=whole_homes and stages[1].integral)]
    if whole_homes:
        stages.append(dataclasses.replace(rm.timing_stage(), name="unfilled_timing (MIP)"))
    if money_stage:
        stages.append(Stage(f"money ({kind})", discounted_cost(rm, ("steun_in", "steun_out")), scale=MONEY_SCALE))
    start = None
    if whole_homes:  # every region on its own plan, no money: feasible
        start = rm.with_gaps(rm.point({name: pd.concat([o.values[name] for o in single])
                                       for name in ("decision", "unfilled")}))
    result = solve_lexicographic(solver, stages, start, opts["stage_tolerance"], opts["homes_gap"])
    x = lm.solution(result.x).x
    s_in, s_out = lm.variables["steun_in"], lm.variables["steun_out"]
    flows = _table(s_in.series(x), "steun_in_eur").merge(_table(s_out.series(x), "steun_out_eur"))
    flows.insert(1, "region", flows["corporation_id"].map(corp_region))
    flows = flows[(flows["steun_in_eur"] > 0.5) | (flows["steun_out_eur"] > 0.5)].reset_index(drop=True)
    return flows, rm, x, result.stages


def unfilled_by_region(rm, x: np.ndarray) -> pd.Series:
    """Weighted unfilled homes per region in a solution of a (national) model."""
    u = rm.model.variables["unfilled"].series(x).to_numpy()
    return pd.Series(u, index=rm.tasks["region"].to_numpy()).groupby(level=0).sum()


def _per_year(table: pd.DataFrame, column: str, years) -> pd.Series:
    return table.groupby("year")[column].sum().reindex(years, fill_value=0.0) if len(table) else pd.Series(0.0, index=years)


SINGLE_MIP_CORPORATIONS = 100  # national.method = "auto": one exact MIP up to this many corporations


def _method(case: Case) -> str:
    method = case.scenario.national.method
    if method == "auto":
        return "single_mip" if len(case.corporations) <= SINGLE_MIP_CORPORATIONS else "decomposition"
    return method


def _single_mip(case: Case, regional: list[RegionalOutcome], t0: float, t1: float) -> NationalResult:
    """MODEL.md 6 as one MIP over every single-region component (small cases: exact)."""
    flows, rm, x, stages = solidarity_lp(case, regional, whole_homes=True)
    t2 = time.perf_counter()
    projection = rm.evaluate(x)
    u = np.round(rm.model.variables["unfilled"].series(x).to_numpy()).astype(int)
    shortfall = shortfall_table(rm, u)
    execution = execution_table(rm, x)
    final = []
    for o in regional:
        if len(o.regions) > 1:
            final.append(o)
            continue
        r = o.regions[0]
        final.append(RegionalOutcome(o.regions, [], {}, projection[projection["region"] == r],
                                     shortfall[shortfall["region"] == r], execution[execution["region"] == r], 0.0))
    linked = [o for o in regional if len(o.regions) > 1]
    projection = pd.concat([projection, *[o.projection for o in linked]], ignore_index=True)
    shortfall = pd.concat([shortfall, *[o.shortfall for o in linked]], ignore_index=True)
    years = case.scenario.years
    flows[["steun_in_eur", "steun_out_eur"]] = flows[["steun_in_eur", "steun_out_eur"]].round(2)
    pool = pd.DataFrame({"year": years, "paid_in_eur": _per_year(flows, "steun_out_eur", years).to_numpy(),
                         "paid_out_eur": _per_year(flows, "steun_in_eur", years).to_numpy()})
    unfilled = next(s for s in stages if s.name.startswith("unfilled ("))
    return NationalResult(case, regional, final, stages, flows.reset_index(drop=True), pool,
                          projection.sort_values(["corporation_id", "year"]).reset_index(drop=True), shortfall,
                          bound_homes=None if unfilled.bound is None else float(unfilled.bound) + _linked_bound(regional),
                          lp_unfilled=unfilled_by_region(rm, x), method="single_mip",
                          seconds={"regional": round(t1 - t0, 3), "national_mip": round(t2 - t1, 3),
                                   "total": round(t2 - t0, 3)})


def _linked_only(case: Case, regional: list[RegionalOutcome], t0: float, t1: float) -> NationalResult:
    """A case whose regions are all linked by a werkgebied: components of several regions take
    part in national solidarity as neither donor nor recipient (module doc), so there is no
    pool and the national answer is the components' own, at their own bounds."""
    years = case.scenario.years
    flows = pd.DataFrame(columns=["corporation_id", "region", "year", "steun_in_eur", "steun_out_eur"])
    pool = pd.DataFrame({"year": years, "paid_in_eur": 0.0, "paid_out_eur": 0.0})
    projection = pd.concat([o.projection for o in regional], ignore_index=True)
    return NationalResult(case, regional, list(regional), [], flows, pool,
                          projection.sort_values(["corporation_id", "year"]).reset_index(drop=True),
                          pd.concat([o.shortfall for o in regional], ignore_index=True),
                          bound_homes=_linked_bound(regional), method="linked_only",
                          seconds={"regional": round(t1 - t0, 3), "total": round(t1 - t0, 3)})


@noting_clock_stops("national_clock_stops")
def run_national(case: Case, engine: str = "local", address: str | None = None, workers: int | None = None,
                 solidarity: bool = True, progress: Callable | None = None) -> NationalResult:
    """Regional stages of every component in parallel; the national LP (donors re-plan); the
    paying donors and the receiving regions in whole homes, in parallel (module docstring). The
    solves of this process that a clock ended are in ``national_clock_stops`` (the regions' own
    in their outcomes)."""
    parts = components(case)
    years = case.scenario.years
    t0 = time.perf_counter()
    regional = map_regions([(case, r) for r in parts], engine, address, workers, progress)
    t1 = time.perf_counter()
    if not any(len(o.regions) == 1 for o in regional):  # every region linked by a werkgebied: no pool
        return _linked_only(case, regional, t0, t1)
    if _method(case) == "single_mip" and solidarity:
        return _single_mip(case, regional, t0, t1)
    # what tying money to projects costs: the same LP with money free in time, in a process of
    # its own beside the national LP (measured: 7.4 s of the national run's 19 s in this phase)
    free = solidarity and case.scenario.money.timing != "free"
    with (beside(free_timing_bound, case, regional, workers=workers) if free
          else nullcontext(lambda: (None, []))) as free_bound:
        lp_flows, rm, x, stages = solidarity_lp(case, regional, solidarity)
        bound_free, stops = free_bound()
    pass_on_clock_stops(stops)
    t2 = time.perf_counter()

    def most(o: RegionalOutcome, column: str, scale: pd.Series | None = None) -> pd.DataFrame:
        mine = lp_flows[(lp_flows["region"] == o.regions[0]) & (lp_flows[column] > 0)]
        eur = mine[column] * (1.0 if scale is None else mine["year"].map(scale).to_numpy())
        return mine[["corporation_id", "year"]].assign(eur=eur.to_numpy())

    single = {o.regions[0]: o for o in regional if len(o.regions) == 1}
    paying = [o for r, o in single.items() if o.donor and (lp_flows["region"].eq(r) & (lp_flows["steun_out_eur"] > 0)).any()]
    donors = map_regions([(case, o.regions, o.values, ("donor", most(o, "steun_out_eur"))) for o in paying],
                         engine, address, workers)
    capacity = _money(donors, "steun_out", "eur")
    cap_year = _per_year(capacity, "eur", years)
    lp_year = _per_year(lp_flows, "steun_out_eur", years)
    share = (cap_year / lp_year.where(lp_year > 0)).clip(upper=1.0).fillna(0.0)  # of the LP's money the donors can pay
    receiving = [o for r, o in single.items() if (lp_flows["region"].eq(r) & (lp_flows["steun_in_eur"] > 0)).any()]
    again = map_regions([(case, o.regions, o.values, ("recipient", most(o, "steun_in_eur", share))) for o in receiving],
                        engine, address, workers)
    t3 = time.perf_counter()

    # the donors pay exactly what the recipients use, each in proportion to its capacity that year
    used = _money(again, "steun_in", "steun_in_eur")
    used_year = _per_year(used, "steun_in_eur", years)
    ratio = (used_year / cap_year.where(cap_year > 0)).clip(upper=1.0).fillna(0.0)
    paid_donors = []
    for d in donors:
        values = dict(d.values)
        pay = values["steun_out"] * values["steun_out"].index.get_level_values("year").map(ratio).to_numpy()
        values["steun_out"] = pay
        drm = build_region_model(case, d.regions, aggregate=True, steun=True)
        xd = drm.point(values)
        paid_donors.append(dataclasses.replace(d, values=values, projection=drm.evaluate(xd)))
    by_region = {o.regions: o for o in [*paid_donors, *again]}
    final = [by_region.get(o.regions, o) for o in regional]
    paid = _money(paid_donors, "steun_out", "steun_out_eur")
    flows = used.merge(paid, on=["corporation_id", "year"], how="outer").fillna(0.0)
    flows.insert(1, "region", flows["corporation_id"].map(case.corporations["region"]))
    flows = flows[(flows["steun_in_eur"] > 0.005) | (flows["steun_out_eur"] > 0.005)]
    flows = flows.sort_values(["corporation_id", "year"]).reset_index(drop=True)
    flows[["steun_in_eur", "steun_out_eur"]] = flows[["steun_in_eur", "steun_out_eur"]].round(2)
    pool = pd.DataFrame({"year": years, "paid_in_eur": _per_year(flows, "steun_out_eur", years).to_numpy(),
                         "paid_out_eur": _per_year(flows, "steun_in_eur", years).to_numpy(),
                         "lp_paid_in_eur": lp_year.round(2).to_numpy(),
                         "donor_capacity_eur": cap_year.round(2).to_numpy()})
    projection = pd.concat([f.projection for f in final], ignore_index=True).sort_values(["corporation_id", "year"])
    shortfall = pd.concat([f.shortfall for f in final], ignore_index=True)
    linked = _linked_bound(regional)
    bound = _proven(stages[1])
    return NationalResult(case, regional, final, stages, flows, pool, projection.reset_index(drop=True), shortfall,
                          bound_homes=None if bound is None else bound + linked,
                          bound_free_timing_homes=None if bound_free is None else bound_free + linked,
                          solidarity=solidarity,
                          lp_unfilled=unfilled_by_region(rm, x),
                          seconds={"regional": round(t1 - t0, 3), "national_lp": round(t2 - t1, 3),
                                   "whole_homes": round(t3 - t2, 3), "total": round(t3 - t0, 3)})
