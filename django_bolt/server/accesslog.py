"""The access log: one line per request on stderr, formatted and written off the hot path.

``AccessLog.__call__`` (what the protocol calls after each response) only appends a tuple to a
deque. A flusher, driven by the worker's main thread every ~100 ms, or sooner when the queue
passes a bound, formats the batch and writes it with one ``write`` call. ``deque.append`` and
``deque.popleft`` are atomic, so loop threads can append while the flusher drains.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Final

__all__ = ("FLUSH_INTERVAL_S", "AccessLog", "format_line")

FLUSH_INTERVAL_S: Final = 0.1
# Past this many queued lines the flusher is woken at once, so a burst never holds much memory.
FLUSH_BOUND: Final = 1024

Entry = tuple[str, str, bytes, str, int, int, float]


def format_line(entry: Entry) -> str:
    """``client "METHOD target HTTP/v" status bytes duration_ms`` for one request."""
    client, method, target, version, status, nbytes, duration_s = entry
    # httptools rejects control characters in the target; backslashreplace keeps any other
    # non-ASCII byte visible without letting it forge a line.
    path = target.decode("ascii", "backslashreplace")
    ms = duration_s * 1000
    return f'{client} "{method} {path} HTTP/{version}" {status} {nbytes} {ms:.2f}ms\n'


class AccessLog:
    """Collects request entries and writes them to a file descriptor in batches."""

    __slots__ = ("_bound", "_fd", "_lock", "_queue", "wake")

    def __init__(self, fd: int = 2, bound: int = FLUSH_BOUND) -> None:
        self._fd = fd
        self._bound = bound
        self._queue: deque[Entry] = deque()
        self._lock = threading.Lock()
        # Set when the queue passes its bound; the flusher waits on it with a timeout.
        self.wake = threading.Event()

    def __call__(
        self,
        client: str,
        method: str,
        target: bytes,
        http_version: str,
        status: int,
        nbytes: int,
        duration_s: float,
    ) -> None:
        queue = self._queue
        queue.append((client, method, target, http_version, status, nbytes, duration_s))
        if len(queue) > self._bound:
            self.wake.set()

    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> None:
        """Format and write every queued entry in one write (called off the event loops)."""
        with self._lock:
            self.wake.clear()
            queue = self._queue
            count = len(queue)
            if not count:
                return
            data = "".join([format_line(queue.popleft()) for _ in range(count)]).encode(
                "utf-8", "backslashreplace"
            )
            self._write_all(data)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                continue
            except OSError:
                # stderr closed or broken: dropping log lines must never stop the server.
                return
            view = view[written:]

    def run_flusher(self, stop: threading.Event) -> None:
        """Flush every ``FLUSH_INTERVAL_S`` (or when woken) until ``stop`` is set, then again."""
        while not stop.is_set():
            self.wake.wait(FLUSH_INTERVAL_S)
            self.flush()
        self.flush()
