"""HiGHS through its direct Python interface: pass the matrix, set options, read status and gap.

The model is passed once as a sparse matrix; stages change only the objective and add a
row (see ``dpm.solvers.lexicographic``), so nothing is rebuilt between stages.
"""
from __future__ import annotations

import functools
import os
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

import highspy
import numpy as np


STATUS = {
    "kOptimal": "optimal",
    "kTimeLimit": "time_limit",
    "kInfeasible": "infeasible",
    "kUnbounded": "unbounded",
    "kUnboundedOrInfeasible": "infeasible",
    # (or "stalled": the patience rule's own stop, see HighsSolver.set_patience; "time_limit":
    # the cancel at the solve's own limit, see HighsSolver._run; or
    # "work_limit": the count of HiGHS's checks set by HighsSolver.set_work_limit, see there)
    "kInterrupt": "interrupted",
    "kObjectiveTarget": "target_reached",  # (a search told to stop at a good enough point: no bound claimed)
    "kSolutionLimit": "solution_limit",
    "kIterationLimit": "iteration_limit",
    "kMemoryLimit": "memory_limit",
    "kSolveError": "numerical_trouble",
    "kPresolveError": "numerical_trouble",
    "kPostsolveError": "numerical_trouble",
    "kUnknown": "numerical_trouble",
    "kModelError": "error",
    "kLoadError": "error",
}

# What a user can do about a stage that did not end optimal (printed and in summary.json).
ADVICE = {
    "time_limit": "raise [solver] time_limit_s, or accept the reported MIP gap",
    "numerical_trouble": "HiGHS lost numerical accuracy; check the case for extreme values (a corporation "
                         "with almost no homes or debt far beyond its beleidswaarde), or try [solver] threads = 1",
    "memory_limit": "the machine ran out of memory; solve fewer regions at once",
    "interrupted": "the solve was stopped",
    "stalled": "no better point and no better bound for [solver] patience_checks of HiGHS's checks (or "
               "patience_s seconds, its safety net) while within [solver] patience_gap of the bound; raise them "
               "(0 = off), or accept the reported MIP gap",
    "error": "HiGHS refused the model; this is a bug in dpm, please report it with the case",
    "work_limit": "the stage stopped at its work limit (a count, the same on any machine); raise it, or accept "
                  "the reported MIP gap",
    "within_tolerance": "the stage stopped at its tolerance (solver.homes_gap, solver.mip_rel_gap); set them to 0 "
                        "for the exact optimum",
    "infeasible": "the model has a continuity gap to stay feasible; this is a bug in dpm, please report it",
}


@dataclass
class SolveResult:
    status: str  # optimal, time_limit, infeasible, ...
    has_solution: bool
    objective: float | None
    bound: float | None
    mip_gap: float | None
    seconds: float
    x: np.ndarray | None


def _with_bound(out: SolveResult, bound: float | None) -> SolveResult:
    """``out`` with ``bound`` and the relative gap of its objective to it."""
    if bound is None or not np.isfinite(bound):
        return replace(out, bound=bound, mip_gap=None)
    return replace(out, bound=bound, mip_gap=abs(out.objective - bound) / max(1e-10, abs(out.objective)))


@contextmanager
def _quiet_stdout():
    """HiGHS prints its banner from C++ when an instance is made; keep stdout clean."""
    try:
        fd = os.dup(1)
    except OSError:  # no real stdout (e.g. captured): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


# Where a clock ended a solve (CLOCK_STATUSES): a search that stopped at its time limit, or a stage
# that did, or stalled (the patience rule), returns what it had found by then, so its answer can
# differ between runs and machines. Each such stop is noted (note_clock_stop) in the log of the
# innermost clock_stops() block, named after the function that asked for the solve.
CLOCK_STATUSES = ("time_limit", "stalled")
_CLOCK_LOG: ContextVar[list | None] = ContextVar("dpm_clock_stops", default=None)


@contextmanager
def clock_stops(passed_on: bool = False):
    """Collect, in the list it yields, the name of the caller of every solve within the block
    that a clock ended (:data:`CLOCK_STATUSES`): where the list stays empty, no clock decided
    anything, and the same input gives the same answer however fast the machine.
    ``passed_on``: the enclosing block's log gets them too (a part of a run asking whether a
    clock decided it, within the run's own record)."""
    log: list[str] = []
    outer = _CLOCK_LOG.get()
    token = _CLOCK_LOG.set(log)
    try:
        yield log
    finally:
        _CLOCK_LOG.reset(token)
        if passed_on and outer is not None:
            outer.extend(log)


def noting_clock_stops(field: str = "clock_stops"):
    """Decorator: the result of the function gets, in its attribute ``field``, the solves
    within the call that a clock ended (:func:`clock_stops`)."""
    def decorate(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            with clock_stops() as stops:
                out = fn(*args, **kwargs)
            setattr(out, field, list(stops))
            return out
        return call
    return decorate


def pass_on_clock_stops(names: list[str]) -> None:
    """Note in the current :func:`clock_stops` log the stops another process collected in its own."""
    log = _CLOCK_LOG.get()
    if log is not None:
        log.extend(names)


def note_clock_stop(status: str, label: str | None = None, depth: int = 2) -> None:
    """Note a solve that ended with ``status`` in the current :func:`clock_stops` log, if a clock
    ended it, as ``label`` (a solver's ``label``: the stage it solves), else under the name of the
    function ``depth`` frames up (the caller of ``solve``: the search that asked for it)."""
    log = _CLOCK_LOG.get()
    if log is not None and status in CLOCK_STATUSES:
        log.append(label or sys._getframe(depth).f_code.co_name)


# An instance is renewed (HighsSolver._fresh) before a solve once it has run this many simplex
# iterations (an interior-point iteration counted as IPM_ITERATION_WORK): a count, not seconds, so
# the same case takes the same path on any machine. Measured: a long-lived instance solves its next
# LP slower (the national LP's money stage 15,209 iterations in 6.2 s, on a renewed instance
# 12,076 in 2.9 s; the national run 86-96 s against 71 s), and renewing before every solve costs
# the unfilled stage of the default region 0.2 s -> 0.7 s (the rent variant 8.5 s -> 12.2 s).
RENEW_ITERATIONS = 5_000
IPM_ITERATION_WORK = 20


class HighsSolver:
    """One HiGHS instance holding a model; solve it repeatedly with new objectives.

    The model is anything with the matrix protocol of ``dpm.model.linear.LinearModel``:
    ``n_cols``, ``n_rows``, ``col_lower``, ``col_upper``, ``row_lower``, ``row_upper``,
    ``integrality`` and ``matrix()``. The solvers never import the model."""

    def __init__(self, model, options: dict, verbose: bool = False, relaxed: bool = False):
        """``relaxed``: pass every column as continuous (the LP relaxation, for duals)."""
        self.model = model
        self.relaxed = relaxed
        self.verbose = bool(verbose)
        self.options = {
            "output_flag": bool(verbose), "log_to_console": bool(verbose),
            "time_limit": float(options["time_limit_s"]), "mip_rel_gap": float(options["mip_rel_gap"]),
            "threads": int(options["threads"]), "random_seed": int(options["random_seed"]),
        }

        self.base_rel_gap = self.options["mip_rel_gap"]
        self.h = self._new_instance()
        self._pass(model)
        self.cost = np.zeros(model.n_cols)
        self.restarts = 0  # solves repeated without a start (see solve)
        self.limit_s = float(self.options["time_limit"])  # per solve (see _run)
        self.prove_s = float(options.get("prove_exact_s", 0.0))  # see solve_lexicographic
        self.prove_checks = int(options.get("prove_exact_checks", 0))  # ... and _prove
        # the patience rule (set_patience): seconds (its safety net), gap, checks
        self.patience = (float(options.get("patience_s", 0.0)), float(options.get("patience_gap", 0.0)),
                         int(options.get("patience_checks", 0)))
        self.patient = False  # the patience rule applies to the following solves (set_patience)
        self.work_limit: int | None = None  # HiGHS's checks per MIP solve (set_work_limit)
        self._worked_out = False  # the last solve was stopped at its work limit
        self.last_checks = 0  # HiGHS's checks the last MIP solve made, where counted (a work limit or the patience rule)
        self._stalled: str | None = None  # the last solve was stopped by the patience rule: "checks" or "clock"
        self._timed_out = False  # the last solve was cancelled at its time limit (see _run)
        self._interrupted = False  # the last solve was interrupted: the instance is renewed first
        self._work = 0  # simplex iterations of the instance since it was made (see _run)
        self.sense = "min"
        self._start: np.ndarray | None = None  # the MIP start of the next solve (see _fresh)
        self.groups: list[tuple[str, int]] = []  # (name, rows) of each row group added after the model
        self.label: str | None = None  # what the next solves are, for note_clock_stop (a stage's name)

    def _new_instance(self) -> highspy.Highs:
        with _quiet_stdout():
            h = highspy.Highs()
        for key, value in self.options.items():
            h.setOptionValue(key, value)
        return h

    def _pass(self, model) -> None:
        A = model.matrix()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = model.n_cols, model.n_rows
        lp.col_cost_ = np.zeros(model.n_cols)
        lp.col_lower_, lp.col_upper_ = model.col_lower, model.col_upper
        lp.row_lower_, lp.row_upper_ = model.row_lower, model.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data
        integ = model.integrality
        if integ.any() and not self.relaxed:
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integ]
        self.h.passModel(lp)
        self.n_cols = model.n_cols

    def add_columns(self, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Append continuous columns (no entries yet); returns their ids."""
        n = len(lower)
        self.h.addCols(n, np.zeros(n), np.asarray(lower, float), np.asarray(upper, float), 0,
                       np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        ids = np.arange(self.n_cols, self.n_cols + n)
        self.n_cols += n
        return ids

    def add_rows(self, lower, upper, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, name: str = "rows") -> int:
        """Append the row group ``name`` given as COO entries (row positions 0..n-1 within the
        new rows; see ``dpm.model.linear.RowGroup``); returns their number."""
        lower, upper = np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float))
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        starts = np.searchsorted(rows, np.arange(len(lower))).astype(np.int32)
        self.h.addRows(len(lower), lower, upper, len(vals), starts, cols.astype(np.int32), vals.astype(float))
        self.groups.append((name, len(lower)))
        return len(lower)

    def delete_rows(self, n: int) -> None:
        """Remove the last group of ``n`` rows (added by :meth:`add_rows` for one solve)."""
        total = self.h.getNumRow()
        self.h.deleteRows(n, np.arange(total - n, total, dtype=np.int32))
        self.groups.pop()

    def set_objective(self, cost: np.ndarray, sense: str = "min", abs_gap: float | None = None) -> None:
        cost = np.concatenate([cost, np.zeros(self.n_cols - len(cost))])
        self.h.changeColsCost(self.n_cols, np.arange(self.n_cols, dtype=np.int32), cost.astype(float))
        self.h.changeObjectiveSense(highspy.ObjSense.kMinimize if sense == "min" else highspy.ObjSense.kMaximize)
        self.options["mip_abs_gap"] = 1e-6 if abs_gap is None else float(abs_gap)
        self.h.setOptionValue("mip_abs_gap", self.options["mip_abs_gap"])
        self.cost = cost
        self.sense = sense

    def set_integrality(self, ids: np.ndarray, integer: bool) -> None:
        """Make columns ``ids`` integer or continuous for the solves that follow."""
        ids = np.asarray(ids, np.int32)
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(len(ids), ids, np.full(len(ids), kind))

    @property
    def integer(self) -> np.ndarray:
        """Which columns are integer now (as the HiGHS instance holds them)."""
        integrality = self.h.getLp().integrality_
        if not len(integrality):
            return np.zeros(self.n_cols, bool)
        return np.array([v == highspy.HighsVarType.kInteger for v in integrality], bool)

    def set_option(self, key: str, value) -> None:
        """A HiGHS option for the following solves (kept if the instance is renewed)."""
        self.options[key] = value
        self.h.setOptionValue(key, value)

    def set_mip_rel_gap(self, gap: float | None) -> None:
        """The relative MIP gap at which the following solves stop (None: the options')."""
        self.set_option("mip_rel_gap", float(self.base_rel_gap if gap is None else gap))

    def set_node_limit(self, nodes: int | None) -> None:
        """Stop a MIP solve after ``nodes`` branch-and-bound nodes (None: no limit). Unlike a time
        limit, the result does not depend on the machine's speed."""
        self.set_option("mip_max_nodes", int(nodes) if nodes is not None else 2**31 - 1)

    def set_time_limit(self, seconds: float | None) -> None:
        """The time limit of each following solve, in seconds (None: back to the solver options')."""
        self.limit_s = float(self.options["time_limit"] if seconds is None else seconds)

    def set_patience(self, on: bool) -> None:
        """The patience rule for the following MIP solves of an objective in whole units (a stage
        counted in homes): stop, with status ``stalled``, once neither the incumbent nor the
        bound rounded up to whole units has improved for ``patience_checks`` of HiGHS's checks
        (see :meth:`set_work_limit`), or for ``patience_s`` seconds, its safety net, while the
        incumbent is within ``patience_gap`` (relative) of that bound. HiGHS's bound still
        holds, so the stage reports it and its gap. Off where both are 0. A stall on the count
        is the same on any machine; one on the clock, like a time limit, is not (only that one
        is noted as a clock stop, :meth:`solve`)."""
        self.patient = bool(on)

    def set_work_limit(self, checks: int | None) -> None:
        """Stop each following MIP solve, with status ``work_limit``, at the ``checks``-th call of
        HiGHS's MIP interrupt callback (None or 0: no such limit). HiGHS checks once per cut
        round of its root and once per node (not inside its sub-MIP heuristics), at the same
        points on any machine: a count, so the solve stops at the same point however fast the
        machine, where a time limit stops it wherever the clock falls, but one that bounds the
        root's cut rounds too, which no HiGHS option does (``mip_max_nodes`` counts nodes only).
        Measured on the timing tie-break (docs/model.md, Work limits): 8 checks take 0.1-0.9 s
        on the benchmark regions, 1.6 s on synthetic 40 (10 take 4.9 s there: a root heuristic
        of 3 s between the 8th and the 9th)."""
        self.work_limit = int(checks) if checks else None

    def fix_columns(self, ids: np.ndarray, values: np.ndarray) -> None:
        """Fix columns ``ids`` at ``values`` (both bounds)."""
        self.set_bounds(ids, values, values)

    def bounds(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The current (lower, upper) bounds of columns ``ids``."""
        lp = self.h.getLp()
        ids = np.asarray(ids, np.int64)
        return np.asarray(lp.col_lower_)[ids].copy(), np.asarray(lp.col_upper_)[ids].copy()

    def set_bounds(self, ids: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Bounds of columns ``ids``."""
        ids = np.asarray(ids, np.int32)
        lower = np.broadcast_to(np.asarray(lower, float), ids.shape).copy()
        upper = np.broadcast_to(np.asarray(upper, float), ids.shape).copy()
        self.h.changeColsBounds(len(ids), ids, lower, upper)

    def row_duals(self) -> np.ndarray:
        """Row duals of the last LP solve: the objective's change per unit of a row's bound."""
        sol = self.h.getSolution()
        if not sol.dual_valid:
            raise RuntimeError("no valid duals: the last solve was not an optimal LP")
        return np.asarray(sol.row_dual)

    def set_start(self, x: np.ndarray) -> None:
        """A feasible point as MIP start (warm start of the next stage)."""
        self._start = np.asarray(x, float)
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(x, float))
        sol.value_valid = True
        self.h.setSolution(sol)

    def solve(self) -> SolveResult:
        """Run HiGHS (:meth:`_solve`); a solve that a clock ended is noted in the log of the
        current :func:`clock_stops` block."""
        out = self._solve()
        if not (out.status == "stalled" and self._stalled == "checks"):  # (a stall on the count: no clock)
            note_clock_stop(out.status, self.label)
        return out

    def _solve(self) -> SolveResult:
        """Run HiGHS. The objective of the returned point is recomputed here: HiGHS 1.16 can
        value a MIP start in its presolved space without the objective offset and stop on it
        as 'optimal'. If the two disagree, the point is kept valued right with HiGHS's bound
        (its bound is below the value HiGHS gave its incumbent, so below every point it pruned:
        still a bound). Only where HiGHS stopped as 'optimal' and the point, valued right, is
        not within the solve's gap is the stage solved again on a fresh instance without the
        start (a stop at the time limit is not: measured, the split of a synthetic
        20-corporation region's totals spent its 10 s twice for nothing); if that finds no
        better point within the time limit, the first point is kept, valued right, with the
        second search's status and the larger of the two bounds (measured: on a synthetic
        30-corporation region the search without the start found no point in 10 s, and the
        region fell back to the full model: 130 s and 678 more homes unfilled)."""
        start = time.perf_counter()
        self._run()
        out = self._result(time.perf_counter() - start)
        if out.has_solution and abs(float(self.cost @ out.x) - out.objective) > 1e-6 * max(1.0, abs(out.objective)):
            first = _with_bound(replace(out, objective=float(self.cost @ out.x)), out.bound)
            if out.status != "optimal" or self._gap_met(first):  # no false proof to undo: no second search
                return first
            self._start = None
            self._fresh(warm=False)
            self.restarts += 1
            self._run()
            out = self._result(time.perf_counter() - start)
            sign = 1.0 if self.sense == "min" else -1.0  # (a bound is below a minimum, above a maximum)
            if not out.has_solution or sign * out.objective > sign * first.objective:
                bounds = [sign * b for b in (first.bound, out.bound) if b is not None and np.isfinite(b)]
                out = _with_bound(replace(first, status=out.status, seconds=out.seconds),
                                  sign * max(bounds) if bounds else None)
        return out

    def _gap_met(self, out: SolveResult) -> bool:
        """Whether ``out`` (a MIP that HiGHS stopped as optimal) is within the solve's absolute or
        relative gap of its bound: HiGHS's own stopping rule."""
        if out.status != "optimal" or out.bound is None or not np.isfinite(out.bound) or self.relaxed:
            return False
        diff = abs(out.objective - out.bound)
        abs_gap, rel_gap = self.gaps()
        return bool(diff <= abs_gap or diff <= rel_gap * abs(out.objective))

    def gaps(self) -> tuple[float, float]:
        """The absolute and relative MIP gaps at which the next solve stops."""
        return float(self.options.get("mip_abs_gap", 1e-6)), float(self.options["mip_rel_gap"])

    def _run(self) -> None:
        """``Highs.run`` in HiGHS's own thread, waited for in steps of 0.1 s: a stop signal
        (SIGINT, SIGTERM) reaches Python at once (HiGHS is cancelled, waited for, and the
        signal's exception goes on), and the solve is cancelled at its own time limit.

        The time limit is this solve's. HiGHS 1.16 checks ``time_limit`` against the
        instance's whole run time in some phases (LP, MIP start-up) and against this run's
        time in branch-and-bound (measured). So HiGHS's limit is set to the time used so far
        plus this solve's (right where it reads the whole run time, late where it reads this
        run's), and the wait cancels the solve once this solve's limit has passed: a stop
        that reports ``time_limit``. The instance is renewed (:meth:`_fresh`) after an
        interrupted solve, after a stop of the work limit or the patience rule, and after every
        cancel, also one that came as HiGHS ended by itself
        (HiGHS 1.16 keeps the interrupt flag, and stops the instance's next run at once:
        measured, a solve after such a race returned ``interrupted`` without a point), and once
        it has run :data:`RENEW_ITERATIONS` simplex iterations, never on the clock: a run whose
        limits do not bind gives the same answer however fast the machine (measured: a renewal
        once the instance had run a second made the national answer's tied optima alternate
        between runs)."""
        if self._interrupted or self._work > RENEW_ITERATIONS:
            self._fresh()
        self._interrupted, self._stalled, self._timed_out, self._worked_out = False, None, False, False
        self.last_checks = 0
        self.h.setOptionValue("time_limit", self.h.getRunTime() + self.limit_s)
        watch = self._watch()
        if watch is not None:
            self.h.cbMipInterrupt.subscribe(watch)
        self.h.HandleUserInterrupt = True
        deadline = time.perf_counter() + self.limit_s
        self.h.startSolve()
        try:
            while not self.h.wait(0.1)[0]:
                if not (self._timed_out or self._worked_out) and time.perf_counter() > deadline:
                    self._timed_out = True
                    self.h.cancelSolve()
        except BaseException:
            self.h.cancelSolve()
            self.h.joinSolve()
            raise
        finally:
            if watch is not None:
                self.h.cbMipInterrupt.unsubscribe(watch)
            # (a cancel or a callback's interrupt sent as HiGHS ended by itself leaves the flag set too:
            # renewed all the same)
            self._interrupted = bool(self._timed_out or self._worked_out or self._stalled
                                     or self.h.getModelStatus().name == "kInterrupt")
            if self.verbose and (self._timed_out or self._worked_out or self._stalled):  # (HiGHS: "Interrupted by user")
                why = ("its time limit" if self._timed_out else f"its work limit ({self.work_limit} of HiGHS's checks)"
                       if self._worked_out else "the patience rule")
                print(f"=== dpm: the solve above was stopped at {why} ===", flush=True)
            info = self.h.getInfo()
            self._work += max(0, info.simplex_iteration_count) + IPM_ITERATION_WORK * max(0, info.ipm_iteration_count)

    def _watch(self):
        """HiGHS's MIP interrupt callback of the work limit (:meth:`set_work_limit`) and the
        patience rule (:meth:`set_patience`), or None where neither applies (an LP; the patience
        rule off, or a maximisation)."""
        if self.relaxed or not bool(self.model.integrality.any()):
            return None
        seconds, gap, quiet_checks = self.patience
        patient = self.patient and (seconds > 0 or quiet_checks > 0) and self.sense == "min"
        if not patient and self.work_limit is None:
            return None
        # since: when the point or the whole bound last improved; quiet: the checks since then
        seen = {"value": np.inf, "bound": -np.inf, "since": None, "quiet": 0, "checks": 0}

        def watch(event) -> None:
            seen["checks"] += 1
            self.last_checks = seen["checks"]
            if self.work_limit is not None and seen["checks"] >= self.work_limit and not self._timed_out:
                self._worked_out = True
                event.data_in.user_interrupt = True
                return
            if not patient:
                return
            out = event.data_out
            value, bound, now = out.mip_primal_bound, np.ceil(out.mip_dual_bound - 1e-6), out.running_time
            if seen["since"] is None or value < seen["value"] - 0.5 or bound > seen["bound"] + 0.5:
                seen.update(value=min(value, seen["value"]), bound=max(bound, seen["bound"]), since=now, quiet=0)
            else:
                seen["quiet"] += 1
            if not (np.isfinite(value) and np.isfinite(bound) and value - bound <= gap * abs(value)):
                return
            if quiet_checks > 0 and seen["quiet"] >= quiet_checks:
                self._stalled = "checks"
            elif seconds > 0 and now - seen["since"] >= seconds:
                self._stalled = "clock"
            if self._stalled:
                event.data_in.user_interrupt = True

        return watch

    def _fresh(self, warm: bool = True) -> None:
        """Replace the HiGHS instance by a new one with the same model, options and objective
        sense (its clock at zero); ``warm``: also the basis and the MIP start."""
        lp = self.h.getLp()
        basis = self.h.getBasis() if warm else None
        self.h = self._new_instance()
        self._work = 0
        self.h.passModel(lp)
        self.h.changeObjectiveSense(highspy.ObjSense.kMinimize if self.sense == "min" else highspy.ObjSense.kMaximize)
        if basis is not None and basis.valid:
            self.h.setBasis(basis)
        if warm and self._start is not None:
            self.set_start(self._start)

    def _result(self, seconds: float) -> SolveResult:
        raw = self.h.getModelStatus().name
        status = STATUS.get(raw, raw)
        if raw == "kInterrupt" and (self._stalled or self._timed_out or self._worked_out):
            status = "stalled" if self._stalled else "time_limit" if self._timed_out else "work_limit"
        info = self.h.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.asarray(self.h.getSolution().col_value) if has_solution else None
        objective = info.objective_function_value if has_solution else None
        is_mip = bool(self.model.integrality.any()) and not self.relaxed
        bound = info.mip_dual_bound if is_mip else objective
        gap = info.mip_gap if is_mip and has_solution else (0.0 if has_solution else None)
        if gap is not None and not np.isfinite(gap):
            gap = None
        return SolveResult(status, has_solution, objective, bound, gap, seconds, x)
