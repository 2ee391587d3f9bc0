"""The regional report: the workbook opens with every sheet and unit-bearing header, and the
HTML page is self-contained and renders in headless Chromium to a page that is not blank."""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import openpyxl
import pytest
from conftest import DEFAULT_CASE, run_cli

from dpm.cli import main
from dpm.report import SHEETS
from dpm.results import OUTPUTS


@pytest.fixture(scope="module")
def report_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    assert run_cli(DEFAULT_CASE, out, "--report") == 0
    return out


def test_run_with_report_writes_everything_in_one_folder(report_folder):
    assert {p.name for p in report_folder.iterdir()} == {*OUTPUTS, "report.xlsx", "report.html", ".dpm-results.json"}


def test_workbook_has_every_sheet_with_units_frozen_headers_and_formats(report_folder):
    wb = openpyxl.load_workbook(report_folder / "report.xlsx")
    assert wb.sheetnames == ["summary", *SHEETS, "scenario"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.max_row > 1, ws.title
    head = {ws.title: [c.value for c in ws[1]] for ws in wb.worksheets}
    for column in ("debt (EUR)", "ltv (%)", "icr (x)", "homes (homes)", "continuity_gap (EUR)"):
        assert column in head["projection"], column
    assert "shadow price (homes per EUR mln)" in head["explanation"]
    assert "investment (EUR)" in head["investment_room"]
    assert head["scenario"] == ["key", "value"]
    proj = wb["projection"]
    col = head["projection"].index("debt (EUR)") + 1
    assert proj.cell(2, col).number_format == "#,##0" and proj.cell(2, col).value > 1e8
    ltv = head["projection"].index("ltv (%)") + 1
    assert proj.cell(2, ltv).number_format == "0.0%" and 0 < proj.cell(2, ltv).value < 1
    keys = {r[0].value: r[1].value for r in wb["scenario"].iter_rows(min_row=2)}
    assert keys["norms.ltv_max"] == 0.85 and keys["base_year"] == 2025
    summary = {r[0].value: r[1].value for r in wb["summary"].iter_rows(min_row=2)}
    import json
    assert summary["unfilled homes"] == json.loads((report_folder / "summary.json").read_text())["objectives"][
        "unfilled_homes"]
    assert summary["repeatable"] == "yes"  # (the default region: no solve ended by a clock)


def test_html_is_self_contained_with_every_section(report_folder):
    page = (report_folder / "report.html").read_text()
    assert "<script" not in page and "<link" not in page and "src=" not in page  # nothing to fetch
    for section in ("Why homes stay unfilled", "Opgave per year and type", "Financial ratios against the norms",
                    "Transfers between corporations", "Investment room per corporation"):
        assert section in page
    assert page.count("<svg") == 4
    assert "From 2027, 400 sloop_nieuwbouw homes of V04 Thuis in Oost stay unfilled" in page
    assert "Repeatable: yes; no solve was ended by a clock" in page


def test_report_command_remakes_the_report_of_a_folder(report_folder, tmp_path):
    copy = shutil.copytree(report_folder, tmp_path / "copy")
    (copy / "report.html").unlink()
    (copy / "report.xlsx").unlink()
    assert main(["report", str(copy)]) == 0
    assert (copy / "report.html").read_text() == (report_folder / "report.html").read_text()  # deterministic
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in report_folder.iterdir())


def test_report_of_a_folder_that_is_no_results_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _chromium() -> str:
    """Debian's chromium: found, or installed here with apt-get when we are root; else skip."""
    found = shutil.which("chromium")
    if found:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900)
        found = shutil.which("chromium")
        if found:
            return found
    pytest.skip("headless Chromium is not available (Debian package 'chromium'; apt-get install chromium)")


def test_html_renders_in_headless_chromium(report_folder, tmp_path):
    shot = tmp_path / "page.png"
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1300,2400", (report_folder / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    not_white = (pixels < 0.95).any(axis=2).mean()
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert not_white > 0.05, "the page is (almost) blank"
    assert colours > 50, "charts are drawn (many distinct colours)"


def test_transfer_graph_labels_the_largest_relations_apart(monkeypatch):
    """At 40 relations the graph labels the TRANSFER_LABELS largest (their homes, each once),
    no two labels on the same spot, and its title says the rest are in allocation.csv."""
    from types import SimpleNamespace

    import pandas as pd

    import dpm.report as report

    rng = np.random.default_rng(3)
    givers, takers = [f"G{i:02d}" for i in range(8)], [f"T{i:02d}" for i in range(10)]
    pairs = [(g, t) for g in givers for t in takers]
    chosen = [pairs[i] for i in rng.choice(len(pairs), 40, replace=False)]
    homes = rng.choice(np.arange(10, 5000), 40, replace=False)  # distinct, so each label is one relation
    allocation = pd.DataFrame([{"origin": o, "executor": c, "type": "nieuwbouw", "year": 2026, "homes": h}
                               for (o, c), h in zip(chosen, homes)])
    figures = []
    monkeypatch.setattr(report, "_svg", lambda fig: figures.append(fig) or "")
    report.transfer_chart(SimpleNamespace(tables={"allocation": allocation}))
    ax = figures[0].axes[0]
    labels = [t for t in ax.texts if t.get_text().replace("\u202f", "").replace(" ", "").replace(",", "").isdigit()]
    shown = sorted(int(t.get_text().replace("\u202f", "").replace(" ", "").replace(",", "")) for t in labels)
    assert shown == sorted(np.sort(homes)[-report.TRANSFER_LABELS:].tolist())
    spots = {(round(t.get_position()[0], 2), round(t.get_position()[1], 1)) for t in labels}
    assert len(spots) == len(labels)
    assert "all in allocation.csv" in ax.get_title()


def test_ratio_chart_colours_the_corporations_with_the_least_room(monkeypatch):
    """With 30 corporations the ratio chart names RATIO_HIGHLIGHT of them, the one that comes
    closest to a norm among them, and the rest as one grey legend entry."""
    from types import SimpleNamespace

    import pandas as pd

    import dpm.report as report

    years = np.arange(2026, 2041)
    rows = []
    for i in range(30):  # the ICR rises with the number, but C07's (1.45 against 1.4) is the lowest
        icr = 1.45 if i == 7 else 2.0 + 0.05 * i
        rows += [{"corporation_id": f"C{i:02d}", "year": y, "icr": icr, "icr_min": 1.4, "ltv": 0.6, "ltv_max": 0.85,
                  "solvency": 0.4, "solvency_min": 0.15} for y in years]
    results = SimpleNamespace(tables={"projection": pd.DataFrame(rows)},
                              summary={"scenario": {"base_year": 2025, "horizon": {"policy_years": 10}}})
    figures = []
    monkeypatch.setattr(report, "_svg", lambda fig: figures.append(fig) or "")
    report.ratio_chart(results)
    labels = [t.get_text() for t in figures[0].legends[0].get_texts()]
    assert len(labels) == report.RATIO_HIGHLIGHT + 1
    assert "C07" in labels and labels[-1] == f"{30 - report.RATIO_HIGHLIGHT} others (more room)"
    assert set(labels[:-1]) == {f"C{i:02d}" for i in range(report.RATIO_HIGHLIGHT)}  # the least room: lowest ICR
