"""Stop signals of the ``dpm`` command (SIGINT from Ctrl-C, SIGTERM): what its handler saw, so
that every part of a run honours a stop, also one whose exception library code swallowed.

Measured: a SIGINT that came while numpy was being imported (inside ``abc.register``, called
from a compiled module's init) was lost there, and the run went on, wrote its results folder
and exited 0 (``dpm run`` of the default region stopped 0.5-1 s after its start, on a busy
machine: about one run in 40-60; none in 160 since).
The handler notes each signal before it raises; a results folder is never started once one
is noted (:func:`check`, in ``dpm.results.write_folder``), and the command then ends as
stopped. Light on purpose: imported before pandas, numpy and HiGHS."""
from __future__ import annotations

import signal

requested: list[int] = []  # the stop signals the handler saw in this call of the command


class Stopped(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM: unwinds the run so that nothing half-written stays behind."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def handler(signum, frame) -> None:
    """The command's handler of SIGINT and SIGTERM: note the signal, then unwind."""
    requested.append(signum)
    raise Stopped(signum)


def check() -> None:
    """Raise :class:`Stopped` if a stop signal was noted (none outside the command)."""
    if requested:
        raise Stopped(requested[0])
