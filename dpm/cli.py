"""The ``dpm`` command.

    dpm run CASE [--report] [--verbose]  solve a case, write its results folder
    dpm room CASE                        investment room per corporation (handreiking step 2)
    dpm steun CASE [--no-curve]          projectsteun: the least money that fills the whole opgave
    dpm national CASE [--engine dask]    all regions in parallel, then national solidarity
    dpm sweep CASE --vary KEY=V1,V2      every combination of scenario values, one table
    dpm report RESULTS_DIR               report.xlsx and report.html of a results folder
    dpm validate CASE                    check a case without solving it

Commands that write take --out DIR (default results/<case>[-what]-<timestamp>/) and --force.

Exit codes: 0 done, 1 no solution could be found, 2 bad input or refused output folder,
130 / 143 stopped by SIGINT (Ctrl-C) / SIGTERM: no results folder, or a complete one.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from dpm import stops
from dpm.model.errors import CaseError
from dpm.solvers.errors import EngineUnavailable, NoSolution, WorkerLost

# pandas, numpy and HiGHS are imported inside the commands, after the stop-signal handlers
# are in place: a Ctrl-C during start-up then also ends cleanly.


def _fmt_int(n: int) -> str:
    from dpm.results import thousands

    return thousands(n)


def print_region_table(run, out=None) -> None:
    """One line per region (component): unfilled homes by type, transfers, continuity gap, seconds."""
    from dpm.model.scenario import TYPES

    out = out or sys.stdout
    head = ["region", *[f"unfilled {k}" for k in TYPES], "transfers", "homes moved",
            "continuity gap (EUR mln)", "allocation", "solidarity", "seconds"]
    rows = []
    for c in run.components:
        o = c.objectives
        rows.append([" + ".join(c.regions), *[_fmt_int(o["unfilled_homes_by_type"][k]) for k in TYPES],
                     str(o["transfers"]), _fmt_int(o["homes_moved"]), f"{o['continuity_gap_eur'] / 1e6:,.1f}",
                     _stage_status(c.stages, ("continuity", "unfilled")),
                     _stage_status(c.stages, ("transfers", "unfilled_on_relations", "homes_moved", "efficiency")),
                     f"{c.build_seconds + sum(s.seconds for s in c.stages):.2f}"])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    years = run.case.scenario.policy_calendar_years
    print(f"Unfilled homes over the policy period {years[0]}-{years[-1]} (homes):", file=out)
    print(line(head), file=out)
    for r in rows:
        print(line(r), file=out)


def _stage_status(stages, names) -> str:
    """The worst status of the stages ``names``, with its gap when not proven: the allocation
    (continuity, unfilled) and the solidarity plan (transfers and after) are shown apart, so
    an efficiency gap is never read as the allocation's."""
    from dpm.results import _worst

    mine = [s for s in stages if s.name in names]
    if not mine:
        return "-"
    worst = _worst(s.status for s in mine)
    gaps = [s.mip_gap for s in mine if s.status == worst and s.mip_gap]
    # (two significant digits: a homes-moved stop 2 homes of 6,659 from its bound reads 0.03 %, not 0.0 %)
    return worst + (f" (gap {100 * max(gaps):.2g}%)" if gaps and worst != "optimal" else "")


def print_tradeoff(run, out=None) -> None:
    """One line per region: the relations needed at each unfilled limit (the trade-off curve)."""
    out = out or sys.stdout
    years = run.case.scenario.policy_calendar_years
    for c in run.components:
        t = c.tradeoff
        if t is None or t.empty or "relations" not in t:
            continue
        points = []
        for r in t.dropna(subset=["relations"]).itertuples():
            proof = "" if r.status == "optimal" else f" (bound {int(r.relations_bound)})"
            mark = "*" if r.run_tolerance else ""
            points.append(f"+{r.tolerance_share:.2%}{mark}: {int(r.relations)}{proof} for {_fmt_int(int(r.unfilled_homes))}")
        print(f"Trade-off {' + '.join(c.regions)}, unfilled limit above the optimum -> fewest relations for the "
              f"homes left unfilled over {years[0]}-{years[-1]} (* this run): " + "; ".join(points), file=out)


def _progress(render, log=None):
    """A one-line progress display on a terminal, rewritten in place and cleared when done
    (``render(*args)`` gives the text). On a pipe or file, ``log`` (None: nothing), which
    writes plain lines of its own, so that a log shows a long run moving but stays short."""
    if not sys.stderr.isatty():
        return log
    start = time.perf_counter()

    def show(*args) -> None:
        sys.stderr.write(f"\r\033[K{render(*args)} ({time.perf_counter() - start:.0f} s)")
        sys.stderr.flush()
    return show


def _workers(text: str) -> int:
    """--workers: a whole number of at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return n


def _stage_line(i: int, n: int, regions: tuple[str, ...], stage: str | None) -> str:
    if stage is None:  # components solved in parallel: i of n done
        return f"[{i}/{n}] regions solved, the last {' + '.join(regions)}"
    return f"[{i}/{n}] {' + '.join(regions)}: stage '{stage}'"


def _component_log():
    """``dpm run`` on a pipe or in a log: with several regions, one line on stderr per region
    (component), as it starts (one by one) or is solved (on a process pool); a single region
    writes none."""
    start = time.perf_counter()
    said: set[tuple[str, ...]] = set()

    def log(i: int, n: int, regions: tuple[str, ...], stage: str | None) -> None:
        if n > 1 and regions not in said:
            said.add(regions)
            what = "solved" if stage is None else "solving"
            print(f"[{i}/{n}] {what} {' + '.join(regions)} ({time.perf_counter() - start:.0f} s)", file=sys.stderr,
                  flush=True)
    return log


def _bar(what: str):
    def render(done: int, total: int, regions) -> str:
        filled = int(30 * done / max(total, 1))
        return f"[{'#' * filled}{'-' * (30 - filled)}] {done}/{total} {what}"
    return render


def _write(out: Path, files: dict, force: bool) -> None:
    """Write a results folder whole or not at all, noting it once complete (for a stop signal)."""
    from dpm.results import write_folder

    write_folder(out, files, force, on_done=lambda: _written.append(out))


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _out_folder(args, case_name: str, what: str = "") -> Path:
    """The folder to write: --out, or results/<case>[-what]-<timestamp>/, checked against the
    output rules (``dpm.outputs``) before anything is solved: an OutputRefused (exit 2)
    names what is wrong."""
    from dpm.outputs import check_out

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out is not None else Path("results") / f"{case_name}{'-' + what if what else ''}-{stamp}"
    check_out(out, [args.case], args.force)
    return out


def _say_case_notes(case, warnings: bool = False) -> None:
    """Say what a user must know about the input before the numbers: money coming in from a
    steun.csv, and (for validate; a run prints them with its other warnings) unusual values."""
    note = case.steun_note()
    if note:
        print(note)
    if warnings:
        for w in case.warnings:
            print(f"warning: {w}", file=sys.stderr)


def cmd_run(args) -> int:
    from dpm.explain import sentences
    from dpm.model.case import load_case
    from dpm.results import OUTPUTS, write_results
    from dpm.regional import clock_summary, run_case

    previous = None
    if args.from_summary is not None:
        from dpm.repeat import previous_run

        if args.case is not None:
            raise CaseError("--from-summary", "give either a case or --from-summary, not both")
        previous = previous_run(args.from_summary)
        args.case = previous.case_path
        args.tradeoff = args.tradeoff or previous.had_tradeoff  # (the same tables as the first run)
    elif args.case is None:
        raise CaseError("dpm run", "give a case folder (or --from-summary results/.../summary.json)")
    case = load_case(args.case, overrides={"solver": {"backend": args.solver}} if args.solver else None,
                     overrides_source="--solver")
    efficiency = case.scenario.allocation.efficiency
    if args.tradeoff and efficiency != "transfers":  # (refused before the solve, like any bad input)
        raise CaseError("--tradeoff", f'the trade-off curve is of the fewest transfer relations, for efficiency = '
                        f'"transfers"; this case\'s scenario sets "{efficiency}" (drop --tradeoff, or set efficiency '
                        f'= "transfers")', field="allocation.efficiency")
    out = _out_folder(args, case.name)
    _say_case_notes(case)
    run = run_case(case, verbose=args.verbose,
                   progress=_progress(_stage_line, _component_log()) if not args.verbose else None,
                   tradeoff=args.tradeoff, workers=args.workers)
    _clear_progress()
    print_region_table(run)
    print_tradeoff(run)
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if run.clock_stops:
        print(f"note: {clock_summary(run.clock_stops)['note']}", file=sys.stderr)
    extra = {}
    if args.report:
        from dpm.report import report_writers
        extra = report_writers()
    write_results(run, out, force=args.force, on_done=lambda: _written.append(out), extra=extra)
    reasons = sentences(run.table("diagnosis"))
    if reasons:
        print("\nWhy homes stay unfilled:")
        for sentence in reasons:
            print(f"- {sentence}")
    written = [*OUTPUTS, *(["tradeoff.csv"] if args.tradeoff else []), *extra]
    print(f"\nResults written to {out}/ ({', '.join(written)}); total {run.seconds:.2f} s")
    if previous is not None:
        same, differ = previous.compare(out)
        if differ:
            print(f"Repeat of {previous.folder}/: {len(differ)} file(s) differ: {', '.join(differ)}; "
                  f"{len(same)} identical")
            clocked = [what for what, stops in (("the first run", previous.clock_stops), ("this run", run.clock_stops))
                       if stops]
            if clocked:
                print(f"A clock ended solves in {' and in '.join(clocked)} (summary.json, 'clock'): where a time "
                      "limit decides, runs can differ")
            return 1
        print(f"Repeat of {previous.folder}/: all {len(same)} result tables are byte-identical"
              + (" (tradeoff.csv but for its seconds)" if "tradeoff.csv" in same else ""))
    return 0


def cmd_room(args) -> int:
    from dpm.model.case import load_case
    from dpm.model.room import investment_room
    from dpm.results import table_files

    case = load_case(args.case)
    out = _out_folder(args, case.name, "room")
    room = investment_room(case)
    cells = room.assign(cell=[f"{_fmt_int(r.homes)} ({r.binding_limit} {r.binding_year})" if r.binding_limit != "none"
                              else f"{_fmt_int(r.homes)} (no limit)" for r in room.itertuples()])
    table = cells.pivot(index="corporation_id", columns="type", values="cell")
    print(f"Investment room per corporation, {case.scenario.policy_calendar_years[0]}-"
          f"{case.scenario.policy_calendar_years[-1]}: homes it can add on its own, one type at a time "
          "(the limit and year one home more would break):")
    print(table.to_string())
    _write(out, table_files({"investment_room.csv": room}), args.force)
    print(f"\nWritten to {out}/investment_room.csv (homes, investment_eur in nominal EUR, binding limit and year)")
    return 0


def cmd_steun(args) -> int:
    from dpm.model.case import load_case
    from dpm.money import projectsteun

    case = load_case(args.case)
    out = _out_folder(args, case.name, "steun")
    results = projectsteun(case, with_curve=not args.no_curve)
    for r in results:
        name = " + ".join(r.regions)
        if r.steun.empty:
            print(f"{name}: no projectsteun needed: the whole opgave can be filled with every limit met")
            continue
        per_year = r.steun.groupby("year")["steun_eur"].sum()
        print(f"{name}: projectsteun needed EUR {r.total_discounted_eur / 1e6:,.1f} mln (discounted to "
              f"{case.scenario.base_year}), EUR {r.steun['steun_eur'].sum() / 1e6:,.1f} mln nominal, from "
              f"{per_year.index.min()}; per corporation (EUR mln, nominal):")
        for cid, eur in r.steun.groupby("corporation_id")["steun_eur"].sum().items():
            print(f"  {cid} {case.corporations.at[cid, 'name']}: {eur / 1e6:,.1f}")
        if r.free_timing_discounted_eur is not None:
            print(f"  money follows the projects (money.timing); paid free in time it would be EUR "
                  f"{r.free_timing_discounted_eur / 1e6:,.1f} mln (discounted)")
        if r.residual.get("unfilled_homes") or r.residual.get("continuity_gap_eur"):
            print(f"  money tied to projects cannot close everything: {_fmt_int(r.residual['unfilled_homes'])} homes "
                  f"stay unfilled, continuity gap EUR {r.residual['continuity_gap_eur'] / 1e6:,.1f} mln")
        if len(r.curve):
            print("  money (EUR mln, discounted) -> unfilled homes: " + ", ".join(
                f"{b / 1e6:,.1f} -> {_fmt_int(u)}" for b, u in zip(r.curve["budget_discounted_eur"],
                                                                   r.curve["unfilled_homes"])))
    results.to_folder(out, args.force, on_done=lambda: _written.append(out))
    print(f"\nWritten to {out}/ (steun.csv, steun_curve.csv, summary.json); total {results.seconds:.2f} s")
    return 0


def cmd_national(args) -> int:
    from dpm.model.case import load_case
    from dpm.nationwide import run_national

    case = load_case(args.case)
    out = _out_folder(args, case.name, "national")
    result = run_national(case, engine=args.engine, address=args.address, workers=args.workers,
                          solidarity=not args.no_solidarity, progress=_progress(_bar("regions")))
    _clear_progress()
    print("\n".join(result.lines(engine=args.engine)))
    tables = result.tables()
    result.to_folder(out, args.force, engine=args.engine, on_done=lambda: _written.append(out))
    print(f"\nWritten to {out}/ ({', '.join([*tables, 'summary.json'])})")
    return 0


def cmd_sweep(args) -> int:
    from dpm.model.case import load_case
    from dpm.sweeps import sweep

    base = load_case(args.case)
    out = _out_folder(args, base.name, "sweep")
    result = sweep(base, args.vary, engine=args.engine, address=args.address, workers=args.workers,
                   progress=_progress(_bar("solves")))
    _clear_progress()
    for line in result.summary_lines():
        print(line)
    result.to_folder(out, force=args.force, on_done=lambda: _written.append(out))
    print(f"\nWritten to {out}/sweep.csv")
    return 0


def pd_concat(frames):
    import pandas as pd

    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def cmd_report(args) -> int:
    from dpm.report import REPORT_FILES, Results, report_writers
    from dpm.results import write_into

    from dpm.outputs import check_results_folder

    folder = check_results_folder(args.results)
    try:
        Results.read(folder)
    except (FileNotFoundError, NotADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    write_into(folder, report_writers())
    print(f"Report written to {folder}/ ({', '.join(REPORT_FILES)})")
    return 0


def cmd_validate(args) -> int:
    from dpm.model.case import load_case

    case = load_case(args.case)
    _say_case_notes(case, warnings=True)
    print(f"{args.case}: valid; {len(case.corporations)} corporations in {len(case.regions)} region(s), "
          f"{_fmt_int(int(case.opgave['homes'].sum()))} homes of opgave "
          f"{case.scenario.policy_calendar_years[0]}-{case.scenario.policy_calendar_years[-1]}")
    return 0


_written: list[Path] = []  # results folders completed in this call of main (read when a stop signal comes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dpm", description="Opgaven & Middelen: allocate a woondeal region's "
                                     "opgave across its housing corporations (Duurzaam Prestatiemodel).")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="solve a case and write its results folder")
    run.add_argument("case", nargs="?", help="case folder with corporations.csv, opgave.csv, scenario.toml")
    run.add_argument("--from-summary", metavar="SUMMARY_JSON",
                     help="repeat the run that wrote this summary.json (same inputs, checked by SHA-256) "
                          "and say whether the outputs are identical")
    run.add_argument("--out", help="results folder (default results/<case>-<timestamp>/)")
    run.add_argument("--force", action="store_true", help="replace an existing --out folder")
    run.add_argument("--verbose", action="store_true", help="show the HiGHS log")
    run.add_argument("--solver", metavar="BACKEND",
                     help="'highs' (default: HiGHS direct) or 'pyomo:NAME' to solve the same stages through "
                          "Pyomo with solver NAME (appsi_highs, cbc, glpk, gurobi, cplex, ...)")
    run.add_argument("--report", action="store_true", help="also write report.xlsx and report.html")
    run.add_argument("--tradeoff", action="store_true",
                     help="also the trade-off curve: fewest relations at the exact unfilled optimum and at "
                          "+0.25/0.5/1/2 %% (tradeoff.csv, one line on screen, a chart in the report; needs "
                          "efficiency = \"transfers\")")
    run.add_argument("--workers", type=_workers, help="regions (components) solved at once, a process each "
                                                       "(default: the machine's cores; 1: one by one)")
    run.set_defaults(func=cmd_run)
    room = sub.add_parser("room", help="investment room per corporation on its own (handreiking step 2)")
    room.add_argument("case", help="case folder or .xlsx workbook")
    room.add_argument("--out", help="folder to write (default results/<case>-room-<timestamp>/)")
    room.add_argument("--force", action="store_true", help="replace an existing --out folder")
    room.set_defaults(func=cmd_room)
    steun = sub.add_parser("steun", help="projectsteun: the least money that fills the whole opgave")
    steun.add_argument("case", help="case folder or .xlsx workbook")
    steun.add_argument("--out", help="folder to write (default results/<case>-steun-<timestamp>/)")
    steun.add_argument("--force", action="store_true", help="replace an existing --out folder")
    steun.add_argument("--no-curve", action="store_true", help="skip the curve of money against unfilled homes")
    steun.set_defaults(func=cmd_steun)
    nat = sub.add_parser("national", help="all regions in parallel, then national solidarity")
    nat.add_argument("case", help="case folder or .xlsx workbook with all regions")
    nat.add_argument("--engine", choices=["local", "dask"], default="local",
                     help="local: a process pool; dask: a Dask cluster (local unless --address)")
    nat.add_argument("--address", help="address of a running Dask scheduler (with --engine dask)")
    nat.add_argument("--workers", type=_workers, help="worker processes (default: the machine's cores)")
    nat.add_argument("--no-solidarity", action="store_true", help="no national pool: the regions one by one")
    nat.add_argument("--out", help="folder to write (default results/<case>-national-<timestamp>/)")
    nat.add_argument("--force", action="store_true", help="replace an existing --out folder")
    nat.set_defaults(func=cmd_national)
    sweep = sub.add_parser("sweep", help="every combination of scenario values, one table (stages 1-2)")
    sweep.add_argument("case", help="case folder or .xlsx workbook")
    sweep.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2",
                       help="a scenario key (section.key, or a unique key name) and its values; repeatable")
    sweep.add_argument("--engine", choices=["local", "dask"], default="local")
    sweep.add_argument("--address", help="address of a running Dask scheduler (with --engine dask)")
    sweep.add_argument("--workers", type=_workers, help="worker processes (default: the machine's cores)")
    sweep.add_argument("--out", help="folder to write (default results/<case>-sweep-<timestamp>/)")
    sweep.add_argument("--force", action="store_true", help="replace an existing --out folder")
    sweep.set_defaults(func=cmd_sweep)
    report = sub.add_parser("report", help="write report.xlsx and report.html into a results folder")
    report.add_argument("results", help="a results folder written by 'dpm run'")
    report.set_defaults(func=cmd_report)
    val = sub.add_parser("validate", help="check a case's files without solving")
    val.add_argument("case")
    val.set_defaults(func=cmd_validate)
    args = parser.parse_args(argv)
    _written.clear()
    stops.requested.clear()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {sig: signal.signal(sig, stops.handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = args.func(args)
        if stops.requested:  # (a stop whose exception library code swallowed: see dpm.stops)
            return _stopped(stops.requested[0])
        return code
    except CaseError as err:
        _clear_progress()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (NoSolution, WorkerLost) as err:
        _clear_progress()
        print(f"error: {err}", file=sys.stderr)
        return 1
    except EngineUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. 'head', which stopped reading
        sys.stderr.close()
        return 0
    except Exception:
        if not stops.requested:  # a real error
            raise
        return _stopped(stops.requested[0])  # e.g. an import that turned the interrupt into ImportError
    except KeyboardInterrupt as err:
        return _stopped(getattr(err, "signum", signal.SIGINT))
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        stops.requested.clear()  # (a library call after this one, in the same process, is not stopped)


def _stopped(signum: int) -> int:
    """Say how a stop signal ended the run; the exit code is 128 + the signal number."""
    _clear_progress()
    name = signal.Signals(signum).name
    if _written:
        print(f"stopped ({name}) after the results were complete in {_written[-1]}/", file=sys.stderr)
    else:
        print(f"stopped ({name}): nothing written", file=sys.stderr)
    return 128 + signum


def entry() -> None:
    """The ``dpm`` command: :func:`main`, then the exit. After a stop signal the process ends at
    once (``os._exit``, output flushed): a HiGHS thread still solving at interpreter shutdown
    aborts the process ("terminate called without an active exception", exit -6, seen under
    load) instead of exiting with 128 + the signal number. Everything dpm writes is complete
    or removed by then (``dpm.results``)."""
    code = main()
    if code in (128 + signal.SIGINT, 128 + signal.SIGTERM):  # (stopped: see _stopped)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
