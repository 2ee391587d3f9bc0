"""Benchmark: the family of a region, as a new user tries it. Variants of the benchmark cases
(benchmarks/run.py) that no setting was tuned for: one norm, rate or rule changed, an opgave
scaled, synthetic regions of sizes between the benchmark ones. Each variant is written as a
case folder and run with ``dpm run`` in its own process, as a user would; the table gives the
wall time, the unfilled homes, the relations, every stage that did not end optimal (its
status and gap; ``~`` within its tolerance), and the solves a clock ended (where none, the
variant repeats byte for byte on any machine).

    python benchmarks/variants.py                      # every variant, writes benchmarks/variants.md
    python benchmarks/variants.py --only x2_mt1 15     # a subset, printed only

A variant that takes long here is a known hard instance (docs/model.md), not a failure: the
run still reports its gaps. A variant that fails or times out (``--timeout``) is a defect.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import machine, make_case  # noqa: E402

# name: (benchmark case it starts from, scenario settings changed, opgave scaled (type, factor) or None)
VARIANTS: dict[str, tuple[str, dict, tuple[str, float] | None]] = {
    "default, LTV 0.80": ("default", {"norms": {"ltv_max": 0.80}}, None),
    "default, solvency 0.20": ("default", {"norms": {"solvency_min": 0.20}}, None),
    "default, guarantee cap EUR 1 bn": ("default", {"norms": {"guarantee_cap_eur": 1.0e9}}, None),
    "default, market rate 5 %": ("default", {"economy": {"market_rate": 0.05}}, None),
    "default, construction inflation 6 %": ("default", {"economy": {"construction_inflation": 0.06}}, None),
    "default, rate 4.5 % and rent 1.5 %": ("default", {"economy": {"market_rate": 0.045, "rent_growth": 0.015}},
                                           None),
    "default, max_partners 1, min_transfer 100": ("default", {"allocation": {"max_partners": 1,
                                                                             "min_transfer": 100}}, None),
    "default, tolerance 100 homes": ("default", {"allocation": {"unfilled_tolerance_homes": 100}}, None),
    "default, money free in time": ("default", {"money": {"timing": "free"}}, None),
    "default, nieuwbouw x3": ("default", {}, ("nieuwbouw", 3.0)),
    "default, nieuwbouw x0.5": ("default", {}, ("nieuwbouw", 0.5)),
    "default, flex x3": ("default", {}, ("flex", 3.0)),
    "x2, min_transfer 1": ("x2", {"allocation": {"min_transfer": 1}}, None),
    "x2, min_transfer 50": ("x2", {"allocation": {"min_transfer": 50}}, None),
    "x2, max_partners 1": ("x2", {"allocation": {"max_partners": 1}}, None),
    "x2, tolerance 0": ("x2", {"allocation": {"unfilled_tolerance": 0.0}}, None),
    "x2, tolerance 2 %": ("x2", {"allocation": {"unfilled_tolerance": 0.02}}, None),
    "x2 ICR 1.8, LTV 0.80": ("x2icr", {"norms": {"ltv_max": 0.80}}, None),
    "rent, ICR 1.6": ("rent", {"norms": {"icr_min": 1.6}}, None),
    "rent, tolerance 0": ("rent", {"allocation": {"unfilled_tolerance": 0.0}}, None),
    "x1.5, rent 1.5 %": ("x1.5", {"economy": {"rent_growth": 0.015}}, None),
    "x1.5, max_partners 1": ("x1.5", {"allocation": {"max_partners": 1}}, None),
    "synthetic 5, rent 1.5 %": ("5", {"economy": {"rent_growth": 0.015}}, None),
    "synthetic 10, rent 1.5 %": ("10", {"economy": {"rent_growth": 0.015}}, None),
    "synthetic 10, ICR 1.6": ("10", {"norms": {"icr_min": 1.6}}, None),
    "synthetic 10, max_partners 1": ("10", {"allocation": {"max_partners": 1}}, None),
    "synthetic 15": ("15", {}, None),
    "synthetic 20, rent 1.5 %": ("20", {"economy": {"rent_growth": 0.015}}, None),
    "synthetic 20, ICR 1.6": ("20", {"norms": {"icr_min": 1.6}}, None),
    "synthetic 20, balanced": ("20", {"allocation": {"efficiency": "balanced"}}, None),
    "synthetic 20, cost": ("20", {"allocation": {"efficiency": "cost"}}, None),
    "synthetic 25": ("25", {}, None),
    "synthetic 30": ("30", {}, None),
    "synthetic 40, balanced": ("40", {"allocation": {"efficiency": "balanced"}}, None),
    "linked, rent 1.5 %": ("linked", {"economy": {"rent_growth": 0.015}}, None),
    "linked, ICR 1.8": ("linked", {"norms": {"icr_min": 1.8}}, None),
    # the family beyond the benchmark's own draws: synthetic regions of other seeds and sizes, and
    # linked regions (benchmarks/run.py, make_case)
    "synthetic 10, seed 1": ("10@1", {}, None),
    "synthetic 10, seed 2": ("10@2", {}, None),
    "synthetic 12, seed 3": ("12@3", {}, None),
    "synthetic 20, seed 1": ("20@1", {}, None),
    "synthetic 20, seed 2": ("20@2", {}, None),
    "synthetic 50": ("50", {}, None),
    "synthetic 8 + 10, linked both ways": ("8+10@11", {}, None),
    "chain of three default regions (nieuwbouw x1, x1.6, x2.2)": ("chain", {}, None),
}


def _toml(table: dict, prefix: str = "") -> str:
    """``table`` (sections of scalars, nested sections) as TOML text."""
    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v) if isinstance(v, str) else repr(v)

    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    out = [f"[{prefix}]"] if prefix and scalars else []
    out += [f"{k} = {value(v)}" for k, v in scalars.items()]
    for k, v in table.items():
        if isinstance(v, dict):
            out += ["", _toml(v, f"{prefix}.{k}" if prefix else k)]
    return "\n".join(out)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) else v
    return out


def make_variant(name: str, folder: Path) -> Path:
    """The case folder of variant ``name``: its benchmark case with the settings merged into
    its scenario.toml and the opgave of one type scaled (whole homes)."""
    base, settings, scale = VARIANTS[name]
    case = make_case(base, folder)
    scenario = case / "scenario.toml"
    scenario.write_text(_toml(_merge(tomllib.loads(scenario.read_text()), settings)) + "\n")
    if scale is not None:
        opgave = pd.read_csv(case / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
        rows = opgave["type"] == scale[0]
        opgave.loc[rows, "homes"] = (opgave.loc[rows, "homes"] * scale[1]).round().astype(int)
        opgave.to_csv(case / "opgave.csv", index=False)
    return case


def one(name: str, timeout: float) -> dict:
    """``dpm run`` of variant ``name`` in a process of its own: wall seconds and what summary.json says."""
    with tempfile.TemporaryDirectory() as tmp:
        case = make_variant(name, Path(tmp))
        out = Path(tmp) / "out"
        start = time.perf_counter()
        try:
            done = subprocess.run([shutil.which("dpm") or "dpm", "run", str(case), "--out", str(out)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"variant": name, "wall_s": time.perf_counter() - start, "error": f"timeout ({timeout:.0f} s)"}
        wall = time.perf_counter() - start
        if done.returncode != 0:
            return {"variant": name, "wall_s": wall, "error": (done.stderr.strip().splitlines() or ["?"])[-1]}
        summary = json.loads((out / "summary.json").read_text())
    stops = []
    for stage, status in summary.get("status", {}).items():
        if status != "optimal":
            gap = summary.get("mip_gap", {}).get(stage)
            mark = "~" if status == "within_tolerance" else status
            stops.append(f"{stage} {mark}" + (f" {gap:.1%}" if gap else ""))
    objectives = summary.get("objectives", {})
    clock = summary.get("clock", {}).get("stops", {})
    return {"variant": name, "wall_s": wall, "unfilled_homes": objectives.get("unfilled_homes"),
            "relations": objectives.get("transfers"), "stops": "; ".join(stops),
            "clock": ", ".join(f"{k} {v}" for k, v in clock.items())}


def table(rows: list[dict]) -> str:
    lines = ["| variant | wall s | unfilled homes | relations | stages not proven optimal (status, gap) | clock stops |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['variant']} | {r['wall_s']:.1f} | | | **{r['error']}** | |")
        else:
            lines.append(f"| {r['variant']} | {r['wall_s']:.1f} | {r['unfilled_homes']:,} | {r['relations']} | "
                         f"{r['stops']} | {r['clock']} |")
    repeatable = sum(1 for r in rows if "error" not in r and not r["clock"])
    return "\n".join(lines) + (f"\n\n`~`: within its tolerance (solver.homes_gap, solver.mip_rel_gap). Clock stops: "
                               f"the solves a time limit or stall ended (summary.json `clock`), by stage or search; "
                               f"where none, the variant gives the same files on any machine ({repeatable} of "
                               f"{len(rows)}). Wall seconds of `dpm run` (start-up included). {machine()}, 1 thread, "
                               f"the scenario's time limits. Measured {time.strftime('%Y-%m-%d')}.\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="variants whose name starts with one of these")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per variant")
    parser.add_argument("--out", help="file to write (default: variants.md when every variant runs)")
    args = parser.parse_args()
    names = [n for n in VARIANTS if not args.only or any(n.startswith(p) for p in args.only)]
    rows = []
    for name in names:
        rows.append(one(name, args.timeout))
        print(f"{name}: {rows[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    text = "# Benchmark: variants of the benchmark cases, run as a new user would\n\n" + table(rows)
    print(text)
    out = args.out or (str(HERE / "variants.md") if not args.only else None)
    if out is not None:
        Path(out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
