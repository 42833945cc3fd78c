"""What every connection of one event loop shares: the app, the limits, the clock and the sweep."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

from django_bolt.server.config import TrustedProxies
from django_bolt.server.outbox import OutputBatch
from django_bolt.server.wire import format_date_header

if TYPE_CHECKING:
    import asyncio

    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import Application, RawRequest
    from django_bolt.server.metrics import ProcessMetrics
    from django_bolt.server.wire import WireResponse

__all__ = ("AccessLog", "Connection", "ServerState", "default_connection_limit")

# Called once per response: (request, status, body bytes sent, perf_counter() at its start).
AccessLog = Callable[["RawRequest", int, int, float], None]

# The sweep that enforces timeouts runs at a quarter of the shortest one, within these bounds.
_SWEEP_MIN_S: Final = 0.05
_SWEEP_MAX_S: Final = 1.0
# Descriptors kept back from the connection cap for everything else a worker opens: database
# and cache connections, spooled bodies, static files, log files.
_CONNECTION_SHARE: Final = 0.75


class Connection(Protocol):
    """What the state asks of each connection it tracks."""

    keep_alive: bool

    def check_timeouts(self, now: float) -> None: ...

    def shutdown(self) -> None: ...

    def abort(self) -> None: ...


def default_connection_limit(workers: int = 1) -> int:
    """``--limit-concurrency 0``: three quarters of the open-file limit, shared by the loops."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(16, int(soft * _CONNECTION_SHARE) // max(1, workers))


class ServerState:
    """What every connection of one event loop shares: app, config, counters, clock, Date."""

    __slots__ = (
        "_batch",
        "_sweeper",
        "access_log",
        "app",
        "body_min_rate",
        "body_timeout_s",
        "config",
        "connections",
        "date_header",
        "dispatch_nowait",
        "draining",
        "fixed_headers",
        "header_timeout_s",
        "keep_alive_s",
        "loop",
        "max_connections",
        "max_header_bytes",
        "max_header_count",
        "max_request_line_bytes",
        "max_upload_size",
        "metrics",
        "miss_answers",
        "miss_bytes",
        "now",
        "request_class",
        "request_factory",
        "server_header",
        "spool_dir",
        "spool_threshold",
        "total_requests",
        "trusted",
        "write_timeout_s",
    )

    def __init__(
        self,
        app: Application,
        config: ServerConfig,
        access_log: AccessLog | None = None,
    ) -> None:
        self.connections: set[Any] = set()
        # Metrics on: the scrape path is answered in front of the app, and the per-response
        # hook counts too. Off, nothing of them is on the request path.
        self.metrics: ProcessMetrics | None = None
        if config.metrics_path:
            # Imported only here: it loads prometheus_client (about 4 MiB).
            from django_bolt.server.metrics import instrument

            app, access_log, self.metrics = instrument(app, config, access_log, self.connections)
        self.app = app
        # The application's optional hook for answers that need not wait (contract.py).
        self.dispatch_nowait: Callable[[Any], Any] | None = getattr(app, "dispatch_nowait", None)
        self.request_class: type[RawRequest] = app.request_class
        # What the reader builds each request with: the application's optional request_factory
        # (contract.py), else the class itself.
        self.request_factory: Callable[..., RawRequest] = (
            getattr(app, "request_factory", None) or app.request_class
        )
        # The application's answers to requests nothing serves (contract.py), written by the
        # reader with no dispatch: not while each request is to be logged or counted.
        answers = getattr(app, "miss_answers", None)
        self.miss_answers: dict[tuple[bytes, bytes], WireResponse] | None = (
            answers
            if isinstance(answers, dict) and access_log is None and self.metrics is None
            else None
        )
        self.config = config
        self.access_log = access_log
        self.total_requests = 0
        self.draining = False
        self.trusted = TrustedProxies.parse(config.forwarded_allow_ips)
        self.keep_alive_s = config.keep_alive_s
        self.header_timeout_s = config.header_read_timeout_s
        self.body_timeout_s = config.body_read_timeout_s
        self.body_min_rate = config.body_min_rate
        self.write_timeout_s = config.write_timeout_s
        self.max_connections = config.limit_concurrency or default_connection_limit(
            config.effective_workers()
        )
        self.max_header_count = config.max_header_count
        # The limits the parser callbacks check on every request, kept here: compiled, a read
        # of this object's attribute is a load, one of the config's a dictionary lookup.
        self.max_header_bytes = config.max_header_bytes
        self.max_request_line_bytes = config.max_request_line_bytes
        self.max_upload_size = config.max_upload_size
        self.spool_threshold = config.body_spool_threshold
        self.spool_dir = config.body_spool_dir or None
        server = config.server_header
        self.server_header = b"server: %s\r\n" % server.encode("latin-1") if server else b""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.now = 0.0
        self._sweeper: asyncio.TimerHandle | None = None
        self._batch: OutputBatch | None = None
        self.tick()

    def tick(self) -> None:
        """Refresh the cached Date header (call once a second)."""
        self.date_header = format_date_header(time.time())
        # The lines every response carries, joined once a second instead of per response.
        self.fixed_headers = self.date_header + self.server_header
        # Whole miss answers as written this second (protocol.py, _answer_miss): they carry
        # the date, so a new second starts a new dict (which also bounds it).
        self.miss_bytes: dict[WireResponse, bytes] = {}
        if self.metrics is not None:
            self.metrics.write_quietly()

    def attach(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.connections.add(conn)
        if self.loop is None:
            self.loop = loop
        if self._sweeper is None:
            self.now = loop.time()
            self._schedule_sweep()

    def batch_for(self, loop: asyncio.AbstractEventLoop) -> OutputBatch:
        """Return the output batch of ``loop`` (server/outbox.py), made for its first connection."""
        batch = self._batch
        if batch is None or batch.loop is not loop:
            batch = self._batch = OutputBatch(loop)
        return batch

    def body_deadline_s(self, received: int) -> float:
        """How long a body may take once ``received`` bytes of it arrived (0: no limit)."""
        if self.body_timeout_s <= 0:
            return 0.0
        rate = self.body_min_rate
        return self.body_timeout_s + (received / rate if rate > 0 else 0.0)

    def _schedule_sweep(self) -> None:
        loop = self.loop
        if loop is None:  # pragma: no cover - attach() sets it first
            return
        # Timeouts are enforced by one periodic sweep instead of a timer per request; the
        # granularity is a quarter of the shortest timeout, and at most one second.
        timeouts = (
            self.keep_alive_s,
            self.header_timeout_s,
            self.body_timeout_s,
            self.write_timeout_s,
            4.0,
        )
        shortest = min(t for t in timeouts if t > 0)
        interval = min(_SWEEP_MAX_S, max(_SWEEP_MIN_S, shortest / 4))
        self._sweeper = loop.call_later(interval, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        if self.loop is None:  # pragma: no cover - attach() sets it first
            return
        self.now = now = self.loop.time()
        for conn in list(self.connections):
            conn.check_timeouts(now)
        if self.connections:
            self._schedule_sweep()

    def stop_keep_alive(self) -> None:
        """From now on each connection closes after answering what it has already received.

        The requests a connection has read (the one in progress and those pipelined behind it)
        are all answered; the last answer carries ``Connection: close``.
        """
        self.draining = True
        for conn in self.connections:
            conn.keep_alive = False

    def begin_shutdown(self) -> None:
        """Close idle connections now; busy ones close once their queued requests are answered."""
        self.draining = True
        for conn in list(self.connections):
            conn.shutdown()

    def force_close(self) -> None:
        """Abort every connection (the drain window is over)."""
        for conn in list(self.connections):
            conn.abort()
