"""``--dev``: restart the server when the project's Python files change.

The watcher process never imports the project's API code. It holds the listening socket (so the
port stays the same and connections wait in its queue across restarts), runs the real server as
a child (the same command line, marked by an environment variable, with the socket passed by
file descriptor), and restarts the child after every change. A child that dies (a SyntaxError,
say) leaves the watcher running: its error is on stderr, the watcher answers the requests that
arrive meanwhile with an error page (server/devfallback.py) instead of leaving them to hang, and
the next change tries again. The child tells the watcher why it failed through a file the two
share (:func:`report_load_failure`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

import watchfiles

from django_bolt.server.devfallback import FallbackApp, LoadFailure, decode_failure
from django_bolt.server.fresh import interpreter_arguments
from django_bolt.server.lifeline import describe_exit
from django_bolt.server.rlimits import raise_open_file_limit
from django_bolt.server.worker import Worker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence, Set as AbstractSet
    from types import FrameType

    from django_bolt.server.config import ServerConfig

__all__ = (
    "CHILD_ENV",
    "FD_ENV",
    "REPORT_FD_ENV",
    "WATCHER_PID_ENV",
    "Reloader",
    "child_arguments",
    "inherited_socket",
    "interpreter_arguments",
    "report_load_failure",
    "watcher_pid",
)

CHILD_ENV: Final = "DJANGO_BOLT_RELOADER_CHILD"
FD_ENV: Final = "DJANGO_BOLT_LISTEN_FD"
# The watcher's pid: the child exits when the watcher dies (see server/lifeline.py).
WATCHER_PID_ENV: Final = "DJANGO_BOLT_WATCHER_PID"
# The descriptor of the file where a child that cannot load the project says why.
REPORT_FD_ENV: Final = "DJANGO_BOLT_DEV_REPORT_FD"
# A report longer than this is cut (a traceback is a few KiB).
_REPORT_MAX_BYTES: Final = 1024 * 1024
_WATCH_TICK_MS: Final = 300
# BOLT_DEV_FORCE_POLLING: how often the tree is scanned (Django-Bolt 0.13 polls every 500 ms).
_POLL_DELAY_MS: Final = 500


def child_arguments() -> list[str]:
    """Return the command line that started this process, to run it again as the child."""
    args = interpreter_arguments()
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    if spec is not None and spec.name:
        # Started with ``python -m``: run the same module again.
        name = spec.parent if spec.name.endswith(".__main__") else spec.name
        return [*args, "-m", name, *sys.argv[1:]]
    return [*args, *sys.argv]


def inherited_socket() -> socket.socket | None:
    """Return the listening socket the watcher handed to this child, if any."""
    fd = os.environ.get(FD_ENV)
    if fd is None:
        return None
    sock = socket.socket(fileno=int(fd))
    sock.setblocking(False)
    return sock


def watcher_pid() -> int | None:
    """Return the pid of the watcher that started this child, if any."""
    pid = os.environ.get(WATCHER_PID_ENV)
    return int(pid) if pid else None


def report_load_failure(failure: LoadFailure) -> None:
    """In a ``--dev`` child: tell the watcher why the project could not be loaded.

    The watcher shows it on the error page it serves until the next change. Elsewhere (no
    watcher) this does nothing.
    """
    fd = os.environ.get(REPORT_FD_ENV)
    if fd is None:
        return
    # OSError: the descriptor is not what the watcher passed (the variable leaked elsewhere).
    with contextlib.suppress(OSError, ValueError):
        os.pwrite(int(fd), failure.encode()[:_REPORT_MAX_BYTES], 0)


def extra_watch_paths(reload_dirs: str, warn: Callable[[str], object]) -> list[Path]:
    """Return the ``--reload-dir`` entries that exist (``os.pathsep``-separated), resolved.

    Each is a directory (watched recursively) or a file, relative to the working directory; one
    that does not exist is left out with a warning.
    """
    found: list[Path] = []
    for entry in filter(None, reload_dirs.split(os.pathsep)):
        path = Path(entry).resolve()
        if path.exists():
            found.append(path)
        else:
            warn(f"--reload-dir {entry}: no such file or directory; not watched.\n")
    return found


class Reloader:
    """Run ``argv`` as a child and restart it whenever a watched Python file changes.

    While the child is down (it failed to load the project), an error page answers on the
    socket. ``debug`` is the watcher's ``settings.DEBUG``, for a child that died too early to
    report its own.
    """

    def __init__(
        self,
        argv: Sequence[str],
        sock: socket.socket,
        watch_paths: Iterable[Path | str],
        *,
        config: ServerConfig,
        debug: bool,
    ) -> None:
        self.argv = list(argv)
        self.sock = sock
        self.watch_paths = [str(p) for p in watch_paths]
        self.config = config
        self.stop_timeout_s = config.workers_kill_timeout_s
        self.debug = debug
        self.child: subprocess.Popen[bytes] | None = None
        self.fallback: Worker | None = None
        self._stopping = False
        self._reported_exit = False
        # One open file shared with every child, emptied before each start: a child that cannot
        # load the project writes why (report_load_failure). No name on disk.
        self._report = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the watcher

    def _log(self, message: str) -> None:
        sys.stderr.write(f"[django-bolt reloader] {message}\n")
        sys.stderr.flush()

    def start_child(self) -> None:
        self.stop_fallback()
        fd, report = self.sock.fileno(), self._report.fileno()
        os.ftruncate(report, 0)
        env = {
            **os.environ,
            CHILD_ENV: "1",
            FD_ENV: str(fd),
            WATCHER_PID_ENV: str(os.getpid()),
            REPORT_FD_ENV: str(report),
        }
        self.child = subprocess.Popen(self.argv, env=env, pass_fds=(fd, report))
        self._reported_exit = False

    def stop_child(self) -> None:
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def start_fallback(self, exit_status: str) -> None:
        """Answer on the socket with the error page until the next change."""
        failure = decode_failure(os.pread(self._report.fileno(), _REPORT_MAX_BYTES, 0))
        app = FallbackApp(failure, exit_status, debug=self.debug)
        # A descriptor of its own: stopping the fallback closes it, the socket stays open here.
        self.fallback = Worker(app, self.config, [self.sock.dup()])
        self.fallback.start()

    def stop_fallback(self) -> None:
        fallback, self.fallback = self.fallback, None
        if fallback is not None:
            fallback.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def changed(self, changes: AbstractSet[tuple[object, str]]) -> None:
        """Restart the child after a batch of file changes."""
        names = sorted({os.path.relpath(path) for _, path in changes})
        self._log(f"{', '.join(names[:3])}{' ...' if len(names) > 3 else ''} changed; reloading.")
        self.stop_child()
        self.start_child()

    def check_child(self) -> None:
        child = self.child
        if child is None or self._reported_exit or child.poll() is None:
            return
        self._reported_exit = True
        status = describe_exit(child.returncode)
        if self._stopping:
            return
        self._log(
            f"The server exited ({status}); requests get an error page (500) while waiting "
            "for a file change to try again."
        )
        self.start_fallback(status)

    def run(self) -> int:
        """Watch until SIGTERM or SIGINT; return the exit code."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            # Before the first child: every child inherits it.
            raise_open_file_limit()
            self.start_child()
            for changes in watchfiles.watch(
                *self.watch_paths,
                watch_filter=watchfiles.PythonFilter(),
                # BOLT_DEV_FORCE_POLLING: for trees whose changes raise no kernel events (a
                # bind mount from another OS, a network file system).
                force_polling=self.config.dev_force_polling or None,
                poll_delay_ms=_POLL_DELAY_MS,
                yield_on_timeout=True,
                rust_timeout=_WATCH_TICK_MS,
                raise_interrupt=False,
                debounce=300,
            ):
                if self._stopping:
                    break
                if changes:
                    self.changed(changes)
                else:
                    self.check_child()
        finally:
            self.stop_child()
            self.stop_fallback()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            with contextlib.suppress(OSError):
                self.sock.close()
            self._report.close()
        return 0
