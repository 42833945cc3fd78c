"""A connection to the server's own protocol without a socket: bytes in, response out.

The in-process test client serves each request through a real :class:`HttpProtocol` on an
in-memory transport, as a client on the network would: the request is written as HTTP/1.1
bytes, the protocol parses, limits, refuses or dispatches them exactly as it does for a socket,
and its output is read back with llhttp's response parser. There is no second copy of the
server's rules to keep equal to the first.

The transport applies back-pressure like a socket's (the protocol's ``pause_writing`` above a
high-water mark of unread output), so an endless stream is produced only as fast as it is read.
Closing a connection before its response is complete is a client disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any, Final

import httptools
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from django_bolt.server.protocol import HttpProtocol

if TYPE_CHECKING:
    from django_bolt.server.state import ServerState

__all__ = ("ConnectionClosed", "MemoryConnection", "MemoryWebSocket", "ResponseHead")

# Unread output above which the protocol is told to stop writing, and below which it resumes:
# a socket's buffers, roughly.
_HIGH_WATER: Final = 1024 * 1024
_LOW_WATER: Final = 256 * 1024
_TLS_CONTEXT: Final = object()  # what get_extra_info("sslcontext") returns for an https client


class ConnectionClosed(Exception):
    """The server closed the connection before the response was complete."""


class ResponseHead:
    """Status and header fields of a response, as received."""

    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.headers = headers


class _MemoryTransport(asyncio.Transport):
    """The server's side of an in-memory connection."""

    def __init__(self, owner: MemoryConnection, extra: dict[str, Any]) -> None:
        super().__init__(extra)
        self._owner = owner
        self.reading = True
        self.closed = False
        # The protocol the bytes go to: the HTTP one, or the WebSocket it switched to.
        self.protocol: Any = None

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        protocol: asyncio.BaseProtocol = self.protocol
        return protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self._owner.received(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def can_write_eof(self) -> bool:
        return False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True
        self._owner.changed()

    def is_reading(self) -> bool:
        return self.reading

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self._lose()

    def abort(self) -> None:
        self._lose()

    def get_write_buffer_size(self) -> int:
        return self._owner.unread_bytes()

    def _lose(self) -> None:
        if not self.closed:
            self.closed = True
            # As a socket transport does: the protocol hears about it on a later loop turn.
            asyncio.get_running_loop().call_soon(self._owner.lost)


class MemoryConnection:
    """One client connection to a fresh :class:`HttpProtocol` on the running event loop."""

    def __init__(
        self,
        state: ServerState,
        client: tuple[str, int],
        server: tuple[str, int],
        tls: bool = False,
    ) -> None:
        extra = {
            "peername": client,
            "sockname": server,
            "sslcontext": _TLS_CONTEXT if tls else None,
        }
        self._changed = asyncio.Event()
        self._unread = bytearray()
        self._chunks: deque[bytes] = deque()
        self._queued = 0  # bytes in _chunks
        self._parser = httptools.HttpResponseParser(self)
        self._fields: list[tuple[bytes, bytes]] = []
        self._head_only = False
        # While the request is being written the client reads at once (back-pressure would
        # stop the server reading the rest of a request it has already begun to answer).
        self._sending = False
        self.head: ResponseHead | None = None
        self.complete = False
        self.lost_by_server = False
        self._lost = False
        self.transport = _MemoryTransport(self, extra)
        self.protocol = HttpProtocol(state)
        self.transport.protocol = self.protocol
        self.protocol.connection_made(self.transport)

    # --- called by the transport ---------------------------------------------------------------

    def received(self, data: bytes) -> None:
        self._unread += data
        if (
            self.unread_bytes() > _HIGH_WATER
            and not self._sending
            and not self.transport.protocol.write_paused
        ):
            self.transport.protocol.pause_writing()
        self.changed()

    def changed(self) -> None:
        self._changed.set()

    def unread_bytes(self) -> int:
        return len(self._unread) + self._queued

    def lost(self) -> None:
        if not self._lost:
            self._lost = True
            self.lost_by_server = True
            self.transport.protocol.connection_lost(None)
        self.changed()

    # --- llhttp's response callbacks -----------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        fields, self._fields = self._fields, []
        if status >= 200:  # an interim answer (100 Continue) is followed by the real one
            self.head = ResponseHead(status, fields)
            if self._head_only:
                self.complete = True  # its Content-Length describes a body it never has

    def on_body(self, body: bytes) -> None:
        if self.head is not None and not self.complete:
            self._chunks.append(body)
            self._queued += len(body)

    def on_message_complete(self) -> None:
        if self.head is not None:
            self.complete = True

    # --- the client's side ---------------------------------------------------------------------

    async def send(
        self,
        head: bytes,
        body: Iterable[bytes] | AsyncIterable[bytes],
        head_only: bool = False,
    ) -> None:
        """Write a request: its head, then each piece of its body as the server reads."""
        self._head_only = head_only
        self._sending = True
        try:
            # Each piece is pulled only while the server still reads: a refusal (413) stops
            # the upload where a socket would have failed the write.
            if not await self._write(head):
                return
            if isinstance(body, AsyncIterable):
                async for piece in body:
                    if not await self._write(piece):
                        return
            else:
                for piece in body:
                    if not await self._write(piece):
                        return
        finally:
            self._sending = False

    async def _write(self, data: bytes) -> bool:
        """Hand ``data`` to the protocol once it reads; False when it no longer will."""
        if not data:
            return not self.transport.closed
        while not self.transport.reading and not self.transport.closed:
            await self._wait()
        if self.transport.closed or self.protocol.closing:
            return False  # answered already (a refusal): the rest is never read
        self.protocol.data_received(data)
        return not (self.transport.closed or self.protocol.closing)

    async def response_head(self) -> ResponseHead:
        """Wait for the response's status and fields."""
        while True:
            self._parse()
            head = self.head
            if head is not None:
                return head
            if self._lost:
                raise ConnectionClosed("the server closed the connection without a response")
            await self._wait()

    async def next_chunk(self) -> bytes | None:
        """Return the next piece of the response body, or None at its end."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._consumed(len(chunk))
                return chunk
            if self.complete:
                return None
            self._parse()
            if self._chunks or self.complete:
                continue
            if self._lost:
                raise ConnectionClosed("the server cut the response short")
            await self._wait()

    async def read_body(self) -> bytes:
        parts = []
        while (chunk := await self.next_chunk()) is not None:
            parts.append(chunk)
        return b"".join(parts)

    async def close(self) -> None:
        """Wait for the server's work on the request, then hang up (the client is done).

        Before the response is complete this is a disconnect in the middle of it (the server
        stops streaming); afterwards the server has finished anything it runs after the
        response (background tasks) before the connection goes.
        """
        if self.complete:
            await self.idle()
        if not self._lost:
            self._lost = True
            self.transport.closed = True
            self.transport.protocol.connection_lost(None)
        await self.idle()

    async def idle(self) -> None:
        """Wait until the protocol runs nothing for this connection (background work too)."""
        protocol = self.protocol
        while True:
            busy = [
                task
                for task in (protocol.task, protocol.finishing)
                if task is not None and not task.done()
            ]
            if busy:
                await asyncio.wait(busy)
            elif protocol.responding and not self._lost:
                await self._wait()
            else:
                # Callbacks scheduled by what just finished (a done Task's callbacks).
                await asyncio.sleep(0)
                if all(task is None or task.done() for task in (protocol.task, protocol.finishing)):
                    return

    def _parse(self) -> None:
        if self._unread and not self.complete:
            data = bytes(self._unread)
            self._unread.clear()
            self._parser.feed_data(data)

    def _consumed(self, size: int) -> None:
        self._queued -= size
        protocol = self.transport.protocol
        if self.unread_bytes() < _LOW_WATER and protocol.write_paused and not self._lost:
            protocol.resume_writing()

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()


class _HandshakeReader:
    """llhttp's callbacks for the answer to a WebSocket handshake (a 101, or a refusal)."""

    def __init__(self) -> None:
        self.fields: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class MemoryWebSocket:
    """A WebSocket client on a :class:`MemoryConnection`, for the test client.

    The handshake is written as HTTP/1.1 bytes and its answer read by llhttp; after a 101 the
    frames are the ``websockets`` package's client-side ``Protocol`` (masked, as a browser's),
    so the server's own framing code is what the test exercises.
    """

    def __init__(self, connection: MemoryConnection) -> None:
        self.connection = connection
        self.client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
        self.head: ResponseHead | None = None
        self.body = b""
        self.close_code: int | None = None
        self.close_reason = ""
        self._parts: list[bytes] = []
        self._binary = False
        self._messages: deque[str | bytes] = deque()

    async def handshake(self, head: bytes) -> ResponseHead:
        """Send the handshake request; return the answer's head (101 when accepted)."""
        connection = self.connection
        connection._sending = True
        try:
            await connection._write(head)
        finally:
            connection._sending = False
        reader = _HandshakeReader()
        while True:
            data = bytes(connection._unread)
            connection._unread.clear()
            try:
                reader.parser.feed_data(data)
            except httptools.HttpParserUpgrade as upgrade:
                self.head = ResponseHead(reader.parser.get_status_code(), reader.fields)
                self.client.receive_data(data[int(upgrade.args[0]) :])
                self._events()
                return self.head
            if reader.complete or (connection._lost and not connection._unread):
                if not reader.complete and reader.parser.get_status_code() == 0:
                    raise ConnectionClosed("the server closed the connection without an answer")
                self.head = ResponseHead(reader.parser.get_status_code(), reader.fields)
                self.body = b"".join(reader.body)
                return self.head
            await connection._wait()

    async def send(self, data: str | bytes) -> None:
        """Send one message (text for ``str``), as the server reads."""
        if isinstance(data, str):
            self.client.send_text(data.encode("utf-8"))
        else:
            self.client.send_binary(data)
        await self._push()

    async def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake from the client's side."""
        if self.client.state is State.OPEN:
            self.client.send_close(code, reason)
            await self._push()

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (a frame the client library would not make)."""
        await self._deliver(data)

    async def _push(self) -> None:
        for data in self.client.data_to_send():
            if data:
                await self._deliver(data)

    async def _deliver(self, data: bytes) -> None:
        connection = self.connection
        transport = connection.transport
        while not transport.reading and not transport.closed:
            await connection._wait()
        if transport.closed:
            raise ConnectionClosed("the server closed the connection")
        transport.protocol.data_received(data)

    async def receive(self) -> str | bytes | None:
        """Return the next message, or None once the server closed (see ``close_code``)."""
        connection = self.connection
        while not self._messages:
            if self.close_code is not None:
                return None
            if connection._unread:
                data = bytes(connection._unread)
                connection._unread.clear()
                self.client.receive_data(data)
                protocol = connection.transport.protocol
                if protocol.write_paused and not connection._lost:
                    protocol.resume_writing()
            elif connection._lost:
                self.client.receive_eof()
                if self.close_code is None:
                    self.close_code = 1006
            else:
                await connection._wait()
            self._events()
            # The pongs and the close reply the client owes; the server may have hung up already
            # (it does after failing a connection).
            with contextlib.suppress(ConnectionClosed):
                await self._push()
        return self._messages.popleft()

    def _events(self) -> None:
        for frame in self.client.events_received():
            if not isinstance(frame, Frame):  # pragma: no cover - a client Protocol gives frames
                continue
            opcode = frame.opcode
            if opcode is Opcode.CLOSE:
                close = self.client.close_rcvd
                self.close_code = close.code if close is not None else 1005
                self.close_reason = close.reason if close is not None else ""
            elif opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                if opcode is not Opcode.CONT:
                    self._binary = opcode is Opcode.BINARY
                    self._parts = []
                self._parts.append(bytes(frame.data))
                if frame.fin:
                    payload = b"".join(self._parts)
                    self._messages.append(payload if self._binary else payload.decode("utf-8"))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close (if still open), wait for the server's answer, then hang up."""
        if self.close_code is None:
            with contextlib.suppress(ConnectionClosed):
                await self.send_close(code, reason)
            while self.close_code is None and await self.receive() is not None:
                pass
        await self.connection.close()
