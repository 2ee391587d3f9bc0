"""Benchmark: a region's run end to end, per stage: seconds, status and gap; model size; peak memory.

    python benchmarks/run.py                       # default case, its variants, synthetic 5/10/20/40
    python benchmarks/run.py --cases default x2    # a subset
    python benchmarks/run.py --tradeoff            # also time the trade-off curve (dpm run --tradeoff)

Cases: ``default`` (scenarios/voorbeeldregio); its variants ``rent`` (rent_growth 1.5 %), ``x2``
(nieuwbouw opgave x2), ``x2icr`` (x2 and icr_min 1.8) and ``x1.5`` (nieuwbouw x1.5: a variant
not tuned for, where whole homes are tight); synthetic regions of N corporations
(``5``, ``10``, ``20``, ``40``, benchmarks/synthetic.py); ``linked``: two copies of the default
region, the second with x2 nieuwbouw, linked by one corporation's werkgebied. Each runs in a
fresh process so its peak memory (max RSS) is its own, with the scenario's own time limits.
Prints a table and writes it to benchmarks/results.md (with --tradeoff: benchmarks/tradeoff.md);
a subset of the cases is only printed unless --out says where.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("continuity", "unfilled", "unfilled_timing", "transfers", "unfilled_on_relations", "homes_moved")
CASES = ("default", "rent", "x2", "x2icr", "x1.5", "5", "10", "20", "40", "linked")


# nieuwbouw factor of each region linked after the default one (``linked``, ``chain``): region k
# is a copy of the default with its own corporations, and corporation 02 of the region before it
# may also work in it (a werkgebied)
LINKED = {"linked": (2.0,), "chain": (1.6, 2.2)}
LINKED_REGIONS = (("W", "Tweede regio"), ("X", "Derde regio"), ("Y", "Vierde regio"))


def make_case(name: str, folder: Path) -> Path:
    """The case folder of benchmark case ``name`` (see the module doc); besides those, for the
    family of benchmarks/variants.py: ``N@S`` a synthetic region of N corporations of seed S,
    ``N+M@S`` two synthetic regions linked both ways, ``chain`` three copies of the default
    region (nieuwbouw x1, x1.6, x2.2) linked in a chain."""
    import pandas as pd

    sys.path.insert(0, str(HERE))
    from synthetic import linked_synthetic, synthetic_region

    from dpm.scenarios import path as package_path

    default = Path(str(package_path("voorbeeldregio")))
    if name.isdigit():
        return synthetic_region(int(name), folder / f"region{name}")
    if "@" in name:
        sizes, seed = name.split("@")
        if "+" in sizes:
            return linked_synthetic([int(n) for n in sizes.split("+")], folder / "linked", int(seed))
        return synthetic_region(int(sizes), folder / f"region{sizes}", seed=int(seed))
    case = Path(shutil.copytree(default, folder / name, ignore=shutil.ignore_patterns("*.md")))
    opg = pd.read_csv(case / "opgave.csv", dtype={"corporation_id": str}, keep_default_na=False)
    extra = {"rent": "[economy]\nrent_growth = 0.015\n", "x2icr": "[norms]\nicr_min = 1.8\n"}.get(name, "")
    nieuwbouw = opg["type"] == "nieuwbouw"

    def scaled(factor: float) -> pd.DataFrame:
        out = opg.copy()
        out.loc[nieuwbouw, "homes"] = (out.loc[nieuwbouw, "homes"] * factor).round().astype(int)
        return out

    if name in ("x2", "x2icr", "x1.5"):
        scaled(1.5 if name == "x1.5" else 2).to_csv(case / "opgave.csv", index=False)
    if name in LINKED:
        corp = pd.read_csv(case / "corporations.csv", dtype=str, keep_default_na=False)
        corps, opgs = [corp], [opg]
        for factor, (prefix, region) in zip(LINKED[name], LINKED_REGIONS):
            corps[-1].loc[corps[-1]["corporation_id"].str[1:] == "02", "werkgebied"] = region
            corps.append(corp.assign(corporation_id=prefix + corp["corporation_id"].str[1:], region=region,
                                     werkgebied=""))
            more = scaled(factor)
            opgs.append(more.assign(region=region,
                                    corporation_id=more["corporation_id"].str.replace("V", prefix, regex=False)))
        pd.concat(corps).to_csv(case / "corporations.csv", index=False)
        pd.concat(opgs).to_csv(case / "opgave.csv", index=False)
    with open(case / "scenario.toml", "a") as f:
        f.write("\n" + extra)
    return case


def one(name: str, tradeoff: bool) -> dict:
    from dpm.model.case import load_case
    from dpm.regional import run_case

    with tempfile.TemporaryDirectory() as tmp:
        case = load_case(make_case(name, Path(tmp)))
        start = time.perf_counter()
        run = run_case(case, tradeoff=tradeoff, workers=None)  # (as dpm run: the machine's cores)
        wall = time.perf_counter() - start
    comps = run.components
    stages: dict = {}
    for c in comps:
        for s in c.stages:
            mine = stages.setdefault(s.name, {"seconds": 0.0, "status": "optimal", "gap": None, "objective": 0.0})
            mine["seconds"] += s.seconds
            mine["objective"] += s.objective or 0.0
            if s.status != "optimal":
                mine["status"] = s.status
                mine["gap"] = max(mine["gap"] or 0.0, s.mip_gap or 0.0)
    # the curve's wall time: the run's own point (its transfers stage) and the extra points' wall time
    # (on a pool of the machine's cores, dpm.efficiency.tradeoff_curve); "curve work": the points' seconds summed
    curve = sum(float(c.tradeoff.loc[c.tradeoff["run_tolerance"].eq(True), "seconds"].sum()) + c.tradeoff_seconds
                for c in comps if c.tradeoff is not None)
    work = sum(float(c.tradeoff["seconds"].sum()) for c in comps if c.tradeoff is not None)
    size = comps[0].size
    return {"case": name, "corporations": len(case.corporations), "components": len(comps),
            "variables": size["variables"], "integer_variables": size["integer_variables"],
            "constraints": size["constraints"], "nonzeros": size["nonzeros"],
            "build_s": sum(c.build_seconds for c in comps), "stages": stages,
            "solve_s": sum(v["seconds"] for v in stages.values()), "wall_s": wall, "curve_s": curve, "curve_work_s": work,
            "unfilled_homes": sum(c.objectives["unfilled_homes"] for c in comps),
            "transfers": sum(c.objectives["transfers"] for c in comps),
            "clock_stops": sum(run.clock_stops.values()),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _cell(stage: dict | None) -> str:
    if stage is None:
        return ""
    mark = "" if stage["status"] == "optimal" else \
        (" ~" if stage["status"] == "within_tolerance" else f" {stage['status']}")
    gap = f" {stage['gap']:.1%}" if stage["status"] != "optimal" and stage["gap"] else ""
    return f"{stage['seconds']:.2f}{mark}{gap}"


def machine() -> str:
    """The machine line of a benchmark table."""
    return f"Machine: {platform.machine()}, Python {platform.python_version()}"


def table(rows: list[dict], tradeoff: bool) -> str:
    head = ["case", "corps", "variables", "integer", "constraints", "build s", *[f"{s} s" for s in STAGES],
            "solve s", "wall s", *(["curve s", "curve work s"] if tradeoff else []), "peak MiB", "unfilled homes", "relations",
            "relations bound", "clock stops"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        st = r["stages"]
        t = st.get("transfers", {})
        bound = "" if not t else f"{t['objective'] * (1 - (t['gap'] or 0.0)):.0f}"
        lines.append("| " + " | ".join([
            r["case"], str(r["corporations"]), f"{r['variables']:,}", f"{r['integer_variables']:,}",
            f"{r['constraints']:,}", f"{r['build_s']:.2f}", *[_cell(st.get(s)) for s in STAGES],
            f"{r['solve_s']:.2f}", f"{r['wall_s']:.2f}", *([f"{r['curve_s']:.1f}", f"{r['curve_work_s']:.1f}"] if tradeoff else []),
            f"{r['peak_mib']:.0f}", f"{r['unfilled_homes']:,}", str(r["transfers"]), bound,
            str(r.get("clock_stops", ""))]) + " |")
    meta = (f"\nStage cells: seconds, then `~` within its tolerance (solver.homes_gap / mip_rel_gap) or the status "
            f"and gap where not proven. {machine()}, the "
            f"scenario's solver settings (1 thread; efficiency stages 10 s, the tie-breaks unfilled_timing and homes_moved 8 of HiGHS's checks after their searches, 20 checks to prove a tolerance stop exact, each with a 3 s safety net). Clock stops: the solves a time limit or stall ended, stages and searches inside them (summary.json `clock`); where 0, the case gives the same files however fast the machine. Measured {time.strftime('%Y-%m-%d')}.\n")
    if tradeoff:
        meta += ("Curve s: the trade-off curve's wall time, the run's own point (its transfers stage) and the extra "
                 "points (on a pool of the machine's cores, as dpm run --tradeoff); curve work s: its points' seconds "
                 "summed.\n")
    return "\n".join(lines) + "\n" + meta


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--tradeoff", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="file to write (default: results.md for all cases, tradeoff.md for all "
                                       "cases with --tradeoff; a subset is only printed, so the record is not "
                                       "overwritten by part of it)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.tradeoff)))
        return 0
    rows = []
    for name in args.cases:
        done = subprocess.run([sys.executable, __file__, "--one", name, *(["--tradeoff"] if args.tradeoff else [])],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{name}: {rows[-1]['wall_s']:.2f} s", file=sys.stderr)
    text = "# Benchmark: regional allocation\n\n" + table(rows, args.tradeoff)
    print(text)
    out = args.out
    if out is None and set(args.cases) == set(CASES):
        out = str(HERE / ("tradeoff.md" if args.tradeoff else "results.md"))
    if out is not None:
        Path(out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
