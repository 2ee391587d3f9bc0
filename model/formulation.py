"""The allocation MIP's formulation (MODEL.md 5 and 6): its sets, its variables, and one
function per row group, named after what the rows mean.

Every group is built from labels: a term says "the variable with these labels enters the
row with those labels" (:func:`dpm.model.linear.rows_of`, :meth:`Block.at`), never a
hand-computed position. The two models of a region are two small builders over these
functions (:mod:`dpm.model.allocation`): the aggregate model of stages 1-2 and the full
model with the task split and relations. Rows a solve adds later (a stage's optimum held, the
unfilled limit, the balanced headroom, a budget) are :class:`~dpm.model.linear.RowGroup`\\ s
built here too, or in the solve driver for ``stage_optimum``.

Where each group lives (MODEL.md section):

==========================  ======================================================================  ========
group                       meaning                                                                 MODEL.md
==========================  ======================================================================  ========
``unfilled_balance``        a tradeable task is done by executors or left unfilled                  5
``executor_balance``        (aggregate) per region, type, year: done + unfilled = opgave            5
``serve_link``              (aggregate, linked regions) what c does = what it does for each region  5
``decision_link``           a corporation's decisions are sums of homes                             5
``transfer_link``           no homes over a pair without its relation                               5
``min_transfer``            a relation moves at least ``min_transfer`` homes                        5
``max_partners``            an origin has at most ``max_partners`` relations                        5
``giver_cover``             a corporation that must give is in a relation (``role_cover``)          5
``taker_cover``             a corporation that must take is in a relation (``role_cover``)          5
``icr_floor``               ICR at least its norm in every year (``ratio_limits``)                  4
``ltv_cap``                 LTV at most its norm in every year (``ratio_limits``)                   4
``solvency_floor``          solvency at least its norm in every year (``ratio_limits``)             4
``guarantee_cap``           guaranteed debt at most the cap in every year (``ratio_limits``)        4
``steun_follows_projects``  money paid is at most the cost of that year's projects                  6
``pool_balance``            the national pool pays out what it takes in                             6
``balanced_headroom``       stage 3 ``balanced``: every headroom >= m                               5
``unfilled_limit``          the unfilled opgave at most its optimum + tolerance                     5
``steun_budget``            projectsteun at most the budget                                         6
==========================  ======================================================================  ========
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dpm.model.case import Case
from dpm.model.linear import INF, LinearModel, RowGroup, rows_of
from dpm.model.projection import LIMITS, Layout, Projection
from dpm.model.scenario import TRADEABLE

MONEY_SCALE = 1e6  # money in the model is in EUR mln, so coefficients stay in a narrow range
LIMIT_ROWS = {"icr": "icr_floor", "ltv": "ltv_cap", "solvency": "solvency_floor", "guarantee": "guarantee_cap"}
DECISION_BLOCKS = (*(f"build:{k}" for k in TRADEABLE), "demolish", "verduurzaming")  # steun_in stays 0 here
TASK = ["origin", "type", "year"]  # the labels of a task


def executors(case: Case, corps: pd.DataFrame) -> pd.DataFrame:
    """Pairs (origin, executor): c may execute o's tradeable tasks if it is in o's region or
    o's region is in c's werkgebied."""
    works_in = pd.DataFrame(
        [(cid, r) for cid in corps.index for r in (corps.at[cid, "region"], *case.werkgebied.get(cid, ()))],
        columns=["executor", "region"])
    origin = corps[["region"]].rename_axis("origin").reset_index()
    return origin.merge(works_in, on="region")[["origin", "executor"]]


# --- sets -----------------------------------------------------------------------------------
@dataclass
class RegionSets:
    """The labelled sets of one component's model (MODEL.md 5).

    ``tasks``: one row per origin, type and year with homes > 0 (``task`` numbers them);
    ``moves``: each tradeable task with each corporation that may execute it (``pair`` is its
    relation, -1 for the origin itself); ``pairs``: the relations (origin != executor).
    A corporation's decisions are the slots of its projection (:class:`Layout`): the homes it
    completes per type and year, its own demolitions and its verduurzaming."""

    case: Case
    corps: pd.DataFrame
    layout: Layout
    tasks: pd.DataFrame
    moves: pd.DataFrame
    pairs: pd.DataFrame

    @classmethod
    def of(cls, case: Case, regions: tuple[str, ...], allows=None) -> "RegionSets":
        """The sets of ``regions``; ``allows(pairs)`` (a mask) keeps only the relations that can matter."""
        sc = case.scenario
        layout = Layout(sc.policy_years, sc.horizon_years)
        corps = case.corporations[case.corporations["region"].isin(regions)]
        tasks = case.opgave[case.opgave["corporation_id"].isin(corps.index)].rename(columns={"corporation_id": "origin"})
        tasks = tasks.sort_values(["origin", "type", "year"]).reset_index(drop=True)
        tasks["t"] = tasks["year"] - sc.base_year
        tasks["task"] = np.arange(len(tasks))
        moves = tasks[tasks["type"].isin(TRADEABLE)].merge(executors(case, corps), on="origin")
        moves = moves.sort_values(["origin", "type", "year", "executor"]).reset_index(drop=True)
        pairs = moves.loc[moves["origin"] != moves["executor"], ["origin", "executor"]].drop_duplicates()
        pairs = pairs.sort_values(["origin", "executor"]).reset_index(drop=True)
        if allows is not None:
            pairs = pairs[allows(pairs)].reset_index(drop=True)
            moves = moves.merge(pairs, on=["origin", "executor"], how="left", indicator=True)
            moves = moves[(moves["_merge"] == "both") | (moves["origin"] == moves["executor"])]
            moves = moves.drop(columns="_merge").reset_index(drop=True)
        pairs["pair"] = np.arange(len(pairs))
        moves = moves.merge(pairs, on=["origin", "executor"], how="left")
        moves["pair"] = moves["pair"].fillna(-1).astype(int)
        return cls(case, corps, layout, tasks, moves, pairs)

    @property
    def n_dec(self) -> int:
        """Decision slots per corporation in the model (the projection's, without steun)."""
        return sum(self.layout.length(b) for b in DECISION_BLOCKS)

    @property
    def tradeable(self) -> np.ndarray:
        """Which tasks may move between corporations."""
        return self.tasks["type"].isin(TRADEABLE).to_numpy()

    @property
    def own(self) -> pd.DataFrame:
        """The tasks a corporation does itself: demolition (of sloop_nieuwbouw) and verduurzaming."""
        return self.tasks[self.tasks["type"].isin(("sloop_nieuwbouw", "verduurzaming"))]

    @property
    def is_build(self) -> np.ndarray:
        """Per decision slot: homes completed (build:k), not an own task."""
        return np.arange(self.n_dec) < self.layout.start("demolish")

    def build_slot(self, types: pd.Series, t: pd.Series) -> np.ndarray:
        """The decision slot of completing a home of ``types`` in year ``t``."""
        block = types.map({k: self.layout.start(f"build:{k}") for k in TRADEABLE}).to_numpy(int)
        return block + t.to_numpy() - 1

    def own_slot(self) -> np.ndarray:
        """The decision slot of each own task (:attr:`own`): its demolition or its verduurzaming."""
        own = self.own
        block = np.where(own["type"] == "verduurzaming", self.layout.start("verduurzaming"),
                         self.layout.start("demolish"))
        return block + own["t"].to_numpy() - 1

    def decision_labels(self, corporation: pd.Series, slot: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"corporation_id": corporation.to_numpy(), "slot": slot})


# --- variables ------------------------------------------------------------------------------
def add_execute(lm: LinearModel, s: RegionSets):
    """``execute`` w[o,c,k,t] integer: homes of o's task of type k that c completes in year t."""
    return lm.add_variables("execute", pd.MultiIndex.from_frame(s.moves[["origin", "executor", "type", "year"]]),
                            upper=s.moves["homes"].to_numpy(float), integer=True)


def add_unfilled(lm: LinearModel, s: RegionSets):
    """``unfilled`` u[o,k,t] integer: homes of o's task left unfilled in year t."""
    return lm.add_variables("unfilled", pd.MultiIndex.from_frame(s.tasks[TASK]),
                            upper=s.tasks["homes"].to_numpy(float), integer=True)


def add_transfer(lm: LinearModel, s: RegionSets):
    """``transfer`` y[o,c] binary: c takes over tasks of o at all."""
    return lm.add_variables("transfer", pd.MultiIndex.from_frame(s.pairs[["origin", "executor"]]), upper=1.0,
                            integer=True)


def add_decision(lm: LinearModel, s: RegionSets, integer_builds: bool):
    """``decision`` z[c,slot]: c's own decisions in the projection layout, sums of whole homes,
    at most all the homes that could feed the slot. ``integer_builds``: the homes completed
    are integer columns (the aggregate model, which has no split to sum)."""
    C, n_dec = len(s.corps), s.n_dec
    index = pd.MultiIndex.from_product([s.corps.index, np.arange(n_dec)], names=["corporation_id", "slot"])
    upper = np.zeros(C * n_dec)
    np.add.at(upper, rows_of(index, s.decision_labels(s.moves["executor"], s.build_slot(s.moves["type"], s.moves["t"]))),
              s.moves["homes"].to_numpy(float))
    np.add.at(upper, rows_of(index, s.decision_labels(s.own["origin"], s.own_slot())), s.own["homes"].to_numpy(float))
    return lm.add_variables("decision", index, upper=upper, integer=np.tile(s.is_build, C) if integer_builds else False)


def add_continuity_gap(lm: LinearModel, s: RegionSets):
    """``continuity_gap`` s[c,t,limit] >= 0: the shortfall on a limit in a year, EUR mln."""
    return lm.add_variables("continuity_gap", pd.MultiIndex.from_product(
        [s.corps.index, s.case.scenario.years, LIMITS], names=["corporation_id", "year", "limit"]))


def add_steun(lm: LinearModel, s: RegionSets, free: bool):
    """``steun_in`` and ``steun_out`` (EUR mln per corporation and year), or None when the
    model has no money flows: free (>= 0) for the steun and national stages, else fixed at
    the case's input steun.csv (none: no columns)."""
    case, corps = s.case, s.corps
    given = case.steun_matrix(corps.index) / MONEY_SCALE  # (C, H), zeros without steun.csv
    if not free and not given.any():
        return None
    index = pd.MultiIndex.from_product([corps.index, case.scenario.years], names=["corporation_id", "year"])
    steun_in = lm.add_variables("steun_in", index, lower=given.ravel(), upper=INF if free else given.ravel())
    steun_out = lm.add_variables("steun_out", index, upper=INF if free else 0.0)
    return steun_in, steun_out


# --- row groups of both models --------------------------------------------------------------
def _decision_rows(proj: Projection, z, n_dec: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every decision term of a per-corporation-and-year row group."""
    C, H = len(proj.ids), proj.layout.horizon_years
    return np.repeat(np.arange(C * H), n_dec), np.repeat(z.ids.reshape(C, 1, n_dec), H, axis=1).reshape(-1)


def ratio_limits(lm: LinearModel, proj: Projection, money=None) -> None:
    """``icr_floor``, ``ltv_cap``, ``solvency_floor``, ``guarantee_cap`` (MODEL.md 4): in every
    year 1..H, headroom(c, t) + gap(c, t, limit) >= 0, the headroom affine in c's decisions
    (:class:`Projection`, in EUR mln here). Money paid in (or out) in a year moves every later
    year's headroom by the projection's steun coefficients. Tested: the rows against their
    baselines (tests/test_model/test_formulation.py, ``lp_files/full/ltv_cap.lp`` ...), the
    headroom by hand and against a loop transcription (tests/test_model/test_projection.py),
    the ratios of every reported plan recomputed (tests/test_dpm/test_results.py)."""
    z, gap = lm.variables["decision"], lm.variables["continuity_gap"]
    C, H = len(proj.ids), proj.layout.horizon_years
    n_dec = len(z) // C
    year_index = pd.MultiIndex.from_product([proj.ids, proj.years], names=["corporation_id", "year"])
    row, col = _decision_rows(proj, z, n_dec)
    steun_slots = proj.layout.start("steun_in") + np.arange(H)
    for limit in LIMITS:
        affine = proj.headroom[limit] / MONEY_SCALE
        coef = affine[:, :, 1:1 + n_dec].reshape(-1)
        gap_of_row = pd.MultiIndex.from_arrays([year_index.get_level_values(0), year_index.get_level_values(1),
                                                np.full(C * H, limit)])
        terms = [(row, col, coef), (np.arange(C * H), gap.at(gap_of_row), 1.0)]
        if money is not None:  # per EUR mln paid in year tau, the headroom of year t moves by the EUR slope
            per_eur = proj.headroom[limit][:, :, 1 + steun_slots]  # (C, H, H): year t, payment year tau
            rows_m = np.repeat(np.arange(C * H), H)
            for block, sign in zip(money, (1.0, -1.0)):
                cols_m = np.repeat(block.ids.reshape(C, 1, H), H, axis=1).reshape(-1)
                terms.append((rows_m, cols_m, sign * per_eur.reshape(-1)))
        lm.add_constraints(LIMIT_ROWS[limit], year_index, terms, lower=-affine[:, :, 0].reshape(-1))


def steun_follows_projects(lm: LinearModel, proj: Projection) -> None:
    """``steun_follows_projects`` (MODEL.md 6, ``money.timing = "projects"``): money paid to a
    corporation in year t is at most the cost of its projects of that year: per home it
    completes its investment, or only its onrendabele top (``money.project_cap``), plus its
    verduurzaming and demolition cost (``Projection.q["fundable"]``); nothing in the
    continuity years."""
    z, steun_in = lm.variables["decision"], lm.variables["steun_in"]
    C, H = len(proj.ids), proj.layout.horizon_years
    n_dec = len(z) // C
    affine = proj.q["fundable"] / MONEY_SCALE  # (C, H, 1 + S)
    row, col = _decision_rows(proj, z, n_dec)
    lm.add_constraints("steun_follows_projects", steun_in.index,
                       [(np.arange(C * H), steun_in.ids, 1.0), (row, col, -affine[:, :, 1:1 + n_dec].reshape(-1))],
                       upper=affine[:, :, 0].reshape(-1))


def decision_link(lm: LinearModel, s: RegionSets, own_only: bool) -> None:
    """``decision_link`` (MODEL.md 5): a build slot of c is the sum of the homes c executes;
    c's own demolitions and verduurzaming of year t are its task less what stays unfilled
    (z = A - u). ``own_only`` (the aggregate model, whose build slots are the executors'
    totals themselves): the own slots only."""
    z, u = lm.variables["decision"], lm.variables["unfilled"]
    index = z.index[~np.tile(s.is_build, len(s.corps))] if own_only else z.index
    own_rows = rows_of(index, s.decision_labels(s.own["origin"], s.own_slot()))
    rhs = np.zeros(len(index))
    np.add.at(rhs, own_rows, s.own["homes"].to_numpy(float))
    terms = [(np.arange(len(index)), z.at(index), 1.0)]
    if not own_only:
        w = lm.variables["execute"]
        terms.append((rows_of(index, s.decision_labels(s.moves["executor"], s.build_slot(s.moves["type"], s.moves["t"]))),
                      w.ids, -1.0))
    terms.append((own_rows, u.at(pd.MultiIndex.from_frame(s.own[TASK])), 1.0))
    lm.add_constraints("decision_link", index, terms, lower=rhs, upper=rhs)


# --- row groups of the full model -----------------------------------------------------------
def unfilled_balance(lm: LinearModel, s: RegionSets) -> None:
    """``unfilled_balance`` (MODEL.md 5): sum_c w[o,c,k,t] + u[o,k,t] = A[o,k,t] for every
    tradeable task."""
    w, u = lm.variables["execute"], lm.variables["unfilled"]
    index = u.index[s.tradeable]
    A = s.tasks["homes"].to_numpy(float)[s.tradeable]
    lm.add_constraints("unfilled_balance", index,
                       [(rows_of(index, s.moves[TASK]), w.ids, 1.0), (np.arange(len(index)), u.at(index), 1.0)],
                       lower=A, upper=A)


def transfer_link(lm: LinearModel, s: RegionSets) -> None:
    """``transfer_link`` (MODEL.md 5): what c executes of o's task is 0 unless y[o,c] = 1:
    w[o,c,k,t] <= A[o,k,t] * y[o,c], one row per task and executor (a row per relation was
    measured slower)."""
    w, y = lm.variables["execute"], lm.variables["transfer"]
    m = s.moves[s.moves["pair"] >= 0]
    index = pd.MultiIndex.from_frame(m[["origin", "executor", "type", "year"]])
    rows = np.arange(len(m))
    lm.add_constraints("transfer_link", index,
                       [(rows, w.at(index), 1.0), (rows, y.at(m[["origin", "executor"]]), -m["homes"].to_numpy(float))],
                       upper=0.0)


def least_transfer(case: Case, tasks: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Per relation (``pairs``: origin, executor), the homes it must carry (MODEL.md 5):
    ``allocation.min_transfer``, or all of the origin's tradeable task when that is less."""
    total = tasks[tasks["type"].isin(TRADEABLE)].groupby("origin")["homes"].sum()
    return np.minimum(case.scenario.allocation.min_transfer, pairs["origin"].map(total).to_numpy(float))


def min_transfer(lm: LinearModel, s: RegionSets) -> None:
    """``min_transfer`` (MODEL.md 5): a relation moves at least :func:`least_transfer` homes."""
    w, y = lm.variables["execute"], lm.variables["transfer"]
    m = s.moves[s.moves["pair"] >= 0]
    least = least_transfer(s.case, s.tasks, s.pairs)
    lm.add_constraints("min_transfer", y.index,
                       [(rows_of(y.index, m[["origin", "executor"]]), w.at(m[["origin", "executor", "type", "year"]]), 1.0),
                        (np.arange(len(y)), y.ids, -least)], lower=0.0)


def max_partners(lm: LinearModel, s: RegionSets) -> None:
    """``max_partners`` (MODEL.md 5): an origin has at most ``allocation.max_partners``
    relations (0: no limit, no rows)."""
    limit = s.case.scenario.allocation.max_partners
    if limit <= 0 or not len(s.pairs):
        return
    y = lm.variables["transfer"]
    origins = pd.Index(s.pairs["origin"].unique(), name="origin")
    lm.add_constraints("max_partners", origins, [(rows_of(origins, s.pairs["origin"]), y.ids, 1.0)],
                       upper=float(limit))


def role_cover(lm: LinearModel, s: RegionSets, roles) -> None:
    """``giver_cover``: a corporation that must give is the origin of at least one relation;
    ``taker_cover``: one that must take is the executor of at least one (MODEL.md 5, stage 3;
    valid for every plan within the unfilled limit, see :mod:`dpm.model.solidarity`)."""
    y = lm.variables["transfer"]
    for name, column, members in (("giver_cover", "origin", roles.must_give),
                                  ("taker_cover", "executor", roles.must_take)):
        index = pd.Index([m for m in members if (s.pairs[column] == m).any()], name=column)
        if len(index):
            row = index.get_indexer(s.pairs[column])
            keep = row >= 0
            lm.add_constraints(name, index, [(row[keep], y.ids[keep], 1.0)], lower=1.0)


# --- row groups of the aggregate model ------------------------------------------------------
def executor_balance(lm: LinearModel, s: RegionSets) -> None:
    """``executor_balance`` (MODEL.md 5, the aggregate model of stages 1-2): per region, type
    and year, the homes its executors complete plus its unfilled homes are its opgave. When
    some corporation works in other regions too (a werkgebied), the homes it completes for each
    region are ``serve`` columns, tied to its decisions by ``serve_link``."""
    z, u = lm.variables["decision"], lm.variables["unfilled"]
    trade = s.tasks[s.tradeable]
    opgave = trade.groupby(["region", "type", "t"])["homes"].sum()
    unfilled_terms = (rows_of(opgave.index, trade[["region", "type", "t"]]), u.ids[s.tradeable], 1.0)
    serves = executors(s.case, s.corps).merge(s.corps[["region"]].rename_axis("origin").reset_index(), on="origin")
    serves = serves[["executor", "region"]].drop_duplicates()
    if len(serves) == len(s.corps):  # each corporation works in its own region only
        builds = _build_cells(s, z)
        row = opgave.index.get_indexer(pd.MultiIndex.from_frame(builds[["region", "type", "t"]]))
        keep = row >= 0  # a slot of a type and year without opgave in the region enters no row
        lm.add_constraints("executor_balance", opgave.index,
                           [(row[keep], builds["id"].to_numpy()[keep], 1.0), unfilled_terms],
                           lower=opgave.to_numpy(float), upper=opgave.to_numpy(float))
        return
    cells = opgave.reset_index()[["region", "type", "t"]]
    sv = serves.merge(cells, on="region").sort_values(["executor", "region", "type", "t"])
    serve = lm.add_variables("serve", pd.MultiIndex.from_frame(sv[["executor", "region", "type", "t"]]),
                             upper=opgave.reindex(pd.MultiIndex.from_frame(sv[["region", "type", "t"]])).to_numpy(float),
                             integer=True)
    lm.add_constraints("executor_balance", opgave.index,
                       [(rows_of(opgave.index, sv[["region", "type", "t"]]), serve.ids, 1.0), unfilled_terms],
                       lower=opgave.to_numpy(float), upper=opgave.to_numpy(float))
    serve_link(lm, s, sv)


def serve_link(lm: LinearModel, s: RegionSets, sv: pd.DataFrame) -> None:
    """``serve_link`` (MODEL.md 5, linked regions): what c completes per type and year is
    what it completes for the regions it serves."""
    z, serve = lm.variables["decision"], lm.variables["serve"]
    index = z.index[np.tile(s.is_build, len(s.corps))]
    lm.add_constraints("serve_link", index,
                       [(np.arange(len(index)), z.at(index), 1.0),
                        (rows_of(index, s.decision_labels(sv["executor"], s.build_slot(sv["type"], sv["t"]))),
                         serve.ids, -1.0)], lower=0.0, upper=0.0)


def _build_cells(s: RegionSets, z) -> pd.DataFrame:
    """Every build slot of z: its column, the corporation's region, the type and the year."""
    n_dec = s.n_dec
    cols = np.flatnonzero(np.tile(s.is_build, len(s.corps)))
    corp, slot = np.divmod(cols, n_dec)
    P = s.layout.policy_years
    return pd.DataFrame({"id": z.ids[cols], "region": s.corps["region"].to_numpy()[corp],
                         "type": np.repeat(list(TRADEABLE), P)[slot], "t": np.tile(np.arange(1, P + 1), len(TRADEABLE))[slot]})


# --- row groups of the national model and of the solve -------------------------------------
def pool_balance(lm: LinearModel, years) -> None:
    """``pool_balance`` (MODEL.md 6): in every year, money paid into the national pool equals
    the money paid out of it (EUR mln)."""
    s_in, s_out = lm.variables["steun_in"], lm.variables["steun_out"]
    index = pd.Index(years, name="year")
    year_row = rows_of(index, s_in.index.get_level_values("year"))
    lm.add_constraints("pool_balance", index, [(year_row, s_out.ids, 1.0), (year_row, s_in.ids, -1.0)],
                       lower=0.0, upper=0.0)


def unfilled_limit(cost: np.ndarray, limit: float) -> RowGroup:
    """``unfilled_limit`` (MODEL.md 5, the efficiency stages): the weighted unfilled opgave at
    most its optimum plus the tolerance (``allocation.unfilled_tolerance``)."""
    return RowGroup.cap("unfilled_limit", cost, limit)


def steun_budget(cost: np.ndarray, budget: float) -> RowGroup:
    """``steun_budget`` (MODEL.md 6): projectsteun (discounted, EUR mln) at most the budget
    (with a hair of room for the budget found by the solve itself)."""
    return RowGroup.cap("steun_budget", cost, budget * (1 + 1e-9) + 1e-9)


def balanced_headroom(proj: Projection, z_ids: np.ndarray, z: np.ndarray, healthy: np.ndarray,
                      m_id: int) -> tuple[RowGroup | None, float]:
    """``balanced_headroom`` (MODEL.md 5, stage 3 ``balanced``): headroom[c, year, limit] >= m
    for the corporations without a continuity gap (``healthy``), in EUR of extra debt as a
    share of c's opening beleidswaarde, so that no one is drained. ``z_ids`` (C, slots) are the
    decision columns, ``z`` a point's decisions, ``m_id`` the column of m. Returns the rows
    (None when nobody is healthy) and m at ``z``."""
    n_dec = z_ids.shape[1]
    bw0 = proj.corporations["beleidswaarde_eur"].to_numpy(float)[healthy, None, None]
    labels, terms, lower, start = [], [], [], []
    offset = 0
    for limit, factor in proj.debt_factor().items():
        aff = (proj.headroom[limit] * factor[..., None])[healthy] / bw0  # (Ch, H, 1+S)
        keep = np.isfinite(aff[..., 0])  # (Ch, H)
        c_pos, h_pos = np.nonzero(keep)
        n = len(c_pos)
        if n == 0:
            continue
        r = offset + np.arange(n)
        terms += [(np.repeat(r, n_dec), z_ids[healthy][c_pos].reshape(-1), aff[c_pos, h_pos, 1:1 + n_dec].reshape(-1)),
                  (r, np.full(n, m_id), -1.0)]
        labels.append(pd.MultiIndex.from_arrays([proj.ids[healthy][c_pos], np.asarray(proj.years)[h_pos],
                                                 np.full(n, limit)], names=["corporation_id", "year", "limit"]))
        lower.append(-aff[c_pos, h_pos, 0])
        start.append(proj.value(aff, z[healthy])[c_pos, h_pos])
        offset += n
    if offset == 0:
        return None, 0.0
    index = labels[0].append(labels[1:]) if len(labels) > 1 else labels[0]
    return RowGroup.of("balanced_headroom", index, terms, np.concatenate(lower), INF), float(np.concatenate(start).min())
