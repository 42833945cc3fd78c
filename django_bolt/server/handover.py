"""A worker started as a fresh interpreter, so that it runs the code now on disk (``SIGHUP``).

The parent forks as usual; the child keeps only its slot's listening sockets and the pipe it
reports on, marks them inheritable and execs ``python -m django_bolt.server.handover``. What
the new interpreter needs travels in one environment variable (:data:`HANDOVER_ENV`, removed as
soon as it is read): the descriptors (same numbers across exec), the parent's pid, the server
options, whether to write the access log, the parent's ``sys.path`` and the loader. The server
options are the parent's :class:`~django_bolt.server.config.ServerConfig`, passed whole: a
reload re-reads no option (the sockets, processes and limits belong to the running server).
Everything else a Django project needs comes with the inherited environment and working
directory: the settings module (``manage.py`` put ``DJANGO_SETTINGS_MODULE`` there,
``--settings`` too) and relative paths.

The loader is the ``"module:function"`` name the caller of
:func:`~django_bolt.server.supervisor.serve` gave (``runbolt`` names its own): the new
interpreter imports it and calls it with the config to set the project up and load the
application anew. The server knows the application only by that name, so it imports nothing of
the framework. If any of that fails (a ``SyntaxError`` in the deployed code, a missing setting),
the new interpreter prints the traceback and exits with :data:`EXIT_STARTUP_FAILED` before it
reports ready, so the parent keeps the worker it was to replace.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn

import msgspec

from django_bolt.server.accesslog import make_access_log

# At run time: msgspec resolves Handover's annotations to decode it.
from django_bolt.server.config import ServerConfig  # noqa: TC001
from django_bolt.server.reload import interpreter_arguments
from django_bolt.server.worker import EXIT_STARTUP_FAILED, Worker

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.server.contract import Application

__all__ = ("HANDOVER_ENV", "Handover", "exec_worker", "main", "resolve_loader")

HANDOVER_ENV: Final = "DJANGO_BOLT_WORKER_HANDOVER"
# The module the new interpreter runs (``python -m``).
_ENTRY: Final = "django_bolt.server.handover"


@dataclass(frozen=True, slots=True)
class Handover:
    """What the parent passes to a worker it starts as a fresh interpreter."""

    sockets: list[int]
    notify_fd: int
    parent_pid: int
    access_log: bool
    sys_path: list[str]
    config: ServerConfig
    # "module:function": called with ``config``, it sets the project up and returns the app.
    loader: str


def exec_worker(
    sockets: list[socket.socket],
    notify_fd: int,
    parent_pid: int,
    config: ServerConfig,
    *,
    access_log: bool,
    loader: str,
) -> NoReturn:
    """Replace this (just forked) process with a fresh interpreter serving ``sockets``.

    ``loader`` names the ``"module:function"`` the new interpreter calls with ``config`` to load
    the application. Raises ``OSError`` when the interpreter cannot be started; otherwise never
    returns.
    """
    fds = [sock.fileno() for sock in sockets]
    for fd in (*fds, notify_fd):
        os.set_inheritable(fd, True)
    handover = Handover(fds, notify_fd, parent_pid, access_log, list(sys.path), config, loader)
    env = {**os.environ, HANDOVER_ENV: msgspec.json.encode(handover).decode()}
    argv = [*interpreter_arguments(), "-m", _ENTRY]
    os.execve(argv[0], argv, env)  # noqa: S606 - our own interpreter and module, no shell


def _log(message: str) -> None:
    sys.stderr.write(f"[django-bolt {os.getpid()}] {message}\n")
    sys.stderr.flush()


def resolve_loader(loader: str) -> Callable[[ServerConfig], Application]:
    """Return the function a ``"module:function"`` loader names, importing its module.

    Raises ``ValueError`` for a malformed name, ``ImportError`` or ``AttributeError`` for one
    that names nothing.
    """
    module_name, sep, attr = loader.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"a loader looks like 'module:function', not {loader!r}")
    load: Callable[[ServerConfig], Application] = getattr(
        importlib.import_module(module_name), attr
    )
    return load


def main() -> int:
    """Serve the sockets the parent handed over; return the exit status."""
    raw = os.environ.pop(HANDOVER_ENV, None)
    if raw is None:
        _log(f"Error: {_ENTRY} is started by runbolt's parent process, not by hand.")
        return 2
    handover = msgspec.json.decode(raw, type=Handover)
    # Already ignored across exec; said again so this module does not depend on it. A
    # terminal's Ctrl-C and hang-up reach the whole process group: the parent decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # The parent's import path first: `python -m` put this interpreter's working directory
    # there instead of the directory of manage.py, and --pythonpath or settings may add more.
    sys.path[:] = [*handover.sys_path, *(p for p in sys.path if p not in handover.sys_path)]
    config = handover.config
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
