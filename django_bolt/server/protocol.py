"""One HTTP/1.1 connection (RFC 9112) on httptools, and the per-loop state its connections share.

httptools (llhttp) validates the framing: request line, header syntax, Content-Length,
chunked coding. This module adds what llhttp leaves to the server: the limits, the Host rule,
the supported transfer codings and versions, keep-alive and pipelining, back-pressure and the
dispatch of each complete request to the application.

Request life: on_message_begin -> on_url* -> on_header* -> on_headers_complete -> on_body* ->
on_message_complete, which builds the request and either runs it or queues it behind the one
in progress (pipelining keeps responses in request order).

Bodies up to ``body_spool_threshold`` are kept as a list of the received pieces and joined once.
A larger one (announced by Content-Length, or a chunked body that grows past it) is written to a
:class:`SpooledBody` as it arrives, so a worker's memory does not grow with the upload. The
writes happen here, on the event loop: they land in the page cache, one copy per piece like the
one httptools already made to hand the piece over, while handing them to a thread would cost
more per piece than the write itself and would need a back-pressure of its own. Reading stays
paced by the writes (a write that waits on the disk delays the next read from the socket, which
is the back-pressure a slow disk should give). The spooled body is closed when the response (and its
background task) is done, when the request is abandoned, or when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sys
import time
import types
from collections import deque
from collections.abc import AsyncIterable, Callable, Coroutine, Generator, Iterable
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, cast

import httptools

from django_bolt.conf import TrustedProxies
from django_bolt.server.contract import SpooledBody, error_header_lines
from django_bolt.server.proxy import FORWARDING_HEADERS, resolve_forwarded
from django_bolt.server.wire import (
    METHODS,
    NO_BODY_STATUSES as _NO_BODY_STATUSES,
    STATUS_LINES as _STATUS_LINES,
    declared_length,
    error_response,
    format_date_header,
    status_line,
)

if TYPE_CHECKING:
    from django_bolt.conf import ServerConfig
    from django_bolt.server.contract import Application, RawRequest, ResponseLike

__all__ = ("AccessLog", "HttpProtocol", "ServerState")

logger = logging.getLogger("django_bolt.server")

AccessLog = Callable[[str, str, bytes, str, int, int, float], None]

# Above this size a body is handed to the transport as its own buffer instead of being copied
# into the head's buffer.
_JOIN_BODY_BELOW: Final = 64 * 1024
# Stop reading from a client that pipelines more than this many requests ahead of its answers.
_MAX_PIPELINED: Final = 16
# Python 3.12+ can start a Task eagerly: no scheduling round trip, and a correct
# asyncio.current_task() during the first step. 3.11 drives the coroutine by hand instead.
_EAGER_TASKS: Final = sys.version_info >= (3, 12)
# While draining, how long a just-accepted connection may take to send its first request.
_FRESH_GRACE_S: Final = 1.0
# asyncio.Task, called with eager_start=True only on 3.12+ (typed loosely: the 3.11 stubs lack it).
_Task: Any = asyncio.Task

_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_KEEP_ALIVE_10: Final = b"connection: keep-alive\r\n"
_CLOSE: Final = b"connection: close\r\n"
_CHUNKED: Final = b"transfer-encoding: chunked\r\n"
_LAST_CHUNK: Final = b"0\r\n\r\n"
# The Content-Length line (and the blank line ending the head) of small bodies, made once:
# a list index instead of a bytes formatting per response.
_CACHED_LENGTHS: Final = 2048
_CONTENT_LENGTH_LINES: Final = [
    b"content-length: %d\r\n\r\n" % size for size in range(_CACHED_LENGTHS)
]
# "_" as an int: CPython's ``bytes in bytes`` first tries the needle as an integer and pays for
# a TypeError on every call (0.25 us, most of a header's cost); an int needle is a memchr.
_UNDERSCORE: Final = ord("_")

# Header names the server itself must look at; every other header is only stored.
_HOST: Final = 1
_CONTENT_LENGTH: Final = 2
_TRANSFER_ENCODING: Final = 3
_EXPECT: Final = 4
_FORWARDING: Final = 5
_ORIGIN: Final = 6
_SPECIAL_HEADERS: Final[dict[bytes, int]] = {
    b"host": _HOST,
    b"content-length": _CONTENT_LENGTH,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"expect": _EXPECT,
    # Noted for CORS (RawRequest.origin), which would otherwise scan every header again.
    b"origin": _ORIGIN,
    **dict.fromkeys(FORWARDING_HEADERS, _FORWARDING),
}


class _Reject(Exception):
    """Raised inside a parser callback: answer ``status`` and close.

    ``head_complete`` says the request's method, target and headers are all known (a 413 for a
    body too large), so the application may add headers to the answer (CORS, say).
    """

    def __init__(self, status: int, head_complete: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.head_complete = head_complete


class ServerState:
    """What every connection of one event loop shares: app, config, counters, clock, Date."""

    __slots__ = (
        "_sweeper",
        "access_log",
        "app",
        "config",
        "connections",
        "date_header",
        "draining",
        "fixed_headers",
        "header_timeout_s",
        "keep_alive_s",
        "loop",
        "max_header_count",
        "now",
        "request_class",
        "server_header",
        "spool_dir",
        "spool_threshold",
        "total_requests",
        "trusted",
    )

    def __init__(
        self, app: Application, config: ServerConfig, access_log: AccessLog | None = None
    ) -> None:
        self.app = app
        self.request_class: type[RawRequest] = app.request_class
        self.config = config
        self.access_log = access_log
        self.connections: set[HttpProtocol] = set()
        self.total_requests = 0
        self.draining = False
        self.trusted = TrustedProxies.parse(config.forwarded_allow_ips)
        self.keep_alive_s = config.keep_alive_s
        self.header_timeout_s = config.header_read_timeout_s
        self.max_header_count = config.max_header_count
        self.spool_threshold = config.body_spool_threshold
        self.spool_dir = config.body_spool_dir or None
        server = config.server_header
        self.server_header = b"server: %s\r\n" % server.encode("latin-1") if server else b""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.now = 0.0
        self._sweeper: asyncio.TimerHandle | None = None
        self.tick()

    def tick(self) -> None:
        """Refresh the cached Date header (call once a second)."""
        self.date_header = format_date_header(time.time())
        # The lines every response carries, joined once a second instead of per response.
        self.fixed_headers = self.date_header + self.server_header

    def attach(self, conn: HttpProtocol, loop: asyncio.AbstractEventLoop) -> None:
        self.connections.add(conn)
        if self.loop is None:
            self.loop = loop
        if self._sweeper is None:
            self.now = loop.time()
            self._schedule_sweep()

    def _schedule_sweep(self) -> None:
        loop = self.loop
        if loop is None:  # pragma: no cover - attach() sets it first
            return
        # Timeouts are enforced by one periodic sweep instead of a timer per request; the
        # granularity is a quarter of the shortest timeout, and at most one second.
        shortest = min(t for t in (self.keep_alive_s, self.header_timeout_s, 4.0) if t > 0)
        interval = min(1.0, max(0.05, shortest / 4))
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


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    __slots__ = (
        "_drain_waiter",
        "_peer",
        "active_body",
        "body_bytes",
        "body_parts",
        "client",
        "closing",
        "content_length",
        "error_extra",
        "expect_continue",
        "forwarded",
        "has_host",
        "head_started",
        "header_bytes",
        "header_size",
        "headers",
        "http_version",
        "idle_since",
        "in_body",
        "in_head",
        "keep_alive",
        "loop",
        "origin",
        "parser",
        "peer_done",
        "pipeline",
        "read_paused",
        "request_started",
        "responding",
        "running_pipeline",
        "scheme",
        "served",
        "server",
        "spool",
        "state",
        "task",
        "transport",
        "trusted_peer",
        "url",
        "write_paused",
    )

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.loop = asyncio.get_running_loop() if state.loop is None else state.loop
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pipeline: deque[tuple[RawRequest | int, bool]] = deque()
        self.responding = False
        self.running_pipeline = False
        self.task: asyncio.Task[Any] | None = None
        self.read_paused = False
        self.write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.keep_alive = True
        self.closing = False
        self.in_head = False
        # Between a request's head and the end of its body.
        self.in_body = False
        # The client half-closed: nothing more will arrive once the queued requests are answered.
        self.peer_done = False
        self.head_started = 0.0
        self.idle_since = 0.0
        self.request_started = 0.0
        self.trusted_peer = False
        self.served = False
        # The spooled body of the request being answered: a Task cancelled before its first
        # step never runs its cleanup, so connection_lost closes this one too.
        self.active_body: SpooledBody | None = None
        # Header lines the application adds to the one server-made error still to be sent.
        self.error_extra = b""
        self._reset_message()

    def _reset_message(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.header_size = 0
        self.body_parts: list[bytes] = []
        self.body_bytes = 0
        self.spool: SpooledBody | None = None
        self.content_length = -1
        self.expect_continue = False
        self.has_host = False
        self.origin: bytes | None = None
        self.forwarded: list[tuple[bytes, bytes]] | None = None

    # --- connection events ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but implement it.
        self.transport = transport = cast("asyncio.Transport", transport)
        state = self.state
        state.attach(self, self.loop)
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        self._peer = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        self.client = self._peer
        self.server = (str(sock[0]), int(sock[1])) if isinstance(sock, tuple) else None
        self.scheme = "https" if transport.get_extra_info("sslcontext") else "http"
        self.trusted_peer = self._peer is not None and self._peer[0] in state.trusted
        self.idle_since = state.now
        if state.draining or state.keep_alive_s <= 0:
            # Decided per connection, so that no request pays for the check.
            self.keep_alive = False

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)
        self.transport = None
        self._drop_spool()
        if self.active_body is not None:
            self.active_body.close()
        for item, _ in self.pipeline:
            if not isinstance(item, int):
                _release(item)
        self.pipeline.clear()
        task = self.task
        if task is not None and not task.done():
            # The client is gone: nobody will read the answer, so stop computing it.
            task.cancel()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("client disconnected"))

    def eof_received(self) -> bool:
        """The client will send nothing more but may still read (a half-close, ``SHUT_WR``):
        the requests it sent are answered, then the connection closes."""
        if self.responding or self.pipeline:
            self.peer_done = True
            return True  # keep the transport open for writing
        return False

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.transport is not None and not self.read_paused:
            self.transport.resume_reading()
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its low-water mark."""
        if self.transport is None:
            raise ConnectionResetError("client disconnected")
        if self.write_paused:
            waiter = self._drain_waiter
            if waiter is None:
                waiter = self._drain_waiter = self.loop.create_future()
            await waiter

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # the last response is decided (an error, or close): nothing more is read
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            # No protocol switch is offered (yet), so the request was served as plain HTTP
            # (RFC 9110 section 7.8 lets a server ignore Upgrade); keep parsing after it.
            offset = int(upgrade.args[0]) if upgrade.args else len(data)
            self.parser = httptools.HttpRequestParser(self)
            if offset < len(data):
                self.data_received(data[offset:])
            return
        except httptools.HttpParserCallbackError as error:
            # feed_data() runs the callbacks, which may have set `closing` (mypy cannot see it).
            if cast("bool", self.closing):
                return  # a message after the connection's last one (on_message_begin stopped it)
            cause = error.__context__
            if isinstance(cause, _Reject):
                if cause.head_complete:
                    self.error_extra = self._error_headers(cause.status)
                self._reject(cause.status)
            else:
                self._reject(500)
            if not isinstance(cause, _Reject):
                logger.error("parser callback failed", exc_info=cause)
            return
        except httptools.HttpParserError as error:
            if cast("bool", self.closing):
                return
            self._reject(505 if "HTTP version" in str(error) else 400)
            return
        if self.in_head and not self.closing:
            # Counted as the bytes arrive: a header that never ends must not grow without bound.
            # A read in which the head began may also hold the previous request and its body,
            # so it only marks the start; the bound is then the limits plus one read.
            if not self.header_bytes:
                self.header_bytes = 1
                return
            self.header_bytes += len(data)
            config = self.state.config
            if self.header_bytes > config.max_header_bytes + config.max_request_line_bytes:
                self._reject(431 if self.url else 414)

    # --- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.closing:
            # Pipelined behind a request that ends the connection, in the same read: RFC 9112
            # section 9.6 says not to process it, so stop the parser here.
            raise _Reject(0)
        self._reset_message()
        self.in_head = True
        self.head_started = self.state.now
        if self.state.access_log is not None:
            self.request_started = perf_counter()
        if self.trusted_peer:
            self.forwarded = []

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.state.config.max_request_line_bytes:
            raise _Reject(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        if _UNDERSCORE in name:
            # Django's META maps both "X-A" and "X_A" to HTTP_X_A: drop the ambiguous spelling.
            return
        headers = self.headers
        headers.append((name, value))
        # Name, value, ": " and CRLF, as on the wire.
        self.header_size += len(name) + len(value) + 4
        if len(headers) > self.state.max_header_count:
            raise _Reject(431)
        kind = _SPECIAL_HEADERS.get(name.lower())
        if kind is None:
            return
        if kind == _HOST:
            if self.has_host:
                raise _Reject(400)  # RFC 9112 section 3.2: more than one Host is a 400
            self.has_host = True
        elif kind == _CONTENT_LENGTH:
            # llhttp has already rejected malformed and duplicate values.
            self.content_length = int(value)
        elif kind == _TRANSFER_ENCODING:
            if value.strip().lower() != b"chunked":
                raise _Reject(501)
        elif kind == _EXPECT:
            self.expect_continue = value.strip().lower() == b"100-continue"
        elif kind == _ORIGIN:
            if self.origin is None:
                self.origin = value
        elif self.forwarded is not None:
            self.forwarded.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.in_body = True
        # From here until the body is complete the keep-alive clock measures silence, not the
        # idle time before the request (which could cut an upload that started late).
        self.idle_since = self.state.now
        config = self.state.config
        if self.header_size > config.max_header_bytes:
            raise _Reject(431)
        self.http_version = version = self.parser.get_http_version()
        if version != "1.1":
            if version != "1.0":
                raise _Reject(505)
            if self.content_length < 0 and any(
                n.lower() == b"transfer-encoding" for n, _ in self.headers
            ):
                raise _Reject(400)  # RFC 9112 section 6.1: chunked is not HTTP/1.0 framing
        elif not self.has_host:
            raise _Reject(400)
        if self.content_length > config.max_upload_size:
            # Decided before reading, and sent instead of 100 Continue.
            raise _Reject(413, head_complete=True)
        if self.expect_continue:
            # Left set only while the 100 waits for this request's turn; an empty body (or
            # HTTP/1.0) never gets one, or it would be read as the answer to the next request.
            self.expect_continue = False
            if version == "1.1" and self.content_length != 0:
                if not self.responding and not self.pipeline and self.transport is not None:
                    self.transport.write(_CONTINUE)
                else:
                    self.expect_continue = True  # sent when this request's turn comes
        if self.content_length > self.state.spool_threshold:
            self.spool = SpooledBody(self.state.spool_dir)

    def on_body(self, body: bytes) -> None:
        state = self.state
        self.idle_since = state.now  # a body that keeps arriving is not idle
        self.body_bytes += len(body)
        if self.body_bytes > state.config.max_upload_size:
            raise _Reject(413, head_complete=True)  # chunked bodies are known as they arrive
        spool = self.spool
        if spool is not None:
            spool.write(body)
        elif self.body_bytes > state.spool_threshold:
            # A chunked body just outgrew memory: what was kept so far moves to the file.
            self.spool = spool = SpooledBody(state.spool_dir)
            for part in self.body_parts:
                spool.write(part)
            self.body_parts = []
            spool.write(body)
        else:
            self.body_parts.append(body)

    def on_message_complete(self) -> None:
        # The body is here: a 100 Continue still owed to it is no longer wanted (RFC 9110
        # section 10.1.1), and sent after its final response it would look like the next one's.
        self.expect_continue = False
        self.in_body = False
        spool = self.spool
        body: bytes | None
        if spool is None:
            parts = self.body_parts
            body = parts[0] if len(parts) == 1 else b"".join(parts)
        else:
            self.spool = None  # the request owns it now
            body = None
        parser = self.parser
        method = parser.get_method()
        client, scheme = self.client, self.scheme
        if self.forwarded:
            client, scheme = resolve_forwarded(
                self.forwarded, self._peer, scheme, self.state.trusted
            )
        request = self.state.request_class(
            METHODS.get(method) or method.decode("latin-1"),
            self.url,
            self.headers,
            body,
            client,
            scheme,
            self.server,
            self.http_version,
            spool,
            self.origin,
        )
        keep_alive = parser.should_keep_alive() and self.keep_alive
        if not keep_alive:
            self.closing = True
        if self.responding or self.pipeline:
            self.pipeline.append((request, keep_alive))
            if len(self.pipeline) >= _MAX_PIPELINED:
                self._pause_reading()
        else:
            self._run(request, keep_alive)

    # --- request cycle -------------------------------------------------------------------------

    def _reject(self, status: int) -> None:
        """Answer a framing or limit error once, after any response still owed, then close."""
        self.closing = True
        self.in_head = False
        self.in_body = False
        self._pause_reading()
        self._drop_spool()
        if self.responding or self.pipeline:
            self.pipeline.append((status, False))
        else:
            self._send_error(status)

    def _drop_spool(self) -> None:
        """Free the body of a request that will never be dispatched."""
        spool = self.spool
        if spool is not None:
            self.spool = None
            spool.close()

    def _error_headers(self, status: int) -> bytes:
        """What the application adds to a server-made error (``error_headers``, if it has one)."""
        method = self.parser.get_method().decode("latin-1")
        return error_header_lines(
            self.state.app, status, method, bytes(self.url), list(self.headers)
        )

    def _send_error(self, status: int) -> None:
        self.closing = True
        transport = self.transport
        if transport is None:
            return
        extra, self.error_extra = self.error_extra, b""
        transport.write(error_response(status, self.state.date_header, extra=extra))
        transport.close()

    def _run(self, request: RawRequest, keep_alive: bool) -> None:
        self.responding = True
        if request.body_file is not None:
            self.active_body = request.body_file
        state = self.state
        try:
            coro = state.app.dispatch(request)
        except Exception:
            logger.exception("dispatch raised; the application must turn errors into responses")
            self._fail(request)
            return
        # Each request runs in its own context, as a Task would, so context variables set by
        # a handler (asgiref's, Django's) never leak into the next request on this loop.
        context = contextvars.copy_context()
        if _EAGER_TASKS:
            # An eager Task runs its first step right here, like the manual drive below, but
            # the handler also sees itself as the current task (asyncio.timeout() needs that).
            # It wraps the dispatch itself: a handler that finishes at once leaves a done Task
            # whose result is written here, with no coroutine of ours around it.
            task = _Task(coro, loop=self.loop, context=context, eager_start=True)
            if task.done():
                self._dispatched(request, task, keep_alive, context)
            else:
                self.task = task
                task.add_done_callback(
                    functools.partial(
                        self._dispatched, request, keep_alive=keep_alive, context=context
                    )
                )
            return
        try:
            pending = context.run(coro.send, None)
        except StopIteration as done:
            self._respond(request, done.value, keep_alive, context)
            return
        except BaseException:
            logger.exception("dispatch raised; the application must turn errors into responses")
            self._fail(request)
            return
        # The handler suspended: only now does it get a Task, resumed where it stopped.
        self.task = self.loop.create_task(
            self._complete(request, coro, pending, keep_alive), context=context
        )

    def _dispatched(
        self,
        request: RawRequest,
        task: asyncio.Task[ResponseLike],
        keep_alive: bool,
        context: contextvars.Context,
    ) -> None:
        """The dispatch Task is done: answer with its response (Python 3.12+)."""
        if self.task is task:
            self.task = None
        try:
            response = task.result()
        except asyncio.CancelledError:
            _release(request)  # the client went away (connection_lost cancelled it)
            return
        except BaseException as error:
            logger.error(
                "dispatch raised; the application must turn errors into responses",
                exc_info=error,
            )
            self._fail(request)
            return
        self._respond(request, response, keep_alive, context)

    def _respond(
        self,
        request: RawRequest,
        response: ResponseLike,
        keep_alive: bool,
        context: contextvars.Context,
    ) -> None:
        """Write a response that is ready; one that streams or has background work gets a Task."""
        if response.stream is None and response.background is None:
            self._write_response(request, response, keep_alive)
            if request.body_file is not None:  # _release(), written out (see _write_response)
                request.body_file.close()
            return
        self.task = self.loop.create_task(
            self._finish(request, response, keep_alive), context=context
        )

    async def _complete(
        self,
        request: RawRequest,
        coro: Coroutine[Any, Any, ResponseLike],
        pending: Any,
        keep_alive: bool,
    ) -> None:
        try:
            response = await _resume(coro, pending)
        except asyncio.CancelledError:
            _release(request)
            raise
        except BaseException:
            logger.exception("dispatch raised; the application must turn errors into responses")
            self._fail(request)
            return
        await self._finish(request, response, keep_alive)

    async def _finish(self, request: RawRequest, response: ResponseLike, keep_alive: bool) -> None:
        try:
            if response.stream is None:
                self._write_response(request, response, keep_alive)
            else:
                await self._stream_response(request, response, keep_alive)
            if response.background is not None:
                try:
                    await response.background()
                except Exception:
                    logger.exception("background task after the response failed")
        finally:
            _release(request)

    def _fail(self, request: RawRequest) -> None:
        _release(request)
        self._log(request, 500, 0)
        self.responding = False
        self._send_error(500)

    def _head(self, status: int, response: ResponseLike, keep_alive: bool) -> list[bytes]:
        head = [_STATUS_LINES.get(status) or status_line(status)]
        for name, value in response.raw_headers:
            head += (name, b": ", value, b"\r\n")
        head.append(self.state.fixed_headers)
        if not keep_alive:
            head.append(_CLOSE)
        return head

    def _write_response(
        self, request: RawRequest, response: ResponseLike, keep_alive: bool
    ) -> None:
        transport = self.transport
        if transport is None:
            self.responding = False
            return
        status = response.status_code
        # Once the server drains, requests read before it are still answered: only the last
        # one queued closes the connection.
        keep_alive = keep_alive and (self.keep_alive or len(self.pipeline) > 0)
        head = self._head(status, response, keep_alive)
        if keep_alive and request.http_version == "1.0":
            head.append(_KEEP_ALIVE_10)
        body = response.body
        if status in _NO_BODY_STATUSES or status < 200:
            body = b""
            head.append(b"\r\n")
        else:
            size = len(body)
            head.append(
                _CONTENT_LENGTH_LINES[size]
                if size < _CACHED_LENGTHS
                else b"content-length: %d\r\n\r\n" % size
            )
            if request.method == "HEAD":
                body = b""
        if len(body) < _JOIN_BODY_BELOW:
            head.append(body)
            transport.write(b"".join(head))
        else:
            transport.writelines((b"".join(head), body))
        # _log() written out: this runs once per response (measured: 0.07 us of a 4.6 us
        # request through the protocol, with _release() inlined in _respond() likewise).
        state = self.state
        state.total_requests += 1
        if state.access_log is not None:
            self._log_access(request, status, len(body))
        self._cycle_done(keep_alive)

    async def _stream_response(
        self, request: RawRequest, response: ResponseLike, keep_alive: bool
    ) -> None:
        transport = self.transport
        if transport is None:
            self.responding = False
            return
        status = response.status_code
        # Once the server drains, requests read before it are still answered: only the last
        # one queued closes the connection.
        keep_alive = keep_alive and (self.keep_alive or len(self.pipeline) > 0)
        # A stream that declares its length (a file) is sent as is; otherwise HTTP/1.1 uses the
        # chunked coding, and HTTP/1.0 (which has none) ends the body by closing.
        declared = declared_length(response.raw_headers)
        chunked = request.http_version == "1.1" and declared < 0
        if request.http_version != "1.1" and declared < 0:
            keep_alive = False
        head = self._head(status, response, keep_alive)
        no_body = request.method == "HEAD" or status in _NO_BODY_STATUSES or status < 200
        if chunked and not no_body:
            head.append(_CHUNKED)
        head.append(b"\r\n")
        transport.write(b"".join(head))
        sent = 0
        stream = response.stream
        if not no_body and stream is not None:
            try:
                async for chunk in _iterate(stream):
                    if not chunk:
                        continue
                    if self.transport is None:
                        raise ConnectionResetError("client disconnected")
                    if declared >= 0 and sent + len(chunk) > declared:
                        raise ValueError(f"stream longer than its content-length {declared}")
                    self.transport.write(
                        b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
                    )
                    sent += len(chunk)
                    await self.drain()
                if declared >= 0 and sent != declared:
                    raise ValueError(f"stream ended at {sent} of its content-length {declared}")
            except (ConnectionError, asyncio.CancelledError):
                self._log(request, status, sent)
                self.abort()
                raise
            except Exception:
                # Headers are gone already: the only honest signal left is to cut the body.
                logger.exception("streaming response failed after it started")
                self._log(request, status, sent)
                self.abort()
                return
            if chunked and self.transport is not None:
                self.transport.write(_LAST_CHUNK)
        self._log(request, status, sent)
        self._cycle_done(keep_alive)

    def _log(self, request: RawRequest, status: int, nbytes: int) -> None:
        self.state.total_requests += 1
        if self.state.access_log is not None:
            self._log_access(request, status, nbytes)

    def _log_access(self, request: RawRequest, status: int, nbytes: int) -> None:
        access_log = self.state.access_log
        if access_log is not None:
            client = request.client[0] if request.client else "-"
            duration = perf_counter() - self.request_started
            access_log(
                client,
                request.method,
                request.target,
                request.http_version,
                status,
                nbytes,
                duration,
            )

    def _cycle_done(self, keep_alive: bool) -> None:
        self.responding = False
        self.served = True
        self.task = None
        transport = self.transport
        if transport is None:
            return
        if not keep_alive:
            self.closing = True
            transport.close()
            return
        if self.running_pipeline:
            return  # called back from the loop below, further up the stack: it carries on
        pipeline = self.pipeline
        if pipeline:
            # A loop, not a call per queued request: answers that complete at once would
            # otherwise nest _run -> _cycle_done -> _run, and a client pipelining a few hundred
            # requests behind a slow one would hit the recursion limit.
            self.running_pipeline = True
            try:
                while pipeline:
                    item, next_keep_alive = pipeline.popleft()
                    if isinstance(item, int):
                        self._send_error(item)
                        return
                    if (
                        self.read_paused
                        and len(pipeline) < _MAX_PIPELINED // 2
                        and not self.closing
                    ):
                        self._resume_reading()
                    self._run(item, next_keep_alive)
                    # `closing` alone may only mean that a request queued further on ends the
                    # connection (the client's Connection: close, an error to send): those are
                    # still owed an answer, so stop only once the transport is really closing.
                    if self.responding or (self.closing and transport.is_closing()):
                        return  # suspended (its Task resumes the queue) or the connection ended
            finally:
                self.running_pipeline = False
        if self.peer_done:
            # Every request the half-closed client sent has been answered.
            self.closing = True
            transport.close()
            return
        if self.expect_continue:
            self.expect_continue = False
            transport.write(_CONTINUE)
        self.idle_since = self.state.now
        if self.read_paused and not self.closing:
            self._resume_reading()

    def _pause_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            if self.transport is not None:
                self.transport.pause_reading()

    def _resume_reading(self) -> None:
        self.read_paused = False
        if self.transport is not None and not self.write_paused:
            self.transport.resume_reading()

    # --- timeouts and shutdown -----------------------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        """Called by the state's sweep: close idle keep-alive and slow-header connections."""
        if self.transport is None or self.responding or self.pipeline:
            return
        state = self.state
        if self.in_head:
            if state.header_timeout_s > 0 and now - self.head_started >= state.header_timeout_s:
                self._reject(408)
            return
        idle = now - self.idle_since
        limit = state.keep_alive_s
        if limit < _FRESH_GRACE_S and not self.served:
            # --keep-alive 0 turns keep-alive off, but a just-accepted client's first request
            # may still be on its way: it gets the same grace as during a drain.
            limit = _FRESH_GRACE_S
        if idle >= limit or (state.draining and idle >= _FRESH_GRACE_S):
            if self.in_body:
                # A body that stopped arriving: the client is told why (RFC 9110 section 15.5.9)
                # rather than finding the connection gone.
                self._reject(408)
            else:
                self.transport.close()

    def shutdown(self) -> None:
        """Stop once the requests already received are answered; close at once if idle."""
        self.keep_alive = False
        if self.transport is not None and not self.responding and not self.pipeline:
            if self.in_head or not self.served:
                # A request is arriving, or a just-accepted client has not sent one yet (its
                # bytes may be in flight): answer it with Connection: close. The sweep closes a
                # fresh connection that stays silent past the grace.
                return
            self.transport.close()

    def abort(self) -> None:
        transport = self.transport
        if transport is not None:
            transport.abort()


def _release(request: RawRequest) -> None:
    """Free a request's spooled body once nothing will read it any more."""
    body_file = request.body_file
    if body_file is not None:
        body_file.close()


@types.coroutine
def _resume(
    coro: Coroutine[Any, Any, ResponseLike], pending: Any
) -> Generator[Any, Any, ResponseLike]:
    """Continue a coroutine that was stepped once outside a Task, inside the current Task.

    ``pending`` is what its first step yielded (a future it waits on); yielding it up lets the
    Task wait on it exactly as if the coroutine had been run by the Task from the start.
    """
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                pending = coro.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            try:
                pending = coro.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


async def _iterate(stream: AsyncIterable[bytes] | Iterable[bytes]) -> Any:
    """Yield the chunks of a sync or async iterable."""
    if isinstance(stream, AsyncIterable):
        async for chunk in stream:
            yield chunk
    else:
        for chunk in stream:
            yield chunk
