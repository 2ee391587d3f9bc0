"""The notebook-style example (docs/example.md) runs as written: every Python cell in order,
in one namespace, except a cell whose first line says it is not run by the tests."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "docs" / "example.md"


def test_every_cell_of_the_example_runs(monkeypatch):
    cells = re.findall(r"```python\n(.*?)```", EXAMPLE.read_text(encoding="utf-8"), flags=re.S)
    run = [c for c in cells if not c.startswith("# not run by the tests")]
    assert len(run) >= 8 and len(cells) - len(run) == 1
    monkeypatch.chdir(Path(__file__).parents[2])  # "in the repository folder"
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in run:
            exec(compile(cell, str(EXAMPLE), "exec"), namespace)
    out = printed.getvalue()
    # the figures the page states are what the cells print
    assert "857.0" in out and "2140 homes unfilled" in out and "4 relations" in out
    assert "ltv_cap[" in out
