"""``--dev``: restart the server when the project's Python files change.

The watcher process never imports the project's API code. It holds the listening socket (so the
port stays the same and connections wait in its queue across restarts), runs the real server as
a child (the same command line, marked by an environment variable, with the socket passed by
file descriptor), and restarts the child after every change. A child that dies (a SyntaxError,
say) leaves the watcher running: its error is on stderr and the next change tries again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Final

from django_bolt.server.rlimits import raise_open_file_limit

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterable, Sequence, Set as AbstractSet
    from pathlib import Path
    from types import FrameType

__all__ = (
    "CHILD_ENV",
    "FD_ENV",
    "Reloader",
    "child_arguments",
    "inherited_socket",
    "interpreter_arguments",
    "watcher_pid",
)

CHILD_ENV: Final = "DJANGO_BOLT_RELOADER_CHILD"
FD_ENV: Final = "DJANGO_BOLT_LISTEN_FD"
# The watcher's pid: the child exits when the watcher dies (see server/lifeline.py).
WATCHER_PID_ENV: Final = "DJANGO_BOLT_WATCHER_PID"
_WATCH_TICK_MS: Final = 300


def interpreter_arguments() -> list[str]:
    """This Python and the options a new interpreter must share with it (warning filters)."""
    return [sys.executable, *(f"-W{o}" for o in sys.warnoptions)]


def child_arguments() -> list[str]:
    """The command line that started this process, to run it again as the child."""
    import __main__

    args = interpreter_arguments()
    spec = getattr(__main__, "__spec__", None)
    if spec is not None and spec.name:
        # Started with ``python -m``: run the same module again.
        name = spec.parent if spec.name.endswith(".__main__") else spec.name
        return [*args, "-m", name, *sys.argv[1:]]
    return [*args, *sys.argv]


def inherited_socket() -> socket.socket | None:
    """The listening socket the watcher handed to this child, if any."""
    import socket as socket_module

    fd = os.environ.get(FD_ENV)
    if fd is None:
        return None
    sock = socket_module.socket(fileno=int(fd))
    sock.setblocking(False)
    return sock


def watcher_pid() -> int | None:
    """The pid of the watcher that started this child, if any."""
    pid = os.environ.get(WATCHER_PID_ENV)
    return int(pid) if pid else None


class Reloader:
    """Run ``argv`` as a child and restart it whenever a watched Python file changes."""

    def __init__(
        self,
        argv: Sequence[str],
        sock: socket.socket,
        watch_paths: Iterable[Path | str],
        *,
        stop_timeout_s: float,
    ) -> None:
        self.argv = list(argv)
        self.sock = sock
        self.watch_paths = [str(p) for p in watch_paths]
        self.stop_timeout_s = stop_timeout_s
        self.child: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._reported_exit = False

    def _log(self, message: str) -> None:
        sys.stderr.write(f"[django-bolt reloader] {message}\n")
        sys.stderr.flush()

    def start_child(self) -> None:
        fd = self.sock.fileno()
        env = {**os.environ, CHILD_ENV: "1", FD_ENV: str(fd), WATCHER_PID_ENV: str(os.getpid())}
        self.child = subprocess.Popen(self.argv, env=env, pass_fds=(fd,))
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
        if child is not None and not self._reported_exit and child.poll() is not None:
            self._reported_exit = True
            self._log(
                f"The server exited (code {child.returncode}); "
                "waiting for a file change to try again."
            )

    def run(self) -> int:
        """Watch until SIGTERM or SIGINT; return the exit code."""
        import watchfiles

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
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            with contextlib.suppress(OSError):
                self.sock.close()
        return 0
