"""What the server and the framework agree on, and nothing more.

The server parses bytes into a :class:`RawRequest` (or the subclass the application names in
``request_class``), calls ``application.dispatch(request)`` once, and writes whatever
:class:`ResponseLike` the returned coroutine produces. The in-process test client calls the same
``dispatch`` with a request it builds itself, so both paths run identical framework code.

The server never imports the framework; the framework never touches a socket.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Final, Protocol

from django_bolt.server.http11 import check_response_field
from django_bolt.server.native import mypyc_attr
from django_bolt.server.wire import (
    ERROR_DETAILS,
    REASON_PHRASES,
    UNSET,
    RawRequest,
    Unset,
    WireResponse,
    find_header,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable, Iterator

__all__ = (
    "REASON_PHRASES",
    "UNSET",
    "Application",
    "ChannelClosed",
    "RawRequest",
    "ResponseLike",
    "SpooledBody",
    "Unset",
    "WebSocketChannel",
    "WireResponse",
    "error_body",
    "error_header_lines",
    "find_header",
    "is_draining",
    "mypyc_attr",
    "set_draining",
)

logger = logging.getLogger("django_bolt.server")

# Reads of a spooled body come in pieces of this size (the size of a socket read, roughly).
BODY_CHUNK_BYTES: Final = 64 * 1024


class _Closeable(Protocol):
    def close(self) -> None: ...


class SpooledBody:
    """A request body too large to hold in memory: an anonymous temporary file.

    The server writes each piece as it arrives and hands the request over once the body is
    complete. The file has no name (``O_TMPFILE``, or unlinked at once where that is missing),
    so nothing is left on disk even if the process dies; :meth:`close` frees it.

    Reads use ``pread`` at explicit offsets: several readers (``request.body``,
    ``request.stream()``, the multipart parser) never disturb each other's position. A read and
    :meth:`close` exclude each other: a handler still running in the thread pool after its client
    left gets ``ValueError`` instead of reading a descriptor number the process has reused.
    """

    __slots__ = ("_attached", "_fd", "_file", "_lock", "size")

    def __init__(self, directory: str | None = None) -> None:
        # Unbuffered: the pieces are socket reads (tens of KiB), already large enough.
        self._file = tempfile.TemporaryFile(buffering=0, dir=directory or None)  # noqa: SIM115
        self._fd = self._file.fileno()
        self._lock = threading.Lock()
        self._attached: list[_Closeable] = []
        self.size = 0

    @classmethod
    def from_bytes(cls, data: bytes, directory: str | None = None) -> SpooledBody:
        """Return a spooled copy of ``data``, written in the pieces the server would write."""
        spool = cls(directory)
        view = memoryview(data)
        for start in range(0, len(data), BODY_CHUNK_BYTES):
            spool.write(view[start : start + BODY_CHUNK_BYTES])
        return spool

    def fileno(self) -> int:
        """Return the file descriptor (for ``os.sendfile``, ``mmap`` or a copy into storage)."""
        return self._file.fileno()  # ValueError once closed

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data`` (the server calls this from the event loop, as the body arrives)."""
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(data)

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (fewer at the end)."""
        with self._lock:
            if self._file.closed:
                raise ValueError("read of a closed request body")
            return os.pread(self._fd, size, offset)

    def read_all(self) -> bytes:
        """Return the whole body, in memory."""
        return self.read(0, self.size) if self.size else b""

    def chunks(self, chunk_size: int = BODY_CHUNK_BYTES) -> Iterator[bytes]:
        """Return the body in pieces of at most ``chunk_size`` bytes, from the start."""
        offset, size = 0, self.size
        while offset < size:
            chunk = self.read(offset, min(chunk_size, size - offset))
            if not chunk:  # pragma: no cover - the file cannot shrink under us
                return
            offset += len(chunk)
            yield chunk

    def reader(self) -> io.BufferedReader:
        """Return a fresh file object reading the body from its start (a WSGI ``wsgi.input``,
        say)."""
        return io.BufferedReader(_SpoolReader(self), BODY_CHUNK_BYTES)

    def attach(self, resource: _Closeable) -> None:
        """Close ``resource`` together with this body (files parsed out of it, for example)."""
        self._attached.append(resource)

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        """Free the file and everything attached to it; safe to call more than once."""
        attached, self._attached = self._attached, []
        for resource in attached:
            resource.close()
        with self._lock:
            self._file.close()

    def __repr__(self) -> str:
        return f"<SpooledBody {self.size} bytes{' closed' if self.closed else ''}>"


class _SpoolReader(io.RawIOBase):
    """Sequential reads over a :class:`SpooledBody`, with a position of its own."""

    def __init__(self, spool: SpooledBody) -> None:
        self._spool = spool
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._spool.read(self._position, len(buffer))
        count = len(data)
        buffer[:count] = data
        self._position += count
        return count


class _ProcessState:
    """What the server knows about this process that the framework may ask (one per process)."""

    __slots__ = ("draining",)

    def __init__(self) -> None:
        self.draining = False


_PROCESS: Final = _ProcessState()


def is_draining() -> bool:
    """Return whether this process is stopping (SIGTERM, a reload or a recycle received).

    From that moment the worker finishes what its connections already sent and accepts no new
    connection; a readiness endpoint answers 503, so a load balancer stops sending before the
    connections close.
    """
    return _PROCESS.draining


def set_draining(draining: bool = True) -> None:
    """Mark this process as draining (the worker's stop signal), or, in tests, as serving again.

    A plain attribute store, safe in a signal handler.
    """
    _PROCESS.draining = draining


class ResponseLike(Protocol):
    """The shape of what ``dispatch`` returns.

    ``raw_headers`` are lower-case names and values as bytes, free of CR and LF; the server
    adds ``content-length`` (buffered bodies) or ``transfer-encoding``, ``date``, ``connection``
    and (if configured) ``server``, and never sends a body for HEAD, 1xx, 204 or 304.

    With ``stream`` set, ``body`` is ignored and the chunks are sent as they come (chunked
    encoding on HTTP/1.1, close-delimited on HTTP/1.0), waiting for the client to drain the
    socket before pulling the next chunk. A stream whose length is known (a file) may declare
    it with a ``content-length`` header: it is then sent without chunking, and a stream that
    yields more or fewer bytes has its connection aborted, since the head promised them.

    ``background`` runs after the last byte is handed to the transport (dependency teardown,
    for example).

    :class:`WireResponse` is the server's own class of this shape (the framework answers with
    it): the compiled server reads its fields as loads, those of any other object through
    attribute lookups.
    """

    status_code: int
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes
    stream: AsyncIterable[bytes] | Iterable[bytes] | None
    background: Callable[[], Awaitable[None]] | None


class Application(Protocol):
    """What a worker serves: the framework's ``BoltAPI`` tree, or a bare test app."""

    request_class: type[RawRequest]

    def dispatch(self, request: Any) -> Coroutine[Any, Any, ResponseLike]:
        """Answer one request. Must not raise: errors become responses."""
        ...

    async def startup(self) -> None:
        """Run once per event loop before it accepts connections."""
        ...

    async def shutdown(self) -> None:
        """Run once per event loop after it stopped serving."""
        ...

    # Optional: dispatch_nowait(request) -> ResponseLike | Coroutine[..., ResponseLike]. When
    # the application defines it, the server calls it instead of ``dispatch`` (in the request's
    # own context): a response is written at once, with no Task; a coroutine (exactly a
    # ``types.CoroutineType``, such as ``dispatch``'s own) is run as ``dispatch``'s would be.
    # It must not raise, as ``dispatch`` must not.
    #
    # Optional: request_factory(method, target, raw_headers, body, client, scheme, server,
    # http_version, body_file, origin) -> an instance of ``request_class``. When the application
    # defines it, the server builds each request with it instead of calling ``request_class``:
    # a compiled function takes its arguments without the tuple a class call needs.
    #
    # Optional: miss_answers, a dict of (Host value, path) -> WireResponse, both bytes exactly
    # as the request carried them (the path without its query). A GET or HEAD whose Host and
    # path are there, answered in turn, gets that response from the server itself: no request
    # object, no dispatch. The application adds a pair once it has found that nothing but the
    # Host and path decided the answer (a 404), and empties the dict when that may change. The
    # server reads the dict once, and ignores it while it keeps an access log or metrics. An
    # answer is not changed once it is in the dict: the server keeps its checked status line and
    # fields on it (``WireResponse.wire_head``).
    #
    # Optional: dispatch_websocket(request, channel) -> Coroutine[..., ResponseLike]. When the
    # application defines it, a request offering a WebSocket upgrade (``Upgrade: websocket``
    # with ``Connection: upgrade``, no body, nothing pipelined before it) goes there instead of
    # ``dispatch``, with a :class:`WebSocketChannel`. The protocol switches only if the
    # application calls ``channel.accept()``; otherwise the response it returns is written as
    # HTTP and the connection closes. After an accept the returned response is not sent.
    #
    # Optional: error_headers(status, method, target, raw_headers) -> list[tuple[bytes, bytes]].
    # When the application defines it, the server asks it for headers to add to an error it
    # answers itself once a request's head is complete (a 413 for a body over the limit), so
    # that answer can carry what the application puts on its own (CORS headers, say). It must
    # be quick and must not raise; the server logs and ignores an exception.
    #
    # Optional: error_body(status, detail, method, target, raw_headers) -> (content_type, body).
    # When the application defines it, the server asks it for the body of each error it answers
    # itself (400, 408, 413, 414, 431, 501, 505, a 503 refusal...): ``method`` and ``target``
    # are None when the request line was not read whole. It returns bytes, or None for the
    # server's own body; the server keeps the status and the framing, and checks the type.


def error_body(
    app: Application,
    status: int,
    detail: str | None,
    request: tuple[str, bytes, list[tuple[bytes, bytes]]] | None,
) -> tuple[bytes, bytes] | None:
    """Return the (content type, body) ``app`` writes for an error the server answers itself.

    None for an app without ``error_body``, one that declines, or one whose hook raises or
    returns anything but two bytes objects forming a valid field value and a body (logged):
    the server then sends its own JSON body. ``request`` is (method, target, header fields)
    when the refused request's line was read, else None.
    """
    hook = getattr(app, "error_body", None)
    if hook is None:
        return None
    text = detail if detail is not None else ERROR_DETAILS.get(status, "Error")
    method, target, fields = request if request is not None else (None, None, [])
    try:
        answer = hook(status, text, method, target, fields)
        if answer is None:
            return None
        content_type, body = answer
        if not isinstance(body, bytes):
            raise TypeError(f"the body must be bytes, not {type(body).__name__}")
        check_response_field(b"content-type", content_type)  # raises for CR, LF, NUL, str
    except Exception:
        logger.exception("error_body failed for a %d; the server's own body is sent", status)
        return None
    return content_type, body


def error_header_lines(
    app: Application,
    status: int,
    method: str,
    target: bytes,
    raw_headers: list[tuple[bytes, bytes]],
) -> bytes:
    """Return the header lines ``app`` adds to an error the server answers itself
    (``error_headers``).

    Each line ends in CRLF, ready for :func:`~django_bolt.server.wire.error_response`. An app
    without the hook adds nothing; one whose hook raises is logged and adds nothing. The server
    and the in-process test client both call this, so their refusals carry the same headers.
    """
    hook = getattr(app, "error_headers", None)
    if hook is None:
        return b""
    try:
        extra = hook(status, method, target, raw_headers)
    except Exception:
        logger.exception("error_headers raised; the error is sent without extra headers")
        return b""
    return b"".join(b"%s: %s\r\n" % (name, value) for name, value in extra)


class ChannelClosed(Exception):
    """The WebSocket is closed: the close frame's ``code`` and ``reason``, 1006 without one."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocketChannel(Protocol):
    """The server's side of one WebSocket handshake and, once accepted, of the connection.

    ``refusal`` is the status, detail and header fields the handshake deserves when it breaks
    RFC 6455 (426 with ``sec-websocket-version`` for another version, 400 for a bad key), or
    None for a valid one; an application answers it instead of accepting. ``subprotocols`` are
    the client's offers in its order.
    """

    refusal: tuple[int, str, list[tuple[bytes, bytes]]] | None
    subprotocols: tuple[str, ...]

    def accept(
        self,
        subprotocol: str | None,
        headers: list[tuple[bytes, bytes]],
        max_message_size: int | None = None,
        compression: bool = True,
    ) -> None:
        """Send the 101 and switch protocols.

        Raises ``ValueError`` for a subprotocol the client did not offer or a header field the
        handshake owns (or one that is not a valid field).
        """
        ...

    async def receive(self) -> str | bytes:
        """Return the next message; raise :class:`ChannelClosed` once the connection closed."""
        ...

    async def send(self, data: str | bytes) -> None:
        """Send one message, waiting while the client reads slowly; raise ChannelClosed."""
        ...

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake (nothing happens once it has started)."""
        ...
