"""Which solver a stage runs on: ``[solver] backend`` (MODEL.md 5's stages are the same on each).

- ``"highs"`` (default): HiGHS through highspy, the matrix passed once (:mod:`dpm.solvers.highs`);
- ``"pyomo:NAME"``: any solver Pyomo knows, e.g. ``pyomo:appsi_highs``, ``pyomo:cbc``,
  ``pyomo:gurobi`` (:mod:`dpm.solvers.pyomo_backend`); ``dpm run --solver pyomo:NAME``.
"""
from __future__ import annotations

from dpm.solvers.highs import HighsSolver


def check_backend(backend: str) -> str | None:
    """What is wrong with ``backend`` (None: nothing)."""
    if backend == "highs":
        return None
    if backend.startswith("pyomo:") and backend[len("pyomo:"):]:
        return None
    return f"expected 'highs' or 'pyomo:NAME' (e.g. pyomo:appsi_highs), got {backend!r}"


def make_solver(model, options: dict, verbose: bool = False, relaxed: bool = False):
    """A solver holding ``model`` with the ``[solver]`` ``options``; ``relaxed``: the LP relaxation."""
    backend = options.get("backend", "highs")
    if backend == "highs":
        return HighsSolver(model, options, verbose=verbose, relaxed=relaxed)
    from dpm.solvers.pyomo_backend import PyomoSolver

    return PyomoSolver(model, options, backend[len("pyomo:"):], verbose=verbose, relaxed=relaxed)
