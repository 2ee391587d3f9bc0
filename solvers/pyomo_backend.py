"""Any solver Pyomo knows (appsi_highs, cbc, glpk, gurobi, cplex, ...) behind the same matrix
protocol as :class:`dpm.solvers.highs.HighsSolver`, for ``[solver] backend = "pyomo:NAME"``
(``dpm run --solver pyomo:NAME``).

The stages change objectives, bounds and rows between solves; this backend keeps that state
as arrays, builds a Pyomo model of it (one ``LinearExpression`` per row) when its columns or
rows change, and otherwise updates only bounds, domains and the objective. It is slower than the direct HiGHS path (which passes the matrix once) and is meant for an
analyst with another solver, e.g. a commercial licence. What only HiGHS offers is skipped:
node limits (the time limit still holds, so with another solver the dive's plan can depend
on the machine's speed), HiGHS options set by name, and instance restarts.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from dpm.solvers.highs import SolveResult, note_clock_stop

# time limit and relative MIP gap option names of the solvers' legacy Pyomo interfaces
_OPTION_NAMES = {
    "cbc": ("sec", "ratio"), "glpk": ("tmlim", "mipgap"), "gurobi": ("TimeLimit", "MIPGap"),
    "gurobi_direct": ("TimeLimit", "MIPGap"), "gurobi_persistent": ("TimeLimit", "MIPGap"),
    "cplex": ("timelimit", "mipgap"), "cplex_direct": ("timelimit", "mipgap"), "highs": ("time_limit", "mip_rel_gap"),
    "scip": ("limits/time", "limits/gap"),
}


def pyomo_model(lower, upper, integer, A, row_lower, row_upper, cost=None, sense: str = "min"):
    """``lower <= x <= upper`` (``integer`` where flagged), ``row_lower <= A x <= row_upper``
    and the objective ``cost`` as a Pyomo ConcreteModel: ``x[j]`` over all columns, ``rows[i]``
    (empty or free rows skipped). Works on any model with the matrix protocol, e.g.
    ``pyomo_model(lm.col_lower, lm.col_upper, lm.integrality, lm.matrix(), lm.row_lower, lm.row_upper)``."""
    import pyomo.environ as pe
    from pyomo.core.expr.numeric_expr import LinearExpression

    bound = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
    pm = pe.ConcreteModel()
    pm.x = pe.Var(range(len(lower)), bounds=lambda _, j: (bound(lower[j]), bound(upper[j])),
                  domain=lambda _, j: pe.Integers if integer[j] else pe.Reals)
    x = [pm.x[j] for j in range(len(lower))]
    A = sp.csr_matrix(A)

    def row(_, i):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        if lo == hi or not (np.isfinite(row_lower[i]) or np.isfinite(row_upper[i])):  # empty or free: no row
            return pe.Constraint.Skip
        expr = LinearExpression(constant=0.0, linear_coefs=A.data[lo:hi].tolist(),
                                linear_vars=[x[j] for j in A.indices[lo:hi]])
        return (bound(row_lower[i]), expr, bound(row_upper[i]))

    pm.rows = pe.Constraint(range(A.shape[0]), rule=row)
    if cost is not None:
        nz = np.flatnonzero(cost)
        pm.obj = pe.Objective(expr=LinearExpression(constant=0.0, linear_coefs=np.asarray(cost)[nz].tolist(),
                                                    linear_vars=[x[j] for j in nz]),
                              sense=pe.minimize if sense == "min" else pe.maximize)
    return pm


class PyomoSolver:
    """The lexicographic stages' solver protocol, solved through Pyomo with solver ``name``."""

    def __init__(self, model, options: dict, name: str, verbose: bool = False, relaxed: bool = False):
        import pyomo.environ as pe

        self.name = name
        self.opt = pe.SolverFactory(name)  # (its availability is checked with the scenario: check_backend)
        self.model = model
        self.relaxed = relaxed
        self.verbose = bool(verbose)
        self.options = {"time_limit": float(options["time_limit_s"]), "mip_rel_gap": float(options["mip_rel_gap"])}
        self.base_rel_gap = self.options["mip_rel_gap"]
        self.limit_s = self.options["time_limit"]
        self.prove_s = float(options.get("prove_exact_s", 0.0))
        self.prove_checks = int(options.get("prove_exact_checks", 0))
        self.restarts = 0
        self.last_checks = 0  # (HiGHS's checks are not counted here: each solve counts as one, module doc)
        self.n_cols = model.n_cols
        self.lower = np.asarray(model.col_lower, float).copy()
        self.upper = np.asarray(model.col_upper, float).copy()
        self.integer = np.asarray(model.integrality, bool).copy() & (not relaxed)
        self.A = model.matrix().tocsr()
        self.row_lower = np.asarray(model.row_lower, float).copy()
        self.row_upper = np.asarray(model.row_upper, float).copy()
        self.cost = np.zeros(self.n_cols)
        self.sense = "min"
        self.abs_gap = 1e-6
        self._start: np.ndarray | None = None
        self._duals: np.ndarray | None = None
        self.groups: list[tuple[str, int]] = []
        self.label: str | None = None  # (see HighsSolver.label)
        self._pm = None  # the Pyomo model: the model's rows, then the rows added since (see _model)
        self._base_rows = self.A.shape[0]
        self._extra = []  # a serial number per row added after the model's own rows
        self._built = []  # (serial, Pyomo constraint or None) of the added rows the Pyomo model holds
        self._serial = 0

    # -- the protocol (see HighsSolver for each method's meaning) --------------------------
    def add_columns(self, lower, upper) -> np.ndarray:
        n = len(lower)
        ids = np.arange(self.n_cols, self.n_cols + n)
        self.lower = np.concatenate([self.lower, np.asarray(lower, float)])
        self.upper = np.concatenate([self.upper, np.asarray(upper, float)])
        self.integer = np.concatenate([self.integer, np.zeros(n, bool)])
        self.cost = np.concatenate([self.cost, np.zeros(n)])
        self.A = sp.hstack([self.A, sp.csr_matrix((self.A.shape[0], n))]).tocsr()
        self.n_cols += n
        return ids

    def add_rows(self, lower, upper, rows, cols, vals, name: str = "rows") -> int:
        lower, upper = np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float))
        new = sp.csr_matrix((np.asarray(vals, float), (np.asarray(rows), np.asarray(cols))),
                            shape=(len(lower), self.n_cols))
        self.A = sp.vstack([self.A, new]).tocsr()
        self.row_lower = np.concatenate([self.row_lower, lower])
        self.row_upper = np.concatenate([self.row_upper, upper])
        self.groups.append((name, len(lower)))
        self._extra += list(range(self._serial, self._serial + len(lower)))
        self._serial += len(lower)
        return len(lower)

    def delete_rows(self, n: int) -> None:
        keep = self.A.shape[0] - n
        self.A, self.row_lower, self.row_upper = self.A[:keep], self.row_lower[:keep], self.row_upper[:keep]
        self.groups.pop()
        self._extra = self._extra[:len(self._extra) - n]

    def set_objective(self, cost, sense: str = "min", abs_gap: float | None = None) -> None:
        self.cost = np.concatenate([cost, np.zeros(self.n_cols - len(cost))]).astype(float)
        self.sense = sense
        self.abs_gap = 1e-6 if abs_gap is None else float(abs_gap)

    def set_integrality(self, ids, integer: bool) -> None:
        if not self.relaxed:
            self.integer[np.asarray(ids, int)] = integer

    def gaps(self) -> tuple[float, float]:
        """The absolute and relative MIP gaps at which the next solve stops."""
        return self.abs_gap, float(self.options["mip_rel_gap"])

    def set_option(self, key: str, value) -> None:
        self.options[key] = value  # HiGHS-only options (presolve, ...) are kept, not passed

    def set_mip_rel_gap(self, gap: float | None) -> None:
        self.options["mip_rel_gap"] = float(self.base_rel_gap if gap is None else gap)

    def set_node_limit(self, nodes: int | None) -> None:
        pass  # not portable across solvers: only the time limit holds (module doc)

    def set_work_limit(self, checks: int | None) -> None:
        pass  # a HiGHS callback, not portable across solvers: only the time limit holds (module doc)

    def set_time_limit(self, seconds: float | None) -> None:
        self.limit_s = float(self.options["time_limit"] if seconds is None else seconds)

    def set_patience(self, on: bool) -> None:
        pass  # a HiGHS callback, not portable across solvers: only the time limit holds (module doc)

    def bounds(self, ids) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids, int)
        return self.lower[ids].copy(), self.upper[ids].copy()

    def fix_columns(self, ids, values) -> None:
        self.set_bounds(ids, values, values)

    def set_bounds(self, ids, lower, upper) -> None:
        ids = np.asarray(ids, int)
        self.lower[ids] = np.broadcast_to(np.asarray(lower, float), ids.shape)
        self.upper[ids] = np.broadcast_to(np.asarray(upper, float), ids.shape)

    def row_duals(self) -> np.ndarray:
        if self._duals is None:
            raise RuntimeError("no valid duals: the last solve was not an optimal LP")
        return self._duals

    def set_start(self, x) -> None:
        self._start = np.asarray(x, float)

    def solve(self) -> SolveResult:
        from pyomo.opt import TerminationCondition as TC

        clock = time.perf_counter()
        m = self.A.shape[0]
        is_mip = bool(self.integer.any())
        pm = self._model()
        x = [pm.x[j] for j in range(self.n_cols)]
        warm = self._start is not None and is_mip and getattr(self.opt, "warm_start_capable", lambda: False)()
        if warm:  # a start outside the bounds of this solve (e.g. a narrowed search) cannot help: not given
            start = self._start[:self.n_cols]
            warm = bool(np.all((start >= self.lower - 1e-9) & (start <= self.upper + 1e-9)))
        if warm:  # (integer columns as whole values: Pyomo warns on every one a hair off, on stdout)
            start = np.where(self.integer, np.round(self._start[:self.n_cols]), self._start[:self.n_cols])
            pm.x.set_values(dict(enumerate(start.tolist())))
        self._configure()
        kwargs = {"load_solutions": False, "tee": self.verbose}
        if hasattr(self.opt, "config"):  # the appsi interfaces: their legacy solve() sets config.time_limit
            kwargs["timelimit"] = self.limit_s  # from this argument (None: no limit), whatever _configure set
        if warm:
            kwargs["warmstart"] = True
        res = self.opt.solve(pm, **kwargs)
        tc = res.solver.termination_condition
        status = {TC.optimal: "optimal", TC.maxTimeLimit: "time_limit", TC.infeasible: "infeasible",
                  TC.unbounded: "unbounded", TC.infeasibleOrUnbounded: "infeasible",
                  TC.maxIterations: "iteration_limit", TC.userInterrupt: "interrupted"}.get(tc, "numerical_trouble")
        has_solution = len(res.solution) > 0 and status not in ("infeasible", "unbounded")
        values = None
        self._duals = None
        if has_solution:
            # (a stop at the time limit is reported by our status; Pyomo's warning that the
            # solution comes from an 'aborted' solve would land on stdout, in the results table)
            core = logging.getLogger("pyomo.core")
            level = core.level
            core.setLevel(logging.ERROR)
            try:
                pm.solutions.load_from(res)
            finally:
                core.setLevel(level)
            values = np.array([v.value if v.value is not None else 0.0 for v in x], float)
            values = np.clip(values, self.lower, self.upper)
            if not is_mip and status == "optimal":
                rows = [self._row(pm, i) for i in range(m)]
                self._duals = np.array([0.0 if c is None else pm.dual.get(c, 0.0) for c in rows],
                                       float)  # (a skipped, empty or free row has dual 0)
        objective = float(self.cost @ values) if has_solution else None
        bound = res.problem.lower_bound if self.sense == "min" else res.problem.upper_bound
        bound = float(bound) if bound is not None and np.isfinite(float(bound)) else None
        if not is_mip:
            bound = objective if status == "optimal" else None
        gap = None
        if has_solution and bound is not None:
            gap = abs(objective - bound) / max(1e-10, abs(objective)) if objective else 0.0
        note_clock_stop(status, self.label)
        return SolveResult(status, has_solution, objective, bound, gap, time.perf_counter() - clock, values)

    def _model(self):
        """The Pyomo model of the current state, kept between solves so that a persistent
        solver (appsi) keeps its instance: rebuilt only when columns are added; rows added
        after the model's own (a stage's optimum held, a probe) are added to and removed from
        ``extra``; bounds, domains and the objective are updated."""
        import pyomo.environ as pe
        from pyomo.core.expr.numeric_expr import LinearExpression

        if self._pm is None or self._pm_cols != self.n_cols:
            base = slice(0, self._base_rows)
            self._pm = pyomo_model(self.lower, self.upper, self.integer, self.A[base], self.row_lower[base],
                                   self.row_upper[base])
            self._pm.extra = pe.Constraint(pe.Any)
            self._pm_cols, self._built = self.n_cols, []
            self._state = (self.lower.copy(), self.upper.copy(), self.integer.copy())
        pm = self._pm
        keep = 0  # the added rows already held, in order
        while keep < min(len(self._built), len(self._extra)) and self._built[keep][0] == self._extra[keep]:
            keep += 1
        for serial, _ in self._built[keep:]:
            if serial in pm.extra:
                del pm.extra[serial]
        self._built = self._built[:keep]
        bound = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
        for k in range(keep, len(self._extra)):
            i = self._base_rows + k
            lo, hi = self.A.indptr[i], self.A.indptr[i + 1]
            if lo < hi and (np.isfinite(self.row_lower[i]) or np.isfinite(self.row_upper[i])):
                expr = LinearExpression(constant=0.0, linear_coefs=self.A.data[lo:hi].tolist(),
                                        linear_vars=[pm.x[int(j)] for j in self.A.indices[lo:hi]])
                pm.extra[self._extra[k]] = (bound(self.row_lower[i]), expr, bound(self.row_upper[i]))
            self._built.append((self._extra[k], self._extra[k] in pm.extra))
        lower, upper, integer = self._state
        for j in np.flatnonzero((lower != self.lower) | (upper != self.upper) | (integer != self.integer)):
            v = pm.x[int(j)]
            v.setlb(bound(self.lower[j]))
            v.setub(bound(self.upper[j]))
            v.domain = pe.Integers if self.integer[j] else pe.Reals
        self._state = (self.lower.copy(), self.upper.copy(), self.integer.copy())
        if hasattr(pm, "dual"):  # row duals: asked of an LP only
            pm.del_component(pm.dual)
        if not self.integer.any():
            pm.dual = pe.Suffix(direction=pe.Suffix.IMPORT)
        if hasattr(pm, "obj"):
            pm.del_component(pm.obj)
        nz = np.flatnonzero(self.cost)
        pm.obj = pe.Objective(expr=LinearExpression(constant=0.0, linear_coefs=self.cost[nz].tolist(),
                                                    linear_vars=[pm.x[int(j)] for j in nz]),
                              sense=pe.minimize if self.sense == "min" else pe.maximize)
        return pm

    def _row(self, pm, i: int):
        """The Pyomo constraint of row ``i`` (None: skipped, being empty or free)."""
        if i < self._base_rows:
            return pm.rows[i] if i in pm.rows else None
        serial = self._extra[i - self._base_rows]
        return pm.extra[serial] if serial in pm.extra else None

    def _configure(self) -> None:
        """This solve's time limit and MIP gaps, in the solver's own option names."""
        rel = float(self.options["mip_rel_gap"])
        if hasattr(self.opt, "config"):  # the appsi interfaces
            self.opt.config.time_limit = self.limit_s
            self.opt.config.mip_gap = rel
            if hasattr(self.opt, "highs_options"):
                self.opt.highs_options = {"mip_abs_gap": self.abs_gap, "threads": 1, "random_seed": 0}
            return
        names = _OPTION_NAMES.get(self.name)
        if names is not None:
            self.opt.options[names[0]] = self.limit_s
            self.opt.options[names[1]] = rel
