"""Prometheus metrics of the whole server, in the text exposition format, at one path.

Off by default (``--metrics-path``). When on, each response is counted in this process by
:meth:`ProcessMetrics.record`: a few dictionary and list updates under a lock, nothing written
anywhere. Once a second (the loop's tick), on every scrape and when a loop stops, the process
writes its totals into ``prometheus_client``'s multiprocess files (``counter_<pid>.db``, ...)
in the directory named by ``PROMETHEUS_MULTIPROC_DIR``, which the supervisor makes and clears.
A scrape, answered by whichever worker the connection reached, reads every process's files
with ``prometheus_client``'s ``MultiProcessCollector``: one scrape sees the whole server, and
counts of workers that have since been replaced stay in the totals (counters never go back).

The series are labelled by method, route template (``/items/{item_id}``, never the raw path, so
their number is bounded by the routes) and status. A path no route matches is labelled
:data:`UNMATCHED`.

WebSockets: :func:`websocket_opened` and :func:`websocket_closed` (server/recording.py, where the
WebSocket code reaches them without loading prometheus_client) move the open-WebSocket gauge; the
code that accepts and ends an upgraded connection calls them (they cost a lock each, metrics on
or off).
"""

from __future__ import annotations

import asyncio
import atexit
import glob
import hmac
import logging
import os
import shutil
import tempfile
import threading
from bisect import bisect_right
from functools import partial
from operator import lt
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from prometheus_client import (
    CollectorRegistry,
    generate_latest,
    mmap_dict as _mmap_dict,
    multiprocess as _multiprocess,
)
from prometheus_client.mmap_dict import mmap_key
from prometheus_client.utils import floatToGoString as _float_to_go_string

from django_bolt.server.recording import (
    OPEN_WEBSOCKETS,
    BothHooks,
    CountHook,
    websocket_closed,
    websocket_opened,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import Application, RawRequest

__all__ = (
    "BUCKETS",
    "DIRECTORY_ENV",
    "UNMATCHED",
    "MetricsEndpoint",
    "ProcessMetrics",
    "SupervisorMetrics",
    "instrument",
    "metrics_directory",
    "prepare_directory",
    "render",
    "websocket_closed",
    "websocket_opened",
)

_go_float = cast("Callable[[float], str]", _float_to_go_string)

DIRECTORY_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# Upper bounds of the latency buckets, in seconds (prometheus_client's defaults, plus 1 ms).
BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED: Final = "<unmatched>"
# Raw paths remembered with their route template; the memory is forgotten when it fills (paths
# of dynamic routes are many: /items/1, /items/2, ...), unmatched paths are never kept.
_MAX_CACHED_PATHS: Final = 4096
# Per series: count, sum of seconds, body bytes, then one slot per bucket and +Inf.
_COUNT, _SUM, _BYTES, _FIRST_BUCKET = 0, 1, 2, 3
_SLOTS: Final = _FIRST_BUCKET + len(BUCKETS) + 1
_LE: Final = (*(_go_float(b) for b in BUCKETS), "+Inf")
# d -> BUCKETS[0] < d (an int duration too, which float.__lt__ would not compare).
_ABOVE_FIRST_BUCKET: Final = partial(lt, BUCKETS[0])

_LABELS: Final = ("method", "route", "status")

REQUESTS: Final = "bolt_http_requests"
DURATION: Final = "bolt_http_request_duration_seconds"
BODY_BYTES: Final = "bolt_http_response_body_bytes"
IN_FLIGHT: Final = "bolt_http_requests_in_flight"
CONNECTIONS: Final = "bolt_http_connections_open"
WEBSOCKETS: Final = "bolt_websockets_open"
RESTARTS: Final = "bolt_worker_restarts"
RESTART_REASONS: Final = ("crash", "recycle", "reload")
_HELP: Final = {
    REQUESTS: "Responses sent, by method, route template and status.",
    DURATION: "Seconds from the first byte of a request to its last response byte handed over.",
    BODY_BYTES: "Response body bytes sent, by method, route template and status.",
    IN_FLIGHT: "Requests received and not answered yet.",
    CONNECTIONS: "Open HTTP connections.",
    WEBSOCKETS: "Open WebSocket connections.",
    RESTARTS: "Worker processes started to replace another, by reason.",
}

logger = logging.getLogger("django_bolt.server")


class _Mapped(Protocol):
    """The part of prometheus_client's ``MmapedDict`` (one process's file) used here."""

    def write_value(self, key: str, value: float, timestamp: float) -> None: ...

    def close(self) -> None: ...


# prometheus_client's multiprocess helpers carry no type hints: typed once, here.
_open_mapped = cast("Callable[[str], _Mapped]", _mmap_dict.MmapedDict)
_mark_process_dead = cast("Callable[[int, str], None]", _multiprocess.mark_process_dead)

_directory: str | None = None
_directory_lock = threading.Lock()


def prepare_directory() -> tuple[str, bool]:
    """Make the multiprocess directory for a server about to fork (the supervisor calls this).

    A ``PROMETHEUS_MULTIPROC_DIR`` already set is used, its ``*.db`` files of an earlier run
    removed; otherwise a fresh temporary directory is made and exported to the workers. Return
    the directory and whether it is ours to remove at exit.
    """
    global _directory
    given = os.environ.get(DIRECTORY_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        _directory = given
        return given, False
    made = tempfile.mkdtemp(prefix="django-bolt-metrics-")
    os.environ[DIRECTORY_ENV] = made
    _directory = made
    return made, True


def metrics_directory() -> str:
    """Return this process's multiprocess directory (one of its own if none was prepared)."""
    global _directory
    with _directory_lock:
        if _directory is None:
            given = os.environ.get(DIRECTORY_ENV)
            if given:
                _directory = given
            else:
                # A server started without the supervisor (the test client, --dev): private.
                _directory = tempfile.mkdtemp(prefix="django-bolt-metrics-")
                atexit.register(shutil.rmtree, _directory, True)
        return _directory


class _Files:
    """This process's multiprocess files, opened on first write."""

    def __init__(self, directory: str, pid: int) -> None:
        self._directory = directory
        self._pid = pid
        self._open: dict[str, _Mapped] = {}

    def get(self, kind: str) -> _Mapped:
        found = self._open.get(kind)
        if found is None:
            path = os.path.join(self._directory, f"{kind}_{self._pid}.db")
            found = self._open[kind] = _open_mapped(path)
        return found

    def close(self) -> None:
        for mapped in self._open.values():
            mapped.close()
        self._open.clear()


def _key(metric: str, sample: str, names: tuple[str, ...], values: tuple[str, ...]) -> str:
    return str(mmap_key(metric, sample, list(names), list(values), _HELP[metric]))


_GAUGE_KEYS: Final = tuple(
    _key(name, name, (), ()) for name in (CONNECTIONS, IN_FLIGHT, WEBSOCKETS)
)


class Recorder:
    """The responses of one event loop (no lock: only its loop thread records into it).

    A response (:attr:`record`, a compiled :class:`CountHook`) costs one dictionary lookup keyed
    by the raw target, method and status (none when they are the response before's), and one
    ``list +=`` of its duration and body size: targets that share a route template
    (``/items/1``, ``/items/2``) share one list, so a route is looked up once per distinct
    target, not per request. :meth:`fold` turns what was recorded into the totals (counts,
    sums, buckets) at each write, in C-speed batches, off the per-response path.
    """

    def __init__(self, process: ProcessMetrics, connections: set[Any]) -> None:
        self.process = process
        self.connections = connections
        # (method, route, status) -> [duration, size, duration, size, ...] not folded yet
        self.pending: dict[tuple[str, str, int], list[float]] = {}
        # (method, route, status) -> [count, seconds, bytes, bucket..., +Inf]
        self.totals: dict[tuple[str, str, int], list[float]] = {}
        self._index: dict[tuple[bytes, str, int], list[float]] = {}
        # The per-response hook: compiled with the request path (recording.py).
        self.record: Callable[[RawRequest, int, int, float], None] = CountHook(
            self._index, self._pairs_for
        )

    def add(self, method: str, target: bytes, status: int, nbytes: int, duration_s: float) -> None:
        """Record one response from its fields (for callers without a request)."""
        pairs = self._index.get((target, method, status))
        if pairs is None:
            pairs = self._pairs_for(target, method, status)
        pairs += (duration_s, nbytes)

    def _pairs_for(self, target: bytes, method: str, status: int) -> list[float]:
        cut = target.find(b"?")
        route = self.process.route_of(target if cut < 0 else target[:cut])
        key = (method, route, status)
        pairs = self.pending.get(key)
        if pairs is None:
            pairs = self.pending[key] = []
        index = self._index
        if len(index) >= _MAX_CACHED_PATHS:
            index.clear()  # many distinct targets (queries, ids): start over, nothing is lost
        index[(target, method, status)] = pairs
        return pairs

    def fold(self) -> None:
        """Move what was recorded into :attr:`totals` (the caller holds the write lock)."""
        totals = self.totals
        for key, pairs in list(self.pending.items()):
            taken = len(pairs) & ~1  # whole pairs only
            if not taken:
                continue
            chunk = pairs[:taken]
            del pairs[:taken]  # what the loop thread added meanwhile stays for the next fold
            durations = chunk[0::2]
            total = totals.get(key)
            if total is None:
                total = totals[key] = [0.0] * _SLOTS
            count = taken >> 1
            total[_COUNT] += count
            total[_SUM] += sum(durations)
            total[_BYTES] += sum(chunk[1::2])
            # Most responses fall in the first bucket: only the slower ones are sorted (in C),
            # then each bucket's count is a bisection of them.
            slow = sorted(filter(_ABOVE_FIRST_BUCKET, durations))
            fast = count - len(slow)
            below = 0
            for slot, bound in enumerate(BUCKETS, _FIRST_BUCKET):
                upto = fast + bisect_right(slow, bound)
                total[slot] += upto - below
                below = upto
            total[-1] += count - below


class ProcessMetrics:
    """The counts of one process: one :class:`Recorder` per event loop, written now and then."""

    def __init__(self, directory: str, route_template: Callable[[bytes], str | None] | None):
        self.directory = directory
        self._route_template = route_template
        self._paths: dict[bytes, str] = {}
        self._recorders: list[Recorder] = []
        self._written: dict[tuple[str, str, int], float] = {}
        self._keys: dict[tuple[str, str, int], tuple[str, str, str, tuple[str, ...]]] = {}
        self._gauges_written: tuple[int, int, int] | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.pid = os.getpid()
        self._files = _Files(directory, self.pid)

    def recorder(self, connections: set[Any]) -> Recorder:
        """Return a recorder for one event loop, whose ``connections`` the gauges count."""
        recorder = Recorder(self, connections)
        with self._lock:
            self._recorders.append(recorder)
        return recorder

    def add(self, method: str, target: bytes, status: int, nbytes: int, duration_s: float) -> None:
        """Record one response from its fields, in a recorder of its own (tests, tools)."""
        with self._lock:
            if not self._recorders:
                self._recorders.append(Recorder(self, set()))
            recorder = self._recorders[0]
        recorder.add(method, target, status, nbytes, duration_s)

    def route_of(self, path: bytes) -> str:
        """Return the route template of ``path`` (raw, without query), or :data:`UNMATCHED`."""
        known = self._paths.get(path)
        if known is not None:
            return known
        find = self._route_template
        try:
            template = None if find is None else find(path)
        except Exception:  # a label is never worth a failed response
            template = None
        if template is None:
            return UNMATCHED  # never kept: clients choose these paths freely
        if len(self._paths) >= _MAX_CACHED_PATHS:
            self._paths.clear()
        self._paths[path] = template
        return template

    def totals(self) -> dict[tuple[str, str, int], list[float]]:
        """Return every series summed over the event loops (from any thread)."""
        with self._lock:
            recorders = list(self._recorders)
        summed: dict[tuple[str, str, int], list[float]] = {}
        with self._write_lock:
            for recorder in recorders:
                recorder.fold()
        for recorder in recorders:
            for key, series in list(recorder.totals.items()):
                values = list(series)
                found = summed.get(key)
                if found is None:
                    summed[key] = values
                else:
                    for i, value in enumerate(values):
                        found[i] += value
        return summed

    def gauges(self) -> tuple[int, int]:
        """Return (open connections, requests in flight) of this process now."""
        with self._lock:
            sets = [recorder.connections for recorder in self._recorders]
        connections = in_flight = 0
        for conns in sets:
            for conn in list(conns):
                connections += 1
                in_flight += bool(getattr(conn, "responding", False))
                in_flight += len(getattr(conn, "pipeline", ()))
        return connections, in_flight

    def write_quietly(self) -> None:
        """:meth:`write`, with a failure logged instead of raised (the periodic writes)."""
        try:
            self.write()
        except (OSError, ValueError):
            logger.exception("metrics: could not write to %s", self.directory)

    def write(self) -> None:
        """Write this process's totals into its multiprocess files (from any thread)."""
        if os.getpid() != self.pid:  # a fork of a process that recorded: not its counts
            return
        changed = [
            (key, series)
            for key, series in self.totals().items()
            if self._written.get(key) != series[_COUNT]
        ]
        connections, in_flight = self.gauges()
        with self._write_lock:
            counters, histograms = self._files.get("counter"), self._files.get("histogram")
            for key, series in changed:
                requests, sums, body, buckets = self._series_keys(key)
                counters.write_value(requests, series[_COUNT], 0.0)
                counters.write_value(body, series[_BYTES], 0.0)
                histograms.write_value(sums, series[_SUM], 0.0)
                for bucket_key, value in zip(buckets, series[_FIRST_BUCKET:], strict=True):
                    histograms.write_value(bucket_key, value, 0.0)
                self._written[key] = series[_COUNT]
            now = (connections, in_flight, OPEN_WEBSOCKETS.value)
            if now != self._gauges_written:
                gauges = self._files.get("gauge_livesum")
                for gauge_key, value in zip(_GAUGE_KEYS, now, strict=True):
                    gauges.write_value(gauge_key, float(value), 0.0)
                self._gauges_written = now

    def close(self) -> None:
        """Close this process's files (a last :meth:`write` first is the caller's choice)."""
        with self._write_lock:
            self._files.close()

    def _series_keys(self, key: tuple[str, str, int]) -> tuple[str, str, str, tuple[str, ...]]:
        known = self._keys.get(key)
        if known is None:
            known = self._keys[key] = _series_keys(key)
        return known


def _series_keys(key: tuple[str, str, int]) -> tuple[str, str, str, tuple[str, ...]]:
    """Return the file keys of one series (JSON text: made once per series, then kept)."""
    values = (key[0], key[1], str(key[2]))
    requests = _key(REQUESTS, REQUESTS + "_total", _LABELS, values)
    body = _key(BODY_BYTES, BODY_BYTES + "_total", _LABELS, values)
    sums = _key(DURATION, DURATION + "_sum", _LABELS, values)
    names = (*_LABELS, "le")
    buckets = tuple(_key(DURATION, DURATION + "_bucket", names, (*values, le)) for le in _LE)
    return requests, sums, body, buckets


_process: ProcessMetrics | None = None
_process_lock = threading.Lock()


def _process_metrics(app: Application) -> ProcessMetrics:
    """Return this process's one :class:`ProcessMetrics` (each event loop shares it)."""
    global _process
    with _process_lock:
        directory = metrics_directory()
        stale = _process is not None and (
            _process.directory != directory or _process.pid != os.getpid()
        )
        if stale and _process is not None:
            _process.close()  # another directory (tests), or the parent's before a fork
        if _process is None or stale:
            _process = ProcessMetrics(directory, getattr(app, "route_template", None))
        return _process


def render(directory: str) -> bytes:
    """Return every process's metrics in ``directory``, summed, as Prometheus text."""
    registry = CollectorRegistry()
    _multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return bytes(generate_latest(registry))


class _Answer:
    """A response of the scrape endpoint (the server's ``ResponseLike`` shape)."""

    __slots__ = ("body", "raw_headers", "status_code")

    stream = None
    background = None

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body


# The text format's version every Prometheus reads (prometheus_client's newest name for the same
# format, 1.0.0, is unknown to older servers).
_CONTENT_TYPE: Final = (b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
_JSON: Final = (b"content-type", b"application/json")


class MetricsEndpoint:
    """The application, with the scrape path answered in front of it.

    Everything else is the wrapped application's: ``dispatch`` hands every other request over
    with one comparison, and any other attribute (``request_class``, ``error_headers``, ...)
    is read from it.
    """

    def __init__(self, app: Application, path: str, token: str, process: ProcessMetrics) -> None:
        self._app = app
        self._path = path.encode("latin-1")
        self._token = token.encode("utf-8")
        self._process = process
        self.request_class = app.request_class

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def dispatch(self, request: RawRequest) -> Coroutine[Any, Any, Any]:
        """Answer the scrape path; hand any other request to the application."""
        target = request.target
        path = self._path
        if target.startswith(path) and (len(target) == len(path) or target[len(path)] == 63):
            return self.scrape(request)
        return self._app.dispatch(request)

    async def scrape(self, request: RawRequest) -> _Answer:
        """Answer a request for the scrape path (GET or HEAD, with the token if one is set)."""
        if request.method not in ("GET", "HEAD"):
            body = b'{"detail":"Method Not Allowed"}'
            return _Answer(405, [_JSON, (b"allow", b"GET, HEAD")], body)
        if self._token and not self._authorized(request):
            headers = [_JSON, (b"www-authenticate", b"Bearer")]
            return _Answer(401, headers, b'{"detail":"Authentication required"}')
        process = self._process
        # Reading every process's files takes a few milliseconds: not on the event loop.
        body = await asyncio.get_running_loop().run_in_executor(None, _scrape_now, process)
        return _Answer(200, [_CONTENT_TYPE], body)

    def _authorized(self, request: RawRequest) -> bool:
        for name, value in request.raw_headers:
            if name.lower() == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self._token
                )
        return False

    async def startup(self) -> None:
        """Start the wrapped application."""
        await self._app.startup()

    async def shutdown(self) -> None:
        """Stop the wrapped application (the loop's last tick writes the last counts)."""
        await self._app.shutdown()


def _scrape_now(process: ProcessMetrics) -> bytes:
    process.write()
    return render(process.directory)


def instrument(
    app: Application,
    config: ServerConfig,
    access_log: Callable[[RawRequest, int, int, float], None] | None,
    connections: set[Any],
) -> tuple[Application, Callable[[RawRequest, int, int, float], None], ProcessMetrics]:
    """Return the app serving the scrape path, the per-response hook counting for one event
    loop (calling ``access_log`` too), and this process's :class:`ProcessMetrics`.

    An app with a ``serve_at(path, endpoint)`` hook (the framework's) answers the path among
    its misses, at no cost to its routes; another app is wrapped in a :class:`MetricsEndpoint`.
    ``connections`` (the loop's) is counted in the connection and in-flight gauges.
    """
    process = _process_metrics(app)
    endpoint = MetricsEndpoint(app, config.metrics_path, config.metrics_token, process)
    serve_at = getattr(app, "serve_at", None)
    served: Application = endpoint
    if serve_at is not None:
        serve_at(config.metrics_path, endpoint.scrape)
        served = app
    record = process.recorder(connections).record
    if access_log is None:
        return served, record, process
    return served, BothHooks(access_log, record), process


class SupervisorMetrics:
    """What the supervisor adds: restarts counted, and a dead worker's live gauges removed."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._files = _Files(directory, os.getpid())
        self._restarts: dict[str, float] = {}
        for reason in RESTART_REASONS:  # every series present from the start, at 0
            self._write_restarts(reason, 0.0)

    def restarted(self, reason: str) -> None:
        """Count a worker started to replace another (``reason``: recycle, crash, reload)."""
        self._write_restarts(reason, self._restarts.get(reason, 0.0) + 1)

    def _write_restarts(self, reason: str, total: float) -> None:
        self._restarts[reason] = total
        key = _key(RESTARTS, RESTARTS + "_total", ("reason",), (reason,))
        self._files.get("counter").write_value(key, total, 0.0)

    def exited(self, pid: int) -> None:
        """Forget a worker's live gauges (its counters stay in the totals)."""
        _mark_process_dead(pid, self.directory)

    def close(self, remove: bool) -> None:
        """Close the files; remove the directory too when ``remove`` (the supervisor made it)."""
        self._files.close()
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)
