"""dpm: the open, exact and fast Opgaven & Middelen model (Duurzaam Prestatiemodel).

The library API; the ``dpm`` command uses the same functions::

    import dpm

    case = dpm.load_case("scenarios/voorbeeldregio")   # a case folder or .xlsx workbook
    result = dpm.run(case)                             # MODEL.md 5: one RunResult
    result.table("shortfall")                          # pandas tables: projection, allocation, ...
    result.to_folder("results/mine")                   # the files of `dpm run`

    steun = dpm.projectsteun(case)                     # MODEL.md 6: per region, with .to_folder
    room = dpm.room(case)                              # handreiking step 2: investment room
    nl = dpm.national(dpm.load_case(dpm.case_path("nederland")))  # .shortfall, .pool, .to_folder
    sw = dpm.sweep(case, {"discount_rate": [0.03, 0.04]})  # stages 1-2 per combination: .table, .to_folder

Packages: ``dpm.model`` (case data, financial projection, the MIP), ``dpm.solvers``
(HiGHS direct, any solver through Pyomo, and the lexicographic stage driver), ``dpm.scenarios`` (defaults and embedded cases).
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["case_path", "load_case", "national", "projectsteun", "room", "run", "sweep"]


def case_path(name: str):
    """The folder of an embedded case: ``voorbeeldregio`` or ``nederland``."""
    from dpm.scenarios import path

    return path(name)


def load_case(path, overrides: dict | None = None):
    """Read and validate a case (MODEL.md 10); a bad input raises ``CaseError`` naming the
    file, the row and the field. ``overrides``: scenario values over the case's own."""
    from dpm.model.case import load_case as load

    return load(path, overrides)


def run(case, tradeoff: bool = False, verbose: bool = False):
    """Solve every region of ``case`` (MODEL.md 5): a ``RunResult``."""
    from dpm.regional import run_case

    return run_case(case, verbose=verbose, tradeoff=tradeoff)


def projectsteun(case, with_curve: bool = True):
    """The projectsteun requirement and curve of every region (MODEL.md 6)."""
    from dpm.money import projectsteun as steun

    return steun(case, with_curve)


def room(case):
    """Investment room per corporation and type on its own (handreiking step 2)."""
    from dpm.model.room import investment_room

    return investment_room(case)


def national(case, engine: str = "local", workers: int | None = None, solidarity: bool = True):
    """The national run with solidarity (MODEL.md 6): a ``NationalResult``."""
    from dpm.nationwide import run_national

    return run_national(case, engine=engine, workers=workers, solidarity=solidarity)


def sweep(case, vary, engine: str = "local", workers: int | None = None):
    """Stages 1-2 of every region of ``case`` for every combination of scenario values ``vary``
    (``{"discount_rate": [0.03, 0.04]}``): a ``SweepResult`` (``.table``, ``.to_folder``)."""
    from dpm.sweeps import sweep as run_sweep

    return run_sweep(case, vary, engine=engine, workers=workers)
