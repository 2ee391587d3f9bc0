"""The allocation MIP of one woondeal region (MODEL.md 5): its two models and the stages.

The formulation, every variable block and every row group (``unfilled_balance``,
``ltv_cap``, ...), lives in :mod:`dpm.model.formulation`, one function per group. This module
puts them together: :func:`build_aggregate_model` (stages 1-2: executors' totals, no task
split) and :func:`build_full_model` (the split and the relations), and :class:`RegionModel`
holds a built model with its stages (:meth:`RegionModel.stages`) and reads a solution back.

Regions linked by a werkgebied (a corporation that may work in another region) share
executors, so they are solved together as one *component* (:func:`components`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd

from dpm.model import formulation as f
from dpm.model.case import Case
from dpm.model.formulation import MONEY_SCALE, RegionSets
from dpm.model.linear import INF, LinearModel
from dpm.model.projection import LIMITS, Projection
from dpm.model.scenario import TRADEABLE
from dpm.model.solidarity import BALANCED_ABS_GAP, HOMES_MOVED_REL_GAP, Roles
from dpm.solvers.lexicographic import Extension, Stage


def components(case: Case) -> list[tuple[str, ...]]:
    """Groups of regions that must be solved together: linked by some corporation's werkgebied."""
    g = nx.Graph()
    g.add_nodes_from(case.regions)
    for cid, extra in case.werkgebied.items():
        for region in extra:
            g.add_edge(case.corporations.at[cid, "region"], region)
    return sorted(tuple(sorted(c)) for c in nx.connected_components(g))


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
    aggregate: bool = False  # the model without task split (see build_region_model)
    roles: Roles | None = None  # who must give / take (dpm.model.solidarity), when known

    # --- the stages of MODEL.md 5 ---------------------------------------------------------
    def stages(self) -> list[Stage]:
        """The stages of MODEL.md 5 on this model: continuity, unfilled, unfilled_timing, then
        the efficiency stages (``transfers`` and ``homes_moved`` on the full model only;
        ``balanced`` and ``cost`` on either, their objectives being the totals')."""
        sc = self.case.scenario
        lm = self.model
        weights = sc.allocation.unfilled_weight
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
        efficiency = sc.allocation.efficiency
        if efficiency == "transfers":
            if self.aggregate:  # (relations exist in the full model only)
                return stages
            moved = (self.moves["origin"] != self.moves["executor"]).to_numpy(float)
            # fewest transfer relations, then (with that number fixed) fewest homes moved
            stages.append(Stage("transfers", lm.cost({"transfer": 1.0}), integral=True))
            # an efficiency measure: within solver.homes_gap or 1 % of its optimum is enough (no time
            # spent proving the last homes; measured: the nieuwbouw x2 variant otherwise spends its
            # 10 s limit between 0.1 % and 0.2 %)
            # a tie-break like unfilled_timing: its limits are solver.tiebreak_checks (a count of HiGHS's
            # checks, the same stop on any machine) and tiebreak_time_limit_s (its safety net), after a search
            # over each corporation in a relation with its partners (dpm.efficiency.plan,
            # partner_neighbourhoods; measured: with 10 s and no search, synthetic regions of 12 and 20
            # corporations stopped at that limit at 6,050 and 17,850 homes, with the search and 1 s
            # at 6,040 and 17,779)
            stages.append(Stage("homes_moved", lm.cost({"execute": moved}), integral=True, in_homes=True, prove=False,
                                mip_rel_gap=HOMES_MOVED_REL_GAP, time_limit_s=float(sc.solver.tiebreak_time_limit_s),
                                work_limit=int(sc.solver.tiebreak_checks)))
        elif efficiency == "cost":
            debt_end = self.projection.q["debt"][:, -1, 1:] / MONEY_SCALE  # (C, S)
            z = lm.variables["decision"]
            corp_pos, slot = self._decision_position()
            cost = np.zeros(lm.n_cols)
            cost[z.ids] = debt_end[corp_pos, slot]
            stages.append(Stage("efficiency", cost, scale=MONEY_SCALE))
        else:  # balanced
            stages.append(Stage("efficiency", np.zeros(lm.n_cols), extend=self._balanced, abs_gap=BALANCED_ABS_GAP))
        return stages

    def timing_stage(self, search: bool = False) -> Stage:
        """``unfilled_timing`` (MODEL.md 5, stage 2's tie-break): among plans with the least
        unfilled opgave, homes stay unfilled as late as possible. Minimises the home-years by
        which unfilled homes come before the end of the policy period, sum (P - t) * u[t], so
        "from year X" names the first year a shortfall cannot be avoided. ``search``: from its
        start, one corporation's own decisions at a time first (:attr:`neighbourhoods`), where
        no later stage holds its optimum (a region's plan on its chosen relations; measured:
        HiGHS spends the 1 s in root cuts, while the search takes nieuwbouw x2 from 25,291 to
        25,125 home-years in 0.2 s, what HiGHS reached in 60 s, and the linked region from
        20,233 to 19,738 in 0.3 s; held before the balanced stage, its tighter optimum left that
        stage of x2 at its 10 s limit, where it was proven at once)."""
        P = self.case.scenario.policy_years
        return Stage("unfilled_timing", self.model.cost({"unfilled": (P - self.tasks["t"]).to_numpy(float)}),
                     integral=True, time_limit_s=float(self.case.scenario.solver.tiebreak_time_limit_s),
                     work_limit=int(self.case.scenario.solver.tiebreak_checks),
                     mip_rel_gap=0.0,  # exact within its limits: "from year X" is a claim
                     neighbourhoods=self.neighbourhoods if search else None)

    @cached_property
    def neighbourhoods(self) -> list[np.ndarray]:
        """Per corporation, the columns of its own decisions: the homes it completes per type
        and year, its own tasks' unfilled homes, the homes it takes over or hands over (full
        model), with the unfilled homes of tasks of no corporation (the region's own). Its
        ratios depend on these alone (MODEL.md 4), so a search that moves them keeps every
        other corporation's rows as they are. In the aggregate model a corporation that
        completes a home more of a type and year takes it from the region's pool, so every
        unfilled column joins each neighbourhood (measured on the default region's timing
        tie-break: V03 could complete one of V08's nieuwbouw homes of 2033 instead of one of
        2034, a move no neighbourhood without V08's unfilled homes holds)."""
        lm = self.model
        corps = pd.Index(self.projection.ids)
        z, u = lm.variables["decision"], lm.variables["unfilled"]
        of_u = corps.get_indexer(u.index.get_level_values("origin"))
        cols = [z.ids, u.ids[of_u >= 0]]
        owner = [corps.get_indexer(z.index.get_level_values("corporation_id")), of_u[of_u >= 0]]
        if "execute" in lm.variables:  # a move belongs to its executor and to its origin (once where they are one)
            moves = lm.variables["execute"].ids
            executor, origin = (corps.get_indexer(self.moves[k]) for k in ("executor", "origin"))
            other = (origin >= 0) & (origin != executor)
            cols += [moves, moves[other]]
            owner += [executor, origin[other]]
        cols, owner = np.concatenate(cols), np.concatenate(owner)
        order = np.argsort(owner, kind="stable")
        parts = np.split(cols[order], np.searchsorted(owner[order], np.arange(1, len(corps))))
        shared = u.ids if self.aggregate else u.ids[of_u < 0]
        return [np.concatenate([part, np.setdiff1d(shared, part)]) for part in parts]

    def partner_neighbourhoods(self, pairs: pd.DataFrame) -> list[np.ndarray]:
        """Per corporation in a relation of ``pairs`` (origin, executor), the columns of its own
        decisions and of its partners' (:attr:`neighbourhoods`): what they can shift among
        themselves while every other corporation's plan is held, e.g. an origin doing more of
        its own task and its executors less of it (a search over one corporation alone cannot:
        each of its tasks' homes must still be done by someone). Measured on the homes-moved
        stage: one pair per neighbourhood reached 7,893 homes on a synthetic 10-corporation
        region, a corporation with all its partners 7,792 (0.7 s more)."""
        own = self.neighbourhoods
        position = pd.Index(self.projection.ids).get_indexer
        ends = np.concatenate([position(pairs["origin"]), position(pairs["executor"])])
        other = np.concatenate([position(pairs["executor"]), position(pairs["origin"])])
        return [np.unique(np.concatenate([own[k], *(own[j] for j in other[ends == k])])) for k in np.unique(ends)]

    def stage(self, name: str) -> Stage:
        """The stage called ``name`` (see :meth:`stages`)."""
        return next(s for s in self.stages() if s.name == name)

    def _decision_position(self) -> tuple[np.ndarray, np.ndarray]:
        idx = self.model.variables["decision"].index
        pos = self.projection.corporations.index.get_indexer(idx.get_level_values("corporation_id"))
        return pos, idx.get_level_values("slot").to_numpy()

    def _balanced(self, x: np.ndarray, m_id: int) -> Extension:
        """Stage 3 'balanced' (MODEL.md 5): maximise m, the smallest headroom of the
        corporations without a continuity gap (:func:`dpm.model.formulation.balanced_headroom`):
        the column m (id ``m_id``) and its rows."""
        proj, lm = self.projection, self.model
        gap = lm.variables["continuity_gap"].series(x).groupby(level="corporation_id").sum()
        healthy = np.flatnonzero(gap.reindex(proj.ids).to_numpy() <= 1e-9)
        z_ids = lm.variables["decision"].ids.reshape(len(proj.ids), -1)
        rows, m_start = f.balanced_headroom(proj, z_ids, self.decisions(x), healthy, m_id)
        m = dict(lower=np.array([-INF]), upper=np.array([INF]))
        if rows is None:  # nobody without a gap: nothing to balance
            return Extension(**m, cost=np.zeros(1), start=np.zeros(1))
        return Extension(**m, cost=np.array([-1.0]), start=np.array([m_start]), rows=[rows])

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

    def pair_homes(self, w: np.ndarray) -> np.ndarray:
        """The homes each relation (``pairs``) carries in the task split ``w`` (one value per move)."""
        pair = self.moves["pair"].to_numpy()
        moved = pair >= 0
        return np.bincount(pair[moved], weights=np.asarray(w, float)[moved], minlength=len(self.pairs))

    def least_transfer(self) -> np.ndarray:
        """The homes each relation must carry when used (``min_transfer``, MODEL.md 5)."""
        return f.least_transfer(self.case, self.tasks, self.pairs)

    def complete(self, w: np.ndarray, unfilled: np.ndarray | None = None) -> np.ndarray:
        """A full point from whole task splits ``w``: the unfilled homes, relations, decisions and
        continuity gaps that follow. Relations below ``min_transfer`` are dropped (their homes
        stay unfilled), so the point satisfies every row of the model. The tasks that are not
        split (verduurzaming) keep their unfilled homes of ``unfilled`` (per task; None: all)."""
        lm = self.model
        w = np.floor(np.maximum(w, 0.0) + 1e-6)
        moves = self.moves
        per_pair = self.pair_homes(w)
        too_small = np.flatnonzero((per_pair > 0) & (per_pair < self.least_transfer()))
        w[np.isin(moves["pair"].to_numpy(), too_small)] = 0.0
        per_pair = self.pair_homes(w)
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


def build_region_model(case: Case, regions: tuple[str, ...], aggregate: bool = False,
                       steun: bool = False, roles: Roles | None = None, restrict: bool = False) -> RegionModel:
    """The MIP of the regions ``regions`` (one component) of ``case``: the aggregate model
    (:func:`build_aggregate_model`) or the full one (:func:`build_full_model`)."""
    if aggregate:
        return build_aggregate_model(case, regions, steun)
    return build_full_model(case, regions, steun, roles, restrict)


def build_full_model(case: Case, regions: tuple[str, ...], steun: bool = False, roles: Roles | None = None,
                     restrict: bool = False) -> RegionModel:
    """The full model of MODEL.md 5: who executes whose task (``execute``), the relations
    (``transfer``) and the rows that tie them, besides what both models share (:func:`_shared`).

    Integer are the homes of each task per executor, the unfilled homes and the relations; a
    corporation's decisions are sums of those. (Making only the executors' totals integer and
    the split continuous was measured slower.)

    ``roles`` (:mod:`dpm.model.solidarity`): the corporations that must give or take in every
    plan; adds ``giver_cover`` and ``taker_cover``, and with ``restrict`` builds relations only
    on the pairs that can matter (``Roles.allows``)."""
    s = RegionSets.of(case, regions, roles.allows if restrict and roles is not None else None)
    lm = LinearModel()
    f.add_execute(lm, s)
    f.add_unfilled(lm, s)
    f.add_transfer(lm, s)
    proj, money = _shared(lm, s, steun, integer_builds=False)
    f.unfilled_balance(lm, s)
    f.decision_link(lm, s, own_only=False)
    f.transfer_link(lm, s)
    f.min_transfer(lm, s)
    f.max_partners(lm, s)
    if roles is not None:
        f.role_cover(lm, s, roles)
    f.ratio_limits(lm, proj, money)
    return RegionModel(regions=regions, case=case, projection=proj, model=lm, tasks=s.tasks,
                       moves=s.moves, pairs=s.pairs, roles=roles)


def build_aggregate_model(case: Case, regions: tuple[str, ...], steun: bool = False) -> RegionModel:
    """The model of stages 1 and 2 (MODEL.md 5): any corporation may execute any task of its
    own region, so there is no task split and no relation, only each executor's homes per type
    and year (integer) and ``executor_balance`` rows per region, type and year. Its optimum is
    the full model's (up to ``min_transfer``/``max_partners``, which only the full model knows).
    Regions linked by a werkgebied add ``serve`` columns and ``serve_link`` rows."""
    s = RegionSets.of(case, regions)
    lm = LinearModel()
    f.add_unfilled(lm, s)
    proj, money = _shared(lm, s, steun, integer_builds=True)
    f.executor_balance(lm, s)
    f.decision_link(lm, s, own_only=True)
    f.ratio_limits(lm, proj, money)
    return RegionModel(regions=regions, case=case, projection=proj, model=lm, tasks=s.tasks,
                       moves=s.moves, pairs=s.pairs, aggregate=True)


def _shared(lm: LinearModel, s: RegionSets, steun: bool, integer_builds: bool):
    """What both models have: decisions, continuity gaps and money (MODEL.md 4 and 6).

    ``steun`` (MODEL.md 6): money into (``steun_in``) and out of (``steun_out``) each
    corporation's cash flow per year, in EUR mln, both >= 0 and unbounded; the caller fixes
    what it does not use. Without it, a case's input ``steun.csv`` is a fixed ``steun_in``."""
    proj = Projection(s.corps, s.case.scenario)
    f.add_decision(lm, s, integer_builds)
    f.add_continuity_gap(lm, s)
    money = f.add_steun(lm, s, steun)
    if steun and s.case.scenario.money.timing == "projects":
        f.steun_follows_projects(lm, proj)
    return proj, money
