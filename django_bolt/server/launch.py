"""``runbolt``'s process becomes a small supervisor that imports neither Django nor the project.

``runbolt`` does what needs Django in its own process: the options, the system checks and the
migrations check, one import of the project (so that an import error is reported once, with the
exit status 1), the listening sockets and the banner. Then :func:`exec_supervisor` replaces that
process (``os.execve``: the same pid, so signals, systemd, supervisor and a pid file keep
working) by ``python -S .../server/bootstrap.py <runbolt's command line>``. The new
interpreter inherits the listening sockets and gets the rest in one environment variable
(:data:`LAUNCH_ENV`, removed as soon as it is read): the server options, whether to write the
access log, ``runbolt``'s import path and the loader that starts a worker. :func:`main` then
supervises (:func:`serve_fresh`): every worker is a fresh interpreter that sets Django up and
imports the project itself (server/handover.py).

Why the parent is kept small: it never serves, and a parent that held Django and the project
(75 MiB of a 136 MiB tree on bench/app) doubled the memory of a one-process server. The supervisor
interpreter runs server/bootstrap.py by path, which registers ``django_bolt`` as a bare package
(``django_bolt/__init__.py``, which imports the whole framework and so Django, is not run), and
has no ``site`` (``-S``; the import path is ``runbolt``'s, passed whole). The server layer
imports nothing of the framework, so the supervisor loads only the standard library and a few
server modules; prometheus_client only when metrics are on.

The signals the supervisor handles are blocked across the exec and unblocked once its handlers
are set, so a ``SIGHUP`` or ``SIGTERM`` sent in between is acted on, not lost or fatal.
``--preload`` (the default with ``--processes 2`` or more) is the other design: the parent forks
the workers from the project it imported (server/preload.py).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any, Final, NamedTuple, NoReturn

from django_bolt.server.fresh import (
    config_fields,
    decode,
    encode,
    exec_worker,
    interpreter_arguments,
    resolve_loader,
)
from django_bolt.server.supervisor import SUPERVISOR_SIGNALS, supervise

if TYPE_CHECKING:
    from django_bolt.server.config import ServerConfig
    from django_bolt.server.metrics import SupervisorMetrics

__all__ = ("BOOTSTRAP", "LAUNCH_ENV", "Launch", "exec_supervisor", "main", "serve_fresh")

LAUNCH_ENV: Final = "DJANGO_BOLT_SUPERVISOR_HANDOVER"
# The supervisor interpreter's main script, run by path (not imported: it imports this module).
BOOTSTRAP: Final = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bootstrap.py")


class Launch(NamedTuple):
    """What ``runbolt`` hands the supervisor interpreter it becomes."""

    # sockets[p][t]: the descriptor of thread t's listening socket in process slot p.
    sockets: list[list[int]]
    access_log: bool
    sys_path: list[str]
    # The ServerConfig's fields (fresh.config_fields()): the supervisor does not import it.
    config: dict[str, Any]
    # "module:function" a worker calls with the config to set the project up (handover.py).
    loader: str


def exec_supervisor(
    config: ServerConfig,
    sockets: list[list[socket.socket]],
    *,
    access_log: bool,
    loader: str,
) -> NoReturn:
    """Replace this process by the supervisor interpreter serving ``sockets``.

    Call it once the project imported (``loader`` is checked here: one that names nothing fails
    now) and everything meant for stdout and stderr was written. Raises ``OSError`` when the
    interpreter cannot be started (the process is then as it was); otherwise never returns.
    """
    resolve_loader(loader)
    fds = [[sock.fileno() for sock in group] for group in sockets]
    launch = Launch(fds, access_log, list(sys.path), config_fields(config), loader)
    env = {**os.environ, LAUNCH_ENV: encode(launch)}
    argv = [*interpreter_arguments(), "-S", BOOTSTRAP, *sys.argv]
    # Records still queued (a log thread's) and buffered output would die with this image.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    for fd in (fd for group in fds for fd in group):
        os.set_inheritable(fd, True)
    signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISOR_SIGNALS)
    try:
        os.execve(argv[0], argv, env)  # noqa: S606 - our own interpreter and file, no shell
    except OSError:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SUPERVISOR_SIGNALS)
        for fd in (fd for group in fds for fd in group):
            os.set_inheritable(fd, False)
        raise


def main() -> int:
    """Supervise the workers on the sockets ``runbolt`` handed over; return the exit status."""
    raw = os.environ.pop(LAUNCH_ENV, None)
    if raw is None:
        sys.stderr.write(f"[django-bolt {os.getpid()}] Error: started by runbolt, not by hand.\n")
        return 2
    launch = decode(raw, Launch)
    # Without site, the import path is runbolt's (site-packages for prometheus_client).
    sys.path[:] = [*launch.sys_path, *(p for p in sys.path if p not in launch.sys_path)]
    _configure_logging(str(launch.config["log_level"]))
    sockets = []
    for group in launch.sockets:
        for fd in group:
            os.set_inheritable(fd, False)  # a worker marks its own slot's again before its exec
        sockets.append([socket.socket(fileno=fd) for fd in group])
    return serve_fresh(
        launch.config,
        sockets,
        access_log=launch.access_log,
        loader=launch.loader,
        sys_path=launch.sys_path,
    )


def serve_fresh(
    config: dict[str, Any],
    sockets: list[list[socket.socket]],
    *,
    access_log: bool,
    loader: str,
    sys_path: list[str],
) -> int:
    """Start every worker as a fresh interpreter and supervise them; return the exit code.

    This process imports no project: each worker, the first ones included, is forked and at once
    exec'd into ``python -m django_bolt.server.handover``, which calls ``loader`` (checked by
    :func:`exec_supervisor`) with the options, ``sys_path`` as its import path. ``config`` holds
    the options' fields: this process reads a few and hands them whole to each worker.
    """

    def start_fresh(slot: int, notify_fd: int, parent_pid: int) -> int:  # pragma: no cover
        exec_worker(
            sockets[slot],
            notify_fd,
            parent_pid,
            config,
            access_log=access_log,
            loader=loader,
            sys_path=sys_path,
        )

    metrics: SupervisorMetrics | None = None
    made_directory = False
    if config["metrics_path"]:
        # Only with metrics on: prometheus_client is a large import for a parent that serves
        # nothing.
        from django_bolt.server.metrics import SupervisorMetrics, prepare_directory

        # Before the first fork: the workers inherit the directory's variable.
        directory, made_directory = prepare_directory()
        metrics = SupervisorMetrics(directory)
    try:
        return supervise(
            sockets, start_fresh, start_fresh, config, metrics=metrics, preloaded=False
        )
    finally:
        if metrics is not None:
            metrics.close(remove=made_directory)


def _configure_logging(level: str) -> None:
    """Send the ``django_bolt`` loggers to stderr, as ``runbolt`` did before the exec."""
    logger = logging.getLogger("django_bolt")
    logger.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[django-bolt %(process)d] %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
