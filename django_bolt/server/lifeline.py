"""A worker must not outlive the process that supervises it.

When runbolt's parent dies without stopping its workers (``kill -9``, the OOM killer, a process
manager that SIGKILLs only the pid it started), an orphaned worker would keep serving code
nobody supervises, on a port the restarted server then cannot take over. Two mechanisms end it:

- on Linux, the kernel's parent-death signal (``prctl(PR_SET_PDEATHSIG)``): SIGTERM the moment
  the parent exits. It is set in the child right after ``fork()``, survives ``exec`` (the
  fresh-interpreter workers of a reload) and is re-checked against the expected parent pid,
  since a parent that died before the call would never send it;
- everywhere, the worker's main thread polls :func:`orphaned` once a second, while it serves
  and while it drains.

The signal alone does not tell a worker it is an orphan: the parent's own SIGTERM looks the
same. Nor does :func:`orphaned` at the moment the signal comes: the kernel sends the signal when
the *thread* that forked the worker exits, and while the parent's other threads (its log
writers) are still on their way out the worker is re-parented to one of them, whose pid is the
parent's. Only once the last one is gone does ``getppid()`` change (and a second signal comes).
So the worker keeps polling while it drains, and cuts the drain short when the parent is gone.

An orphan drains only for :data:`ORPHAN_DRAIN_S`: nobody is left to SIGKILL it after
``--workers-kill-timeout``, and the server that replaces it wants the port and the database.

The other side of that relation lives here too: the bytes a worker writes on its pipe to the
parent and the exit status of a worker that could not start (kept here, not in ``worker.py``, so
that the parent can read them without importing the worker's event loop and protocol), and
:func:`describe_exit`, which words how a child ended, for the parent's log and the ``--dev``
watcher's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import Final

__all__ = (
    "EXIT_STARTUP_FAILED",
    "MSG_READY",
    "MSG_RECYCLE",
    "ORPHAN_DRAIN_S",
    "describe_exit",
    "orphan_drain_s",
    "orphaned",
    "stop_when_parent_dies",
)

# Bytes a worker writes on its pipe to the parent.
MSG_READY: Final = b"R"
MSG_RECYCLE: Final = b"C"
# Exit status of a worker whose application failed to start (the traceback is on stderr).
EXIT_STARTUP_FAILED: Final = 3
# How long an orphaned worker lets its in-flight requests finish before it closes them.
ORPHAN_DRAIN_S: Final = 3.0
# <linux/prctl.h>
_PR_SET_PDEATHSIG: Final = 1


def stop_when_parent_dies(parent_pid: int) -> None:
    """Have this process receive SIGTERM when ``parent_pid`` (its parent) exits.

    Call it first thing in the child. A no-op where prctl is missing; :func:`orphaned` polled
    from the worker's tick is the fallback there.
    """
    if sys.platform.startswith("linux"):
        # OSError: no libc to load; AttributeError: a libc without prctl.
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    # The parent may have died before prctl took effect: then no signal will ever come.
    if orphaned(parent_pid):
        os.kill(os.getpid(), signal.SIGTERM)


def orphaned(parent_pid: int | None) -> bool:
    """Whether the parent this process was started by is gone (``None``: no parent to watch).

    Once the parent dies the process is re-parented (to init or a subreaper), so its parent
    pid changes; pids are not reused while this process still holds the old one as its parent.
    Not before the parent's last thread has exited, though: see the module's docstring.
    """
    return parent_pid is not None and os.getppid() != parent_pid


def orphan_drain_s(drain_s: float) -> float:
    """Return the drain an orphan gets instead of ``drain_s``."""
    return min(drain_s, ORPHAN_DRAIN_S)


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by SIGKILL`` (``returncode`` as in ``subprocess``)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"
