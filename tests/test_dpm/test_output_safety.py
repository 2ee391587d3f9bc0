"""Output safety (checked before any solve), file problems, plausibility and provenance.

Every refusal asserts the exit code, the one-line message (naming the path, or the file,
line and field) and that nothing was written or deleted: a listing with hashes of the whole
tree is the same before and after.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from bruteforce import tiny_case
from conftest import DEFAULT_CASE, copy_default
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpm.cli import main


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with the SHA-256 of its content."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


# the commands that write, with arguments that keep them fast on the default case
COMMANDS = {
    "run": ["run", "{case}"],
    "room": ["room", "{case}"],
    "steun": ["steun", "{case}", "--no-curve"],
    "national": ["national", "{case}", "--workers", "1"],
    "sweep": ["sweep", "{case}", "--vary", "economy.rent_growth=0.02", "--workers", "1"],
}


def _cmd(name: str, case: Path, out: str, *extra: str) -> list[str]:
    return [a.format(case=case) for a in COMMANDS[name]] + ["--out", out, *extra]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """tmp/sb/case (the default case), tmp/sb/notes.txt, and the working directory tmp/sb/work."""
    sb = tmp_path / "sb"
    case = copy_default(sb)
    (sb / "notes.txt").write_text("my notes")
    work = sb / "work"
    work.mkdir()
    (work / "draft.txt").write_text("draft")
    monkeypatch.chdir(work)
    return sb, case


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("target, words", [
    ("case", "it is the case folder"),
    ("parent", "it contains"),
    ("cwd", "it is the working directory"),
    ("root", "it is the root folder"),
])
def test_force_never_deletes_the_case_its_parent_or_the_working_directory(sandbox, capsys, command, target, words):
    sb, case = sandbox
    out = {"case": str(case), "parent": str(sb), "cwd": ".", "root": "/"}[target]
    before = tree(sb)
    assert main(_cmd(command, case, out, "--force")) == 2
    line = one_error_line(capsys.readouterr().err)
    assert words in line
    assert tree(sb) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_problems_are_found_before_the_solve(sandbox, capsys, monkeypatch, command):
    """A parent that is a file is refused before any model is built (the solver is never called)."""
    sb, case = sandbox
    import dpm.solvers.highs as highs

    def no_solve(*_a, **_k):
        raise AssertionError("solved before checking the output folder")
    monkeypatch.setattr(highs.HighsSolver, "solve", no_solve)
    before = tree(sb)
    assert main(_cmd(command, case, str(sb / "notes.txt" / "out"))) == 2
    assert "notes.txt is a file, not a folder" in one_error_line(capsys.readouterr().err)
    assert tree(sb) == before


def test_dev_null_is_refused_with_one_line(sandbox, capsys):
    _, case = sandbox
    assert main(["room", str(case), "--out", "/dev/null/x"]) == 2
    assert "/dev/null is a file" in one_error_line(capsys.readouterr().err)


def test_force_replaces_only_a_folder_dpm_wrote(sandbox, capsys):
    sb, case = sandbox
    out = sb / "room"
    assert main(["room", str(case), "--out", str(out)]) == 0
    assert (out / ".dpm-results.json").exists()
    assert main(["room", str(case), "--out", str(out)]) == 2  # exists, no --force
    assert "--force" in one_error_line(capsys.readouterr().err)
    assert main(["room", str(case), "--out", str(out), "--force"]) == 0  # dpm's own: replaced
    (out / "mine.txt").write_text("mine")
    before = tree(sb)
    capsys.readouterr()
    assert main(["room", str(case), "--out", str(out), "--force"]) == 2
    assert "mine.txt" in one_error_line(capsys.readouterr().err)
    assert tree(sb) == before


def test_force_refuses_a_foreign_folder_and_a_file_and_accepts_an_empty_folder(sandbox, capsys):
    sb, case = sandbox
    foreign = sb / "foreign"
    foreign.mkdir()
    (foreign / "data.csv").write_text("a,b\n")
    before = tree(sb)
    assert main(["room", str(case), "--out", str(foreign), "--force"]) == 2
    assert "not written by dpm" in one_error_line(capsys.readouterr().err)
    assert main(["room", str(case), "--out", str(sb / "notes.txt"), "--force"]) == 2
    assert "not a folder" in one_error_line(capsys.readouterr().err)
    assert tree(sb) == before
    assert not [p for p in sb.iterdir() if ".old-" in p.name or p.name.endswith(".partial")]
    empty = sb / "empty"
    empty.mkdir()
    assert main(["room", str(case), "--out", str(empty), "--force"]) == 0
    assert (empty / "investment_room.csv").exists()


def test_results_folder_follows_the_umask(sandbox):
    _, case = sandbox
    old = os.umask(0o022)
    try:
        assert main(["room", str(case), "--out", "shared"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(Path("shared").stat().st_mode) == 0o755
    assert stat.S_IMODE((Path("shared") / "investment_room.csv").stat().st_mode) == 0o644


def test_report_writes_only_into_a_dpm_results_folder(sandbox, capsys):
    sb, _ = sandbox
    before = tree(sb)
    assert main(["report", str(sb)]) == 2
    assert "not a results folder" in one_error_line(capsys.readouterr().err)
    assert tree(sb) == before


PARTS = st.sampled_from(["..", ".", "case", "sb", "work", "new", "out", "notes.txt", "deep"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(PARTS, min_size=1, max_size=4), absolute=st.booleans(), force=st.booleans())
def test_any_out_path_either_writes_a_new_dpm_folder_or_is_refused(tmp_path_factory, parts, absolute, force):
    """Random paths relative to the case (and to the working directory): no existing file is
    ever changed or removed; a success adds exactly one new folder of dpm files."""
    root = tmp_path_factory.mktemp("h")
    sb = root / "l1" / "l2" / "l3" / "l4" / "sb"  # deep enough that four '..' stay inside root
    case = copy_default(sb)
    (sb / "notes.txt").write_text("n")
    (sb / "work").mkdir()
    cwd = os.getcwd()
    os.chdir(sb / "work")
    try:
        out = str(Path(case, *parts)) if absolute else str(Path(*parts))
        before = tree(root)
        code = main(["room", str(case), "--out", out] + (["--force"] if force else []))
        after = tree(root)
    finally:
        os.chdir(cwd)
    assert code in (0, 2)
    kept = {k: v for k, v in after.items() if k in before}
    assert kept == before, "an existing file changed or vanished"
    if code == 2:
        assert after == before
    else:
        target = (sb / "work" / out).resolve() if not absolute else Path(out).resolve()
        new = set(after) - set(before)
        assert new, "a successful write added nothing"
        for name in new:
            p = root / name
            assert p == target or target in p.parents or p in target.parents, name


# --- every file problem: one line, exit 2 ------------------------------------------------------
def _problem(case: Path, kind: str) -> str:
    """Make the problem ``kind`` in the case; return the file the message must name."""
    if kind == "csv renamed to xlsx":
        (case / "opgave.csv").rename(case / "opgave.xlsx")
        return "opgave.xlsx"
    if kind == "empty workbook":
        (case / "opgave.csv").unlink()
        (case / "opgave.xlsx").write_bytes(b"")
        return "opgave.xlsx"
    if kind == "password protected":
        (case / "opgave.csv").unlink()
        (case / "opgave.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
        return "opgave.xlsx"
    if kind == "folder instead of a file":
        (case / "corporations.csv").unlink()
        (case / "corporations.csv").mkdir()
        return "corporations.csv"
    if kind == "scenario is a folder":
        (case / "scenario.toml").unlink()
        (case / "scenario.toml").mkdir()
        return "scenario.toml"
    if kind == "unknown encoding":
        (case / "opgave.csv").write_bytes(b"\x00\x81\x8d\x8f\x90\x9d" * 50)
        return "opgave.csv"
    if kind == "both csv and xlsx":
        (case / "opgave.xlsx").write_bytes((case / "opgave.csv").read_bytes())
        return "opgave.csv"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["csv renamed to xlsx", "empty workbook", "password protected",
                                  "folder instead of a file", "scenario is a folder", "unknown encoding",
                                  "both csv and xlsx"])
def test_every_file_problem_is_one_line_and_exit_2(tmp_path, capsys, kind):
    case = copy_default(tmp_path)
    name = _problem(case, kind)
    assert main(["validate", str(case)]) == 2
    assert name in one_error_line(capsys.readouterr().err)
    before = tree(tmp_path)
    assert main(["run", str(case), "--out", str(tmp_path / "out")]) == 2
    assert name in one_error_line(capsys.readouterr().err)
    assert tree(tmp_path) == before


def test_a_missing_case_path_does_not_exist(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in one_error_line(capsys.readouterr().err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file(tmp_path, capsys):
    case = copy_default(tmp_path)
    (case / "opgave.csv").chmod(0)
    assert main(["validate", str(case)]) == 2
    assert "opgave.csv" in one_error_line(capsys.readouterr().err)


# --- plausibility ---------------------------------------------------------------------------
def _edit(case: Path, name: str, row: int, column: str, value) -> None:
    df = pd.read_csv(case / name, dtype=str, keep_default_na=False)
    df.loc[row, column] = str(value)
    df.to_csv(case / name, index=False)


@pytest.mark.parametrize("name, column, value, line, words", [
    ("opgave.csv", "homes", "10000000000", 2, "more than the whole stock of region"),
    ("opgave.csv", "homes", "1000000000000", 2, "more than the whole stock of region"),
    ("corporations.csv", "homes", "1000000000000", 2, "more than all Dutch corporations own"),
    ("corporations.csv", "rent_per_home_eur", "910000", 2, "outside the plausible range"),
    ("corporations.csv", "debt_eur", "3.55e14", 2, "debt per home"),
    ("corporations.csv", "beleidswaarde_eur", "1000", 2, "beleidswaarde per home"),
])
def test_absurd_sizes_and_money_are_rejected(tmp_path, capsys, name, column, value, line, words):
    case = copy_default(tmp_path)
    _edit(case, name, 0, column, value)
    assert main(["validate", str(case)]) == 2
    msg = one_error_line(capsys.readouterr().err)
    assert f"{name}, line {line}, field '{column}'" in msg and words in msg


def test_unusual_sizes_are_warned_on_screen_and_in_the_summary(tmp_path, capsys):
    case = copy_default(tmp_path)
    _edit(case, "corporations.csv", 0, "rent_per_home_eur", "14500")
    assert main(["validate", str(case)]) == 0
    assert "usual" in capsys.readouterr().err
    assert main(["run", str(case), "--out", str(tmp_path / "out")]) == 0
    assert "rent per home" in capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("rent per home" in w for w in summary["warnings"])


def test_a_region_without_opgave_is_warned(tmp_path, capsys):
    case = copy_default(tmp_path)
    corp = pd.read_csv(case / "corporations.csv", dtype=str, keep_default_na=False)
    corp.loc[corp["corporation_id"] == "V07", "region"] = "Leeg"
    corp.to_csv(case / "corporations.csv", index=False)
    assert main(["validate", str(case)]) == 0
    assert "region 'Leeg' has corporations but no opgave" in capsys.readouterr().err


# --- provenance ---------------------------------------------------------------------------------
def test_summary_records_inputs_versions_and_command_line(default_results):
    s = default_results.summary
    files = {Path(i["path"]).name: i for i in s["inputs"]}
    assert {"corporations.csv", "opgave.csv", "scenario.toml", "defaults.toml"} <= set(files)
    for name in ("corporations.csv", "opgave.csv", "scenario.toml"):
        data = (DEFAULT_CASE / name).read_bytes()
        assert files[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert files[name]["bytes"] == len(data)
    from importlib.metadata import version
    assert s["versions"]["highspy"] == version("highspy")
    assert s["versions"]["pandas"] == pd.__version__
    assert "unknown" not in s["versions"].values()
    assert s["command_line"][:2] == ["dpm", "run"] or s["command_line"][0] != "dpm"


def test_a_steun_csv_is_announced_and_recorded(tmp_path, capsys):
    case = copy_default(tmp_path)
    pd.DataFrame({"corporation_id": ["V04", "V04"], "year": [2028, 2029], "steun_eur": [1e6, 2e6]}).to_csv(
        case / "steun.csv", index=False)
    assert main(["validate", str(case)]) == 0
    assert "steun.csv is used: EUR 3.0 mln" in capsys.readouterr().out
    assert main(["run", str(case), "--out", str(tmp_path / "out")]) == 0
    assert "steun.csv is used: EUR 3.0 mln" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "EUR 3.0 mln" in summary["steun_input"]
    assert any(Path(i["path"]).name == "steun.csv" for i in summary["inputs"])


def test_from_summary_repeats_a_run_exactly_and_refuses_changed_inputs(tmp_path, capsys):
    case = tiny_case(tmp_path / "case")
    first = tmp_path / "first"
    assert main(["run", str(case), "--out", str(first)]) == 0
    assert main(["run", "--from-summary", str(first / "summary.json"), "--out", str(tmp_path / "again")]) == 0
    assert "byte-identical" in capsys.readouterr().out
    (case / "opgave.csv").write_text((case / "opgave.csv").read_text() + "\n")
    before = tree(tmp_path)
    assert main(["run", "--from-summary", str(first / "summary.json"), "--out", str(tmp_path / "third")]) == 2
    assert "opgave.csv" in one_error_line(capsys.readouterr().err)
    assert tree(tmp_path) == before


def test_a_repeat_of_a_tradeoff_run_makes_the_curve_again_and_compares_it_but_for_its_seconds(tmp_path, capsys):
    """A run with --tradeoff is repeated with it (its tradeoff.csv is one of the tables); the
    curve's `seconds` say how long a point took, not what it found, so only they may differ; a
    changed relation count is a difference (the default region: no solve ended by a clock)."""
    first = tmp_path / "first"
    assert main(["run", str(DEFAULT_CASE), "--tradeoff", "--out", str(first)]) == 0
    assert main(["run", "--from-summary", str(first / "summary.json"), "--out", str(tmp_path / "again")]) == 0
    assert "byte-identical (tradeoff.csv but for its seconds)" in capsys.readouterr().out
    assert (tmp_path / "again" / "tradeoff.csv").exists()
    curve = (first / "tradeoff.csv").read_text().splitlines()
    header, row = curve[0].split(","), curve[1].split(",")
    row[header.index("relations")] = "99"
    (first / "tradeoff.csv").write_text("\n".join([curve[0], ",".join(row), *curve[2:]]) + "\n")
    assert main(["run", "--from-summary", str(first / "summary.json"), "--out", str(tmp_path / "third")]) == 1
    assert "1 file(s) differ: tradeoff.csv" in capsys.readouterr().out


def test_a_repeat_that_differs_says_where_a_clock_decided(tmp_path, capsys):
    """A repeat whose tables differ exits 1 and, where the first run's summary records solves a
    clock ended, says that this is where runs can differ (here the first run's files and its
    record of a stop are edited, as a slower machine would have left them)."""
    case = tiny_case(tmp_path / "case")
    first = tmp_path / "first"
    assert main(["run", str(case), "--out", str(first)]) == 0
    summary = json.loads((first / "summary.json").read_text())
    assert summary["clock"] == {**summary["clock"], "stops": {}, "repeatable": True}
    (first / "shortfall.csv").write_text((first / "shortfall.csv").read_text() + "\n")
    again = tmp_path / "again"
    assert main(["run", "--from-summary", str(first / "summary.json"), "--out", str(again)]) == 1
    out = capsys.readouterr().out
    assert "1 file(s) differ: shortfall.csv" in out and "clock" not in out
    summary["clock"]["stops"] = {"stage unfilled": 1}
    (first / "summary.json").write_text(json.dumps(summary))
    assert main(["run", "--from-summary", str(first / "summary.json"), "--out", str(tmp_path / "third")]) == 1
    assert "A clock ended solves in the first run" in capsys.readouterr().out


# --- messages that point the right way ---------------------------------------------------------
def test_sweep_key_in_several_sections_is_ambiguous_not_missing(tmp_path, capsys):
    assert main(["sweep", str(DEFAULT_CASE), "--vary", "rent_per_home_eur=1,2", "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "3 sections" in line and "types.flex.rent_per_home_eur" in line


def test_a_bad_vary_value_is_blamed_on_vary(tmp_path, capsys):
    assert main(["sweep", str(DEFAULT_CASE), "--vary", "rent_growth=abc", "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("error: --vary") and "scenario.toml" not in line


def test_a_misspelt_section_has_its_line_and_a_suggestion(tmp_path, capsys):
    case = copy_default(tmp_path)
    (case / "scenario.toml").write_text("base_year = 2025\n\n[nroms]\nicr_min = 1.5\n")
    assert main(["validate", str(case)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "line 3" in line and "did you mean 'norms'" in line
