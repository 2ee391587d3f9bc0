"""Repeating a run from its ``summary.json`` (``dpm run --from-summary``).

The summary lists every input file with its SHA-256 (``dpm.results.provenance``). A repeat
reads the same case path, refuses if any input changed since (one line naming the files),
runs again, and compares the new result tables with the old ones byte by byte.
"""
from __future__ import annotations

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

    def compare(self, new: Path) -> tuple[list[str], list[str]]:
        """(identical, differing) result tables of the old folder and ``new``."""
        same, differ = [], []
        for old in sorted(self.folder.glob("*.csv")):
            other = Path(new) / old.name
            (same if other.exists() and other.read_bytes() == old.read_bytes() else differ).append(old.name)
        return same, differ


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
