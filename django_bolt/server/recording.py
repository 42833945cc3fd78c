"""What the access log and the metrics do per response, compiled with the request path.

The protocol calls ``state.access_log(request, status, nbytes, started)`` once per response.
With metrics on, that hook is a :class:`CountHook` (or a :class:`BothHooks`, the access log
on too): classes whose ``__call__`` mypyc compiles (see ``compiled_modules.txt``), so the call
from the compiled protocol stays in C instead of entering an interpreted frame. Measured with
callgrind, that saves more than the compiled code loses reading the request's attributes (a
generic attribute lookup, where the interpreter's is specialised): the access log's own hook,
which reads four of them, stays a Python closure (accesslog.py) for that reason.

:class:`LineFormat` formats the access log's queued lines, a batch at a time, on the worker's
main thread: a compiled loop over the lines, with the pieces that repeat cached."""

from __future__ import annotations

import threading
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.server.contract import RawRequest

__all__ = (
    "OPEN_WEBSOCKETS",
    "BothHooks",
    "CountHook",
    "LineFormat",
    "OpenGauge",
    "websocket_closed",
    "websocket_opened",
)

# Final: compiled, a C global read directly (a plain import is a dict lookup per call).
_clock: Final = perf_counter


class CountHook:
    """Count one response for the metrics of one event loop (no lock: one thread calls it).

    ``index`` maps (raw target, method, status) to the list of (duration, body size) pairs of
    its series; ``miss`` returns (and indexes) the list of a key not seen yet. ``+=`` of a
    pair is one C call, atomic under the GIL: a fold never sees half a response. The list of
    the response before is kept: consecutive responses of one loop often share target, method
    and status, and three comparisons cost less than hashing a new target to look it up.
    """

    __slots__ = ("_index", "_last", "_last_method", "_last_status", "_last_target", "_miss")

    def __init__(
        self,
        index: dict[tuple[bytes, str, int], list[float]],
        miss: Callable[[bytes, str, int], list[float]],
    ) -> None:
        self._index: Final = index
        self._miss: Final = miss
        self._last_target = b""
        self._last_method = ""
        self._last_status = 0
        self._last: list[float] = []

    def __call__(self, request: RawRequest, status: int, nbytes: int, started: float) -> None:
        duration = _clock() - started
        target = request.target
        method = request.method
        if (
            target == self._last_target
            and status == self._last_status
            and method == self._last_method
        ):
            pairs = self._last
        else:
            found = self._index.get((target, method, status))
            pairs = self._miss(target, method, status) if found is None else found
            self._last = pairs
            self._last_target = target
            self._last_method = method
            self._last_status = status
        pairs.extend((duration, nbytes))


class BothHooks:
    """Call the access log's hook, then the metrics' (both on)."""

    __slots__ = ("_count", "_log")

    def __init__(
        self,
        log: Callable[[RawRequest, int, int, float], None],
        count: Callable[[RawRequest, int, int, float], None],
    ) -> None:
        self._log: Final = log
        self._count: Final = count

    def __call__(self, request: RawRequest, status: int, nbytes: int, started: float) -> None:
        self._log(request, status, nbytes, started)
        self._count(request, status, nbytes, started)


# Each cache of line pieces is emptied when it reaches this many entries (distinct targets,
# sizes, durations): its memory stays bounded whatever clients send.
_MAX_CACHED: Final = 4096


def _cached_piece(cache: dict[Any, str], key: Any, make: Callable[[Any], str]) -> str:
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    piece = cache[key] = make(key)
    return piece


class LineFormat:
    """Format a batch of queued access-log entries, line by line, in compiled code.

    A line is ``lead``, the client, the part its method, target, HTTP version and status decide,
    the body size, then the duration (rounded half up to ``1 / scale`` s): each piece made by
    the matching ``make_*`` function once per distinct value, then cached. ``quote`` (JSON)
    makes the client's piece from its host; without it the host is the piece.
    """

    __slots__ = (
        "_durations",
        "_hosts",
        "_make_duration",
        "_make_request",
        "_make_size",
        "_quote",
        "_requests",
        "_scale",
        "_sizes",
    )

    def __init__(
        self,
        scale: float,
        quote: Callable[[str], str] | None,
        make_request: Callable[[tuple[Any, Any, Any, Any]], str],
        make_size: Callable[[int], str],
        make_duration: Callable[[int], str],
    ) -> None:
        self._scale: Final = scale
        self._quote: Final = quote
        self._make_request: Final = make_request
        self._make_size: Final = make_size
        self._make_duration: Final = make_duration
        self._hosts: dict[str, str] = {}
        self._requests: dict[tuple[Any, Any, Any, Any], str] = {}
        self._sizes: dict[int, str] = {}
        self._durations: dict[int, str] = {}

    def lines(self, items: list[Any], size: int, step: int, lead: str) -> str:
        """Return the lines of the entries in ``items[:size]`` (``step`` items each)."""
        hosts = self._hosts
        requests = self._requests
        sizes = self._sizes
        durations = self._durations
        quote = self._quote
        scale = self._scale
        out: list[str] = []
        # The request line of the line before: under load, consecutive lines often share it,
        # and four comparisons cost less than hashing a new target to look it up.
        method: Any = None
        target: Any = None
        version: Any = None
        status: Any = None
        request = ""
        for i in range(0, size, step):
            if lead:
                out.append(lead)
            client = items[i]
            host: str = client[0] if client else "-"
            if quote is not None:
                piece = hosts.get(host)
                host = _cached_piece(hosts, host, quote) if piece is None else piece
            out.append(host)
            if not (
                items[i + 2] == target
                and items[i + 4] == status
                and items[i + 1] == method
                and items[i + 3] == version
            ):
                method, target, version, status = items[i + 1 : i + 5]
                key = (method, target, version, status)
                piece = requests.get(key)
                request = (
                    _cached_piece(requests, key, self._make_request) if piece is None else piece
                )
            out.append(request)
            nbytes: int = items[i + 5]
            piece = sizes.get(nbytes)
            out.append(_cached_piece(sizes, nbytes, self._make_size) if piece is None else piece)
            rounded = int(float(items[i + 6]) * scale + 0.5)
            piece = durations.get(rounded)
            out.append(
                _cached_piece(durations, rounded, self._make_duration) if piece is None else piece
            )
        return "".join(out)


class OpenGauge:
    """A process-wide count moved from any thread."""

    __slots__ = ("_lock", "value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, delta: int) -> None:
        with self._lock:
            self.value += delta


# The open WebSockets of this process, which the metrics report. Counted here, not in
# server/metrics.py: a WebSocket counts whether or not metrics are on, and importing that module
# loads prometheus_client.
OPEN_WEBSOCKETS: Final = OpenGauge()


def websocket_opened() -> None:
    """Count one more open WebSocket in this process (call when an upgrade is accepted)."""
    OPEN_WEBSOCKETS.add(1)


def websocket_closed() -> None:
    """Count one WebSocket less (call once per :func:`websocket_opened`, when it ends)."""
    OPEN_WEBSOCKETS.add(-1)
