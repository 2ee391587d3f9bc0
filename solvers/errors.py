"""Solver and engine outcomes the command line reports (kept free of heavy imports: the CLI loads it first)."""


class NoSolution(RuntimeError):
    """A stage ended without any feasible solution (e.g. its time limit before a first one)."""


class EngineUnavailable(RuntimeError):
    """The chosen parallel engine cannot run here (e.g. Dask is not installed)."""


class WorkerLost(RuntimeError):
    """A worker process of a parallel run died (killed, out of memory) and could not be replaced."""
