"""The access log: one line per request on stderr, formatted and written off the hot path.

The per-response hook (:attr:`AccessLog.record`, what the protocol calls after each response)
only extends a list with the request's fields: one C call, atomic under the GIL, so the loop
threads of a worker share one list without a lock. The worker's main thread flushes every
~100 ms (small batches wait up to a second): it takes the whole entries queued so far, formats
the batch and writes it with one ``write`` call.

Formatting is by columns, not lines: each field of the batch is one slice of the list, turned
into text with C-level ``map`` calls over small caches (the part of a line its request line and
status decide, a body size, a duration in hundredths of a millisecond), and the pieces are
joined once. A Python loop per line, even one ``%`` each, cost three times as much.

Lines are text (:func:`format_line`) or JSON objects (:func:`format_json`, for log shippers).
With a logger named (``--access-log-logger``), each line becomes a record of that logger
instead, emitted by the flusher, so the project's ``LOGGING`` decides where it goes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from itertools import chain, repeat
from operator import add, itemgetter, mul
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

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
_host: Final[Callable[[Any], str]] = itemgetter(0)


# --- the pieces of a line, each made once per distinct value and cached ------------------------


def _path(target: bytes) -> str:
    # httptools rejects control characters in the target; backslashreplace keeps any other
    # non-ASCII byte visible without letting it forge a line.
    return target.decode("ascii", "backslashreplace")


def _text_request(key: RequestKey) -> str:
    method, target, version, status = key
    return f' "{method} {_path(target)} HTTP/{version}" {status} '


def _text_size(size: int) -> str:
    return f"{size} "


def _text_duration(centi_ms: int) -> str:
    whole, part = divmod(centi_ms, 100)
    return f"{whole}.{part:02d}ms\n"


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


def _json_size(size: int) -> str:
    return str(size)


def _json_duration(milli_ms: int) -> str:
    whole, part = divmod(milli_ms, 1000)
    return f',"duration_ms":{whole}.{part:03d}}}\n'


def _json_lead(now: float) -> str:
    """``{"time":"...","client":`` for lines written at ``now`` (UTC, ISO 8601, milliseconds)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    return f'{{"time":"{stamp}.{int(now % 1 * 1000):03d}Z","client":'


def _rounded(durations: Iterable[float], scale: float) -> list[int]:
    """Each duration (seconds) times ``scale``, rounded half up (durations are never negative)."""
    return list(map(int, map(add, map(mul, durations, repeat(scale)), repeat(0.5))))


# Hundredths of a millisecond (text) and thousandths (JSON), from seconds.
_CENTI_MS: Final = 100_000.0
_MILLI_MS: Final = 1_000_000.0


def _cached(cache: dict[Any, str], keys: list[Any], make: Callable[[Any], str]) -> list[str]:
    """Return the cached piece of each key, making (and caching) those not seen yet.

    When every key is known, this is two C calls for the whole batch.
    """
    found: list[str | None] = list(map(cache.get, keys))
    if all(found):  # every piece is a non-empty string
        return found  # type: ignore[return-value]
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    for i, piece in enumerate(found):
        if piece is None:
            key = keys[i]
            found[i] = cache[key] = make(key)
    return found  # type: ignore[return-value]


def _hosts(clients: list[tuple[str, int] | None]) -> list[str]:
    try:
        return list(map(_host, clients))
    except TypeError:  # a client unknown (None): "-"
        return [client[0] if client else "-" for client in clients]


def format_line(entry: Entry) -> str:
    """``client "METHOD target HTTP/v" status bytes duration_ms`` for one request."""
    client, method, target, version, status, nbytes, duration_s = entry
    centi = _rounded((duration_s,), _CENTI_MS)[0]
    request = _text_request((method, target, version, status))
    return client + request + _text_size(nbytes) + _text_duration(centi)


def format_json(entry: Entry, now: float | None = None) -> str:
    """One JSON object on one line: time, client, method, path, query, status, bytes, ...

    ``time`` is when the line is written (the flusher's clock, at most ~0.1 s after the
    response; a second at most for a quiet server), in UTC, ISO 8601 with milliseconds.
    """
    client, method, target, version, status, nbytes, duration_s = entry
    milli = _rounded((duration_s,), _MILLI_MS)[0]
    return "".join(
        (
            _json_lead(time.time() if now is None else now),
            _json_client(client),
            _json_request((method, target, version, status)),
            _json_size(nbytes),
            _json_duration(milli),
        )
    )


class _Batch:
    """The columns of a batch of queued entries (slices of the queue's list: C copies)."""

    __slots__ = ("clients", "durations", "keys", "sizes")

    def __init__(self, items: list[Any]) -> None:
        step = _FIELDS
        self.clients: list[tuple[str, int] | None] = items[0::step]
        self.keys: list[RequestKey] = list(
            zip(items[1::step], items[2::step], items[3::step], items[4::step], strict=True)
        )
        self.sizes: list[int] = items[5::step]
        self.durations: list[float] = items[6::step]

    def entries(self) -> list[Entry]:
        """Return the batch as one :data:`Entry` per line (for the logger destination)."""
        hosts = _hosts(self.clients)
        return [
            (host, method, target, version, status, size, duration)
            for host, (method, target, version, status), size, duration in zip(
                hosts, self.keys, self.sizes, self.durations, strict=True
            )
        ]


class _TextLines:
    """Text lines of whole batches, with caches of the pieces repeated from line to line."""

    def __init__(self) -> None:
        self._requests: dict[Any, str] = {}
        self._sizes: dict[Any, str] = {}
        self._durations: dict[Any, str] = {}

    def __call__(self, batch: _Batch) -> str:
        hosts = _hosts(batch.clients)
        requests = _cached(self._requests, batch.keys, _text_request)
        sizes = _cached(self._sizes, batch.sizes, _text_size)
        centis = _rounded(batch.durations, _CENTI_MS)
        durations = _cached(self._durations, centis, _text_duration)
        return "".join(chain.from_iterable(zip(hosts, requests, sizes, durations, strict=True)))


class _JsonLines:
    """JSON lines of whole batches (one timestamp per batch: when it is written)."""

    def __init__(self) -> None:
        self._clients: dict[Any, str] = {}
        self._requests: dict[Any, str] = {}
        self._sizes: dict[Any, str] = {}
        self._durations: dict[Any, str] = {}

    def __call__(self, batch: _Batch) -> str:
        clients = _cached(self._clients, _hosts(batch.clients), _json_client)
        requests = _cached(self._requests, batch.keys, _json_request)
        sizes = _cached(self._sizes, batch.sizes, _json_size)
        millis = _rounded(batch.durations, _MILLI_MS)
        durations = _cached(self._durations, millis, _json_duration)
        lead = [_json_lead(time.time())] * len(clients)
        pieces = zip(lead, clients, requests, sizes, durations, strict=True)
        return "".join(chain.from_iterable(pieces))


def level_for_status(status: int) -> int:
    """Return the log level of a response's line: INFO below 400, WARNING 4xx, ERROR 5xx."""
    if status >= 500:
        return logging.ERROR
    return logging.WARNING if status >= 400 else logging.INFO


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
        "_lines",
        "_lock",
        "_logger",
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
        self._lines: Callable[[_Batch], str] = _JsonLines() if json else _TextLines()
        self._logger = logger
        self._bound = bound
        self._since = 0.0  # when the oldest line of a small batch was first seen waiting
        # _FIELDS items per response, appended by one extend() each (atomic under the GIL).
        self._items: list[Any] = []
        self._lock = threading.Lock()
        # Set when add() passes the bound; the flusher waits on it with a timeout.
        self.wake = threading.Event()
        self.record: Callable[[RawRequest, int, int, float], None] = _recorder(self._items)

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
            batch = _Batch(items[:size])
            del items[:size]
            if self._logger is not None:
                self._emit(batch.entries(), self._logger)
                return
            self._write_all(self._lines(batch).encode("utf-8", "backslashreplace"))

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


def _recorder(items: list[Any]) -> Callable[[RawRequest, int, int, float], None]:
    extend = items.extend

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


def make_access_log(config: ServerConfig) -> AccessLog:
    """Return the access log ``config`` asks for (format and destination)."""
    name = config.access_log_logger
    return AccessLog(
        json=config.access_log_format == "json",
        logger=logging.getLogger(name) if name else None,
    )
