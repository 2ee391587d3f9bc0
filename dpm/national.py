"""The national run (MODEL.md 6, 8): every region's stages, in parallel, then national solidarity.

1. **Regional stages.** Regions are independent until solidarity, so each component (a
   region, or regions linked by a werkgebied) is solved on its own, in parallel: locally on
   a process pool, or on a Dask cluster (``engine="dask"``; a local cluster by default, or
   the address of a running scheduler). Stages 1-2 (continuity gap, unfilled opgave) decide
   the national shortfall; who executes which task (stage 3) is left to ``dpm run`` on a
   region, so the national run writes each executor's homes (``execution.csv``).
2. **National solidarity.** Corporations of *donor* regions (every home of the opgave filled,
   no continuity gap) may pay ``steun_out`` into a national pool; corporations of the other
   regions may receive ``steun_in`` from it. A donor keeps its regional allocation and every
   limit in every year with its payments, so its own opgave stays fully feasible. The pool's
   balance is never below zero: in every year, paid in so far >= paid out so far. Lexicographic:
   least continuity gap, then fewest unfilled homes, then least money moved (so money does not
   circulate without purpose, and pool in = pool out). What stays unfilled is the national
   shortfall. Components of several regions take part as neither donor nor recipient.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from dpm.model.allocation import MONEY_SCALE, build_region_model, components
from dpm.model.case import Case
from dpm.model.scenario import TRADEABLE, TYPES
from dpm.run import shortfall_table
from dpm.solvers.errors import EngineUnavailable, WorkerLost
from dpm.solvers.highs import HighsSolver
from dpm.solvers.lexicographic import Stage, StageReport, solve_lexicographic


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
    lay = rm.projection.layout
    rows = []
    for k in TRADEABLE:
        start = lay.start(f"build:{k}")
        block = z[:, start:start + lay.policy_years]
        for c, cid in enumerate(rm.projection.ids):
            for t in np.flatnonzero(block[c] > 0):
                rows.append((rm.case.corporations.at[cid, "region"], cid, k, int(rm.case.scenario.base_year + t + 1),
                             int(round(block[c, t]))))
    return pd.DataFrame(rows, columns=["region", "executor", "type", "year", "homes"])


def solve_regional(case: Case, regions: tuple[str, ...], start_values: dict | None = None) -> RegionalOutcome:
    """Stages 1-2 of one component (the aggregate model for a single region); ``start_values``
    (an earlier solution's blocks) give the first feasible point, gaps recomputed."""
    start = time.perf_counter()
    opts = case.scenario["solver"]
    rm = build_region_model(case, regions, aggregate=len(regions) == 1)
    x0 = rm.start() if start_values is None else rm.with_gaps(rm.point(
        {k: v for k, v in start_values.items() if not k.startswith("steun")}))
    result = solve_lexicographic(HighsSolver(rm.model, opts), rm.stages()[:2], x0,
                                 opts["stage_tolerance"], opts["homes_gap"])
    x = result.x[:rm.model.n_cols]
    u = np.round(rm.model.variables["unfilled"].series(x).to_numpy()).astype(int)
    return RegionalOutcome(regions, result.stages, rm.values(x), rm.projection.evaluate(rm.decisions(x)),
                           shortfall_table(rm, u), execution_table(rm, x), time.perf_counter() - start)


# --- engines: the same function over jobs (case, regions), results in job order --------------
Job = tuple  # (case, regions) or (case, regions, start values)


def _fault_injection(regions: tuple[str, ...]) -> None:
    """For the tests of a dying worker (issue: faults in the national run): with
    ``DPM_TEST_KILL_WORKER=<region>`` the process solving that region kills itself with
    SIGKILL, as the kernel's out-of-memory killer would; with ``<region>:once`` only the first
    time (a marker file beside ``DPM_TEST_KILL_MARKER`` records it). Unset in normal use."""
    spec = os.environ.get("DPM_TEST_KILL_WORKER")
    if not spec:
        return
    region, _, mode = spec.partition(":")
    if region not in regions:
        return
    if mode == "once":
        marker = os.environ["DPM_TEST_KILL_MARKER"]
        if os.path.exists(marker):
            return
        open(marker, "w").close()
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def solve_job(*job) -> RegionalOutcome:
    """:func:`solve_regional` of one job, as a worker runs it."""
    _fault_injection(job[1])
    return solve_regional(*job)


def _map_local(jobs: list[Job], progress, workers: int | None) -> list[RegionalOutcome]:
    """Jobs on a process pool. A worker that dies (killed, out of memory) breaks the pool: the
    jobs not yet done are run again on a new pool; if a pool breaks again, each remaining job
    runs in a process of its own, so that a job that kills its worker every time is named."""
    workers = workers or os.cpu_count() or 1
    out: list = [None] * len(jobs)
    if workers == 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs, start=1):
            out[i - 1] = solve_regional(*job)
            progress(i, len(jobs), job[1])
        return out
    done = 0
    todo = list(range(len(jobs)))
    for attempt in range(3):
        width = min(workers, len(todo)) if attempt < 2 else 1
        groups = [todo] if attempt < 2 else [[i] for i in todo]
        failed = []
        for group in groups:
            finished, broken = _run_pool(jobs, group, width, out)
            for i in finished:
                done += 1
                progress(done, len(jobs), jobs[i][1])
            failed += [i for i in group if i not in finished] if broken else []
        if not failed:
            return out
        todo = failed
    names = "; ".join(" + ".join(jobs[i][1]) for i in todo)
    raise WorkerLost(f"the worker process solving {names} died three times (killed, or out of memory?); "
                     "nothing was written. Try fewer --workers, or run that region alone with 'dpm run'")


def _run_pool(jobs: list[Job], group: list[int], width: int, out: list) -> tuple[list[int], bool]:
    """Run ``jobs[group]`` on a fresh pool of ``width`` processes; store results in ``out``.
    Returns the finished job numbers and whether the pool broke (a worker died)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    finished = []
    with ProcessPoolExecutor(max_workers=width) as pool:
        futures = {pool.submit(solve_job, *jobs[i]): i for i in group}
        try:
            for future in as_completed(futures):
                out[futures[future]] = future.result()
                finished.append(futures[future])
        except BrokenProcessPool:
            for future, i in futures.items():  # results that came back before the break
                if i not in finished and future.done() and future.exception() is None:
                    out[i] = future.result()
                    finished.append(i)
            return finished, True
    return finished, False


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
        try:  # a lost worker's task is run again by the scheduler (up to its allowed failures)
            for done, future in enumerate(as_completed(futures), start=1):
                progress(done, len(jobs), jobs[index[future.key]][1])
            return client.gather(futures)
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
        return _map_local(jobs, progress, workers)
    raise ValueError(f"unknown engine {engine!r}: expected 'local' or 'dask'")


# --- national solidarity -------------------------------------------------------------------
@dataclass
class NationalResult:
    case: Case
    regional: list[RegionalOutcome]  # before solidarity
    final: list[RegionalOutcome] = field(default_factory=list)  # after: recipients solved again with their money
    stages: list[StageReport] = field(default_factory=list)  # the national LP's stages
    flows: pd.DataFrame | None = None  # corporation_id, region, year, steun_in_eur, steun_out_eur
    projection: pd.DataFrame | None = None  # after solidarity, every corporation
    shortfall: pd.DataFrame | None = None  # the national shortfall: after solidarity
    bound_homes: float = 0.0  # the national LP's unfilled homes: no allocation with the donors' plans fixed leaves fewer
    solidarity: bool = True
    seconds: dict = field(default_factory=dict)

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
                row["steun_in_eur"] = float(flows["steun_in_eur"].get(region, 0.0))
                row["steun_out_eur"] = float(flows["steun_out_eur"].get(region, 0.0))
                row["status"] = ", ".join(sorted({s.status for s in o.stages + f.stages}))
                row["seconds"] = round(o.seconds + (f.seconds if f is not o else 0.0), 3)
                rows.append(row)
        return pd.DataFrame(rows).sort_values("region").reset_index(drop=True)


def solidarity_lp(case: Case, regional: list[RegionalOutcome], solidarity: bool = True):
    """The national LP (homes continuous): who pays how much into the pool and who receives,
    per corporation and year. Returns (flows in EUR, national model, its solution, stages)."""
    opts = case.scenario["solver"]
    single = [o for o in regional if len(o.regions) == 1]
    regions = tuple(sorted(o.regions[0] for o in single))
    rm = build_region_model(case, regions, aggregate=True, steun=True)
    lm = rm.model
    solver = HighsSolver(lm, opts, relaxed=True)
    x0 = rm.point({name: pd.concat([o.values[name] for o in single]) for name in single[0].values})
    donor_regions = {o.regions[0] for o in single if o.donor}
    corp_region = rm.projection.corporations["region"]

    def fix(name: str, mask: np.ndarray, values: np.ndarray | None = None) -> None:
        ids = lm.variables[name].ids[mask]
        solver.fix_columns(ids, np.zeros(len(ids)) if values is None else values[mask])

    def donor(name: str) -> np.ndarray:
        idx = lm.variables[name].index.get_level_values("corporation_id")
        return corp_region.reindex(idx).isin(donor_regions).to_numpy()

    fix("steun_in", donor("steun_in"))  # donors only pay,
    fix("unfilled", rm.tasks["region"].isin(donor_regions).to_numpy())  # keep their whole opgave,
    fix("continuity_gap", donor("continuity_gap"))  # every limit,
    fix("decision", donor("decision"), x0[lm.variables["decision"].ids])  # and their regional allocation
    everyone = np.ones(len(lm.variables["steun_out"]), bool)
    fix("steun_out", ~donor("steun_out") if solidarity else everyone)  # the others only receive
    if not solidarity:
        fix("steun_in", everyone)

    # pool_balance: in every year t, paid in up to t >= paid out up to t (EUR mln)
    H = len(case.scenario.years)
    s_in, s_out = lm.variables["steun_in"], lm.variables["steun_out"]
    year_pos = np.tile(np.arange(H), len(s_in) // H)
    rows, cols, vals = [], [], []
    for t in range(H):
        upto = np.flatnonzero(year_pos <= t)
        rows.append(np.full(2 * len(upto), t))
        cols += [s_out.ids[upto], s_in.ids[upto]]
        vals += [np.ones(len(upto)), -np.ones(len(upto))]
    solver.add_rows(np.zeros(H), np.full(H, np.inf), np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))

    stages = rm.stages()[:2]
    stages = [Stage("continuity (LP)", stages[0].cost, scale=MONEY_SCALE), Stage("unfilled (LP)", stages[1].cost),
              Stage("money (LP)", lm.cost({"steun_in": 1.0, "steun_out": 1.0}), scale=MONEY_SCALE)]
    result = solve_lexicographic(solver, stages, None, opts["stage_tolerance"])
    x = result.x[:lm.n_cols]
    flows = s_in.index.to_frame(index=False)
    flows.insert(1, "region", flows["corporation_id"].map(corp_region))
    flows["steun_in_eur"] = np.round(s_in.series(x).to_numpy() * MONEY_SCALE, 2)
    flows["steun_out_eur"] = np.round(s_out.series(x).to_numpy() * MONEY_SCALE, 2)
    flows = flows[(flows["steun_in_eur"] > 0) | (flows["steun_out_eur"] > 0)].reset_index(drop=True)
    return flows, rm, x, result.stages


def run_national(case: Case, engine: str = "local", address: str | None = None, workers: int | None = None,
                 solidarity: bool = True, progress: Callable | None = None) -> NationalResult:
    """Regional stages of every component in parallel; the national LP that divides the
    pool; each receiving region solved again (in parallel, whole homes) with its money."""
    parts = components(case)
    t0 = time.perf_counter()
    regional = map_regions([(case, r) for r in parts], engine, address, workers, progress)
    t1 = time.perf_counter()
    flows, rm, x, stages = solidarity_lp(case, regional, solidarity)
    t2 = time.perf_counter()
    receiving = set(flows.loc[flows["steun_in_eur"] > 0, "region"])
    jobs = [(dataclasses.replace(case, steun=flows.loc[flows["region"] == o.regions[0],
                                                      ["corporation_id", "year", "steun_in_eur"]]
                                 .rename(columns={"steun_in_eur": "steun_eur"})), o.regions, o.values)
            for o in regional if len(o.regions) == 1 and o.regions[0] in receiving]
    again = iter(map_regions(jobs, engine, address, workers))
    final = [next(again) if len(o.regions) == 1 and o.regions[0] in receiving else o for o in regional]
    t3 = time.perf_counter()
    # every corporation's finances after solidarity: donors with their payments (national LP,
    # their allocation fixed), recipients from their regional solve with the money they receive
    payers = flows.loc[flows["steun_out_eur"] > 0, "corporation_id"].unique()
    with_payments = rm.projection.evaluate(rm.decisions(x))  # donors' decisions are fixed: exact
    projection = pd.concat([f.projection for f in final], ignore_index=True)
    projection = pd.concat([projection[~projection["corporation_id"].isin(payers)],
                            with_payments[with_payments["corporation_id"].isin(payers)]],
                           ignore_index=True).sort_values(["corporation_id", "year"])
    shortfall = pd.concat([f.shortfall for f in final], ignore_index=True)
    return NationalResult(case, regional, final, stages, flows, projection.reset_index(drop=True), shortfall,
                          bound_homes=float(stages[1].objective), solidarity=solidarity,
                          seconds={"regional": round(t1 - t0, 3), "national_lp": round(t2 - t1, 3),
                                   "recipients": round(t3 - t2, 3), "total": round(t3 - t0, 3)})
