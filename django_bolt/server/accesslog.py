"""The access log: one line per request on stderr, formatted and written off the hot path.

The per-response hook (:attr:`AccessLog.record`, what the protocol calls after each response)
only extends a list with the request's fields: one C call, atomic under the GIL, so the loop
threads of a worker share one list without a lock. The worker's main thread flushes every
~100 ms (small batches wait up to a second): it takes the whole entries queued so far, formats
the batch and writes it with one ``write`` call.

Formatting is one loop over the batch's lines in compiled code (:class:`LineFormat`, in
recording.py, which setup.py builds with the request path): each line is joined from pieces made
once per distinct value and cached (the part its request line and status decide, a body size, a
duration in hundredths of a millisecond), and the batch is joined once. That costs less than
half what the same work did as C-level ``map`` calls over the batch's columns (0.15 us a line
against 0.34 us, batches of 1,700). The hook itself stays a Python closure: compiled, it read the
request's four attributes by generic lookups that cost more than the interpreter's specialised
ones save in the call (measured with callgrind).

Lines are text (:func:`format_line`) or JSON objects (:func:`format_json`, for log shippers).
With a logger named (``--access-log-logger``), each line becomes a record of that logger
instead, emitted by the flusher, so the project's ``LOGGING`` decides where it goes.

Which lines are kept follows the level of the log's logger (``django.server`` for the lines
written to stderr, as 0.13 wrote them there), read once when a worker starts
(:meth:`AccessLog.at_logger_level`): above WARNING the worker keeps no access log at all, at
WARNING the hook skips a response below 400 with one comparison, and at INFO it keeps them all.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt.server.recording import LineFormat

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import RawRequest

__all__ = (
    "FLUSH_INTERVAL_S",
    "LEVEL_LOGGER",
    "AccessLog",
    "format_json",
    "format_line",
    "level_for_status",
    "lowest_status",
    "make_access_log",
)

FLUSH_INTERVAL_S: Final = 0.1
# The logger whose level decides which lines the stderr writer keeps (0.13 logged to it).
LEVEL_LOGGER: Final = "django.server"
# Past this many queued lines, add() wakes the flusher at once. The per-response hook does not
# check it (a length test was a fifth of its cost): the flusher's 100 ms poll bounds the list.
FLUSH_BOUND: Final = 1024
# A batch smaller than an eighth of the bound is written at most this late.
MAX_DELAY_S: Final = 1.0
# Each formatting cache is emptied when it reaches this many entries (distinct targets, sizes,
# durations): its memory stays bounded whatever clients send.
_MAX_CACHED: Final = 4096

Entry = tuple[str, str, bytes, str, int, int, float]
# What decides the middle of a line: method, target, HTTP version, status.
RequestKey = tuple[str, bytes, str, int]
# What the request path queues, seven list items per response: an Entry, with the client still
# the request's (host, port) or None.
_FIELDS: Final = 7

_encode: Final = msgspec.json.Encoder().encode

# Hundredths of a millisecond (text) and thousandths (JSON), from seconds.
_CENTI_MS: Final = 100_000.0
_MILLI_MS: Final = 1_000_000.0
_TEXT_SIZE: Final = "%d "
_TEXT_DURATION: Final = "%d.%02dms\n"  # of divmod(hundredths of a millisecond, 100)
_JSON_DURATION: Final = ',"duration_ms":%d.%03d}\n'  # of divmod(thousandths, 1000)


# --- the pieces of a line, each made once per distinct value and cached ------------------------


def _path(target: bytes) -> str:
    # httptools rejects control characters in the target; backslashreplace keeps any other
    # non-ASCII byte visible without letting it forge a line.
    return target.decode("ascii", "backslashreplace")


def _text_request(key: RequestKey) -> str:
    method, target, version, status = key
    return f' "{method} {_path(target)} HTTP/{version}" {status} '


def _text_size(size: int) -> str:
    return _TEXT_SIZE % size


def _text_duration(centi_ms: int) -> str:
    return _TEXT_DURATION % divmod(centi_ms, 100)


def _json_client(host: str) -> str:
    return _encode(host).decode()


def _json_request(key: RequestKey) -> str:
    method, target, version, status = key
    path, _, query = _path(target).partition("?")
    # Client, path and query are escaped by the JSON encoder; method and version are tokens
    # the parser checked.
    return (
        f',"method":"{method}","path":{_encode(path).decode()},"query":{_encode(query).decode()}'
        f',"http_version":"{version}","status":{status},"bytes":'
    )


def _json_duration(milli_ms: int) -> str:
    return _JSON_DURATION % divmod(milli_ms, 1000)


def _json_lead(now: float) -> str:
    """``{"time":"...","client":`` for lines written at ``now`` (UTC, ISO 8601, milliseconds)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    return f'{{"time":"{stamp}.{int(now % 1 * 1000):03d}Z","client":'


def _rounded(duration_s: float, scale: float) -> int:
    """Return a duration (seconds) times ``scale``, rounded half up (it is never negative).

    The same arithmetic as :class:`LineFormat`'s, so a line reads the same either way.
    """
    return int(duration_s * scale + 0.5)


def _text_lines() -> LineFormat:
    return LineFormat(_CENTI_MS, None, _text_request, _text_size, _text_duration)


def _json_lines() -> LineFormat:
    return LineFormat(_MILLI_MS, _json_client, _json_request, str, _json_duration)


def format_line(entry: Entry) -> str:
    """``client "METHOD target HTTP/v" status bytes duration_ms`` for one request."""
    client, method, target, version, status, nbytes, duration_s = entry
    request = _text_request((method, target, version, status))
    duration = _text_duration(_rounded(duration_s, _CENTI_MS))
    return client + request + _text_size(nbytes) + duration


def format_json(entry: Entry, now: float | None = None) -> str:
    """One JSON object on one line: time, client, method, path, query, status, bytes, ...

    ``time`` is when the line is written (the flusher's clock, at most ~0.1 s after the
    response; a second at most for a quiet server), in UTC, ISO 8601 with milliseconds.
    """
    client, method, target, version, status, nbytes, duration_s = entry
    return "".join(
        (
            _json_lead(time.time() if now is None else now),
            _json_client(client),
            _json_request((method, target, version, status)),
            str(nbytes),
            _json_duration(_rounded(duration_s, _MILLI_MS)),
        )
    )


def _entries(items: list[Any], size: int) -> list[Entry]:
    """Return the entries queued in ``items[:size]``, one :data:`Entry` each (the logger's)."""
    step = _FIELDS
    hosts = [client[0] if client else "-" for client in items[0:size:step]]
    return list(
        zip(
            hosts,
            items[1:size:step],
            items[2:size:step],
            items[3:size:step],
            items[4:size:step],
            items[5:size:step],
            items[6:size:step],
            strict=True,
        )
    )


def level_for_status(status: int) -> int:
    """Return the log level of a response's line: INFO below 400, WARNING 4xx, ERROR 5xx."""
    if status >= 500:
        return logging.ERROR
    return logging.WARNING if status >= 400 else logging.INFO


def lowest_status(level: int) -> int | None:
    """Return the lowest status logged when the access log's logger is at ``level``.

    ``None`` above WARNING: the log is off, as 0.13 documents, even for a 5xx (an ERROR
    line). 400 at WARNING (or between INFO and WARNING): 4xx and 5xx only. 0 at INFO or
    below: every response.
    """
    if level > logging.WARNING:
        return None
    return 400 if level > logging.INFO else 0


class AccessLog:
    """Collects request entries and writes them to a file descriptor in batches.

    ``json`` writes :func:`format_json` lines instead of :func:`format_line`; ``logger``
    hands each line to that logger (at :func:`level_for_status`) instead of the descriptor.
    :attr:`record` is the per-response hook to give the server.
    """

    __slots__ = (
        "_bound",
        "_fd",
        "_format",
        "_items",
        "_json",
        "_lines",
        "_lock",
        "_logger",
        "_lowest",
        "_since",
        "record",
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
        self._json = json
        # Lines are made by compiled code (recording.py), from the pieces made here.
        self._lines = _json_lines() if json else _text_lines()
        self._logger = logger
        self._bound = bound
        self._since = 0.0  # when the oldest line of a small batch was first seen waiting
        # _FIELDS items per response, appended by one extend() each (atomic under the GIL).
        self._items: list[Any] = []
        self._lowest = 0  # the lowest status kept (see at_logger_level)
        self._lock = threading.Lock()
        # Set when add() passes the bound; the flusher waits on it with a timeout.
        self.wake = threading.Event()
        self.record: Callable[[RawRequest, int, int, float], None] = _recorder(self._items)

    def at_logger_level(self) -> AccessLog | None:
        """Keep only the lines its logger's level lets through; ``None`` when it lets none.

        The logger is the one named (``--access-log-logger``), else :data:`LEVEL_LOGGER`.
        Read once, by a worker as it starts (its ``LOGGING`` applied): a level changed later
        is not seen. A WARNING level swaps :attr:`record` for a hook that skips a response
        below 400 with one comparison; above WARNING, the caller keeps no log at all, so the
        request path has no access-log code.
        """
        logger = self._logger or logging.getLogger(LEVEL_LOGGER)
        lowest = lowest_status(logger.getEffectiveLevel())
        if lowest is None:
            return None
        if lowest != self._lowest:
            self._lowest = lowest
            self.record = _recorder(self._items, lowest)
        return self

    def __call__(self, request: RawRequest, status: int, nbytes: int, started: float) -> None:
        """Queue one response's line (:attr:`record`, through one more call)."""
        self.record(request, status, nbytes, started)

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
        if status < self._lowest:
            return
        items = self._items
        items.extend(((client, 0), method, target, http_version, status, nbytes, duration_s))
        if len(items) > self._bound * _FIELDS:
            self.wake.set()

    def pending(self) -> int:
        return len(self._items) // _FIELDS

    def flush(self, force: bool = True) -> None:
        """Format and write every queued entry in one write (called off the event loops).

        Unless ``force``, a small batch (under an eighth of the bound) waits until it is
        ``MAX_DELAY_S`` old: a quiet server is not woken ten times a second for a line or two.
        """
        with self._lock:
            self.wake.clear()
            items = self._items
            # Whole entries only: each extend() is atomic, so the length is a multiple of
            # _FIELDS whenever this thread reads it; entries added meanwhile stay queued.
            size = len(items)
            if not size:
                self._since = 0.0
                return
            if not force and size < (self._bound >> 3) * _FIELDS:
                now = time.monotonic()
                if not self._since:
                    self._since = now
                if now - self._since < MAX_DELAY_S:
                    return
            self._since = 0.0
            # Read before the entries are removed; loop threads only append past ``size``.
            if self._logger is not None:
                entries = _entries(items, size)
                del items[:size]
                self._emit(entries, self._logger)
                return
            lead = _json_lead(time.time()) if self._json else ""
            text = self._lines.lines(items, size, _FIELDS, lead)
            del items[:size]
            self._write_all(text.encode("utf-8", "backslashreplace"))

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


def _recorder(items: list[Any], lowest: int = 0) -> Callable[[RawRequest, int, int, float], None]:
    """Return the per-response hook that queues into ``items`` (from status ``lowest`` on)."""
    extend = items.extend
    if lowest > 0:
        return _filtered_recorder(extend, lowest)

    def record(
        request: RawRequest,
        status: int,
        nbytes: int,
        started: float,
        _clock: Callable[[], float] = perf_counter,
    ) -> None:
        """Queue one response's line (the server's per-response hook; formatted later)."""
        extend(
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

    return record


def _filtered_recorder(
    extend: Callable[[tuple[Any, ...]], None], lowest: int
) -> Callable[[RawRequest, int, int, float], None]:
    # A second closure, not a test in the first one: the unfiltered hook stays as it was.
    def record(
        request: RawRequest,
        status: int,
        nbytes: int,
        started: float,
        _clock: Callable[[], float] = perf_counter,
        _lowest: int = lowest,
    ) -> None:
        """Queue one response's line if its status is ``lowest`` or more (else only compare)."""
        if status < _lowest:
            return
        extend(
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

    return record


def make_access_log(config: ServerConfig) -> AccessLog:
    """Return the access log ``config`` asks for (format and destination)."""
    name = config.access_log_logger
    return AccessLog(
        json=config.access_log_format == "json",
        logger=logging.getLogger(name) if name else None,
    )
