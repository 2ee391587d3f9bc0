"""Writing a run's folder (MODEL.md 7, 10): complete or not at all.

Files are written into a hidden temporary folder beside the target, which is renamed into
place only when every file is written. A failure (or an interrupted run) leaves nothing.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import tempfile
import threading
from contextlib import contextmanager
from typing import Callable
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

import dpm
from dpm import stops
from dpm.outputs import MARKER, check_out, check_results_folder, marker_content, written_by_dpm
from dpm.regional import RunResult, clock_summary, count_stops

# The files of a results folder, in the order a reader needs them (README: "What a run writes").
OUTPUTS = ("projection.csv", "allocation.csv", "shortfall.csv", "explanation.csv", "diagnosis.csv",
           "investment_room.csv", "summary.json")

STATUS_ORDER = ("infeasible", "error", "numerical_trouble", "memory_limit", "interrupted", "time_limit", "stalled",
                "work_limit", "within_tolerance", "optimal")


def thousands(n) -> str:
    """A count or amount as shown to a user: whole, thousands separated by a space (12 345)."""
    return f"{float(n):,.0f}".replace(",", " ")


def _worst(statuses) -> str:
    statuses = list(statuses)
    for s in STATUS_ORDER:
        if s in statuses:
            return s
    return statuses[0] if statuses else "optimal"


def _distribution_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def versions() -> dict:
    """The versions that shape a run's numbers: dpm, Python, HiGHS (the solver library and its
    Python package highspy, read from the installed distribution), pandas, numpy."""
    from dpm.solvers.highs import _quiet_stdout

    try:
        with _quiet_stdout():  # HiGHS prints its banner when an instance is made
            h = highspy.Highs()
        highs = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
    except Exception:  # pragma: no cover - an old highspy without these calls
        highs = "unknown"
    return {"dpm": dpm.__version__, "python": platform.python_version(), "highs": highs,
            "highspy": _distribution_version("highspy"), "pandas": pd.__version__, "numpy": np.__version__,
            "scipy": _distribution_version("scipy")}


def summary(run: RunResult) -> dict:
    """summary.json: per-stage status, objectives, gap, times, versions and the effective scenario."""
    comps = run.components
    stage_names = list(dict.fromkeys(s.name for c in comps for s in c.stages))
    objectives = [c.objectives for c in comps]
    gaps: dict[str, float] = {}  # the largest gap of each stage over the regions (no single headline gap)
    for c in comps:
        for s in c.stages:
            if s.mip_gap is not None:
                gaps[s.name] = max(gaps.get(s.name, 0.0), s.mip_gap)
    return {
        "case": run.case.name,
        "status": {name: _worst(s.status for c in comps for s in c.stages if s.name == name)
                   for name in stage_names},
        "objectives": {
            "continuity_gap_eur": round(sum(o["continuity_gap_eur"] for o in objectives), 2),
            "unfilled_homes": sum(o["unfilled_homes"] for o in objectives),
            "unfilled_homes_by_type": {k: sum(o["unfilled_homes_by_type"][k] for o in objectives)
                                       for k in (objectives[0]["unfilled_homes_by_type"] if objectives else {})},
            "transfers": sum(o["transfers"] for o in objectives),
            "homes_moved": sum(o["homes_moved"] for o in objectives),
        },
        "mip_gap": gaps,
        "allocation_status": _worst(s.status for c in comps for s in c.stages if s.name in ("continuity", "unfilled")),
        "tradeoff": [] if not any(c.tradeoff is not None for c in comps) else
        pd.concat([c.tradeoff for c in comps if c.tradeoff is not None]).to_dict("records"),
        "warnings": run.warnings,
        "clock": clock_summary(run.clock_stops),
        "seconds": round(run.seconds, 3),
        "regions": [{
            "regions": list(c.regions),
            "clock_stops": count_stops(c.clock_stops),
            "stages": [s.as_dict() for s in c.stages],
            "objectives": c.objectives,
            "model_size": c.size,
            "build_seconds": round(c.build_seconds, 3),
        } for c in comps],
        "units": {"continuity_gap_eur": "EUR, summed over corporations, years and limits",
                  "unfilled_homes": "homes over the policy period", "transfers": "transfer relations",
                  "homes_moved": "homes executed by another corporation than the owner of the task",
                  "mip_gap": "relative gap per stage (largest over the regions): (value - bound) / value",
                  "allocation_status": "the worst status of the continuity and unfilled stages: the status of the "
                                       "unfilled opgave reported",
                  "objective (continuity stage)": "EUR", "objective (unfilled stage)": "weighted homes",
                  "clock": "solves that a clock ended (a time limit, a stall), by stage or by the search that asked "
                           "for them; repeatable: none did, so a repeat gives byte-identical result tables",
                  "seconds": "wall-clock seconds"},
        "versions": versions(),
        **provenance(run.case),
        "scenario": run.case.scenario.raw,
    }


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def provenance(case) -> dict:
    """What a run was made from: every input file read (path, bytes, SHA-256), the command
    line and the working directory, so that ``dpm run --from-summary`` can repeat it."""
    import sys

    from dpm.model.scenario import defaults_file

    files = [*case.files, defaults_file()]
    return {"command_line": [Path(sys.argv[0]).name, *sys.argv[1:]], "working_directory": str(Path.cwd()),
            "case_path": str(Path(case.path).resolve()),
            "inputs": [{"path": str(Path(f).resolve()), "bytes": Path(f).stat().st_size, "sha256": _sha256(Path(f))}
                       for f in files],
            "steun_input": case.steun_note()}


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    """EUR to the cent, homes to 1/100 (the instandhouding rebuild is a share of stock), ratios to 1e-6."""
    out = df.copy()
    for col in out.columns:
        if col.endswith("_eur"):
            out[col] = out[col].round(2)
        elif col.startswith("homes"):
            out[col] = out[col].round(2)
        elif out[col].dtype.kind == "f":
            out[col] = out[col].round(6)
    return out


def _csv(df: pd.DataFrame, path: Path) -> None:
    _rounded(df).to_csv(path, index=False, lineterminator="\n")


@contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM while the folder is written and renamed into place: a stop
    asked for in that window takes effect just after it, when the folder is complete.
    (Held in Python, not with a signal mask: HiGHS's worker threads would still take them.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    old = {sig: signal.signal(sig, lambda signum, frame: pending.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if pending:
            handler = old[pending[0]]
            if callable(handler):
                handler(pending[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(pending[0])


def write_folder(out: Path, files: dict[str, Callable[[Path], None]], force: bool = False,
                 on_done: Callable[[], None] | None = None) -> Path:
    """Write a folder ``out`` whole or not at all: each ``files[name](path)`` writes one file
    into a hidden folder beside ``out``, which is renamed into place at the end; on any
    failure it is removed and a replaced ``out`` is put back. An existing ``out`` is replaced
    only with ``force`` (else ``FileExistsError``). ``on_done`` is called once the folder is
    complete, before a deferred stop signal can take effect."""
    out = check_out(out, force=force)
    files = {**files, MARKER: json_file(marker_content(files, dpm.__version__))}
    out.parent.mkdir(parents=True, exist_ok=True)
    with _signals_deferred():
        stops.check()  # (never start a folder after a stop, also one library code swallowed: dpm.stops)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a results folder follows the umask
        trash = None
        try:
            for name, write in files.items():
                write(tmp / name)
            if out.exists():
                trash = out.with_name(f".{out.name}.old-{os.getpid()}")
                out.rename(trash)
            tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if trash is not None and trash.exists() and not out.exists():
                trash.rename(out)
            raise
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        if on_done is not None:
            on_done()
    return out


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_into(folder: Path, files: dict[str, Callable[[Path], None]]) -> None:
    """Add or replace files in an existing results folder written by dpm, all or none: each
    is written under a hidden name and the names are switched only when every file is
    written; the folder's marker then lists them too."""
    folder = check_results_folder(folder)
    ours = written_by_dpm(folder) - {MARKER}
    files = {**files, MARKER: json_file(marker_content(ours | set(files), dpm.__version__))}
    tmp = {name: folder / f".{name}.partial" for name in files}
    with _signals_deferred():
        try:
            for name, write in files.items():
                write(tmp[name])
            for name, path in tmp.items():
                path.replace(folder / name)
        finally:
            for path in tmp.values():
                path.unlink(missing_ok=True)


def table_files(tables: dict[str, pd.DataFrame]) -> dict[str, Callable[[Path], None]]:
    """Writers for :func:`write_folder`: each table as a CSV file, rounded (see ``_rounded``)."""
    return {name: (lambda path, df=df: _csv(df, path)) for name, df in tables.items()}


def json_file(content: dict) -> Callable[[Path], None]:
    """A writer for :func:`write_folder`: ``content`` as indented JSON."""
    return lambda path: path.write_text(json.dumps(content, indent=2, default=float) + "\n", encoding="utf-8")


def write_results(run: RunResult, out: Path, force: bool = False, on_done=None, extra=None) -> Path:
    """Write the run's files (OUTPUTS, then ``extra``: name -> writer) into ``out`` with
    :func:`write_folder`."""
    files = table_files({"projection.csv": run.table("projection"), "allocation.csv": run.table("allocation"),
                         "shortfall.csv": run.table("shortfall"), "explanation.csv": run.table("explanation"),
                         "diagnosis.csv": run.table("diagnosis"), "investment_room.csv": run.room})
    files["summary.json"] = json_file(summary(run))
    assert tuple(files) == OUTPUTS
    curves = [c.tradeoff for c in run.components if c.tradeoff is not None]
    if curves:
        files.update(table_files({"tradeoff.csv": pd.concat(curves, ignore_index=True)}))
    return write_folder(out, {**files, **(extra or {})}, force, on_done)
