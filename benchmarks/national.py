"""Benchmark: the national case (279 corporations, 35 regions) per phase, in total, and peak memory.

    python benchmarks/national.py               # local engine, all cores
    python benchmarks/national.py --engine dask

Prints a table and writes it to benchmarks/national.md. Peak memory is the largest resident
set of this process and of any worker process (max RSS). Targets on the 2-core machine: all
regional stages under 60 s, national solidarity included under 120 s, peak memory under 4 GiB.
"""
from __future__ import annotations

import argparse
import platform
import resource
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="local", choices=["local", "dask"])
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()

    from dpm.model.allocation import build_region_model
    from dpm.model.case import load_case
    from dpm.nationwide import run_national
    from dpm.scenarios import path as package_path

    t = time.perf_counter()
    case = load_case(package_path("nederland"))
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    size = build_region_model(case, tuple(case.regions), aggregate=True, steun=True).model.size()
    build_s = time.perf_counter() - t
    result = run_national(case, engine=args.engine, workers=args.workers)
    summary = result.region_summary()
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    # the slowest component of each parallel phase (a region's final outcome is its whole-homes
    # solve where it gave or received money, else its regional one)
    slowest = max(result.regional, key=lambda o: o.seconds)
    before = {id(o) for o in result.regional}
    again = [o for o in result.final if id(o) not in before] or result.regional
    slowest_again = max(again, key=lambda o: o.seconds)
    rows = [
        ("load and validate the case", f"{load_s:.2f}", "279 corporations, 35 regions"),
        ("build the national model (once more, for its size)", f"{build_s:.2f}",
         f"{size['variables']:,} variables ({size['integer_variables']:,} integer), "
         f"{size['constraints']:,} rows, {size['nonzeros']:,} nonzeros"),
        ("regional stages 1-2, all regions in parallel", f"{result.seconds['regional']:.1f}",
         f"slowest region {' + '.join(slowest.regions)}: {slowest.seconds:.1f} s"),
        ("national solidarity LP, donors re-plan (3 stages; the free-timing bound beside it)",
         f"{result.seconds['national_lp']:.1f}", ", ".join(f"{s.name} {s.seconds:.1f} s" for s in result.stages)),
        ("paying donors and receiving regions, whole homes, in parallel", f"{result.seconds['whole_homes']:.1f}",
         f"{(summary['steun_out_eur'] > 0).sum()} donor and {(summary['steun_in_eur'] > 0).sum()} receiving regions; "
         f"slowest {' + '.join(slowest_again.regions)}: {slowest_again.seconds:.1f} s"),
        ("total (regional + national)", f"{result.seconds['total']:.1f}", ""),
        ("peak memory (MiB, largest process)", f"{peak:,.0f}", ""),
    ]
    table = ["| phase | seconds | detail |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    gap = result.shortfall_homes - result.bound_homes
    facts = (f"National shortfall {result.shortfall_homes:,} homes (regions alone: "
             f"{int(summary['unfilled_regional_homes'].sum()):,}); lower bound of MODEL.md 6 {result.bound_homes:,.0f} "
             f"(gap {gap:,.0f} homes, {gap / max(result.bound_homes, 1):.2%}); money timing "
             f"{case.scenario.money.timing}"
             + (f", bound with money free in time {result.bound_free_timing_homes:,.0f}"
                if result.bound_free_timing_homes is not None else "")
             + f"; pool EUR {result.flows['steun_out_eur'].sum() / 1e6:,.1f} mln"
             + f"; solves ended by a clock: {sum(result.clock_stops.values())}"
             + (" (a repeat gives the same tables)." if not result.clock_stops else f" ({result.clock_stops})."))
    text = "\n".join([f"# Benchmark: national case ({args.engine} engine)", "", *table, "", facts, "",
                      f"Machine: {platform.machine()}, Python {platform.python_version()}, "
                      f"{args.workers or 'all'} worker processes; scenario limits: "
                      f"{case.scenario.solver.time_limit_s} s per stage, homes_gap "
                      f"{case.scenario.solver.homes_gap}. Measured {time.strftime('%Y-%m-%d')}.", ""])
    print(text)
    (HERE / f"national{'-dask' if args.engine == 'dask' else ''}.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
