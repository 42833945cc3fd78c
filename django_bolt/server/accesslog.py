"""The access log: one line per request on stderr, formatted and written off the hot path.

``AccessLog.__call__`` (what the protocol calls after each response) only appends a tuple to a
deque. A flusher, driven by the worker's main thread every ~100 ms, or sooner when the queue
passes a bound, formats the batch and writes it with one ``write`` call. ``deque.append`` and
``deque.popleft`` are atomic, so loop threads can append while the flusher drains.

Lines are text (:func:`format_line`) or JSON objects (:func:`format_json`, for log shippers).
With a logger named (``--access-log-logger``), each line becomes a record of that logger
instead, emitted by the flusher, so the project's ``LOGGING`` decides where it goes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Final

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import RawRequest

__all__ = (
    "FLUSH_INTERVAL_S",
    "AccessLog",
    "format_json",
    "format_line",
    "level_for_status",
    "make_access_log",
)

FLUSH_INTERVAL_S: Final = 0.1
# Past this many queued lines the flusher is woken at once, so a burst never holds much memory.
FLUSH_BOUND: Final = 1024
# A batch smaller than an eighth of the bound is written at most this late.
MAX_DELAY_S: Final = 1.0

Entry = tuple[str, str, bytes, str, int, int, float]
# What the request path queues: as an Entry, with the client still the request's (host, port).
Raw = tuple["tuple[str, int] | None", str, bytes, str, int, int, float]

# One %-format per line: a single C call formats every field.
_LINE: Final = '%s "%s %s HTTP/%s" %d %d %.2fms\n'
_JSON_LINE: Final = (
    '{"time":"%s","client":%s,"method":"%s","path":%s,"query":%s,"http_version":"%s",'
    '"status":%d,"bytes":%d,"duration_ms":%.3f}\n'
)


def format_line(entry: Entry) -> str:
    """``client "METHOD target HTTP/v" status bytes duration_ms`` for one request."""
    client, method, target, version, status, nbytes, duration_s = entry
    # httptools rejects control characters in the target; backslashreplace keeps any other
    # non-ASCII byte visible without letting it forge a line.
    path = target.decode("ascii", "backslashreplace")
    return _LINE % (client, method, path, version, status, nbytes, duration_s * 1000)


_encode: Final = msgspec.json.Encoder().encode


def _timestamp(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"


def format_json(entry: Entry, now: float | None = None) -> str:
    """One JSON object on one line: time, client, method, path, query, status, bytes, ...

    ``time`` is when the line is written (the flusher's clock, at most ~0.1 s after the
    response), in UTC, ISO 8601 with milliseconds.
    """
    stamp = _timestamp(time.time() if now is None else now)
    return _json_line(stamp, entry)


def _json_line(stamp: str, entry: Entry) -> str:
    client, method, target, version, status, nbytes, duration_s = entry
    path, _, query = target.decode("ascii", "backslashreplace").partition("?")
    # Client, path and query are escaped by the JSON encoder; method and version are tokens
    # the parser checked.
    return _JSON_LINE % (
        stamp,
        _encode(client).decode(),
        method,
        _encode(path).decode(),
        _encode(query).decode(),
        version,
        status,
        nbytes,
        duration_s * 1000,
    )


def _text_lines(raw: list[Raw]) -> list[str]:
    line = _LINE
    return [
        line
        % (
            client[0] if client else "-",
            method,
            target.decode("ascii", "backslashreplace"),
            version,
            status,
            nbytes,
            duration_s * 1000,
        )
        for client, method, target, version, status, nbytes, duration_s in raw
    ]


def _json_lines(raw: list[Raw]) -> list[str]:
    stamp = _timestamp(time.time())
    return [_json_line(stamp, _entry(r)) for r in raw]


def _entry(raw: Raw) -> Entry:
    client, method, target, version, status, nbytes, duration_s = raw
    return (client[0] if client else "-", method, target, version, status, nbytes, duration_s)


def level_for_status(status: int) -> int:
    """Return the log level of a response's line: INFO below 400, WARNING 4xx, ERROR 5xx."""
    if status >= 500:
        return logging.ERROR
    return logging.WARNING if status >= 400 else logging.INFO


class AccessLog:
    """Collects request entries and writes them to a file descriptor in batches.

    ``json`` writes :func:`format_json` lines instead of :func:`format_line`; ``logger``
    hands each line to that logger (at :func:`level_for_status`) instead of the descriptor.
    """

    __slots__ = (
        "_bound",
        "_fd",
        "_format",
        "_lines",
        "_lock",
        "_logger",
        "_queue",
        "_since",
        "wake",
    )

    def __init__(
        self,
        fd: int = 2,
        bound: int = FLUSH_BOUND,
        *,
        json: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        self._fd = fd
        self._format: Callable[[Entry], str] = format_json if json else format_line
        self._lines: Callable[[list[Raw]], list[str]] = _json_lines if json else _text_lines
        self._logger = logger
        self._bound = bound
        self._since = 0.0  # when the oldest line of a small batch was first seen waiting
        self._queue: deque[Raw] = deque()
        self._lock = threading.Lock()
        # Set when the queue passes its bound; the flusher waits on it with a timeout.
        self.wake = threading.Event()

    def __call__(
        self,
        request: RawRequest,
        status: int,
        nbytes: int,
        started: float,
        _clock: Callable[[], float] = perf_counter,
    ) -> None:
        """Queue one response's line (the server's per-response hook; formatted later)."""
        queue = self._queue
        queue.append(
            (
                request.client,
                request.method,
                request.target,
                request.http_version,
                status,
                nbytes,
                _clock() - started,
            )
        )
        if len(queue) > self._bound:
            self.wake.set()

    def add(
        self,
        client: str,
        method: str,
        target: bytes,
        http_version: str,
        status: int,
        nbytes: int,
        duration_s: float,
    ) -> None:
        """Queue a line from its fields (``client`` as text; for callers without a request)."""
        self._queue.append(((client, 0), method, target, http_version, status, nbytes, duration_s))
        if len(self._queue) > self._bound:
            self.wake.set()

    def pending(self) -> int:
        return len(self._queue)

    def flush(self, force: bool = True) -> None:
        """Format and write every queued entry in one write (called off the event loops).

        Unless ``force``, a small batch (under an eighth of the bound) waits until it is
        ``MAX_DELAY_S`` old: a quiet server is not woken ten times a second for a line or two.
        """
        with self._lock:
            self.wake.clear()
            queue = self._queue
            count = len(queue)
            if not count:
                self._since = 0.0
                return
            if not force and count < self._bound >> 3:
                now = time.monotonic()
                if not self._since:
                    self._since = now
                if now - self._since < MAX_DELAY_S:
                    return
            self._since = 0.0
            pop = queue.popleft
            raw = [pop() for _ in range(count)]
            if self._logger is not None:
                self._emit([_entry(r) for r in raw], self._logger)
                return
            data = "".join(self._lines(raw)).encode("utf-8", "backslashreplace")
            self._write_all(data)

    def _emit(self, entries: list[Entry], logger: logging.Logger) -> None:
        fmt = self._format
        for entry in entries:
            status = entry[4]
            level = level_for_status(status)
            if not logger.isEnabledFor(level):
                continue
            # The fields as record attributes too, for a formatter that wants them.
            extra = {
                "client_ip": entry[0],
                "method": entry[1],
                "status_code": status,
                "size": entry[5],
                "duration": entry[6],
            }
            logger.log(level, "%s", fmt(entry).rstrip("\n"), extra=extra)

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
            self.flush(force=False)
        self.flush()


def make_access_log(config: ServerConfig) -> AccessLog:
    """Return the access log ``config`` asks for (format and destination)."""
    name = config.access_log_logger
    return AccessLog(
        json=config.access_log_format == "json",
        logger=logging.getLogger(name) if name else None,
    )
