"""Where a command may write: the output-folder rules, checked before anything is solved.

A results folder is written whole or not at all (``dpm.results.write_folder``). Before
that, and before any model is built, :func:`check_out` decides whether the folder may be
written at all. It refuses, with one line and exit code 2:

- the case folder itself, a folder that contains the case (any parent of it), the working
  directory or any of its parents, the home folder and ``/``;
- a path with a file where a folder is needed, or whose nearest existing parent is not
  writable;
- an existing path, unless ``--force`` is given *and* it is a folder ``dpm`` wrote itself
  (it holds the marker file :data:`MARKER`, listing the files dpm put there, and nothing
  else) or an empty folder. A folder with anything else in it, or a file, is never replaced.

``dpm report`` writes into an existing results folder and accepts only one with the marker
(or the ``summary.json`` of an older dpm version).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from dpm.model.errors import CaseError

MARKER = ".dpm-results.json"  # written into every folder dpm writes: {"written_by": "dpm", "files": [...]}


class OutputRefused(CaseError):
    """An output path ``dpm`` will not write to; the CLI prints it and exits with code 2."""

    def __init__(self, path: Path | str, message: str):
        super().__init__(str(path), message)


def marker_content(files, version: str) -> dict:
    return {"written_by": "dpm", "version": version, "files": sorted(files)}


def written_by_dpm(folder: Path) -> set[str] | None:
    """The files dpm says it wrote into ``folder`` (from its marker), or None if dpm did not
    write it. A results folder of an earlier dpm version (no marker, a ``summary.json`` with
    ``versions.dpm``) counts as dpm's, with the files it holds."""
    marker = folder / MARKER
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
        if isinstance(content, dict) and content.get("written_by") == "dpm":
            return {str(f) for f in content.get("files", [])} | {MARKER}
    except (OSError, ValueError):
        pass
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        if isinstance(summary, dict) and "dpm" in (summary.get("versions") or {}):
            known = {"projection.csv", "allocation.csv", "shortfall.csv", "explanation.csv", "diagnosis.csv",
                     "investment_room.csv", "summary.json", "report.xlsx", "report.html", "steun.csv",
                     "steun_curve.csv", "region_summary.csv", "national_shortfall.csv", "regional_shortfall.csv",
                     "solidarity.csv", "execution.csv", "sweep.csv"}
            return known
    except (OSError, ValueError):
        pass
    return None


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _protected() -> dict[Path, str]:
    out = {Path("/"): "the root folder", Path.cwd().resolve(): "the working directory"}
    try:
        out[Path.home().resolve()] = "the home folder"
    except RuntimeError:  # no home folder known
        pass
    return out


def check_out(out: Path | str, inputs: list[Path | str] = (), force: bool = False) -> Path:
    """Check the output folder ``out`` of a command that reads ``inputs`` (the case folder or
    workbook, and any other file it reads); return it, resolved. Raises
    :class:`OutputRefused` for every path the module doc lists. Nothing is created here."""
    given = Path(out)
    if str(out).strip() == "":
        raise OutputRefused("--out", "empty output path")
    target = given.expanduser().resolve()
    for place, what in _protected().items():
        if _is_within(place, target):
            raise OutputRefused(given, f"refused as output folder: it is {what}" if place == target else
                                f"refused as output folder: it contains {what} ({place})")
    for item in inputs:
        src = Path(item).expanduser().resolve()
        folder = src if src.is_dir() else src.parent
        if _is_within(folder, target):
            raise OutputRefused(given, "refused as output folder: it is the case folder" if folder == target else
                                f"refused as output folder: it contains the case ({folder})")
        if _is_within(target, src) and not src.is_dir():
            raise OutputRefused(given, "refused as output folder: it is an input file")
    # the nearest existing ancestor must be a writable folder
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutputRefused(given, f"cannot create the output folder: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputRefused(given, f"cannot create the output folder: {parent} is not writable")
    if target.is_symlink() or target.exists():
        if not target.is_dir() or target.is_symlink():
            raise OutputRefused(given, "exists and is not a folder; dpm replaces only folders it wrote itself")
        if not force:
            raise OutputRefused(given, "exists; use --force to replace it (only a folder dpm wrote, or an empty one)")
        entries = sorted(p.name for p in target.iterdir())
        if entries:
            ours = written_by_dpm(target)
            if ours is None:
                raise OutputRefused(given, "exists and was not written by dpm (no results marker); "
                                    "--force replaces only a folder dpm wrote, or an empty one")
            foreign = [e for e in entries if e not in ours]
            if foreign:
                raise OutputRefused(given, f"holds files dpm did not write ({', '.join(foreign[:3])}"
                                    f"{', ...' if len(foreign) > 3 else ''}); --force will not delete them")
        if not os.access(target.parent, os.W_OK | os.X_OK):
            raise OutputRefused(given, f"cannot replace the output folder: {target.parent} is not writable")
    return target


def check_results_folder(folder: Path | str) -> Path:
    """A folder ``dpm report`` may add files to: an existing folder written by ``dpm run``."""
    given = Path(folder)
    target = given.expanduser().resolve()
    if not target.exists():
        raise OutputRefused(given, "does not exist")
    if not target.is_dir():
        raise OutputRefused(given, "is not a folder; give a results folder written by 'dpm run'")
    if written_by_dpm(target) is None:
        raise OutputRefused(given, "is not a results folder written by 'dpm run' (no results marker)")
    if not os.access(target, os.W_OK | os.X_OK):
        raise OutputRefused(given, "is not writable")
    return target
