"""Benchmark: model size, build and per-stage solve seconds, peak memory, per region size.

    python benchmarks/run.py                 # default case + synthetic regions of 5, 10, 20, 40
    python benchmarks/run.py --sizes 5 10    # a subset
    python benchmarks/run.py --time-limit 20 # seconds per stage (default 30)

Each size runs in a fresh process so its peak memory (max RSS) is its own. Prints a table
and writes it to benchmarks/results.md. Also times building the same model as a Pyomo
ConcreteModel, to show what the direct HiGHS path saves.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("continuity", "unfilled", "transfers", "homes_moved")


def one(size: str, time_limit: float) -> dict:
    sys.path.insert(0, str(HERE))
    from synthetic import synthetic_region

    from dpm.model.allocation import build_region_model
    from dpm.model.case import load_case
    from dpm.scenarios import path as package_path
    from dpm.solvers.highs import HighsSolver
    from dpm.solvers.lexicographic import solve_lexicographic

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(str(package_path("voorbeeldregio"))) if size == "default" else \
            synthetic_region(int(size), Path(tmp) / f"region{size}")
        overrides = None if size == "default" else {"solver": {"time_limit_s": time_limit}}
        case = load_case(folder, overrides)
        start = time.perf_counter()
        rm = build_region_model(case, tuple(case.regions))
        solver = HighsSolver(rm.model, case.scenario["solver"])
        build = time.perf_counter() - start
        opts = case.scenario["solver"]
        stages = solve_lexicographic(solver, rm.stages(), rm.start(), opts["stage_tolerance"], opts["homes_gap"]).stages
        t0 = time.perf_counter()
        rm.model.to_pyomo(rm.model.cost({"unfilled": 1.0}))
        pyomo_build = time.perf_counter() - t0
    return {
        "size": size, "corporations": len(case.corporations), **rm.model.size(),
        "build_s": build, "pyomo_build_s": pyomo_build,
        "stages": {s.name: {"seconds": s.seconds, "status": s.status, "gap": s.mip_gap, "objective": s.objective}
                   for s in stages},
        "total_s": build + sum(s.seconds for s in stages),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "restarts": solver.restarts,
    }


def table(rows: list[dict], time_limit: float) -> str:
    head = ["region", "corps", "variables", "integer", "constraints", "nonzeros", "build s", "Pyomo build s",
            *[f"{s} s" for s in STAGES], "total s", "peak MiB", "status (gap)", "unfilled homes", "transfers"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        st = r["stages"]
        limited = [f"{n} {v['gap']:.1%}" for n, v in st.items() if v["status"] != "optimal" and v["gap"] is not None]
        status = "optimal" if not limited else "time limit: " + ", ".join(limited)
        lines.append("| " + " | ".join([
            "voorbeeldregio" if r["size"] == "default" else f"synthetic {r['size']}", str(r["corporations"]),
            f"{r['variables']:,}", f"{r['integer_variables']:,}", f"{r['constraints']:,}", f"{r['nonzeros']:,}",
            f"{r['build_s']:.2f}", f"{r['pyomo_build_s']:.2f}",
            *[f"{st[s]['seconds']:.2f}" if s in st else "" for s in STAGES],
            f"{r['total_s']:.2f}", f"{r['peak_mib']:.0f}", status,
            f"{st['unfilled']['objective']:,.0f}", f"{st['transfers']['objective']:.0f}"]) + " |")
    meta = (f"\nMachine: {platform.machine()}, Python {platform.python_version()}, 1 HiGHS thread; time limit "
            f"{time_limit:g} s per stage for the synthetic regions (the default case uses its scenario's). "
            f"Measured {time.strftime('%Y-%m-%d')}.\n")
    return "\n".join(lines) + "\n" + meta


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="*", default=["default", "5", "10", "20", "40"])
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results.md"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.time_limit)))
        return 0
    rows = []
    for size in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--one", size, "--time-limit", str(args.time_limit)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{size}: {rows[-1]['total_s']:.2f} s", file=sys.stderr)
    text = "# Benchmark: regional allocation\n\n" + table(rows, args.time_limit)
    print(text)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
