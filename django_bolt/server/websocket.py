"""WebSocket connections (RFC 6455, with RFC 7692's permessage-deflate) on the HTTP/1.1 server.

A request that offers ``Upgrade: websocket`` (with ``Connection: upgrade``, no body, nothing
pipelined before it) is taken over by a :class:`ServerWebSocket` when the application serves
WebSockets (``HttpProtocol._take_over``). It checks the handshake, holds what the client sends
after the head until the application decides, and, if the application accepts, writes the 101
and becomes the transport's protocol. Otherwise the application's HTTP answer is written and
the connection closes, so bytes after a refused handshake are never read as another request.

The framing is the ``websockets`` package's sans-I/O ``Protocol`` (chosen over ``wsproto``: 6
against 26 us per small echoed message here, and a C extension for masking): every byte read goes
through its parser. A message sent is one frame encoded by its ``Frame.serialize`` (with the
negotiated extensions), written at once: for a whole message in the OPEN state that is all its
``send_text``/``send_binary`` do, less the bookkeeping of a list to drain. This module adds
the I/O around it: complete messages queued up to a bound (reading stops beyond it, so a slow
handler slows the client, not the worker's memory), UTF-8 checked as text fragments arrive
(1007), sends that wait while the transport is paused, a ping on an interval with a deadline
for its pong, an idle timeout, the close handshake with a deadline, 1012 when the worker
drains, and access-log lines for the handshake and the close.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import codecs
import hashlib
import logging
import os
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final, cast

from websockets.exceptions import InvalidHeader, NegotiationError
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.headers import build_extension, parse_extension
from websockets.protocol import Protocol, Side, State

from django_bolt.server.contract import ChannelClosed, RawRequest
from django_bolt.server.http11 import (
    FRAMING_FIELDS,
    check_response_field,
    field_values as _fields,
)
from django_bolt.server.recording import websocket_closed, websocket_opened

if TYPE_CHECKING:
    from websockets.extensions.base import Extension

    from django_bolt.server.outbox import Outbox
    from django_bolt.server.state import ServerState

__all__ = ("ServerWebSocket", "handshake_refusal")

logger = logging.getLogger("django_bolt.server")
# The framing library logs each closed connection at INFO; the access log says that already.
_FRAMES_LOGGER: Final = logging.getLogger("django_bolt.server.websocket.frames")
_FRAMES_LOGGER.setLevel(logging.WARNING)

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Fields of the 101 that the handshake itself decides: an application's copy is refused.
_OWNED_FIELDS: Final = FRAMING_FIELDS | {
    b"sec-websocket-accept",
    b"sec-websocket-protocol",
    b"sec-websocket-extensions",
}
_SEND_EOF: Final = b""
_UNKNOWN_CLOSE: Final = 1006
_BAD_UTF8: Final = "invalid UTF-8 in a text message"
# Looked up once: the per-frame tests below compare identities.
_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT
_PONG: Final = Opcode.PONG
_CLOSE: Final = Opcode.CLOSE
_OPEN_STATE: Final = State.OPEN
# Bytes the client may send after its handshake head before the verdict (it should send none).
_EARLY_LIMIT: Final = 64 * 1024
_PENDING: Final = 0
_OPEN: Final = 1
_DONE: Final = 2


def handshake_refusal(request: RawRequest) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
    """Return the status, detail and fields a broken handshake gets (RFC 6455 section 4.2.1)."""
    if request.method != "GET" or request.http_version != "1.1":
        return 400, "A WebSocket handshake is an HTTP/1.1 GET request", []
    headers = request.raw_headers
    versions = _fields(headers, b"sec-websocket-version")
    if [value.strip() for value in versions] != [b"13"]:
        return 426, "Unsupported WebSocket version", [(b"sec-websocket-version", b"13")]
    keys = _fields(headers, b"sec-websocket-key")
    if len(keys) != 1 or not _valid_key(keys[0]):
        return 400, "Invalid Sec-WebSocket-Key header", []
    try:
        _extension_offers(headers)
    except InvalidHeader:
        return 400, "Invalid Sec-WebSocket-Extensions header", []
    return None


def _valid_key(key: bytes) -> bool:
    try:
        return len(base64.b64decode(key.strip(), validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def _extension_offers(headers: list[tuple[bytes, bytes]]) -> list[Any]:
    offers: list[Any] = []
    for value in _fields(headers, b"sec-websocket-extensions"):
        offers.extend(parse_extension(value.decode("latin-1")))
    return offers


def _subprotocols(headers: list[tuple[bytes, bytes]]) -> tuple[str, ...]:
    offered: list[str] = []
    for value in _fields(headers, b"sec-websocket-protocol"):
        for token in value.decode("latin-1").split(","):
            if token.strip() and token.strip() not in offered:
                offered.append(token.strip())
    return tuple(offered)


def _deflate(headers: list[tuple[bytes, bytes]]) -> tuple[bytes, Extension] | None:
    """Negotiate permessage-deflate from the client's offers: the response field and extension."""
    factory = ServerPerMessageDeflateFactory()
    for name, params in _extension_offers(headers):
        if name != factory.name:
            continue
        try:
            response_params, extension = factory.process_request_params(params, [])
        except NegotiationError:
            continue  # an offer this side cannot take; the next one may do
        offer: list[Any] = [(name, response_params)]
        return build_extension(offer).encode("latin-1"), extension
    return None


class _Framing(Protocol):
    """The framing library's protocol, with one RFC 6455 reading of its own.

    A close frame may arrive between the fragments of a message (control frames may be
    interleaved, section 5.4); the library treats that as a protocol error (1002). Here the
    unfinished message is dropped and the close handshake proceeds with the client's code.
    """

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is _CLOSE:
            self.current_size = None
        super().recv_frame(frame)


class ServerWebSocket(asyncio.Protocol):
    """One WebSocket: the handshake awaiting the application's verdict, then the connection.

    Before the verdict it stands in for the HTTP parser (``feed_data`` keeps the bytes); after
    :meth:`accept` it is the transport's protocol and the state's connection.
    """

    __slots__ = (
        "_binary",
        "_close_deadline",
        "_counted",
        "_done",
        "_drain_waiters",
        "_ended",
        "_last_active",
        "_last_ping",
        "_opened",
        "_parts",
        "_ping",
        "_text",
        "_waiter",
        "closed_with",
        "early",
        "http",
        "keep_alive",
        "loop",
        "lost",
        "max_queue",
        "phase",
        "proto",
        "queue",
        "reading_paused",
        "refusal",
        "request",
        "sent_bytes",
        "state",
        "subprotocols",
        "transport",
        "write_paused",
        "write_paused_since",
    )

    def __init__(self, state: ServerState, http: Any, request: RawRequest) -> None:
        self.state = state
        self.http = http
        self.request = request
        self.transport: Outbox | None = http.transport
        self.loop = http.loop
        self.refusal = handshake_refusal(request)
        self.subprotocols = _subprotocols(request.raw_headers)
        self.phase = _PENDING
        self.keep_alive = False
        self.early = bytearray()
        self.proto = _Framing(Side.SERVER, state=State.CONNECTING, logger=_FRAMES_LOGGER)
        self.queue: deque[str | bytes] = deque()
        self.reading_paused = False
        self.write_paused = False
        self.write_paused_since = 0.0
        self.closed_with: tuple[int, str] | None = None
        self.lost = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._done: asyncio.Future[None] = self.loop.create_future()
        # The application has ended: messages still arriving are dropped, never queued.
        self._ended = False
        # A fragmented message so far: bytes pieces, or the text decoded so far.
        self._parts: list[Any] = []
        self._text: codecs.IncrementalDecoder | None = None
        self._binary = False
        self._ping: tuple[bytes, float] | None = None
        self._last_ping = self._last_active = self.loop.time()
        self._close_deadline = 0.0
        self._opened = perf_counter()
        self._counted = False  # in the open-WebSockets gauge
        self.sent_bytes = 0
        config = state.config
        self.max_queue = max(1, config.websocket_max_queue)

    # --- before the verdict: the HTTP parser's stand-in --------------------------------------

    def feed_data(self, data: bytes | memoryview) -> None:
        """Keep what the client sent after its handshake head (frames, if it is accepted)."""
        if len(self.early) + len(data) > _EARLY_LIMIT:
            self.refusal = (400, "Data sent before the handshake was answered", [])
            return
        self.early += data

    @property
    def accepted(self) -> bool:
        """Tell whether the 101 was sent."""
        return self.phase != _PENDING

    def accept(
        self,
        subprotocol: str | None,
        headers: list[tuple[bytes, bytes]],
        max_message_size: int | None = None,
        compression: bool = True,
    ) -> None:
        """Send the 101 and switch the transport to this protocol (see ``WebSocketChannel``)."""
        if self.phase != _PENDING:
            raise RuntimeError("the handshake was already answered")
        if self.refusal is not None:
            raise RuntimeError(f"the handshake cannot be accepted: {self.refusal[1]}")
        if subprotocol is not None and subprotocol not in self.subprotocols:
            raise ValueError(f"subprotocol {subprotocol!r} was not offered by the client")
        request = self.request
        config = self.state.config
        lines = [
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
        ]
        key = _fields(request.raw_headers, b"sec-websocket-key")[0].strip()
        digest = base64.b64encode(hashlib.sha1(key + _GUID).digest())  # noqa: S324 - RFC 6455
        lines.append(b"sec-websocket-accept: %s\r\n" % digest)
        if subprotocol is not None:
            lines.append(b"sec-websocket-protocol: %s\r\n" % subprotocol.encode("latin-1"))
        lines.extend(_extra_lines(headers))
        negotiated = (
            _deflate(request.raw_headers) if compression and config.websocket_compression else None
        )
        if negotiated is not None:
            lines.append(b"sec-websocket-extensions: %s\r\n" % negotiated[0])
            self.proto.extensions = [negotiated[1]]
        limit = config.websocket_max_message_size if max_message_size is None else max_message_size
        self.proto.max_message_size = limit or None
        self.proto.state = State.OPEN
        transport = self.transport
        if transport is None or transport.is_closing():
            self.phase = _DONE
            self._finish_close(_UNKNOWN_CLOSE, "")
            return
        lines += (self.state.fixed_headers, b"\r\n")
        transport.write(b"".join(lines))
        self.phase = _OPEN
        self._switch(transport)

    def _switch(self, transport: Outbox) -> None:
        state = self.state
        state.connections.discard(self.http)
        state.connections.add(self)
        state.total_requests += 1
        self._last_ping = self._last_active = self.loop.time()
        self._log(self.request, 101, 0, self.http.request_started)
        websocket_opened()
        self._counted = True
        transport.set_protocol(self)
        if self.http.write_paused:
            self.pause_writing()
        early, self.early = bytes(self.early), bytearray()
        if early:
            self.data_received(early)
        if self.transport is not None and not self.reading_paused:
            transport.resume_reading()
        if state.draining:
            self.close(1012, "server restarting")

    # --- transport events --------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.lost:
            return
        proto = self.proto
        try:
            proto.receive_data(data)
        except EOFError:
            return  # the stream has ended (the library's CLOSED state): nothing more is read
        # The base Protocol (the handshake is ours, not its ServerProtocol's) yields only frames.
        for frame in cast("list[Frame]", proto.events_received()):
            opcode = frame.opcode
            if frame.fin and (opcode is _TEXT or opcode is _BINARY):
                # The common case, a message in one frame: no decoder, no list.
                payload = frame.data
                if type(payload) is not bytes:
                    payload = bytes(payload)
                if opcode is _BINARY:
                    self._message(payload)
                    continue
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    self._fail(1007, _BAD_UTF8)
                    return
                self._message(text)
            elif not self._frame(frame):
                return
        writes = proto.data_to_send()
        if writes:
            self._write(writes)
        if proto.parser_exc is not None and self.closed_with is None:
            close = proto.close_sent
            self._end(close.code if close is not None else _UNKNOWN_CLOSE, "")

    def _frame(self, frame: Frame) -> bool:
        """Take a frame other than a whole data message; False once the connection failed."""
        opcode = frame.opcode
        if opcode is _TEXT or opcode is _BINARY:
            binary = opcode is _BINARY
            self._binary = binary
            self._text = None if binary else codecs.getincrementaldecoder("utf-8")()
            self._parts = []
        elif opcode is _PONG:
            ping = self._ping
            if ping is not None and frame.data == ping[0]:
                self._ping = None
            return True
        elif opcode is _CLOSE:
            close = self.proto.close_rcvd
            self._end(close.code if close is not None else 1005, close.reason if close else "")
            return True
        elif opcode is not _CONT:
            return True  # a ping: the framing library queued its pong
        return self._fragment(bytes(frame.data), frame.fin)

    def _fragment(self, data: bytes, fin: bool) -> bool:
        decoder = self._text
        if decoder is None:
            self._parts.append(data)
        else:
            try:
                # Checked as the fragments arrive: invalid UTF-8 fails at once, not at the end.
                self._parts.append(decoder.decode(data, final=fin))
            except UnicodeDecodeError:
                self._fail(1007, _BAD_UTF8)
                return False
        if fin:
            parts, self._parts = self._parts, []
            self._message(b"".join(parts) if self._binary else "".join(parts))
        return True

    def _message(self, message: str | bytes) -> None:
        """Queue a complete message for the handler; stop reading once the queue is full."""
        self._last_active = self.loop.time()
        if self._ended:
            return
        queue = self.queue
        queue.append(message)
        if len(queue) >= self.max_queue and not self.reading_paused:
            # The handler lags: stop reading until it has taken half of what waits.
            self.reading_paused = True
            if self.transport is not None:
                self.transport.pause_reading()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        if self.closed_with is None:
            self._end(_UNKNOWN_CLOSE, "")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.transport = None
        self.state.connections.discard(self)
        if self.closed_with is None:
            self._end(_UNKNOWN_CLOSE, "")
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()
        if not self._done.done():
            self._done.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True
        self.write_paused_since = self.loop.time()

    def resume_writing(self) -> None:
        self.write_paused = False
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- the application's side ------------------------------------------------------------

    async def receive(self) -> str | bytes:
        """Return the next message; raise :class:`ChannelClosed` once none will come."""
        queue = self.queue
        while not queue:
            if self.closed_with is not None:
                raise ChannelClosed(*self.closed_with)
            if self._waiter is not None:
                raise RuntimeError("another task is already receiving from this WebSocket")
            waiter = self._waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        message = queue.popleft()
        if self.reading_paused and len(queue) <= self.max_queue // 2:
            self.reading_paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        return message

    async def send(self, data: str | bytes) -> None:
        """Send one message; wait while the transport is paused; raise once the client left."""
        proto = self.proto
        transport = self.transport
        if transport is None or proto.state is not _OPEN_STATE:
            raise ChannelClosed(_UNKNOWN_CLOSE, "the client has gone")
        frame = Frame(_TEXT, data.encode()) if isinstance(data, str) else Frame(_BINARY, data)
        # The library's encoder, called as its Protocol.send_text/send_binary call it; what those
        # add for one whole message is the OPEN check above (this side sends no fragments).
        encoded = frame.serialize(mask=False, extensions=proto.extensions)
        self.sent_bytes += len(encoded)
        transport.write_now(encoded)  # the back-pressure check below must see this frame
        self._last_active = self.loop.time()
        while self.write_paused and self.transport is not None:
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter
        if self.lost:
            raise ChannelClosed(_UNKNOWN_CLOSE, "the client has gone")

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; the client has ``websocket_close_timeout_s`` to answer."""
        if self.phase != _OPEN or self.proto.state is not _OPEN_STATE:
            return
        self.proto.send_close(code, reason)
        self._flush()
        self._close_deadline = self.loop.time() + self.state.config.websocket_close_timeout_s
        if self.closed_with is None:
            self._end(code, reason)

    async def finish(self) -> None:
        """Close with 1000 unless the handler did, then wait for the connection to end."""
        self.close(1000, "")
        # Nobody reads any more: drop what waits, and read on (if the queue had stopped it) so
        # the client's close frame arrives instead of the close deadline passing.
        self._ended = True
        self.queue.clear()
        if self.reading_paused:
            self.reading_paused = False
            if self.transport is not None:
                self.transport.resume_reading()
        if self.transport is not None and not self._done.done():
            await asyncio.shield(self._done)
        if self._counted:
            self._counted = False
            websocket_closed()
        code = self._logged_code()
        # The session's line: method WEBSOCKET, the close code as its status, its whole length.
        self._log(_session_line(self.request), code, self.sent_bytes, self._opened)

    # --- liveness (the state's sweep) -------------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        """Enforce the close deadline, the write timeout, the ping's pong and the idle limit."""
        transport = self.transport
        if transport is None:
            return
        config = self.state.config
        if self._close_deadline and now >= self._close_deadline:
            transport.abort()
            return
        write_timeout = self.state.write_timeout_s
        if (
            self.write_paused
            and write_timeout > 0
            and now - self.write_paused_since >= write_timeout
        ):
            transport.abort()
            return
        if self.proto.state is not State.OPEN:
            return
        if self._ping is not None:
            if (
                config.websocket_ping_timeout_s > 0
                and now - self._ping[1] >= config.websocket_ping_timeout_s
            ):
                self._fail(1011, "keepalive ping timeout")
            return
        interval = config.websocket_ping_interval_s
        if interval > 0 and now - self._last_ping >= interval:
            self._ping = (os.urandom(4), now)
            self._last_ping = now
            self.proto.send_ping(self._ping[0])
            self._flush()
        idle = config.websocket_idle_timeout_s
        if idle > 0 and now - self._last_active >= idle:
            self.close(1001, "idle timeout")

    def shutdown(self) -> None:
        """Close with 1012 (service restart): the worker is draining; the client should
        reconnect, and a new connection lands on a worker that is not."""
        self.close(1012, "server restarting")

    def abort(self) -> None:
        """Drop the connection at once (the drain window is over)."""
        if self.transport is not None:
            self.transport.abort()

    # --- helpers ------------------------------------------------------------------------------

    def _fail(self, code: int, reason: str) -> None:
        self.proto.fail(code, reason)
        self._flush()
        self._end(code, reason)

    def _flush(self) -> None:
        writes = self.proto.data_to_send()
        if writes:
            self._write(writes)

    def _write(self, writes: list[bytes]) -> None:
        """Write what the framing library queued; start the close deadline once it expects one."""
        transport = self.transport
        for data in writes:
            if transport is None:
                return
            if data == _SEND_EOF:
                # RFC 6455 section 7.1.1: the server closes the TCP connection first.
                transport.close()
                return
            self.sent_bytes += len(data)
            transport.write(data)
        # Only what queues bytes (a close frame sent or echoed, a failure) makes it expect one.
        if not self._close_deadline and self.proto.close_expected():
            self._close_deadline = self.loop.time() + self.state.config.websocket_close_timeout_s

    def _end(self, code: int, reason: str) -> None:
        """No message will arrive any more: wake the receiver to raise ``ChannelClosed``."""
        if self.closed_with is None:
            self.closed_with = (code, reason)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _finish_close(self, code: int, reason: str) -> None:
        self._end(code, reason)
        if not self._done.done():
            self._done.set_result(None)

    def _logged_code(self) -> int:
        proto = self.proto
        first = proto.close_rcvd if proto.close_rcvd_then_sent else proto.close_sent
        if first is None:
            first = proto.close_rcvd
        return first.code if first is not None else _UNKNOWN_CLOSE

    def _log(self, request: Any, status: int, nbytes: int, started: float) -> None:
        access_log = self.state.access_log
        if access_log is not None:
            access_log(request, status, nbytes, started)


def _session_line(request: RawRequest) -> RawRequest:
    """Return the request a WebSocket session's access-log line and metrics describe: the
    handshake's, with method WEBSOCKET."""
    return RawRequest(
        "WEBSOCKET",
        request.target,
        request.raw_headers,
        b"",
        request.client,
        request.scheme,
        request.server,
        request.http_version,
        None,
        request.origin,
    )


def _extra_lines(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Return the application's fields for the 101, each checked; refuse the handshake's own."""
    lines: list[bytes] = []
    for name, value in headers:
        check_response_field(name, value)  # InvalidResponseField is a ValueError
        if name.lower() in _OWNED_FIELDS:
            raise ValueError(f"the handshake sets {name.decode('latin-1')!r} itself")
        lines.append(b"%s: %s\r\n" % (name, value))
    return lines
