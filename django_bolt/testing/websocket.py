"""WebSockets in tests: the handshake and the messages, over the server's own protocol.

``TestClient.websocket_connect`` gives a :class:`WebSocketTestSession` with blocking calls;
:class:`WebSocketTestClient` is Django-Bolt's async one.
"""

from __future__ import annotations

import base64
import json
import os
from typing import TYPE_CHECKING, Any

import httpx

from django_bolt.server.memory import MemoryWebSocket
from django_bolt.testing._server import PrivateLoop, Server, request_head
from django_bolt.websocket import WebSocketDisconnect

if TYPE_CHECKING:
    from django_bolt.server.contract import Application

__all__ = (
    "ConnectionClosed",
    "HandshakeRejected",
    "Socket",
    "WebSocketTestClient",
    "WebSocketTestSession",
)


class ConnectionClosed(WebSocketDisconnect):
    """The server closed the test WebSocket (``code``, ``reason``).

    Django-Bolt's name for it; a :class:`~django_bolt.websocket.WebSocketDisconnect` too, so
    tests may catch either.
    """


class HandshakeRejected(ValueError):
    """The server answered a WebSocket handshake with an HTTP status instead of 101.

    A ``ValueError``: Django-Bolt's client raises that for a parameter that does not convert
    (a 400 here), so tests written for it catch this too.
    """

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(f"WebSocket handshake rejected with {status_code}")
        self.status_code = status_code
        self.headers = httpx.Headers(headers)
        self.body = body

    def json(self) -> Any:
        """Return the refusal's JSON body."""
        return json.loads(self.body)


class Socket:
    """One test WebSocket: the handshake, then messages, over the server's own protocol."""

    def __init__(
        self,
        server: Server,
        url: str,
        subprotocols: list[str] | None,
        headers: dict[str, str] | None,
    ) -> None:
        fields = {
            "upgrade": "websocket",
            "connection": "Upgrade",
            "sec-websocket-key": base64.b64encode(os.urandom(16)).decode("ascii"),
            "sec-websocket-version": "13",
        }
        if subprotocols:
            fields["sec-websocket-protocol"] = ", ".join(subprotocols)
        fields.update(headers or {})
        self.server = server
        self.request = httpx.Request("GET", url, headers=fields)
        self.wire: MemoryWebSocket | None = None
        self.subprotocol: str | None = None
        self.headers = httpx.Headers()

    async def connect(self) -> None:
        connection = self.server.connect(self.request)
        self.wire = wire = MemoryWebSocket(connection)
        head = await wire.handshake(request_head(self.request))
        errors = self.server.errors
        if head.status != 101:
            await connection.close()
            errors.raise_caught()
            raise HandshakeRejected(head.status, head.headers, wire.body)
        self.headers = httpx.Headers(head.headers)
        self.subprotocol = self.headers.get("sec-websocket-protocol")

    def _wire(self) -> MemoryWebSocket:
        if self.wire is None:
            raise RuntimeError("the WebSocket is not connected")
        return self.wire

    async def send(self, data: str | bytes) -> None:
        await self._wire().send(data)

    async def receive(self) -> str | bytes:
        wire = self._wire()
        message = await wire.receive()
        if message is None:
            raise ConnectionClosed(wire.close_code or 1006, wire.close_reason)
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.wire is not None:
            await self.wire.close(code, reason)


def _text(message: str | bytes) -> str:
    if not isinstance(message, str):
        raise TypeError("expected a text message, got a binary one")
    return message


def _bytes(message: str | bytes) -> bytes:
    if isinstance(message, str):
        raise TypeError("expected a binary message, got a text one")
    return message


class WebSocketTestSession:
    """A test WebSocket for :meth:`TestClient.websocket_connect`: blocking calls, as a test
    writes them."""

    __test__ = False

    def __init__(self, loop: PrivateLoop, socket: Socket) -> None:
        self._loop = loop
        self._socket = socket

    def __enter__(self) -> WebSocketTestSession:
        self._loop.run(self._socket.connect())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def accepted_subprotocol(self) -> str | None:
        """Return the subprotocol the server selected."""
        return self._socket.subprotocol

    @property
    def headers(self) -> httpx.Headers:
        """Return the 101 response's header fields."""
        return self._socket.headers

    def send_text(self, data: str) -> None:
        """Send a text message."""
        self._loop.run(self._socket.send(data))

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self._loop.run(self._socket.send(data))

    def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON."""
        text = json.dumps(data, separators=(",", ":"))
        self._loop.run(self._socket.send(text if mode == "text" else text.encode()))

    def receive(self) -> str | bytes:
        """Return the next message; ``WebSocketDisconnect`` once the server closed."""
        message: str | bytes = self._loop.run(self._socket.receive())
        return message

    def receive_text(self) -> str:
        """Return the next message, which must be text."""
        return _text(self.receive())

    def receive_bytes(self) -> bytes:
        """Return the next message, which must be binary."""
        return _bytes(self.receive())

    def receive_json(self) -> Any:
        """Return the next message decoded as JSON."""
        return json.loads(self.receive())

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (after the server's answer)."""
        self._loop.run(self._socket.close(code, reason))


class WebSocketTestClient:
    """Django-Bolt's async WebSocket test client: ``async with WebSocketTestClient(api, path)``.

    It starts the API on the running loop, like :class:`AsyncTestClient`.
    """

    __test__ = False

    def __init__(
        self,
        app: Application,
        path: str,
        headers: dict[str, str] | None = None,
        query_string: str = "",
        subprotocols: list[str] | None = None,
        cors_allowed_origins: list[str] | None = None,
        *,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
    ) -> None:
        # Django-Bolt's positional order: headers, then the query string, then subprotocols.
        self.app = app
        server = Server(app, raise_server_exceptions, cors_allowed_origins)
        url = httpx.URL(base_url).join(path)
        if query_string:
            url = url.copy_with(query=query_string.lstrip("?").encode("ascii"))
        self._socket = Socket(server, str(url), subprotocols, headers)
        self._started = False

    async def __aenter__(self) -> WebSocketTestClient:
        await self.app.startup()
        self._started = True
        try:
            await self._socket.connect()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._socket.close()
        finally:
            await self._stop()

    async def _stop(self) -> None:
        if self._started:
            self._started = False
            await self.app.shutdown()

    @property
    def accepted_subprotocol(self) -> str | None:
        """Return the subprotocol the server selected."""
        return self._socket.subprotocol

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self._socket.send(data)

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._socket.send(data)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON."""
        text = json.dumps(data, separators=(",", ":"))
        await self._socket.send(text if mode == "text" else text.encode())

    async def receive(self) -> str | bytes:
        """Return the next message; ``WebSocketDisconnect`` once the server closed."""
        return await self._socket.receive()

    async def receive_text(self) -> str:
        """Return the next message, which must be text."""
        return _text(await self._socket.receive())

    async def receive_bytes(self) -> bytes:
        """Return the next message, which must be binary."""
        return _bytes(await self._socket.receive())

    async def receive_json(self) -> Any:
        """Return the next message decoded as JSON."""
        return json.loads(await self._socket.receive())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (after the server's answer)."""
        await self._socket.close(code, reason)
