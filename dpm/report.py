"""The regional report of a results folder: an Excel workbook and a self-contained HTML page.

``report.xlsx``: a sheet per output (units in the headers, frozen header row, filters,
number formats), a sheet with the run's status and totals and one with the effective
scenario. ``report.html``: one file with no outside references (charts are inline SVG):
the reasons for the shortfall, each corporation's ICR, LTV and solvency against the norms,
the opgave per year and type as executed by the owner, by others and unfilled, the transfer
graph, and the investment room. Both are made from the folder's files only, so a report can
be made again from any results folder.
"""
from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dpm.model.scenario import TYPES
from dpm.results import thousands

SHEETS = ("projection", "allocation", "shortfall", "explanation", "diagnosis", "investment_room")
OPTIONAL_SHEETS = ("tradeoff",)  # written by 'dpm run --tradeoff' only
PERCENT = {"ltv", "solvency", "ltv_max", "solvency_min"}
RATIO = {"icr", "icr_min"}
COLORS = {"owner": "#2b6cb0", "others": "#38a169", "unfilled": "#e53e3e"}


@dataclass
class Results:
    """A results folder read back: its tables (by sheet name) and summary.json."""

    folder: Path
    tables: dict[str, pd.DataFrame]
    summary: dict

    @classmethod
    def read(cls, folder: Path) -> "Results":
        folder = Path(folder)
        missing = [f for f in ("summary.json", "projection.csv", "allocation.csv", "shortfall.csv")
                   if not (folder / f).exists()]
        if missing:
            raise FileNotFoundError(f"{folder} is not a results folder of 'dpm run' (no {', '.join(missing)})")
        tables = {name: pd.read_csv(folder / f"{name}.csv") for name in (*SHEETS, *OPTIONAL_SHEETS)
                  if (folder / f"{name}.csv").exists()}
        return cls(folder, tables, json.loads((folder / "summary.json").read_text(encoding="utf-8")))

    @property
    def names(self) -> pd.Series:
        room = self.tables.get("investment_room")
        if room is None:
            return pd.Series(dtype=str)
        return room.drop_duplicates("corporation_id").set_index("corporation_id")["name"]


# --- the workbook --------------------------------------------------------------------------
def header(column: str) -> tuple[str, str | None]:
    """A column's header with its unit, and its Excel number format."""
    if column.endswith("_eur"):
        return f"{column[:-4]} (EUR)", "#,##0"
    if column == "shadow_price_homes_per_eur_mln":
        return "shadow price (homes per EUR mln)", "0.00"
    if column.startswith("homes") or column.endswith("_homes"):
        return f"{column} (homes)", "#,##0"
    if column in PERCENT:
        return f"{column} (%)", "0.0%"
    if column in RATIO:
        return f"{column} (x)", "0.00"
    if column == "headroom":
        return "headroom (in unit)", "#,##0.000"
    if column == "value":
        return "value (in unit)", "#,##0.000"
    if column == "norm":
        return "norm (in unit)", "#,##0.000"
    return column, None


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, json.dumps(value) if isinstance(value, list) else value))
    return rows


def _sheet(wb, title: str, frame: pd.DataFrame, formats: list[str | None] | None = None) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([None if (isinstance(v, float) and np.isnan(v)) else (v.item() if hasattr(v, "item") else v)
                   for v in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(frame.columns, start=1):
        letter = get_column_letter(i)
        fmt = formats[i - 1] if formats else None
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
        width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
        ws.column_dimensions[letter].width = min(max(10, width + 2), 60)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def write_workbook(results: Results, path: Path) -> None:
    """report.xlsx: a sheet per output table, 'summary' and 'scenario'."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    s = results.summary
    o = s["objectives"]
    rows = [("case", s["case"], ""), ("unfilled homes", o["unfilled_homes"], "homes over the policy period")]
    rows += [(f"unfilled {k}", v, "homes") for k, v in o["unfilled_homes_by_type"].items()]
    rows += [("continuity gap", o["continuity_gap_eur"], "EUR"), ("transfers", o["transfers"], "relations"),
             ("homes moved", o["homes_moved"], "homes"), ("seconds", s["seconds"], "s")]
    rows += [("allocation status", s.get("allocation_status", ""), "continuity and unfilled stages")]
    rows += [(f"status {stage}", status, "") for stage, status in s["status"].items()]
    gaps = s.get("mip_gap") or {}
    rows += [(f"gap {stage}", gap, "fraction") for stage, gap in (gaps.items() if isinstance(gaps, dict) else [])]
    rows += [("warning", w, "") for w in s.get("warnings", [])]
    clock = s.get("clock")  # (a results folder written before runs recorded it has none)
    rows += [("repeatable", "yes" if clock["repeatable"] else "no", clock["note"])] if clock else []
    _sheet(wb, "summary", pd.DataFrame(rows, columns=["item", "value", "unit"]))
    for name, frame in results.tables.items():
        heads = [header(c) for c in frame.columns]
        _sheet(wb, name, frame.set_axis([h for h, _ in heads], axis=1), [f for _, f in heads])
    scenario = pd.DataFrame(_flatten(s["scenario"]), columns=["key", "value"])
    _sheet(wb, "scenario", scenario)
    wb.save(path)


# --- the charts ----------------------------------------------------------------------------
def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "dpm"  # fixed ids: the same results give the same page
    plt.rcParams["font.size"] = 9
    return plt



RATIO_HIGHLIGHT = 10  # the ratio chart colours at most this many corporations: those with the least room to a norm


def ratio_chart(results: Results) -> str:
    """ICR, LTV and solvency of every corporation over the years, against their norms; with
    more than :data:`RATIO_HIGHLIGHT` corporations those with the least room in colour."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    p = results.tables["projection"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    spec = [("icr", "icr_min", "ICR (x), norm >= ", 1.0), ("ltv", "ltv_max", "LTV (%), norm <= ", 100.0),
            ("solvency", "solvency_min", "solvency (%), norm >= ", 100.0)]
    policy_end = results.summary["scenario"]["base_year"] + results.summary["scenario"]["horizon"]["policy_years"]
    # many corporations: the RATIO_HIGHLIGHT with the least room to any norm in colour, the rest grey
    room = pd.concat([(p["icr"] - p["icr_min"]) / p["icr_min"], (p["ltv_max"] - p["ltv"]) / p["ltv_max"],
                      (p["solvency"] - p["solvency_min"]) / p["solvency_min"]], axis=1).min(axis=1)
    tightest = room.groupby(p["corporation_id"]).min().sort_values(kind="stable").index[:RATIO_HIGHLIGHT]
    others = p["corporation_id"].nunique() - len(tightest)
    for ax, (col, norm, title, scale) in zip(axes, spec):
        for cid, rows in p.groupby("corporation_id"):
            if cid in tightest:
                ax.plot(rows["year"], rows[col] * scale, marker=".", linewidth=1.2, label=cid, zorder=3)
            else:
                ax.plot(rows["year"], rows[col] * scale, color="#a0aec0", linewidth=0.6, alpha=0.7, zorder=2)
        level = p[norm].median() * scale
        ax.axhline(level, color="black", linestyle="--", linewidth=1)
        ax.axvspan(p["year"].min() - 0.5, policy_end + 0.5, color="#edf2f7", zorder=0)
        shown = f"{level:.2f}" if scale == 1.0 else f"{level:.0f} %"
        ax.set_title(title + shown)
        ax.set_xlabel("year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0].get_legend_handles_labels()
    if others:
        handles.append(plt.Line2D([], [], color="#a0aec0", linewidth=0.6))
        labels.append(f"{others} others (more room)")
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 11), fontsize=8, bbox_to_anchor=(0.5, -0.1))
    return _svg(fig)


def opgave_chart(results: Results) -> str:
    """The region's opgave per year and type: done by the owner, by others, unfilled (homes)."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    a, s = results.tables["allocation"], results.tables["shortfall"]
    years = sorted(set(a["year"]) | set(s["year"]))
    fig, axes = plt.subplots(1, len(TYPES), figsize=(14, 3.6), sharex=True)
    for ax, kind in zip(axes, TYPES):
        ak = a[a["type"] == kind]
        owner = ak[ak["origin"] == ak["executor"]].groupby("year")["homes"].sum().reindex(years, fill_value=0)
        others = ak[ak["origin"] != ak["executor"]].groupby("year")["homes"].sum().reindex(years, fill_value=0)
        unfilled = s[s["type"] == kind].groupby("year")["homes"].sum().reindex(years, fill_value=0)
        ax.bar(years, owner, color=COLORS["owner"], label="by the owner")
        ax.bar(years, others, bottom=owner, color=COLORS["others"], label="by another corporation")
        ax.bar(years, unfilled, bottom=owner + others, color=COLORS["unfilled"], label="unfilled")
        ax.set_title(f"{kind} (homes)")
        ax.set_xlabel("year")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.08))
    return _svg(fig)


TRANSFER_LABELS = 20  # the transfer graph labels this many relations (the largest), so that it stays readable
LABEL_AT = (0.3, 0.5, 0.7, 0.4, 0.6)  # where along its arrow a giver's k-th label sits (share of the way)


def transfer_chart(results: Results) -> str:
    """Who takes what from whom, as a bipartite graph: the owners of the tasks on the left, the
    executors on the right, one arrow per relation labelled with its homes (readable at 20+)."""
    plt = _plt()
    a = results.tables["allocation"]
    moved = a[a["origin"] != a["executor"]].groupby(["origin", "executor"])["homes"].sum()
    givers = sorted({o for o, _ in moved.index})
    takers = sorted({c for _, c in moved.index})
    rows = max(len(givers), len(takers), 1)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * rows + 1.6))
    y_of = lambda names, n: {name: rows - 1 - i * (rows - 1) / max(n - 1, 1) if n > 1 else (rows - 1) / 2  # noqa: E731
                             for i, name in enumerate(names)}
    left, right = y_of(givers, len(givers)), y_of(takers, len(takers))
    top = max(1, int(moved.max())) if len(moved) else 1
    labelled = set(moved.sort_values(ascending=False, kind="stable").index[:TRANSFER_LABELS])
    for (o, c), homes in moved.items():
        ax.annotate("", xy=(0.82, right[c]), xytext=(0.18, left[o]),
                    arrowprops=dict(arrowstyle="-|>", color=COLORS["others"], lw=0.8 + 5 * homes / top, alpha=0.8))
    # labels spread along the arrows: a giver's k-th relation (by its taker's place) at the k-th
    # of LABEL_AT, so that the labels of one giver do not stack where its arrows leave it
    for _, rel in moved.groupby(level="origin", sort=False):
        for k, (o, c) in enumerate(sorted(rel.index, key=lambda oc: -right[oc[1]])):
            if (o, c) in labelled:
                at = LABEL_AT[k % len(LABEL_AT)]
                ax.text(0.18 + at * 0.64, left[o] + at * (right[c] - left[o]), thousands(moved[(o, c)]),
                        fontsize=7, ha="center", va="center", rotation=0,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for names, pos, x, ha in ((givers, left, 0.16, "right"), (takers, right, 0.84, "left")):
        for name in names:
            ax.text(x, pos[name], name, ha=ha, va="center", fontsize=9,
                    bbox=dict(boxstyle="round,pad=0.3", fc="#bee3f8", ec="#2b6cb0"))
    ax.text(0.16, rows - 0.2, "owner of the task", ha="right", fontsize=8, color="#4a5568")
    ax.text(0.84, rows - 0.2, "executor", ha="left", fontsize=8, color="#4a5568")
    if not len(moved):
        ax.text(0.5, (rows - 1) / 2, "no transfers: every corporation does its own tasks", ha="center", fontsize=9)
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.8, rows + 0.2)
    note = f"; homes on the {TRANSFER_LABELS} largest, all in allocation.csv" if len(moved) > TRANSFER_LABELS else ""
    ax.set_title(f"Transfers: {len(moved)} relations, owner -> executor (homes over the policy period{note})",
                 fontsize=10)
    ax.axis("off")
    return _svg(fig)


def tradeoff_chart(results: Results) -> str:
    """The price of the last homes: fewest relations against the unfilled opgave allowed."""
    plt = _plt()
    t = results.tables["tradeoff"].dropna(subset=["relations"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for region, rows in t.groupby("region"):
        rows = rows.sort_values("unfilled_limit_homes")
        ax.step(rows["unfilled_homes"], rows["relations"], where="post", marker="o", label=region)
        proven = rows["status"] == "optimal"
        ax.scatter(rows.loc[~proven, "unfilled_homes"], rows.loc[~proven, "relations_bound"], marker="v",
                   color="#718096", zorder=3, label="lower bound (not proven)" if (~proven).any() else None)
        for r in rows[rows["run_tolerance"].astype(bool)].itertuples():
            ax.annotate("this run", (r.unfilled_homes, r.relations), textcoords="offset points", xytext=(6, 6),
                        fontsize=8)
    ax.set_xlabel("unfilled homes over the policy period (homes)")
    ax.set_ylabel("transfer relations")
    ax.set_title("Fewest relations against the unfilled opgave")
    ax.legend(fontsize=8)
    return _svg(fig)


def room_chart(results: Results) -> str:
    """Investment room per corporation and type (homes it can add on its own)."""
    plt = _plt()
    r = results.tables["investment_room"]
    wide = r.pivot(index="corporation_id", columns="type", values="homes").fillna(0)
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(wide) + 1.5))
    wide.plot.barh(ax=ax, width=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("homes over the policy period (one type at a time)")
    ax.set_title("Investment room per corporation (handreiking step 2)")
    return _svg(fig)


# --- the page ------------------------------------------------------------------------------
def _table(frame: pd.DataFrame) -> str:
    heads = "".join(f"<th>{html.escape(header(c)[0])}</th>" for c in frame.columns)
    plain = [c == "year" or c.endswith("_year") for c in frame.columns]  # years without thousands spaces
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for v, is_year in zip(row, plain):
            if isinstance(v, float) and np.isnan(v):
                text = ""
            elif is_year:
                text = str(int(v))
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                text = thousands(v)
            elif isinstance(v, float):
                text = thousands(v) if abs(v) >= 1000 else f"{v:.3g}"
            else:
                text = str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>"


CSS = """
body { font-family: -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; margin: 2em auto; max-width: 1200px;
       color: #1a202c; background: #fff; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; border-bottom: 1px solid #cbd5e0; padding-bottom: .2em; margin-top: 2em; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; }
.card { background: #f7fafc; border: 1px solid #e2e8f0; border-radius: 6px; padding: .7em 1em; min-width: 10em; }
.card b { display: block; font-size: 1.4em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #e2e8f0; padding: .25em .5em; text-align: right; }
th { background: #edf2f7; } td:first-child, th:first-child { text-align: left; }
.reason { background: #fff5f5; border-left: 4px solid #e53e3e; padding: .5em 1em; margin: .5em 0; }
.warning { background: #fffff0; border-left: 4px solid #d69e2e; padding: .5em 1em; margin: .5em 0; }
svg { max-width: 100%; height: auto; }
footer { color: #718096; font-size: .8em; margin-top: 3em; }
"""


def write_html(results: Results, path: Path) -> None:
    """report.html: one self-contained page (no scripts, no outside files)."""
    s = results.summary
    o = s["objectives"]
    years = f"{s['scenario']['base_year'] + 1}-{s['scenario']['base_year'] + s['scenario']['horizon']['policy_years']}"
    fmt = thousands
    cards = [("unfilled homes", fmt(o["unfilled_homes"]), f"homes, {years}")]
    cards += [(f"unfilled {k}", fmt(v), "homes") for k, v in o["unfilled_homes_by_type"].items()]
    cards += [("continuity gap", f"{o['continuity_gap_eur'] / 1e6:,.1f}", "EUR mln"),
              ("transfers", str(o["transfers"]), "relations"), ("homes moved", fmt(o["homes_moved"]), "homes")]
    parts = [f"<h1>Opgaven &amp; Middelen: {html.escape(s['case'])}</h1>",
             f"<p>Regional allocation of the opgave {years}; finances over {s['scenario']['horizon']['horizon_years']} "
             f"years. Status per stage: {html.escape(', '.join(f'{k} {v}' for k, v in s['status'].items()))}.</p>",
             "<div class='cards'>" + "".join(f"<div class='card'>{html.escape(a)}<b>{html.escape(b)}</b>"
                                             f"{html.escape(c)}</div>" for a, b, c in cards) + "</div>"]
    diagnosis = results.tables.get("diagnosis")
    parts.append("<h2>Why homes stay unfilled</h2>")
    if diagnosis is not None and len(diagnosis):
        parts += [f"<div class='reason'>{html.escape(t)}</div>" for t in dict.fromkeys(diagnosis["sentence"])]
    else:
        parts.append("<p>The whole opgave is filled.</p>")
    parts += [f"<div class='warning'>{html.escape(w)}</div>" for w in s.get("warnings", [])]
    clock = s.get("clock")
    if clock:
        parts.append(f"<p>Repeatable: {'yes' if clock['repeatable'] else 'no'}; {html.escape(clock['note'])}.</p>")
    parts += ["<h2>Opgave per year and type</h2>", opgave_chart(results),
              "<h2>Financial ratios against the norms</h2>",
              "<p>Per corporation and year; shaded: the policy period, dashed: the norm.</p>", ratio_chart(results),
              "<h2>Transfers between corporations</h2>", transfer_chart(results)]
    if "tradeoff" in results.tables and len(results.tables["tradeoff"]):
        parts += ["<h2>The price of the last homes</h2>",
                  "<p>Fewest transfer relations at the exact unfilled optimum and with a little more left unfilled "
                  "(triangles: the proven lower bound where the search stopped at its time limit).</p>",
                  tradeoff_chart(results)]
    if "investment_room" in results.tables:
        room = results.tables["investment_room"]
        parts += ["<h2>Investment room per corporation</h2>",
                  "<p>What each corporation can add on its own, with only its instandhouding, one type at a time, "
                  "and the limit and year that one home more would break.</p>", room_chart(results),
                  _table(room[["corporation_id", "name", "type", "homes", "investment_eur", "profile",
                               "binding_limit", "binding_year"]])]
    if diagnosis is not None and len(diagnosis):
        parts += ["<h2>Who could take the unfilled homes, and what stops them</h2>",
                  _table(diagnosis.drop(columns=["sentence"]))]
    v = s.get("versions", {})
    parts.append(f"<footer>dpm {html.escape(str(v.get('dpm', '')))}, HiGHS {html.escape(str(v.get('highspy', '')))}; "
                 "money in nominal EUR of each year; full tables in report.xlsx and the CSV files beside it.</footer>")
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>Opgaven &amp; Middelen: {html.escape(s['case'])}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")
    path.write_text(page, encoding="utf-8")


REPORT_FILES = {"report.xlsx": write_workbook, "report.html": write_html}


def report_writers() -> dict:
    """Writers for the report files that read the results from the folder they write into
    (so they can run inside the hidden folder of a run that is being written)."""
    return {name: (lambda path, write=write: write(Results.read(Path(path).parent), path))
            for name, write in REPORT_FILES.items()}
