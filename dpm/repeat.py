"""Repeating a run from its ``summary.json`` (``dpm run --from-summary``).

The summary lists every input file with its SHA-256 (``dpm.results.provenance``). A repeat
reads the same case path, refuses if any input changed since (one line naming the files),
runs again (with ``--tradeoff`` where the first run had it), and compares the new result tables
with the old ones byte by byte (tradeoff.csv but for its ``seconds``).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from dpm.model.errors import CaseError


@dataclass
class PreviousRun:
    folder: Path
    summary: dict

    @property
    def case_path(self) -> str:
        return self.summary["case_path"]

    @property
    def clock_stops(self) -> dict:
        """The solves a clock ended in that run (summary.json 'clock'; empty where none did or
        where its dpm did not record them)."""
        return (self.summary.get("clock") or {}).get("stops") or {}

    @property
    def had_tradeoff(self) -> bool:
        """Whether that run made the trade-off curve (``--tradeoff``: summary.json 'tradeoff')."""
        return bool(self.summary.get("tradeoff"))

    def compare(self, new: Path) -> tuple[list[str], list[str]]:
        """(identical, differing) result tables of the old folder and ``new``: byte by byte, but
        for a column of :data:`TIMING_COLUMNS` (tradeoff.csv's ``seconds``: how long, not what)."""
        same, differ = [], []
        for old in sorted(self.folder.glob("*.csv")):
            other = Path(new) / old.name
            (same if other.exists() and _same(old, other) else differ).append(old.name)
        return same, differ


TIMING_COLUMNS = ("seconds",)


def _same(old: Path, new: Path) -> bool:
    """The same bytes, or, for a table with a timing column, the same rows without it."""
    if old.read_bytes() == new.read_bytes():
        return True
    rows = _rows(old)
    return rows is not None and rows == _rows(new)


def _rows(file: Path) -> list[list[str]] | None:
    """The rows of a result table as written, without its timing columns (None: it has none,
    so only its bytes compare)."""
    with open(file, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    keep = [i for i, name in enumerate(rows[0] if rows else []) if name not in TIMING_COLUMNS]
    if not rows or len(keep) == len(rows[0]):
        return None
    return [[row[i] for i in keep if i < len(row)] for row in rows]


def previous_run(summary_file: str | Path) -> PreviousRun:
    """The run that wrote ``summary_file``, with its inputs checked to be unchanged."""
    from dpm.results import _sha256

    path = Path(summary_file)
    if path.is_dir():
        path = path / "summary.json"
    name = str(path)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(name, "does not exist") from None
    except (OSError, ValueError) as err:
        raise CaseError(name, f"cannot read as a summary.json: {err}") from None
    if not isinstance(summary, dict) or "case_path" not in summary or "inputs" not in summary:
        raise CaseError(name, "not the summary.json of a 'dpm run' that records its inputs (dpm 0.2 or later)")
    changed = []
    for item in summary["inputs"]:
        f = Path(item["path"])
        if not f.is_file() or f.stat().st_size != item["bytes"] or _sha256(f) != item["sha256"]:
            changed.append(str(f))
    if changed:
        raise CaseError(name, f"cannot repeat the run exactly: {len(changed)} input file(s) changed or missing "
                        f"since: {', '.join(changed)}")
    return PreviousRun(path.parent, summary)
