"""A worker started as a fresh interpreter: ``python -m django_bolt.server.handover``.

Every worker starts this way unless ``--preload``, and with ``--preload`` those that replace a
worker after ``SIGHUP`` (so that they run the code now on disk). The parent's side, and what
travels across the exec, is server/fresh.py: this module reads it back, restores the parent's
import path, calls the loader with the server options to set the project up and load the
application, and serves the inherited sockets with a :class:`~django_bolt.server.worker.Worker`.

If loading fails (a ``SyntaxError`` in the deployed code, a missing setting), the new
interpreter prints the traceback and exits with :data:`EXIT_STARTUP_FAILED` before it reports
ready, so the parent keeps the worker it was to replace (or, at start, stops with status 1).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import traceback

from django_bolt.server.accesslog import make_access_log
from django_bolt.server.config import ServerConfig
from django_bolt.server.fresh import HANDOVER_ENV, WORKER_ENTRY, Handover, decode, resolve_loader
from django_bolt.server.lifeline import EXIT_STARTUP_FAILED
from django_bolt.server.worker import Worker

__all__ = ("main",)


def _log(message: str) -> None:
    sys.stderr.write(f"[django-bolt {os.getpid()}] {message}\n")
    sys.stderr.flush()


def main() -> int:
    """Serve the sockets the parent handed over; return the exit status."""
    raw = os.environ.pop(HANDOVER_ENV, None)
    if raw is None:
        _log(f"Error: {WORKER_ENTRY} is started by runbolt's parent process, not by hand.")
        return 2
    handover = decode(raw, Handover)
    # Already ignored across exec; said again so this module does not depend on it. A
    # terminal's Ctrl-C and hang-up reach the whole process group: the parent decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # The parent's import path first: `python -m` put this interpreter's working directory
    # there instead of the directory of manage.py, and --pythonpath or settings may add more.
    sys.path[:] = [*handover.sys_path, *(p for p in sys.path if p not in handover.sys_path)]
    config = ServerConfig(**handover.config)
    try:
        app = resolve_loader(handover.loader)(config)
    except Exception:
        sys.stderr.write(traceback.format_exc())
        _log("Error: could not load the application (see above).")
        return EXIT_STARTUP_FAILED
    sockets = [socket.socket(fileno=fd) for fd in handover.sockets]
    for sock in sockets:
        sock.setblocking(False)
    worker = Worker(
        app,
        config,
        sockets,
        notify_fd=handover.notify_fd,
        access_log=make_access_log(config) if handover.access_log else None,
        parent_pid=handover.parent_pid,
    )
    return worker.run()


if (
    __name__ == "__main__"
):  # pragma: no cover - run by the parent, observed by the integration tests
    _code = main()
    logging.shutdown()  # handlers that write from a thread (queued ones) write what they hold
    sys.stdout.flush()
    sys.stderr.flush()
    # As a forked worker does: threads of the sync pool may still sleep in a handler.
    os._exit(_code)
