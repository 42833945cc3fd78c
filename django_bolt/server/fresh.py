"""Starting a process as a fresh interpreter: what the parent sends across ``exec``.

Two processes are started this way. A worker: the parent forks, the child keeps only its slot's
listening sockets and the pipe it reports on, marks them inheritable and execs
``python -m django_bolt.server.handover`` (:func:`exec_worker`; the other side is
server/handover.py). And the supervisor itself: ``runbolt`` execs into it once it has checked
and bound everything (server/launch.py).

What the new interpreter needs travels in one environment variable, as JSON (a named tuple's
fields), removed as soon as it is read: descriptors (the same numbers across exec), pids, the
server options, the import path and the loader. The server options are ``runbolt``'s
:class:`~django_bolt.server.config.ServerConfig`, passed whole as its fields: the processes
started later re-read no option (the sockets, processes and limits belong to the running
server). Everything else a Django project needs comes with the inherited environment and working
directory: the settings module (``manage.py`` put ``DJANGO_SETTINGS_MODULE`` there,
``--settings`` too) and relative paths.

The loader is the ``"module:function"`` name the caller of the supervisor gave (``runbolt``
names its own): the new worker imports it and calls it with the options to set the project up
and load the application. The server knows the application only by that name, so it imports
nothing of the framework.

This module imports only the standard library: the supervisor interpreter imports it, and stays
small (no ``dataclasses``, no msgspec, not even the options class).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Final, NamedTuple, NoReturn, TypeVar

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import Application

__all__ = (
    "HANDOVER_ENV",
    "WORKER_ENTRY",
    "Handover",
    "config_fields",
    "decode",
    "encode",
    "exec_worker",
    "interpreter_arguments",
    "resolve_loader",
)

HANDOVER_ENV: Final = "DJANGO_BOLT_WORKER_HANDOVER"
# The module a fresh worker runs (``python -m``).
WORKER_ENTRY: Final = "django_bolt.server.handover"

T = TypeVar("T")


class Handover(NamedTuple):
    """What the parent passes to a worker it starts as a fresh interpreter."""

    sockets: list[int]
    notify_fd: int
    parent_pid: int
    access_log: bool
    sys_path: list[str]
    # The ServerConfig's fields (config_fields()); the worker makes its ServerConfig of them.
    config: dict[str, Any]
    # "module:function": called with the config, it sets the project up and returns the app.
    loader: str


def config_fields(config: ServerConfig) -> dict[str, Any]:
    """Return ``config``'s fields as JSON carries them (str, int, float, bool or None each)."""
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def encode(value: tuple[Any, ...]) -> str:
    """Return a named tuple (:class:`Handover`, ``launch.Launch``) as JSON."""
    fields: dict[str, Any] = value._asdict()  # type: ignore[attr-defined]
    return json.dumps(fields, separators=(",", ":"))


def decode(raw: str, kind: Callable[..., T]) -> T:
    """Return the named tuple of type ``kind`` that :func:`encode` wrote."""
    return kind(**json.loads(raw))


def interpreter_arguments() -> list[str]:
    """Return this Python and the options a new interpreter must share with it (warning filters)."""
    return [sys.executable, *(f"-W{o}" for o in sys.warnoptions)]


def exec_worker(
    sockets: list[socket.socket],
    notify_fd: int,
    parent_pid: int,
    config: dict[str, Any],
    *,
    access_log: bool,
    loader: str,
    sys_path: list[str] | None = None,
) -> NoReturn:
    """Replace this (just forked) process with a fresh interpreter serving ``sockets``.

    ``config`` holds the server options' fields (:func:`config_fields`); ``loader`` names the
    ``"module:function"`` the new interpreter calls with them, as a ``ServerConfig``, to load
    the application; ``sys_path`` is its import path (default: this process's). Raises
    ``OSError`` when the interpreter cannot be started; otherwise never returns.
    """
    fds = [sock.fileno() for sock in sockets]
    for fd in (*fds, notify_fd):
        os.set_inheritable(fd, True)
    path = list(sys.path) if sys_path is None else sys_path
    handover = Handover(fds, notify_fd, parent_pid, access_log, path, config, loader)
    env = {**os.environ, HANDOVER_ENV: encode(handover)}
    argv = [*interpreter_arguments(), "-m", WORKER_ENTRY]
    os.execve(argv[0], argv, env)  # noqa: S606 - our own interpreter and module, no shell


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
