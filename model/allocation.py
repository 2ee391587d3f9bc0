"""The allocation MIP of one woondeal region (MODEL.md 5).

Variables (all pandas-indexed blocks, see ``dpm.model.linear``):

- ``execute``  w[o,c,k,t] integer: homes of origin o's tradeable task of type k that c completes in year t
- ``unfilled`` u[o,k,t] integer: homes of o's task left unfilled in year t (verduurzaming: done = A - u)
- ``transfer`` y[o,c] binary (o != c): c takes over tasks of o at all
- ``decision`` z[c,slot]: c's own decisions in the projection layout (homes it completes per
  type and year, its own demolitions, its verduurzaming), the sum of the w that feed them
- ``continuity_gap`` s[c,t,limit] >= 0: the shortfall on a limit, EUR mln

Rows: ``unfilled_balance``, ``transfer_link``, ``min_transfer``, ``max_partners``,
``decision_link``, and the four ratio limits ``icr_floor``, ``ltv_cap``, ``solvency_floor``,
``guarantee_cap`` whose coefficients come from :class:`dpm.model.projection.Projection`.

Regions linked by a werkgebied (a corporation that may work in another region) share
executors, so they are solved together as one *component* (:func:`components`).
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from dpm.model.case import Case
from dpm.model.linear import INF, LinearModel, RowGroup
from dpm.model.projection import LIMITS, Projection
from dpm.model.scenario import TRADEABLE, TYPES
from dpm.model.solidarity import HOMES_MOVED_REL_GAP, Roles
from dpm.solvers.lexicographic import Stage

MONEY_SCALE = 1e6  # money in the model is in EUR mln, so coefficients stay in a narrow range
LIMIT_ROWS = {"icr": "icr_floor", "ltv": "ltv_cap", "solvency": "solvency_floor", "guarantee": "guarantee_cap"}
DECISION_BLOCKS = (*(f"build:{k}" for k in TRADEABLE), "demolish", "verduurzaming")  # steun_in stays 0 here


def components(case: Case) -> list[tuple[str, ...]]:
    """Groups of regions that must be solved together: linked by some corporation's werkgebied."""
    g = nx.Graph()
    g.add_nodes_from(case.regions)
    for cid, extra in case.werkgebied.items():
        for region in extra:
            g.add_edge(case.corporations.at[cid, "region"], region)
    return sorted(tuple(sorted(c)) for c in nx.connected_components(g))


def executors(case: Case, corps: pd.DataFrame) -> pd.DataFrame:
    """Pairs (origin, executor): c may execute o's tradeable tasks if it is in o's region or
    o's region is in c's werkgebied."""
    works_in = pd.DataFrame(
        [(cid, r) for cid in corps.index for r in (corps.at[cid, "region"], *case.werkgebied.get(cid, ()))],
        columns=["executor", "region"])
    origin = corps[["region"]].rename_axis("origin").reset_index()
    return origin.merge(works_in, on="region")[["origin", "executor"]]


@dataclass
class RegionModel:
    """The MIP of one component, with everything needed to read its solution back."""

    regions: tuple[str, ...]
    case: Case
    projection: Projection
    model: LinearModel
    tasks: pd.DataFrame  # origin, region, type, year, t, homes
    moves: pd.DataFrame  # task, origin, executor, type, year, t, pair
    pairs: pd.DataFrame  # origin, executor (origin != executor)
    aggregate: bool = False  # the stage 1-2 model without task split (see build_region_model)
    roles: Roles | None = None  # who must give / take (dpm.model.solidarity), when known

    # --- the stages of MODEL.md 5 ---------------------------------------------------------
    def stages(self) -> list[Stage]:
        sc = self.case.scenario
        lm = self.model
        weights = sc["allocation"]["unfilled_weight"]
        w_unfilled = self.tasks["type"].map(weights).to_numpy(float)
        # a corporation's gap depends on its own decisions only, and leaving tasks unfilled is
        # always allowed, so at the optimum each corporation is at its own least gap: fixing
        # it per corporation is the same as fixing the total, with decoupled rows. Not so when
        # money follows the projects (steun_follows_projects): a corporation's money then
        # depends on the homes it takes on, which others could take instead, so the least
        # total gap can be split over the corporations in many ways, and only the total is
        # fixed (measured: per corporation left 284 homes unfilled where 68 were possible)
        gap = lm.variables["continuity_gap"]
        groups = None
        if "steun_follows_projects" not in lm.constraints:
            groups = np.full(lm.n_cols, -1)
            groups[gap.ids] = self.projection.corporations.index.get_indexer(
                gap.index.get_level_values("corporation_id"))
        stages = [
            Stage("continuity", lm.cost({"continuity_gap": 1.0}), scale=MONEY_SCALE, groups=groups),
            Stage("unfilled", lm.cost({"unfilled": w_unfilled}),
                  integral=bool(np.all(w_unfilled == np.round(w_unfilled))), in_homes=True, round_lp=True),
            self.timing_stage(),
        ]
        if self.aggregate:
            return stages
        efficiency = sc["allocation"]["efficiency"]
        moved = (self.moves["origin"] != self.moves["executor"]).to_numpy(float)
        if efficiency == "transfers":
            # fewest transfer relations, then (with that number fixed) fewest homes moved
            stages.append(Stage("transfers", lm.cost({"transfer": 1.0}), integral=True))
            # an efficiency measure: within solver.homes_gap or 1 % of its optimum is enough (no time
            # spent proving the last homes; measured: the nieuwbouw x2 variant otherwise spends its
            # 10 s limit between 0.1 % and 0.2 %)
            stages.append(Stage("homes_moved", lm.cost({"execute": moved}), integral=True, in_homes=True, prove=False,
                                mip_rel_gap=HOMES_MOVED_REL_GAP))
        elif efficiency == "cost":
            debt_end = self.projection.q["debt"][:, -1, 1:] / MONEY_SCALE  # (C, S)
            z = lm.variables["decision"]
            corp_pos, slot = self._decision_position()
            cost = np.zeros(lm.n_cols)
            cost[z.ids] = debt_end[corp_pos, slot]
            stages.append(Stage("efficiency", cost, scale=MONEY_SCALE))
        else:  # balanced
            stages.append(Stage("efficiency", np.zeros(lm.n_cols), prepare=self._balanced_rows))
        return stages

    def timing_stage(self) -> Stage:
        """``unfilled_timing`` (MODEL.md 5, stage 2's tie-break): among plans with the least
        unfilled opgave, homes stay unfilled as late as possible. Minimises the home-years by
        which unfilled homes come before the end of the policy period, sum (P - t) * u[t], so
        "from year X" names the first year a shortfall cannot be avoided."""
        P = self.case.scenario.policy_years
        return Stage("unfilled_timing", self.model.cost({"unfilled": (P - self.tasks["t"]).to_numpy(float)}),
                     integral=True, time_limit_s=float(self.case.scenario["solver"]["tiebreak_time_limit_s"]),
                     mip_rel_gap=0.0)  # exact within its time limit: "from year X" is a claim

    def stage(self, name: str) -> Stage:
        """The stage called ``name`` (see :meth:`stages`)."""
        return next(s for s in self.stages() if s.name == name)

    def _decision_position(self) -> tuple[np.ndarray, np.ndarray]:
        idx = self.model.variables["decision"].index
        pos = self.projection.corporations.index.get_indexer(idx.get_level_values("corporation_id"))
        return pos, idx.get_level_values("slot").to_numpy()

    def _balanced_rows(self, solver, x: np.ndarray):
        """Stage 3 'balanced' (MODEL.md 5): maximise m, the smallest headroom over all limits and
        years of the corporations without a continuity gap, in EUR of extra debt as a share of
        the corporation's opening beleidswaarde, so that no one is drained. Adds the column m
        and the row group ``balanced_headroom`` (headroom[c, year, limit] >= m)."""
        proj, lm = self.projection, self.model
        C = len(proj.ids)
        gap = lm.variables["continuity_gap"].series(x).groupby(level="corporation_id").sum()
        healthy = np.flatnonzero(gap.reindex(proj.ids).to_numpy() <= 1e-9)
        z_ids = lm.variables["decision"].ids.reshape(C, -1)
        n_dec = z_ids.shape[1]
        z = self.decisions(x)
        bw0 = proj.corporations["beleidswaarde_eur"].to_numpy(float)[healthy, None, None]
        m_id = solver.add_columns(np.array([-INF]), np.array([INF]))[0]
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
        if offset == 0:  # nobody without a gap: nothing to balance
            return np.zeros(1), np.zeros(1)
        index = labels[0].append(labels[1:]) if len(labels) > 1 else labels[0]
        RowGroup.of("balanced_headroom", index, terms, np.concatenate(lower), INF).add_to(solver)
        return np.array([-1.0]), np.array([float(np.concatenate(start).min())])

    # --- reading a solution back ----------------------------------------------------------
    def decisions(self, x: np.ndarray) -> np.ndarray:
        """Decision matrix z (C, slots) of the projection from a solution, integer homes."""
        proj = self.projection
        z = np.zeros((len(proj.ids), proj.layout.slots))
        corp_pos, slot = self._decision_position()
        z[corp_pos, slot] = np.round(self.model.variables["decision"].series(x).to_numpy())
        if "steun_in" in self.model.variables:  # net money in, EUR
            net = (self.model.variables["steun_in"].series(x).to_numpy()
                   - self.model.variables["steun_out"].series(x).to_numpy())
            H = proj.layout.horizon_years
            z[:, proj.layout.start("steun_in"):proj.layout.start("steun_in") + H] = net.reshape(-1, H) * MONEY_SCALE
        return z

    def evaluate(self, x: np.ndarray) -> pd.DataFrame:
        """The projection table (MODEL.md 7) of a solution: decisions in whole homes, money in
        and out apart."""
        out = None
        if "steun_out" in self.model.variables:
            out = self.model.variables["steun_out"].series(x).to_numpy().reshape(len(self.projection.ids), -1) * MONEY_SCALE
        return self.projection.evaluate(self.decisions(x), out)

    def complete(self, w: np.ndarray, unfilled: np.ndarray | None = None) -> np.ndarray:
        """A full point from whole task splits ``w``: the unfilled homes, relations, decisions and
        continuity gaps that follow. Relations below ``min_transfer`` are dropped (their homes
        stay unfilled), so the point satisfies every row of the model. The tasks that are not
        split (verduurzaming) keep their unfilled homes of ``unfilled`` (per task; None: all)."""
        lm = self.model
        sc = self.case.scenario
        w = np.floor(np.maximum(w, 0.0) + 1e-6)
        moves, pairs = self.moves, self.pairs
        is_move = (moves["pair"] >= 0).to_numpy()
        per_pair = np.bincount(moves["pair"][is_move], weights=w[is_move], minlength=len(pairs))
        total = self.tasks[self.tasks["type"].isin(TRADEABLE)].groupby("origin")["homes"].sum()
        least = np.minimum(sc["allocation"]["min_transfer"], pairs["origin"].map(total).to_numpy(float))
        too_small = np.flatnonzero((per_pair > 0) & (per_pair < least))
        w[np.isin(moves["pair"].to_numpy(), too_small)] = 0.0
        per_pair = np.bincount(moves["pair"][is_move], weights=w[is_move], minlength=len(pairs))
        x = np.zeros(lm.n_cols)
        for name in ("steun_in", "steun_out"):  # money at its lower bound (input steun.csv, or 0)
            if name in lm.variables:
                x[lm.variables[name].ids] = lm.col_lower[lm.variables[name].ids]
        done = np.bincount(moves["task"], weights=w, minlength=len(self.tasks))
        u_ids = lm.variables["unfilled"].ids
        x[u_ids] = self.tasks["homes"].to_numpy(float) - done
        if unfilled is not None:
            kept = ~self.tasks["type"].isin(TRADEABLE).to_numpy()
            x[u_ids[kept]] = np.round(np.asarray(unfilled)[kept])
        if self.aggregate:  # executors' totals from the split; no split or relation variables
            z = self.model.variables["decision"]
            n_dec = len(z) // len(self.projection.ids)
            pos = self.projection.corporations.index.get_indexer(moves["executor"])
            block = {k: self.projection.layout.start(f"build:{k}") for k in TRADEABLE}
            slot = moves["type"].map(block).to_numpy(int) + moves["t"].to_numpy() - 1
            np.add.at(x, z.ids[pos * n_dec + slot], w)
        else:
            x[lm.variables["execute"].ids] = w
            x[lm.variables["transfer"].ids] = (per_pair > 0).astype(float)
        # decisions follow from the decision_link rows: z = rhs - (other terms)
        link = lm.constraints["decision_link"]
        z_ids = lm.variables["decision"].ids[lm.variables["decision"].index.get_indexer(link.index)]
        A = lm.matrix().tocsr()[link.ids]
        x[z_ids] = 0.0
        x[z_ids] = lm.row_lower[link.ids] - A @ x
        return self.with_gaps(x)

    def with_gaps(self, x: np.ndarray) -> np.ndarray:
        """``x`` with its continuity gaps set to what its decisions and money leave."""
        proj = self.projection
        zmat = self.decisions(x)
        gap = np.stack([np.maximum(0.0, -proj.value(proj.headroom[l], zmat)) for l in LIMITS], axis=-1)
        x = x.copy()
        x[self.model.variables["continuity_gap"].ids] = gap.ravel() / MONEY_SCALE
        return x

    def lift(self, other: "RegionModel", x_other: np.ndarray) -> np.ndarray:
        """A point of this model with the decisions, unfilled homes, gaps and money of
        ``other``'s solution (matched by index); the task split and relations are left at 0."""
        return self.point(other.values(x_other))

    LIFTED = ("decision", "unfilled", "continuity_gap", "steun_in", "steun_out")

    def values(self, x: np.ndarray) -> dict[str, pd.Series]:
        """The blocks a solution is carried over by (see :meth:`point`), as indexed series."""
        return {name: self.model.variables[name].series(x) for name in self.LIFTED if name in self.model.variables}

    def point(self, values: dict[str, pd.Series]) -> np.ndarray:
        """A point of this model from blocks of solutions (possibly of several models, e.g. one
        per region), matched by index: what none gives stays 0, money at its lower bound."""
        x = np.zeros(self.model.n_cols)
        lower = self.model.col_lower
        for name in self.LIFTED:
            if name not in self.model.variables:
                continue
            mine = self.model.variables[name]
            x[mine.ids] = lower[mine.ids] if name.startswith("steun") else 0.0
            if name in values:
                theirs = values[name].reindex(mine.index).to_numpy()
                known = ~np.isnan(theirs)
                x[mine.ids[known]] = theirs[known]
        return x

    def start(self) -> np.ndarray:
        """A feasible first point: nothing executed, everything unfilled, gaps as they fall."""
        return self.complete(np.zeros(len(self.moves)))


def _add_steun(lm: LinearModel, case: Case, corps: pd.DataFrame, free: bool):
    """``steun_in`` and ``steun_out`` (EUR mln per corporation and year), or None when the
    model has no money flows: free (>= 0) for the steun and national stages, else fixed at
    the case's input steun.csv (none: no columns)."""
    given = case.steun_matrix(corps.index) / MONEY_SCALE  # (C, H), zeros without steun.csv
    if not free and not given.any():
        return None
    index = pd.MultiIndex.from_product([corps.index, case.scenario.years], names=["corporation_id", "year"])
    steun_in = lm.add_variables("steun_in", index, lower=given.ravel(), upper=INF if free else given.ravel())
    steun_out = lm.add_variables("steun_out", index, upper=INF if free else 0.0)
    return steun_in, steun_out


def _add_ratio_rows(lm: LinearModel, proj: Projection, z, gap, money=None) -> None:
    """Ratio limits: headroom(c, t) + gap(c, t, limit) >= 0 in every year 1..H (MODEL.md 4):
    ``icr_floor``, ``ltv_cap``, ``solvency_floor``, ``guarantee_cap``. Money paid in (or out)
    in a year moves every later year's headroom by the projection's steun coefficients."""
    C, H = len(proj.ids), proj.layout.horizon_years
    n_dec = len(z) // C
    year_index = pd.MultiIndex.from_product([proj.ids, proj.years], names=["corporation_id", "year"])
    row = np.repeat(np.arange(C * H), n_dec)
    col = np.repeat(z.ids.reshape(C, 1, n_dec), H, axis=1).reshape(-1)
    steun_slots = proj.layout.start("steun_in") + np.arange(H)
    for k, limit in enumerate(LIMITS):
        affine = proj.headroom[limit] / MONEY_SCALE
        coef = affine[:, :, 1:1 + n_dec].reshape(-1)
        gap_ids = gap.ids.reshape(C, H, len(LIMITS))[:, :, k].reshape(-1)
        terms = [(row, col, coef), (np.arange(C * H), gap_ids, 1.0)]
        if money is not None:  # per EUR mln paid in year tau, the headroom of year t moves by the EUR slope
            per_eur = proj.headroom[limit][:, :, 1 + steun_slots]  # (C, H, H): year t, payment year tau
            rows_m = np.repeat(np.arange(C * H), H)
            for block, sign in zip(money, (1.0, -1.0)):
                cols_m = np.repeat(block.ids.reshape(C, 1, H), H, axis=1).reshape(-1)
                terms.append((rows_m, cols_m, sign * per_eur.reshape(-1)))
        lm.add_constraints(LIMIT_ROWS[limit], year_index, terms, lower=-affine[:, :, 0].reshape(-1))


def _add_steun_cap(lm: LinearModel, proj: Projection, z, money) -> None:
    """``steun_follows_projects`` (MODEL.md 6, ``money.timing = "projects"``): money paid to a
    corporation in year t is at most the cost of its projects of that year: per home it
    completes its investment, or only its onrendabele top (``money.project_cap``), plus its
    verduurzaming and demolition cost (``Projection.q["fundable"]``); nothing in the
    continuity years."""
    C, H = len(proj.ids), proj.layout.horizon_years
    n_dec = len(z) // C
    affine = proj.q["fundable"] / MONEY_SCALE  # (C, H, 1 + S)
    index = pd.MultiIndex.from_product([proj.ids, proj.years], names=["corporation_id", "year"])
    row = np.repeat(np.arange(C * H), n_dec)
    col = np.repeat(z.ids.reshape(C, 1, n_dec), H, axis=1).reshape(-1)
    lm.add_constraints("steun_follows_projects", index,
                       [(np.arange(C * H), money[0].ids, 1.0), (row, col, -affine[:, :, 1:1 + n_dec].reshape(-1))],
                       upper=affine[:, :, 0].reshape(-1))


def build_region_model(case: Case, regions: tuple[str, ...], aggregate: bool = False,
                       steun: bool = False, roles: Roles | None = None, restrict: bool = False) -> RegionModel:
    """Build the MIP of the regions ``regions`` (one component) of ``case``.

    ``aggregate``: the model of stages 1 and 2, where any corporation may execute any task of
    its own region: no task split and no relations, only each executor's homes per type and
    year (integer) and ``executor_balance`` rows per region, type and year. Its optimum is the
    full model's (up to ``min_transfer``/``max_partners``, which only the full model knows).
    Regions linked by a werkgebied add ``serve`` (the homes an executor completes for each
    region it works in) and ``serve_link`` rows.

    ``steun`` (MODEL.md 6): money into (``steun_in``) and out of (``steun_out``) each
    corporation's cash flow per year, in EUR mln, both >= 0 and unbounded; the caller fixes
    what it does not use. Without it, a case's input ``steun.csv`` is a fixed ``steun_in``.

    ``roles`` (:mod:`dpm.model.solidarity`): the corporations that must give or take in every
    plan; adds ``giver_cover`` and ``taker_cover`` (each is in at least one relation), and with
    ``restrict`` builds relations only on the pairs that can matter (``Roles.allows``).

    Integer are the homes of each task per executor (``execute``), the unfilled homes and the
    transfer relations; a corporation's decisions (``decision``) are sums of those. (Making
    only the executors' totals integer and the split continuous was measured slower.)
    """
    sc = case.scenario
    corps = case.corporations[case.corporations["region"].isin(regions)]
    proj = Projection(corps, sc)
    layout = proj.layout
    lm = LinearModel()
    C = len(corps)
    n_dec = sum(layout.length(b) for b in DECISION_BLOCKS)
    pos = pd.Series(np.arange(C), index=corps.index)

    # Tasks: one row per origin, type and year with homes > 0
    tasks = case.opgave[case.opgave["corporation_id"].isin(corps.index)].rename(columns={"corporation_id": "origin"})
    tasks = tasks.sort_values(["origin", "type", "year"]).reset_index(drop=True)
    tasks["t"] = tasks["year"] - sc.base_year
    tasks["task"] = np.arange(len(tasks))
    # Moves: each tradeable task with each corporation that may execute it
    moves = tasks[tasks["type"].isin(TRADEABLE)].merge(executors(case, corps), on="origin")
    moves = moves.sort_values(["origin", "type", "year", "executor"]).reset_index(drop=True)
    pairs = moves.loc[moves["origin"] != moves["executor"], ["origin", "executor"]].drop_duplicates()
    pairs = pairs.sort_values(["origin", "executor"]).reset_index(drop=True)
    if restrict and roles is not None:
        pairs = pairs[roles.allows(pairs)].reset_index(drop=True)
        moves = moves.merge(pairs, on=["origin", "executor"], how="left", indicator=True)
        moves = moves[(moves["_merge"] == "both") | (moves["origin"] == moves["executor"])]
        moves = moves.drop(columns="_merge").reset_index(drop=True)
    pairs["pair"] = np.arange(len(pairs))
    moves = moves.merge(pairs, on=["origin", "executor"], how="left")
    moves["pair"] = moves["pair"].fillna(-1).astype(int)

    # Decision slots: build:k (homes c completes), demolish and verduurzaming (c's own tasks)
    block_start = {k: layout.start("verduurzaming" if k == "verduurzaming" else f"build:{k}") for k in TYPES}
    move_slot = pos[moves["executor"]].to_numpy() * n_dec + moves["type"].map(block_start).to_numpy(int) + moves["t"].to_numpy() - 1
    own = tasks[tasks["type"].isin(("sloop_nieuwbouw", "verduurzaming"))]
    own_block = np.where(own["type"] == "verduurzaming", layout.start("verduurzaming"), layout.start("demolish"))
    own_slot = pos[own["origin"]].to_numpy() * n_dec + own_block + own["t"].to_numpy() - 1
    upper = np.zeros(C * n_dec)
    np.add.at(upper, move_slot, moves["homes"].to_numpy(float))
    np.add.at(upper, own_slot, own["homes"].to_numpy(float))

    is_build = np.zeros(n_dec, bool)
    is_build[:layout.start("demolish")] = True
    tradeable = tasks["type"].isin(TRADEABLE).to_numpy()
    A = tasks["homes"].to_numpy(float)

    # Variables
    if not aggregate:
        w = lm.add_variables("execute", pd.MultiIndex.from_frame(moves[["origin", "executor", "type", "year"]]),
                             upper=moves["homes"].to_numpy(float), integer=True)
    u = lm.add_variables("unfilled", pd.MultiIndex.from_frame(tasks[["origin", "type", "year"]]),
                         upper=tasks["homes"].to_numpy(float), integer=True)
    if not aggregate:
        y = lm.add_variables("transfer", pd.MultiIndex.from_frame(pairs[["origin", "executor"]]), upper=1.0,
                             integer=True)
    z_index = pd.MultiIndex.from_product([corps.index, np.arange(n_dec)], names=["corporation_id", "slot"])
    z = lm.add_variables("decision", z_index, upper=upper,  # sums of whole homes (aggregate: whole homes)
                         integer=np.tile(is_build, C) if aggregate else False)
    gap = lm.add_variables("continuity_gap", pd.MultiIndex.from_product(
        [corps.index, sc.years, LIMITS], names=["corporation_id", "year", "limit"]))
    money = _add_steun(lm, case, corps, steun)
    if steun and sc["money"]["timing"] == "projects":
        _add_steun_cap(lm, proj, z, money)

    if aggregate:
        # executor_balance: per type and year, homes executed + unfilled = opgave of the region
        kt = tasks[tradeable].groupby(["region", "type", "t"])["homes"].sum()
        slot_kind = np.repeat([k for k in TRADEABLE], layout.policy_years)
        slot_t = np.tile(np.arange(1, layout.policy_years + 1), len(TRADEABLE))
        build_cols = np.flatnonzero(np.tile(is_build, C))
        z_corp, z_slot = np.divmod(build_cols, n_dec)
        rows_z = kt.index.get_indexer(pd.MultiIndex.from_arrays(  # slot -> row (or -1 when no opgave)
            [corps["region"].to_numpy()[z_corp], slot_kind[z_slot], slot_t[z_slot]]))
        row_u = kt.index.get_indexer(pd.MultiIndex.from_arrays(
            [tasks["region"][tradeable], tasks["type"][tradeable], tasks["t"][tradeable]]))
        serves = executors(case, corps).merge(corps[["region"]].rename_axis("origin").reset_index(), on="origin")
        serves = serves[["executor", "region"]].drop_duplicates()
        if len(serves) == len(corps):  # each corporation works in its own region only
            keep = rows_z >= 0
            lm.add_constraints("executor_balance", kt.index,
                               [(rows_z[keep], z.ids[build_cols[keep]], 1.0), (row_u, u.ids[tradeable], 1.0)],
                               lower=kt.to_numpy(float), upper=kt.to_numpy(float))
        else:  # linked regions: serve[c, r, k, t], the homes c completes for region r (MODEL.md 5)
            cells = kt.reset_index()[["region", "type", "t"]]
            sv = serves.merge(cells, on="region").sort_values(["executor", "region", "type", "t"])
            serve = lm.add_variables("serve", pd.MultiIndex.from_frame(sv[["executor", "region", "type", "t"]]),
                                     upper=kt.reindex(pd.MultiIndex.from_frame(sv[["region", "type", "t"]])).to_numpy(float),
                                     integer=True)
            row_sv = kt.index.get_indexer(pd.MultiIndex.from_frame(sv[["region", "type", "t"]]))
            lm.add_constraints("executor_balance", kt.index,
                               [(row_sv, serve.ids, 1.0), (row_u, u.ids[tradeable], 1.0)],
                               lower=kt.to_numpy(float), upper=kt.to_numpy(float))
            # serve_link: what c completes per type and year is what it completes for its regions
            block = sv["type"].map({k: layout.start(f"build:{k}") for k in TRADEABLE}).to_numpy(int)
            z_of_sv = pos[sv["executor"]].to_numpy() * n_dec + block + sv["t"].to_numpy() - 1
            link_pos = np.full(C * n_dec, -1)
            link_pos[build_cols] = np.arange(len(build_cols))
            lm.add_constraints("serve_link", z.index[build_cols],
                               [(np.arange(len(build_cols)), z.ids[build_cols], 1.0),
                                (link_pos[z_of_sv], serve.ids, -1.0)], lower=0.0, upper=0.0)
        rhs = np.zeros(C * n_dec)
        np.add.at(rhs, own_slot, own["homes"].to_numpy(float))
        own_rows = np.flatnonzero(~np.tile(is_build, C))
        row_pos = np.full(C * n_dec, -1)
        row_pos[own_rows] = np.arange(len(own_rows))
        lm.add_constraints("decision_link", z.index[own_rows], [
            (np.arange(len(own_rows)), z.ids[own_rows], 1.0),
            (row_pos[own_slot], u.ids[own["task"].to_numpy()], 1.0),
        ], lower=rhs[own_rows], upper=rhs[own_rows])
        _add_ratio_rows(lm, proj, z, gap, money)
        return RegionModel(regions=regions, case=case, projection=proj, model=lm, tasks=tasks,
                           moves=moves, pairs=pairs, aggregate=True)

    # unfilled_balance: sum_c w[o,c,k,t] + u[o,k,t] = A[o,k,t]   (tradeable tasks)
    task_row = pd.Series(np.arange(tradeable.sum()), index=tasks["task"][tradeable])
    lm.add_constraints("unfilled_balance", u.index[tradeable],
                       [(task_row[moves["task"]].to_numpy(), w.ids, 1.0),
                        (np.arange(tradeable.sum()), u.ids[tradeable], 1.0)], lower=A[tradeable], upper=A[tradeable])

    # decision_link: build slot = sum of the flows c executes; own demolition / verduurzaming = A - u
    rhs = np.zeros(C * n_dec)
    np.add.at(rhs, own_slot, own["homes"].to_numpy(float))
    lm.add_constraints("decision_link", z.index, [
        (np.arange(C * n_dec), z.ids, 1.0),
        (move_slot, w.ids, -1.0),
        (own_slot, u.ids[own["task"].to_numpy()], 1.0),
    ], lower=rhs, upper=rhs)

    # transfer_link: what c executes of o's tasks is 0 unless y[o,c] = 1
    is_move = (moves["pair"] >= 0).to_numpy()
    m = moves[is_move]
    rows = np.arange(len(m))  # per task row: w[o,c,k,t] <= A[o,k,t] * y[o,c] (a per-relation row was slower)
    lm.add_constraints("transfer_link", w.index[is_move],
                       [(rows, w.ids[is_move], 1.0), (rows, y.ids[m["pair"]], -m["homes"].to_numpy(float))],
                       upper=0.0)
    # min_transfer: a relation moves at least min_transfer homes (or all of o's tradeable task)
    tradeable_total = tasks[tradeable].groupby("origin")["homes"].sum()
    least = np.minimum(sc["allocation"]["min_transfer"], pairs["origin"].map(tradeable_total).to_numpy(float))
    lm.add_constraints("min_transfer", y.index,
                       [(m["pair"], w.ids[is_move], 1.0), (pairs["pair"], y.ids, -least)], lower=0.0)
    max_partners = sc["allocation"]["max_partners"]
    if max_partners > 0 and len(pairs):
        origins = pd.Index(pairs["origin"].unique(), name="origin")
        lm.add_constraints("max_partners", origins,
                           [(origins.get_indexer(pairs["origin"]), y.ids, 1.0)], upper=float(max_partners))

    if roles is not None:
        _add_cover_rows(lm, pairs, y, roles)
    _add_ratio_rows(lm, proj, z, gap, money)
    return RegionModel(regions=regions, case=case, projection=proj, model=lm, tasks=tasks,
                       moves=moves, pairs=pairs, roles=roles)


def _add_cover_rows(lm: LinearModel, pairs: pd.DataFrame, y, roles: Roles) -> None:
    """``giver_cover``: a corporation that must give is the origin of at least one relation;
    ``taker_cover``: one that must take is the executor of at least one (MODEL.md 5, stage 3;
    valid for every plan within the unfilled limit, see :mod:`dpm.model.solidarity`)."""
    for name, column, members in (("giver_cover", "origin", roles.must_give),
                                  ("taker_cover", "executor", roles.must_take)):
        index = pd.Index([m for m in members if (pairs[column] == m).any()], name=column)
        if len(index):
            row = index.get_indexer(pairs[column])
            keep = row >= 0
            lm.add_constraints(name, index, [(row[keep], y.ids[keep], 1.0)], lower=1.0)
