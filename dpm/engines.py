"""The local engine: one function over jobs (case, regions, ...) on a process pool, results in
job order, used by ``dpm run`` (its components), ``dpm national`` and ``dpm sweep``. A worker
that dies is survived or named (:func:`map_local`); a stop ends the pool at once
(:func:`_end_workers`). The Dask engine is in :mod:`dpm.nationwide`."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Callable

from dpm.solvers.errors import WorkerLost

Job = tuple  # (case, regions), or (case, regions, start values, money) as solve_regional takes them


def _fault_injection(regions: tuple[str, ...]) -> None:
    """For the tests of a dying worker (issue: faults in the national run): with
    ``DPM_TEST_KILL_WORKER=<region>`` the process solving that region kills itself with
    SIGKILL, as the kernel's out-of-memory killer would; with ``<region>:once`` only the first
    time (a marker file beside ``DPM_TEST_KILL_MARKER`` records it). Unset in normal use."""
    spec = os.environ.get("DPM_TEST_KILL_WORKER")
    if not spec:
        return
    region, _, mode = spec.partition(":")
    if region not in regions:
        return
    if mode == "once":
        marker = os.environ["DPM_TEST_KILL_MARKER"]
        if os.path.exists(marker):
            return
        open(marker, "w").close()
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def in_worker(fn: Callable, *job):
    """``fn(*job)`` as a worker process runs it (``job[1]``: the regions, for the fault tests)."""
    _fault_injection(job[1])
    return fn(*job)


def map_local(jobs: list[Job], progress, workers: int | None, fn: Callable) -> list:
    """``fn(*job)`` for every job (``job[1]``: its regions), on a process pool, results in job
    order (``fn`` a module-level function, e.g. :func:`dpm.nationwide.solve_regional` or
    :func:`dpm.regional.solve_component`); ``progress(done, n, regions)`` as each is done. A worker that dies
    (killed, out of memory) breaks the pool: the jobs not yet done are run again on a new
    pool; if a pool breaks again, each remaining job runs in a process of its own, so that a
    job that kills its worker every time is named."""
    workers = workers or os.cpu_count() or 1
    out: list = [None] * len(jobs)
    if workers == 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs, start=1):
            out[i - 1] = fn(*job)
            progress(i, len(jobs), job[1])
        return out
    done = 0
    todo = list(range(len(jobs)))
    for attempt in range(3):
        width = min(workers, len(todo)) if attempt < 2 else 1
        groups = [todo] if attempt < 2 else [[i] for i in todo]
        failed = []
        for group in groups:
            def on_done(i: int) -> None:
                nonlocal done
                done += 1
                progress(done, len(jobs), jobs[i][1])
            finished, broken = _run_pool(jobs, group, width, out, fn, on_done)
            failed += [i for i in group if i not in finished] if broken else []
        if not failed:
            return out
        todo = failed
    names = "; ".join(" + ".join(jobs[i][1]) for i in todo)
    raise WorkerLost(f"the worker process solving {names} died three times (killed, or out of memory?); "
                     "nothing was written. Try fewer --workers, or run that region alone with 'dpm run'")


def _size(job: Job) -> float:
    """A job's opgave in homes: how long its solve may take, roughly."""
    case, regions = job[0], job[1]
    return float(case.opgave.loc[case.opgave["region"].isin(regions), "homes"].sum())


def _run_pool(jobs: list[Job], group: list[int], width: int, out: list, fn: Callable,
              on_done: Callable[[int], None]) -> tuple[list[int], bool]:
    """Run ``fn`` on ``jobs[group]`` on a fresh pool of ``width`` processes; store results in
    ``out`` and call ``on_done(i)`` as job i finishes. Returns the finished job numbers and
    whether the pool broke (a worker died). Any other exit (a stop signal, an error) cancels
    the jobs not started and ends the workers at once (measured: a SIGTERM to ``dpm run`` of
    the 35 national regions waited 125 s for the pool to finish every job)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    finished = []
    pool = ProcessPoolExecutor(max_workers=width, initializer=_worker_ignores_interrupt)
    try:
        # the largest regions first (their opgave in homes), so that a long solve does not start last
        futures = {pool.submit(in_worker, fn, *jobs[i]): i for i in sorted(group, key=lambda i: -_size(jobs[i]))}
        try:
            for future in as_completed(futures):
                out[futures[future]] = future.result()
                finished.append(futures[future])
                on_done(futures[future])
        except BrokenProcessPool:
            for future, i in futures.items():  # results that came back before the break
                if i not in finished and future.done() and future.exception() is None:
                    out[i] = future.result()
                    finished.append(i)
                    on_done(i)
            return finished, True
    except BaseException:
        _end_workers(pool)
        raise
    pool.shutdown()
    return finished, False


@contextmanager
def beside(fn: Callable, *args, workers: int | None = None):
    """Run ``fn(*args)`` in a process of its own while the block runs in this one; yields a
    function that returns its result (waiting for it). With one worker (``workers == 1``, or
    one core) it runs here, when asked for. A process that dies (killed, out of memory) is
    survived: ``fn`` then runs here. Any exit from the block by an error or a stop ends the
    process at once (:func:`_end_workers`), and so does leaving the block without asking."""
    if (workers or os.cpu_count() or 1) == 1:
        yield lambda: fn(*args)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=1, initializer=_worker_ignores_interrupt)
    future = pool.submit(fn, *args)

    def result():
        try:
            return future.result()
        except BrokenProcessPool:
            return fn(*args)
    try:
        yield result
    finally:
        _end_workers(pool)


def _worker_ignores_interrupt() -> None:
    """A worker leaves Ctrl-C (SIGINT, sent to the whole terminal's process group) to the main
    process, which ends the pool (:func:`_end_workers`): no traceback from every worker."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _end_workers(pool) -> None:
    """Cancel the jobs not started and end the running workers now (the executor has no public
    call for the second: its process table is read before shutdown clears it)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()  # (SIGKILL: nothing in a worker needs cleaning up, and HiGHS would print about a SIGTERM)
    for process in processes:
        process.join(timeout=10)
