"""A small block-structured linear model: named, pandas-indexed blocks of variables and rows.

Each block is added in one vectorised call (no Python loop per row), and keeps its index
so results and duals come back as labelled pandas objects. The model is handed to a solver
as one sparse matrix (``dpm.solvers.highs``); ``dpm.solvers.pyomo_backend.pyomo_model``
gives it as a Pyomo ConcreteModel, for inspection or other solvers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

INF = np.inf


@dataclass
class Block:
    """A named block of variables or rows: ``index`` labels positions start..start+len-1."""

    name: str
    index: pd.Index
    start: int

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.start, self.start + len(self.index))

    def __len__(self) -> int:
        return len(self.index)

    def series(self, values: np.ndarray) -> pd.Series:
        return pd.Series(values[self.start:self.start + len(self.index)], index=self.index, name=self.name)

    def at(self, labels) -> np.ndarray:
        """Ids of the entries with these ``labels`` (see :func:`rows_of`)."""
        return self.start + rows_of(self.index, labels)


def rows_of(index: pd.Index, labels) -> np.ndarray:
    """Positions of ``labels`` in ``index``: a term's rows (or a block's entries) named by
    label, not computed by hand. ``labels`` is an Index, a DataFrame whose columns are the
    index levels in order, or an array; a label not in ``index`` is an error in the model."""
    if isinstance(labels, pd.DataFrame):
        labels = pd.MultiIndex.from_frame(labels)
    elif isinstance(labels, pd.Series):
        labels = labels.to_numpy()
    pos = index.get_indexer(labels)
    if (pos < 0).any():
        missing = labels[int(np.flatnonzero(pos < 0)[0])]
        raise KeyError(f"{missing!r} is not in the index {list(index.names)}")
    return pos


def coo_terms(terms, row_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, coef)`` terms (coefficients broadcast where scalar, zeros dropped) as one
    COO triple, rows shifted by ``row_offset``."""
    rows, cols, vals = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for row, col, coef in terms:
        row, col = np.asarray(row, np.int64), np.asarray(col, np.int64)
        coef = np.broadcast_to(np.asarray(coef, float), row.shape)
        keep = coef != 0
        rows.append(row[keep] + row_offset), cols.append(col[keep]), vals.append(coef[keep])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


@dataclass
class RowGroup:
    """Rows a solve adds after its model is built (MODEL.md 5): a stage's optimum held
    (``stage_optimum:<stage>``), the unfilled limit, the roles kept, a budget, a probe. Named
    and labelled like a model block and built from the same ``(row, col, coef)`` terms, so
    every row a solver holds has a name (``solver.groups``); :meth:`add_to` hands it over."""

    name: str
    index: pd.Index
    lower: np.ndarray
    upper: np.ndarray
    terms: list

    @classmethod
    def of(cls, name: str, index: pd.Index, terms, lower=-INF, upper=INF) -> "RowGroup":
        n = len(index)
        return cls(name, index, np.broadcast_to(np.asarray(lower, float), (n,)).copy(),
                   np.broadcast_to(np.asarray(upper, float), (n,)).copy(), list(terms))

    @classmethod
    def cap(cls, name: str, cost: np.ndarray, upper: float, lower: float = -INF) -> "RowGroup":
        """One row ``lower <= cost @ x <= upper``."""
        nz = np.flatnonzero(cost)
        return cls.of(name, pd.Index([name], name="row"), [(np.zeros(len(nz), np.int64), nz, cost[nz])], lower, upper)

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return coo_terms(self.terms)

    def add_to(self, solver) -> int:
        """Add these rows to ``solver`` (the solver protocol's ``add_rows``); returns their number."""
        return solver.add_rows(self.lower, self.upper, *self.coo(), name=self.name)


class Solution:
    """A point of a :class:`LinearModel` read by name, as PyPSA's ``assign_solution`` does:
    ``values[block]`` is a labelled Series per variable block, ``duals[group]`` one per row
    block (from an LP's row duals). Columns a stage appended after the model (its extra
    variables) are dropped, so no caller slices the flat vector."""

    def __init__(self, model: "LinearModel", x: np.ndarray, row_duals: np.ndarray | None = None):
        self.model = model
        self.x = np.asarray(x, float)[:model.n_cols]
        self.row_duals = None if row_duals is None else np.asarray(row_duals, float)[:model.n_rows]
        self.values = _ByName(model.variables, self.x)
        self.duals = _ByName(model.constraints, self.row_duals)


class _ByName:
    def __init__(self, blocks: dict, vector: np.ndarray | None):
        self.blocks, self.vector = blocks, vector

    def __getitem__(self, name: str) -> pd.Series:
        if self.vector is None:
            raise KeyError(f"{name}: this solution has no row duals (an LP's optimum has)")
        return self.blocks[name].series(self.vector)

    def __contains__(self, name: str) -> bool:
        return name in self.blocks


class LinearModel:
    """Variables and rows ``lower <= A x <= upper`` added block by block."""

    def __init__(self) -> None:
        self.variables: dict[str, Block] = {}
        self.constraints: dict[str, Block] = {}
        self._col = {"lb": [], "ub": [], "int": []}
        self._row = {"lb": [], "ub": []}
        self._coo = {"r": [], "c": [], "v": []}
        self.n_cols = 0
        self.n_rows = 0

    def add_variables(self, name: str, index: pd.Index, lower=0.0, upper=INF, integer=False) -> Block:
        """Add a block of variables; ``integer`` is one flag or one per variable."""
        n = len(index)
        block = Block(name, index, self.n_cols)
        self._col["lb"].append(np.broadcast_to(np.asarray(lower, float), (n,)))
        self._col["ub"].append(np.broadcast_to(np.asarray(upper, float), (n,)))
        self._col["int"].append(np.broadcast_to(np.asarray(integer, dtype=np.int8), (n,)))
        self.variables[name] = block
        self.n_cols += n
        return block

    def add_constraints(self, name: str, index: pd.Index, terms, lower=-INF, upper=INF) -> Block:
        """Add rows ``lower <= sum(coef * x[col]) <= upper``.

        ``terms`` is a list of ``(row, col, coef)`` arrays: row positions within this block,
        global variable ids, coefficients (broadcast where scalar).
        """
        n = len(index)
        block = Block(name, index, self.n_rows)
        for part, values in zip("rcv", coo_terms(terms, self.n_rows)):
            self._coo[part].append(values)
        self._row["lb"].append(np.broadcast_to(np.asarray(lower, float), (n,)))
        self._row["ub"].append(np.broadcast_to(np.asarray(upper, float), (n,)))
        self.constraints[name] = block
        self.n_rows += n
        return block

    def solution(self, x: np.ndarray, row_duals: np.ndarray | None = None) -> Solution:
        """``x`` (and an LP's ``row_duals``) read by block name (:class:`Solution`)."""
        return Solution(self, x, row_duals)

    # --- assembled arrays ------------------------------------------------------------------
    def _cat(self, parts, dtype=float) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    @property
    def col_lower(self): return self._cat(self._col["lb"])
    @property
    def col_upper(self): return self._cat(self._col["ub"])
    @property
    def integrality(self): return self._cat(self._col["int"], np.int8)
    @property
    def row_lower(self): return self._cat(self._row["lb"])
    @property
    def row_upper(self): return self._cat(self._row["ub"])

    def matrix(self) -> sp.csc_matrix:
        return sp.csc_matrix((self._cat(self._coo["v"]), (self._cat(self._coo["r"], np.int64),
                                                           self._cat(self._coo["c"], np.int64))),
                             shape=(self.n_rows, self.n_cols))

    def cost(self, terms: dict[str, np.ndarray | float]) -> np.ndarray:
        """A cost vector from ``{variable block: coefficient(s)}``."""
        out = np.zeros(self.n_cols)
        for name, coef in terms.items():
            block = self.variables[name]
            out[block.ids] = coef
        return out

    def size(self) -> dict[str, int]:
        integ = self.integrality
        return {"variables": self.n_cols, "integer_variables": int(integ.sum()),
                "constraints": self.n_rows, "nonzeros": int(sum(len(v) for v in self._coo["v"]))}

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Smallest and largest absolute nonzero of the matrix, the finite row bounds and
        the finite column bounds: the numbers a solver's scaling has to live with."""
        def span(values) -> tuple[float, float]:
            v = np.abs(np.asarray(values, float))
            v = v[np.isfinite(v) & (v > 0)]
            return (float(v.min()), float(v.max())) if len(v) else (0.0, 0.0)
        return {"matrix": span(self._cat(self._coo["v"])),
                "row_bounds": span(np.concatenate([self.row_lower, self.row_upper])),
                "column_bounds": span(np.concatenate([self.col_lower, self.col_upper]))}


# --- LP-format text, one row group at a time -----------------------------------------------
def _label(name: str, label) -> str:
    parts = label if isinstance(label, tuple) else (label,)
    return f"{name}[{','.join(str(p) for p in parts)}]"


def lp_text(model: LinearModel, group: "str | RowGroup") -> str:
    """The rows of one group in LP format, variables and rows named by their labels
    (``ltv_cap[V01,2027]: +0.0123 decision[V01,3] + ... >= -4.5``), one line per row, for
    reading a group and for the baselines of ``tests/test_model/lp_files``."""
    names = np.empty(model.n_cols, dtype=object)
    for block in model.variables.values():
        names[block.ids] = [_label(block.name, label) for label in block.index]
    if isinstance(group, RowGroup):
        rows, cols, vals = group.coo()
        index, lower, upper = group.index, group.lower, group.upper
        name = group.name
    else:
        block = model.constraints[group]
        A = model.matrix().tocsr()[block.ids].tocoo()
        rows, cols, vals = A.row, A.col, A.data
        index, lower, upper = block.index, model.row_lower[block.ids], model.row_upper[block.ids]
        name = group
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(len(index) + 1))
    lines = []
    for r, label in enumerate(index):
        terms = " ".join(f"{v:+.10g} {names[c] if c < len(names) else f'x{c}'}"
                         for c, v in zip(cols[starts[r]:starts[r + 1]], vals[starts[r]:starts[r + 1]]))
        lo, up = lower[r], upper[r]
        sense = (f"= {lo:.10g}" if lo == up else f">= {lo:.10g}" if np.isinf(up)
                 else f"<= {up:.10g}" if np.isinf(lo) else f">= {lo:.10g} <= {up:.10g}")
        lines.append(f"{_label(name, label)}: {terms or '0'} {sense}")
    return "\n".join(lines) + "\n"
