"""Solidarity that holds under pressure: the structure behind the efficiency stage (MODEL.md 5).

A corporation's finances depend only on the homes it completes per type and year (its
*totals*) and on its own unfilled tasks, never on whose task a home was. Three facts follow,
and the efficiency stage is built on them:

1. **Roles.** With the unfilled opgave held at its optimum (plus the scenario's
   ``unfilled_tolerance``), some corporations *must give* (if none of their tasks may go to
   others, the LP of stages 1-2 already leaves more unfilled) and some *must take* (if they
   may take nothing, likewise). Each is decided by one small LP on the aggregate model
   (:func:`dpm.solidarity.solidarity_roles`). Every must-give corporation needs at least one relation, and
   so does every must-take one: ``max(#give, #take)`` is a lower bound on the number of
   relations of *every* plan, and the rows ``giver_cover`` / ``taker_cover`` put it into the
   LP relaxation of the relations stage. A must-take corporation may need more than one
   origin: from k origins it can take, per type and year, at most the k largest tasks of
   others (:func:`origins_room`), and where the LP with that room leaves more than the limit
   unfilled it needs k + 1 (:attr:`Roles.take_from`). Relations into different corporations
   are different relations, so the sum over the must-take corporations bounds them too.
2. **Pairs that can matter.** Relations are built only from corporations that need not
   take to corporations that need not give (:meth:`Roles.allows`): a must-take corporation
   never hands tasks away, a must-give one never takes any. When that restriction would cost
   homes (checked on the aggregate model), every pair is allowed again.
3. **Netting.** Flows in opposite directions between two corporations for the same type
   and year can be netted without changing anyone's totals. :func:`dpm.solidarity.transport_split`
   splits given totals over the origins as a small fixed-charge transportation problem, and
   nets whatever mutual flows its best split (at any time limit) still has
   (:func:`net_mutual`): no two corporations then give each other homes of one type and
   year, by construction. Every reported plan goes through it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dpm.model.formulation import least_transfer
from dpm.model.linear import INF, LinearModel, RowGroup, rows_of
from dpm.model.scenario import TRADEABLE


# Fewest homes moved is an efficiency measure: its stages (the plan's and the split's) stop
# within 1 % of the optimum, without the proof (measured: at 0.1 % the nieuwbouw x2
# variant spent its 10 s limit there, and a random split 4-6 s)
HOMES_MOVED_REL_GAP = 0.01
# stage 'balanced' (the smallest headroom, a share of each corporation's opening beleidswaarde):
# proven within this much is enough, 0.01 % of beleidswaarde (EUR 100,000 on EUR 1 bn); measured:
# with the solver's 1e-6 the nieuwbouw x2 variant spent its 10 s limit 0.004 % from the bound
BALANCED_ABS_GAP = 1e-4


@dataclass(frozen=True)
class Roles:
    """Corporations that must give or must take in every plan within the unfilled limit."""

    must_give: tuple[str, ...] = ()
    must_take: tuple[str, ...] = ()
    seconds: float = 0.0
    # who may give and who may take, instead of "anyone but a must-take / must-give one"
    # (None): e.g. the givers and takers of the participation bound (:class:`Participation`)
    may_give: tuple[str, ...] | None = None
    may_take: tuple[str, ...] | None = None
    # per must-take corporation (in must_take's order), the fewest origins it takes from in
    # every plan (at least 1; empty: 1 each), see :func:`origins_room`
    take_from: tuple[int, ...] = ()

    @property
    def origins_needed(self) -> tuple[int, ...]:
        """Per must-take corporation, the fewest origins it needs (:attr:`take_from`, else 1)."""
        return self.take_from or (1,) * len(self.must_take)

    @property
    def bound(self) -> int:
        """Fewest relations any plan needs: each must-give corporation is the origin of at least
        one relation, each must-take corporation the executor of at least as many as it needs
        origins (:attr:`origins_needed`), and a relation joins one origin and one executor."""
        return max(len(self.must_give), sum(self.origins_needed))

    def permits(self, corporations) -> tuple[np.ndarray, np.ndarray]:
        """Per corporation (any sequence of ids): whether it may give, and whether it may take.
        A must-take corporation hands nothing away and a must-give one takes nothing (one that
        must do both, e.g. give nieuwbouw and take flex, stays free); where ``may_give`` and
        ``may_take`` are set, they say instead who may give and who may take."""
        ids = pd.Index(corporations)
        both = set(self.must_give) & set(self.must_take)
        give = ids.isin(self.may_give) if self.may_give is not None else ~ids.isin(self.must_take) | ids.isin(both)
        take = ids.isin(self.may_take) if self.may_take is not None else ~ids.isin(self.must_give) | ids.isin(both)
        return np.asarray(give), np.asarray(take)

    def allows(self, pairs: pd.DataFrame) -> np.ndarray:
        """Pairs (origin, executor) that can matter: the origin may give, the executor may take
        (:meth:`permits`)."""
        return self.permits(pairs["origin"])[0] & self.permits(pairs["executor"])[1]


@dataclass
class Balance:
    """``completed[c,k,t] + unfilled[c,k,t]`` per corporation, tradeable type and policy year
    of an aggregate model, against ``A[c,k,t]`` (c's own task), in two readings: ``give``
    counts what c completes in its own region (``>= A``: c hands nothing away), ``take`` adds
    what it completes in other regions, weighted above any task (``<= A``: c takes nothing,
    there or at home). They differ only where c also works in other regions (a werkgebied,
    ``serve`` columns): homes it completes there never fill its own task. Terms are COO
    (row, col, coef) over ``index``."""

    index: pd.MultiIndex
    A: np.ndarray
    give: tuple[np.ndarray, np.ndarray, np.ndarray]
    take: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def same(self) -> bool:
        return self.give is self.take

    def works_elsewhere(self) -> set[str]:
        """The corporations whose take reading counts homes completed in other regions (weighed
        above any task: no room per type and year bounds it)."""
        if self.same:
            return set()
        row, _, coef = self.take
        return set(self.index.get_level_values("corporation_id")[np.unique(row[coef > 1.0])])

    def value(self, side: str, x: np.ndarray) -> np.ndarray:
        row, col, coef = getattr(self, side)
        return np.bincount(row, weights=coef * x[col], minlength=len(self.index))

    def rows(self, name: str, give_lower: np.ndarray, take_upper: np.ndarray) -> RowGroup:
        """The row group ``name``: give-balance >= ``give_lower`` and take-balance <=
        ``take_upper`` (one row per cell where the two readings are the same)."""
        n = len(self.index)
        if self.same:
            return RowGroup.of(name, self.index, [self.give], give_lower, take_upper)
        labels = pd.MultiIndex.from_tuples([("give", *i) for i in self.index] + [("take", *i) for i in self.index],
                                           names=["side", *self.index.names])
        row, col, coef = self.take
        return RowGroup.of(name, labels, [self.give, (row + n, col, coef)],
                           np.concatenate([give_lower, np.full(n, -INF)]), np.concatenate([np.full(n, INF), take_upper]))


def own_balance(agg) -> Balance:
    """The :class:`Balance` of the aggregate model ``agg``."""
    proj, lm = agg.projection, agg.model
    lay = proj.layout
    C, P = len(proj.ids), lay.policy_years
    n_dec = len(lm.variables["decision"]) // C
    z_ids = lm.variables["decision"].ids.reshape(C, n_dec)
    index = pd.MultiIndex.from_product([proj.ids, TRADEABLE, np.arange(1, P + 1)], names=["corporation_id", "type", "t"])
    slot = np.array([lay.start(f"build:{k}") for k in TRADEABLE])[None, :, None] + np.arange(P)[None, None, :]
    z_col = z_ids[:, slot.reshape(-1)].reshape(-1)  # (corporation, type, t) order, as ``index``
    tasks = agg.tasks[agg.tasks["type"].isin(TRADEABLE)]
    task_row = index.get_indexer(pd.MultiIndex.from_arrays([tasks["origin"], tasks["type"], tasks["t"]]))
    A = np.zeros(len(index))
    np.add.at(A, task_row, tasks["homes"].to_numpy(float))
    u_ids = lm.variables["unfilled"].ids[tasks["task"].to_numpy()]
    row = np.concatenate([np.arange(len(index)), task_row])
    take = (row, np.concatenate([z_col, u_ids]), np.ones(len(row)))
    if "serve" not in lm.variables:
        return Balance(index, A, take, take)
    serve = lm.variables["serve"]  # what each executor completes per region, type and year
    own_region = proj.corporations["region"].reindex(index.get_level_values("corporation_id")).to_numpy()
    s_pos = serve.index.get_indexer(pd.MultiIndex.from_arrays(
        [index.get_level_values("corporation_id"), own_region, index.get_level_values("type"), index.get_level_values("t")]))
    has = s_pos >= 0  # (no serve column: no opgave of that type and year in c's region, so A = 0)
    give_row = np.concatenate([np.flatnonzero(has), task_row])
    give = (give_row, np.concatenate([serve.ids[s_pos[has]], u_ids]), np.ones(len(give_row)))
    # take: what c completes in other regions weighs more than any task, so that "<= A" also
    # says it completes nothing there (the serve columns are whole homes)
    heavy = A.max() + 1.0
    other = np.setdiff1d(np.arange(len(serve)), s_pos[has])
    lab = serve.index[other]
    o_row = index.get_indexer(pd.MultiIndex.from_arrays(
        [lab.get_level_values("executor"), lab.get_level_values("type"), lab.get_level_values("t")]))
    take = (np.concatenate([give_row, o_row]), np.concatenate([give[1], serve.ids[other]]),
            np.concatenate([give[2], np.full(len(other), heavy)]))
    return Balance(index, A, give, take)


def role_probe(balance: Balance, cid: str, sense: str, room: np.ndarray | None = None) -> RowGroup:
    """The probe of :func:`dpm.solidarity.solidarity_roles`: corporation ``cid`` takes nothing
    (``sense = "take"``: completed + unfilled <= A, per tradeable type and year) or gives nothing
    (``"give"``: completed in its own region + unfilled >= A), as the row group
    ``<cid>_<sense>s_nothing``; ``balance`` is :func:`own_balance` of the aggregate model. With
    ``room`` (per cell of ``cid``, in ``balance``'s order; "take" only): it takes at most that
    many homes per type and year (completed + unfilled <= A + room), ``<cid>_takes_at_most``."""
    index, A = balance.index, balance.A
    row, col, coef = getattr(balance, sense)
    mine = np.flatnonzero(index.get_level_values("corporation_id") == cid)
    pos = np.full(len(index), -1)
    pos[mine] = np.arange(len(mine))
    keep = pos[row] >= 0
    lower = np.full(len(mine), -INF) if sense == "take" else A[mine]
    upper = A[mine] if sense == "take" else np.full(len(mine), INF)
    name = f"{cid}_{sense}s_nothing"
    if room is not None:
        upper, name = upper + room, f"{cid}_takes_at_most"
    return RowGroup.of(name, index[mine], [(pos[row[keep]], col[keep], coef[keep])], lower, upper)


def origins_room(balance: Balance, cid: str, k: int) -> np.ndarray:
    """Per cell (tradeable type and year) of ``cid`` in ``balance``'s order, the most homes it
    can take from any k origins: the sum of the k largest tasks of other corporations of that
    type and year. A corporation that takes from k origins completes at most that many homes
    beyond its own task less its unfilled homes (each origin gives at most its whole task), so
    with this room in :func:`role_probe` every such plan stays feasible: where the LP then
    leaves more than the limit unfilled, every plan needs more than k origins for ``cid``.
    (Where a corporation also works in other regions, ``serve`` columns, its take reading
    weighs those homes above any task and this room does not apply,
    :meth:`Balance.works_elsewhere`; the others of a linked component take only in their own
    region, where the tasks of every other corporation are room enough.)"""
    corporation = np.asarray(balance.index.get_level_values("corporation_id"))
    cell, _ = pd.factorize(pd.MultiIndex.from_arrays([balance.index.get_level_values("type"),
                                                       balance.index.get_level_values("t")]))
    other = corporation != cid
    tasks = pd.DataFrame({"cell": cell[other], "A": balance.A[other]})
    largest = tasks.sort_values("A", ascending=False, kind="stable").groupby("cell").head(k)
    return largest.groupby("cell")["A"].sum().reindex(cell[corporation == cid], fill_value=0.0).to_numpy(float)


def moved_rows(balance: Balance, first: int) -> RowGroup:
    """``moved_at_least``, per corporation, tradeable type and year of an aggregate model: the
    homes of its task that others complete (column ``first`` + i, in ``balance``'s order) are
    at least its task less what it completes in its own region less its unfilled homes
    (give-balance + moved >= A). Whatever it completes there, at most all of it is its own
    task, so every plan moves at least that many of its homes, on any relations."""
    n = len(balance.index)
    return RowGroup.of("moved_at_least", balance.index, [balance.give, (np.arange(n), first + np.arange(n), np.ones(n))],
                       balance.A, np.full(n, INF))


def role_rows(agg, roles: Roles) -> RowGroup:
    """``roles_kept``, per corporation, tradeable type and year of the aggregate model: a
    must-take corporation hands nothing away (``completed + unfilled >= A``), a must-give one
    takes nothing (``<= A``); where ``roles.may_give`` and ``roles.may_take`` are set, they say
    instead who may give and who may take (any other corporation neither gives nor takes)."""
    balance = own_balance(agg)
    may_give, may_take = roles.permits(balance.index.get_level_values("corporation_id"))
    return balance.rows("roles_kept", np.where(may_give, -INF, balance.A), np.where(may_take, INF, balance.A))


@dataclass
class Participation:
    """Who gives and who takes at all (MODEL.md 5, stage 3; docs/model.md, the participation
    bound): per corporation a binary ``gives`` (1 if, in some tradeable type and year, it
    completes fewer homes than its own task less its unfilled homes: others do some of its
    task) and ``takes`` (1 if it completes more: it does others' tasks), and ``most_roles``
    at least the number of each. Every giver is the origin of at least one relation and every
    taker the executor of one, so ``most_roles`` at its least, over every plan within the
    unfilled limit, bounds the relations from below; with homes continuous (a relaxation) it
    is still a bound. It generalises :attr:`Roles.bound`, where givers and takers are those
    forced in every plan: a taker counts as many relations as it needs origins (``need``:
    :attr:`Roles.origins_needed` for the must-take corporations, else 1).

    Columns (from ``first`` on): gives[c], takes[c], most_roles. Rows on the aggregate model
    (:class:`Balance`), per corporation, type and year: ``gives_link``, completed in its own
    region + unfilled + A gives[c] >= A; ``takes_link``, completed + unfilled - M takes[c] <= A,
    with M the component's whole task of that type and year (no corporation completes more)
    times the heaviest weight of the take reading; and ``most_roles`` >= sum gives, >= sum
    need x takes."""

    corporations: pd.Index
    first: int
    rows: RowGroup
    balance: Balance
    need: np.ndarray  # per corporation, the relations it counts as a taker

    @classmethod
    def of(cls, agg, first: int, roles: Roles | None = None) -> "Participation":
        balance = own_balance(agg)
        index, A = balance.index, balance.A
        corp = pd.Index(agg.projection.ids, name="corporation_id")
        C, R = len(corp), len(index)
        need = np.ones(C)
        if roles is not None and roles.must_take:
            need[corp.get_indexer(list(roles.must_take))] = roles.origins_needed
        c_of = corp.get_indexer(index.get_level_values("corporation_id"))
        kt = pd.MultiIndex.from_arrays([index.get_level_values("type"), index.get_level_values("t")])
        whole = pd.Series(A, index=kt).groupby(level=[0, 1]).sum().reindex(kt).to_numpy()
        whole = whole * balance.take[2].max()  # (the take reading weighs homes in other regions more)
        gives, takes, most = first + np.arange(C), first + C + np.arange(C), first + 2 * C
        cells = np.arange(R)
        (g_row, g_col, g_coef), (t_row, t_col, t_coef) = balance.give, balance.take
        terms = [(g_row, g_col, g_coef), (cells, gives[c_of], A),  # gives_link
                 (R + t_row, t_col, t_coef), (R + cells, takes[c_of], -whole),  # takes_link
                 (np.array([2 * R, 2 * R + 1]), np.array([most, most]), np.ones(2)),  # most_roles
                 (np.full(C, 2 * R), gives, -np.ones(C)), (np.full(C, 2 * R + 1), takes, -need)]
        labels = pd.MultiIndex.from_tuples(
            [("gives_link", *i) for i in index] + [("takes_link", *i) for i in index]
            + [("most_roles", "gives", "", 0), ("most_roles", "takes", "", 0)], names=["row", *index.names])
        lower = np.concatenate([A, np.full(R, -INF), np.zeros(2)])
        upper = np.concatenate([np.full(R, INF), A, np.full(2, INF)])
        return cls(corp, first, RowGroup.of("participation", labels, terms, lower, upper), balance, need)

    @property
    def n_columns(self) -> int:
        return 2 * len(self.corporations) + 1

    @property
    def integer(self) -> np.ndarray:
        """The ids of gives and takes (most_roles is integer at any integer point of them)."""
        return self.first + np.arange(2 * len(self.corporations))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        C = len(self.corporations)
        return np.zeros(self.n_columns), np.concatenate([np.ones(2 * C), [INF]])

    def cost(self, n_cols: int) -> np.ndarray:
        """most_roles, then (a tie-break below one) the fewest givers and takers together."""
        cost = np.zeros(n_cols)
        cost[self.first + 2 * len(self.corporations)] = 1.0
        cost[self.integer] = 1.0 / self.n_columns
        return cost

    def bound(self, objective_bound: float) -> int:
        """The least most_roles that a bound on :meth:`cost` proves (the tie-break is below one)."""
        return int(np.ceil(objective_bound - (self.n_columns - 1) / self.n_columns - 1e-9))

    def start(self, x: np.ndarray) -> np.ndarray:
        """The columns' values at the aggregate point ``x`` (who gives and takes there)."""
        balance = self.balance
        c_of = self.corporations.get_indexer(balance.index.get_level_values("corporation_id"))
        C = len(self.corporations)
        gives = np.bincount(c_of, weights=(balance.A - balance.value("give", x) > 1e-6), minlength=C) > 0
        takes = np.bincount(c_of, weights=(balance.value("take", x) - balance.A > 1e-6), minlength=C) > 0
        return np.concatenate([gives, takes, [max(gives.sum(), takes @ self.need)]]).astype(float)

    def read(self, x: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(givers, takers) of a solution ``x`` (over the old and new columns)."""
        C = len(self.corporations)
        on = np.round(x[self.first:self.first + 2 * C]) > 0.5
        return tuple(self.corporations[on[:C]]), tuple(self.corporations[on[C:]])


@dataclass
class Split:
    """Whole homes per move of the full model and unfilled homes per task, from given totals."""

    w: np.ndarray  # homes per row of RegionModel.moves
    u: np.ndarray  # unfilled homes per row of RegionModel.tasks
    relations: int
    homes_moved: int
    status: str  # of the relations stage of the transportation problem
    unplaced_homes: int = 0  # homes left out because no relation could carry min_transfer

    def point(self, rm) -> np.ndarray:
        """The full point of ``rm`` of this split (decisions, relations and gaps follow)."""
        return rm.complete(self.w, self.u)


# Types whose unfilled homes may be attributed to any origin of the region: leaving a nieuwbouw
# or flex home of o unfilled rather than one of o' changes nobody's finances. (A sloop-nieuwbouw
# home left unfilled keeps its owner's homes standing, so its attribution stays as it is.)
FREE_ATTRIBUTION = ("nieuwbouw", "flex")


@dataclass
class SplitProblem:
    """The task split of given totals (MODEL.md 5, stage 3) as a small fixed-charge
    transportation problem: per tradeable task of an origin (``supply``), the homes it completes
    itself (``own``), gives to an executor's cell of the same type and year (``flows``) along
    the allowed ``pairs``, or leaves unfilled; per corporation, type and year the homes it
    completes (``done``) are kept, and so are the unfilled homes per region, type and year.
    Solved by :func:`dpm.solidarity.transport_split`."""

    rm: object  # the full RegionModel
    u_given: np.ndarray  # unfilled homes per task of rm.tasks
    done: pd.DataFrame  # corporation_id, type, t, homes
    supply: pd.DataFrame  # the tradeable tasks: corporation_id (origin), type, t, task, homes, unfilled, free
    own: pd.DataFrame  # corporation_id, type, t, task, cell
    flows: pd.DataFrame  # origin, type, t, task, cell, executor
    pairs: pd.DataFrame  # origin, executor
    pair_of: np.ndarray  # per flow, its pair
    least: np.ndarray  # per pair, the homes a relation must carry

    CELL = ["corporation_id", "type", "t"]

    @classmethod
    def of(cls, rm, x: np.ndarray, pairs: pd.DataFrame | None = None) -> "SplitProblem":
        """The problem of the full-model point ``x``'s totals, on ``pairs`` (default ``rm.pairs``)."""
        proj, lay = rm.projection, rm.projection.layout
        cell = cls.CELL
        z = rm.decisions(x)
        u_given = np.round(rm.model.variables["unfilled"].series(x).to_numpy())
        tasks = rm.tasks.assign(unfilled=u_given)
        done = pd.DataFrame({  # the homes each corporation completes, per type and year
            "corporation_id": np.repeat(proj.ids, len(TRADEABLE) * lay.policy_years),
            "type": np.tile(np.repeat(TRADEABLE, lay.policy_years), len(proj.ids)),
            "t": np.tile(np.arange(1, lay.policy_years + 1), len(proj.ids) * len(TRADEABLE))})
        done["homes"] = np.round(z[:, :len(TRADEABLE) * lay.policy_years].reshape(-1))
        done = done[done["homes"] > 0].reset_index(drop=True)
        supply = tasks[tasks["type"].isin(TRADEABLE)].rename(columns={"origin": "corporation_id"}).reset_index(drop=True)
        supply["free"] = supply["type"].isin(FREE_ATTRIBUTION).to_numpy()
        # candidate moves: (origin task, executor cell) of the same type and year along allowed pairs
        cells = done[cell].reset_index().rename(columns={"index": "cell"})
        own = supply[cell + ["task"]].merge(cells, on=cell)
        flows = supply[cell + ["task"]].rename(columns={"corporation_id": "origin"}).merge(
            cells.rename(columns={"corporation_id": "executor"}), on=["type", "t"])
        flows = flows.merge((rm.pairs if pairs is None else pairs)[["origin", "executor"]], on=["origin", "executor"])
        pairs = flows[["origin", "executor"]].drop_duplicates().sort_values(["origin", "executor"]).reset_index(drop=True)
        pair_of = rows_of(pd.MultiIndex.from_frame(pairs), flows[["origin", "executor"]])
        return cls(rm, u_given, done, supply, own, flows, pairs, pair_of, least_transfer(rm.case, rm.tasks, pairs))

    def model(self, with_least: bool) -> LinearModel:
        """``task_balance`` (own + given + unfilled = the task), ``completed_balance`` (own +
        taken = the homes completed), ``unfilled_kept`` (per region, type and year),
        ``relation_link`` (no flow without its relation) and, ``with_least``, ``min_transfer``."""
        supply, own, flows, done, pairs = self.supply, self.own, self.flows, self.done, self.pairs
        A = supply["homes"].to_numpy(float)
        task_pos = pd.Series(np.arange(len(supply)), index=supply["task"].to_numpy())
        lm = LinearModel()
        o = lm.add_variables("own", pd.MultiIndex.from_frame(own[self.CELL]),
                             upper=np.minimum(A[task_pos[own["task"]].to_numpy()], done["homes"].to_numpy()[own["cell"]]),
                             integer=True)
        cap = np.minimum(A[task_pos[flows["task"]].to_numpy()], done["homes"].to_numpy()[flows["cell"]])
        f = lm.add_variables("flow", pd.MultiIndex.from_frame(flows[["origin", "executor", "type", "t"]]),
                             upper=cap, integer=True)
        u_fix = supply["unfilled"].to_numpy(float)
        u = lm.add_variables("unfilled", pd.MultiIndex.from_frame(supply[self.CELL]),
                             lower=np.where(supply["free"], 0.0, u_fix), upper=np.where(supply["free"], A, u_fix),
                             integer=True)
        y = lm.add_variables("relation", pd.MultiIndex.from_frame(pairs), upper=1.0, integer=True)
        lm.add_constraints("task_balance", u.index, [
            (task_pos[own["task"]].to_numpy(), o.ids, 1.0), (task_pos[flows["task"]].to_numpy(), f.ids, 1.0),
            (np.arange(len(supply)), u.ids, 1.0)], lower=A, upper=A)
        lm.add_constraints("completed_balance", pd.MultiIndex.from_frame(done[self.CELL]), [
            (own["cell"].to_numpy(), o.ids, 1.0), (flows["cell"].to_numpy(), f.ids, 1.0)],
            lower=done["homes"].to_numpy(float), upper=done["homes"].to_numpy(float))
        groups = supply.groupby(["region", "type", "t"]).ngroup().to_numpy()
        totals = np.bincount(groups, weights=u_fix)
        lm.add_constraints("unfilled_kept", pd.RangeIndex(len(totals), name="group"), [(groups, u.ids, 1.0)],
                           lower=totals, upper=totals)
        n = len(flows)
        lm.add_constraints("relation_link", f.index,
                           [(np.arange(n), f.ids, 1.0), (np.arange(n), y.ids[self.pair_of], -cap)], upper=0.0)
        if with_least and len(pairs):
            lm.add_constraints("min_transfer", y.index,
                               [(self.pair_of, f.ids, 1.0), (np.arange(len(pairs)), y.ids, -self.least)], lower=0.0)
        return lm

    def start(self, lm: LinearModel, x: np.ndarray) -> np.ndarray:
        """A whole point of ``lm`` from a transportation solution ``x``: its relations are the
        pairs that carry homes."""
        x0 = np.round(x)
        x0[lm.variables["relation"].ids] = (np.bincount(self.pair_of, weights=x0[lm.variables["flow"].ids],
                                                        minlength=len(self.pairs)) > 0).astype(float)
        return x0

    def split(self, lm: LinearModel, x: np.ndarray, status: str) -> Split:
        """The split of a solution ``x`` of :meth:`model`: mutual flows netted
        (:func:`net_mutual`), the homes of a relation below ``least`` left unfilled."""
        rm = self.rm
        sol = {name: np.round(lm.variables[name].series(x).to_numpy()) for name in ("own", "flow", "unfilled")}
        flow, own_homes = net_mutual(self.flows, self.own, sol["flow"], sol["own"], self.pair_of, self.least)
        per_pair = np.bincount(self.pair_of, weights=flow, minlength=len(self.pairs))
        small = (per_pair > 0) & (per_pair < self.least)
        unplaced = int(per_pair[small].sum())  # min_transfer cannot be met: those homes stay unfilled
        flow[small[self.pair_of]] = 0.0
        w = np.zeros(len(rm.moves))
        m_key = pd.MultiIndex.from_arrays([rm.moves["task"], rm.moves["executor"]])
        w[rows_of(m_key, pd.MultiIndex.from_arrays([self.flows["task"], self.flows["executor"]]))] = flow
        w[rows_of(m_key, pd.MultiIndex.from_arrays([self.own["task"], self.own["corporation_id"]]))] = own_homes
        u_out = self.u_given.copy()
        u_out[self.supply["task"].to_numpy()] = sol["unfilled"]
        return Split(w, u_out, int(((per_pair > 0) & ~small).sum()), int(flow.sum()), status, unplaced)

def net_mutual(flows: pd.DataFrame, own: pd.DataFrame, flow: np.ndarray, own_homes: np.ndarray,
               pair_of: np.ndarray, least: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Net flows in opposite directions (MODEL.md 5): where a gives b homes of a type and year
    and b gives a homes of the same type and year, both give d = the smaller flow less and each
    completes d more of its own task. Nobody's totals change, so no projection does. Skipped for
    two corporations only when a relation between them would be left with fewer than its
    ``least`` homes (``min_transfer``) but more than none: the one case netting could cost homes.

    ``flows`` (origin, executor, type, t, task) and ``own`` (corporation_id, type, t) label
    ``flow`` and ``own_homes``; ``pair_of`` is each flow's relation, ``least`` per relation."""
    key = ["type", "t"]
    forward = pd.MultiIndex.from_frame(flows[["origin", "executor", *key]])
    back = forward.get_indexer(pd.MultiIndex.from_frame(flows[["executor", "origin", *key]]))
    i = np.flatnonzero((back > np.arange(len(flows))) & (flow > 0))  # each mutual couple once
    i = i[flow[back[i]] > 0]
    if not len(i):
        return flow, own_homes
    j = back[i]
    d = np.minimum(flow[i], flow[j])
    netted = flow.copy()
    netted[i] -= d
    netted[j] -= d
    per_pair = np.bincount(pair_of, weights=netted, minlength=len(least))
    bad_pair = (per_pair > 0) & (per_pair < least)
    keep = ~(bad_pair[pair_of[i]] | bad_pair[pair_of[j]])
    if not keep.all():  # undo the couples of the corporations whose relation would fall below least
        i, j, d = i[keep], j[keep], d[keep]
        netted = flow.copy()
        netted[i] -= d
        netted[j] -= d
    own_row = pd.MultiIndex.from_frame(own[["corporation_id", *key]])
    own_out = own_homes.copy()
    for side in (i, j):  # each origin completes d more of its own task
        np.add.at(own_out, rows_of(own_row, flows.iloc[side][["origin", *key]]), d)
    return netted, own_out
