"""The command line: time limits are reported, results are written whole or not at all."""
from __future__ import annotations

import json

import pytest
from conftest import copy_default, run_cli

import dpm.results


def test_time_limit_is_reported_with_its_gap(tmp_path, capsys):
    case = copy_default(tmp_path)
    (case / "scenario.toml").write_text("base_year = 2025\n[solver]\ntime_limit_s = 0.2\n")
    out = tmp_path / "out"
    assert run_cli(case, out) == 0
    summary = json.loads((out / "summary.json").read_text())
    stages = summary["regions"][0]["stages"]
    limited = [s for s in stages if s["status"] == "time_limit"]
    assert limited, "a 0.2 s limit stops some stage of the default case"
    assert all(s["mip_gap"] is not None and s["mip_gap"] > 0 for s in limited)
    assert "time_limit" in summary["status"].values()
    err = capsys.readouterr().err
    assert "stopped with status time_limit, MIP gap" in err


def test_a_failure_while_writing_leaves_no_folder(tmp_path, monkeypatch):
    case = copy_default(tmp_path)
    calls = []

    def failing_csv(df, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        df.to_csv(path, index=False)

    monkeypatch.setattr(dpm.results, "_csv", failing_csv)
    with pytest.raises(OSError):
        run_cli(case, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]  # no out, no hidden partial folder


def test_force_replaces_an_existing_folder(tmp_path):
    case = copy_default(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert run_cli(case, out, "--force") == 0
    assert not (out / "old.txt").exists()
    assert {p.name for p in out.iterdir()} == {"projection.csv", "allocation.csv", "shortfall.csv", "summary.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case", "out"]
