"""``--preload``: the parent imports the project and forks the workers from it.

The workers' memory pages are the parent's, shared copy-on-write until a worker writes them (on
bench/app, after 4,000 requests, each of four workers owned 7 MiB of its 60 MiB), and a worker
starts in a few milliseconds instead of importing Django itself. What it costs: the parent holds
the whole project, and the code a fork runs is the code the parent imported at start, so a
recycled or respawned worker runs that code until the first ``SIGHUP``; from then on they are
fresh interpreters too (see :class:`~django_bolt.server.supervisor.Supervisor`).
``runbolt`` preloads by default with ``--processes 2`` or more; without it, see server/launch.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_bolt.server.accesslog import make_access_log
from django_bolt.server.fresh import config_fields, exec_worker, resolve_loader
from django_bolt.server.supervisor import supervise
from django_bolt.server.worker import Worker

if TYPE_CHECKING:
    import socket

    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import Application
    from django_bolt.server.metrics import SupervisorMetrics

__all__ = ("serve",)


def serve(
    app: Application,
    config: ServerConfig,
    sockets: list[list[socket.socket]],
    *,
    access_log: bool,
    loader: str,
) -> int:
    """Fork one worker per socket group from this process and supervise them.

    ``sockets[p][t]`` is the listening socket of thread ``t`` in process slot ``p``. The caller
    has already loaded ``app`` (so an import error is reported once, here) and closed any
    database connection (none may cross ``fork()``). ``loader`` names the ``"module:function"``
    a worker started as a fresh interpreter (after ``SIGHUP``) calls with ``config`` to load the
    application anew: the server imports the application only by that name. Return the exit
    code.
    """
    # A loader that names nothing fails now, not at the first reload.
    resolve_loader(loader)
    fields = config_fields(config)
    metrics: SupervisorMetrics | None = None
    made_directory = False
    if config.metrics_path:
        # Only with metrics on: the forked workers share what the parent imported, and
        # prometheus_client is no use to them otherwise.
        from django_bolt.server.metrics import SupervisorMetrics, prepare_directory

        # Before the first fork: the workers inherit the directory's variable.
        directory, made_directory = prepare_directory()
        metrics = SupervisorMetrics(directory)

    def run_worker(slot: int, notify_fd: int, parent_pid: int) -> int:  # pragma: no cover - child
        if metrics is not None:
            metrics.close(remove=False)  # the parent's files, not this worker's
        log = make_access_log(config) if access_log else None
        worker = Worker(
            app, config, sockets[slot], notify_fd=notify_fd, access_log=log, parent_pid=parent_pid
        )
        return worker.run()

    def start_fresh(slot: int, notify_fd: int, parent_pid: int) -> int:  # pragma: no cover
        exec_worker(
            sockets[slot], notify_fd, parent_pid, fields, access_log=access_log, loader=loader
        )

    try:
        return supervise(sockets, run_worker, start_fresh, fields, metrics=metrics, preloaded=True)
    finally:
        if metrics is not None:
            metrics.close(remove=made_directory)
