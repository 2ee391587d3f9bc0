"""Which solver a stage runs on: ``[solver] backend`` (MODEL.md 5's stages are the same on each).

- ``"highs"`` (default): HiGHS through highspy, the matrix passed once (:mod:`dpm.solvers.highs`);
- ``"pyomo:NAME"``: any solver Pyomo knows, e.g. ``pyomo:appsi_highs``, ``pyomo:cbc``,
  ``pyomo:gurobi`` (:mod:`dpm.solvers.pyomo_backend`); ``dpm run --solver pyomo:NAME``.
"""
from __future__ import annotations

from dpm.solvers.highs import HighsSolver


def check_backend(backend: str) -> str | None:
    """What is wrong with ``backend`` (None: nothing): its form, and for ``pyomo:NAME`` whether
    Pyomo can run solver NAME on this machine (checked before anything is solved or written)."""
    if backend == "highs":
        return None
    name = backend[len("pyomo:"):] if backend.startswith("pyomo:") else ""
    if not name:
        return f"expected 'highs' or 'pyomo:NAME' (e.g. pyomo:appsi_highs), got {backend!r}"
    import logging

    import pyomo.environ as pe

    logging.disable(logging.CRITICAL)  # Pyomo logs a traceback for an unknown name; the line below says it
    try:
        available = bool(pe.SolverFactory(name).available(exception_flag=False))
    except Exception:  # an unknown name: Pyomo's factory returns a stub that may raise
        available = False
    finally:
        logging.disable(logging.NOTSET)
    if not available:
        return f"Pyomo cannot run solver {name!r} on this machine (installed with Pyomo: appsi_highs)"
    return None


def make_solver(model, options: dict, verbose: bool = False, relaxed: bool = False):
    """A solver holding ``model`` with the ``[solver]`` ``options``; ``relaxed``: the LP relaxation."""
    backend = options.get("backend", "highs")
    if backend == "highs":
        return HighsSolver(model, options, verbose=verbose, relaxed=relaxed)
    from dpm.solvers.pyomo_backend import PyomoSolver

    return PyomoSolver(model, options, backend[len("pyomo:"):], verbose=verbose, relaxed=relaxed)
