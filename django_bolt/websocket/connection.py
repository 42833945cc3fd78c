"""The ``WebSocket`` a handler receives, its states, close codes and exceptions.

A :class:`WebSocket` is a :class:`~django_bolt.request.Request` (the handshake request: headers,
query, cookies, path values, user and auth as for HTTP) with the connection's methods on top. It
talks to the server through the channel of ``server/contract.py``; the framing, limits and
liveness are the server's.
"""

from __future__ import annotations

import asyncio
import enum
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt.request import Request
from django_bolt.server.contract import ChannelClosed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from django_bolt.server.contract import WebSocketChannel

__all__ = (
    "CloseCode",
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketState",
)

_encode: Final = msgspec.json.Encoder().encode
_decode: Final = msgspec.json.decode
# RFC 6455 section 7.4: the codes an endpoint may send in a close frame.
_SENDABLE: Final = frozenset({1000, 1001, 1002, 1003, *range(1007, 1015)})


class CloseCode(enum.IntEnum):
    """WebSocket close codes (RFC 6455 section 7.4.1, and the IANA registry)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    # Earlier Django-Bolt spellings.
    NORMAL = 1000
    SERVER_ERROR = 1011


class WebSocketState(enum.Enum):
    """Where one side of a WebSocket stands."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


class WebSocketDisconnect(Exception):
    """The client closed the connection (or it was lost: 1006)."""

    def __init__(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocketException(Exception):
    """Raised in a handler: close with ``code`` (after ``accept()``) or refuse with 403 (before)."""

    def __init__(self, code: int = CloseCode.POLICY_VIOLATION, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocketClose(WebSocketException):
    """Raised in a handler to end the connection with ``code`` (1000 by default)."""

    def __init__(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        super().__init__(code, reason)


def check_close(code: int, reason: str) -> None:
    """Raise ``ValueError`` for a close code or reason a close frame cannot carry."""
    if code not in _SENDABLE and not 3000 <= code <= 4999:
        raise ValueError(f"{code} is not a close code an endpoint may send")
    if len(reason.encode("utf-8")) > 123:
        raise ValueError("a close reason is at most 123 bytes of UTF-8")


class WebSocket(Request):
    """One WebSocket connection, handed to a ``@api.websocket`` handler.

    The handshake is answered when the handler calls :meth:`accept` (101); a :meth:`close` or a
    return before it refuses the connection with 403, an exception with 500.
    """

    __slots__ = (
        "_accepted",
        "_channel",
        "_client_state",
        "_connect_given",
        "_decided",
        "_route_compression",
        "_route_max_size",
        "_server_state",
    )

    def __init__(self, request: Request, channel: WebSocketChannel) -> None:
        super().__init__(
            request.method,
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
        self._channel = channel
        self._server_state = WebSocketState.CONNECTING
        self._client_state = WebSocketState.CONNECTING
        self._accepted = False
        self._connect_given = False
        self._decided: asyncio.Future[None] | None = None
        self._route_max_size: int | None = None
        self._route_compression = True

    # --- states and handshake facts -------------------------------------------------------------

    @property
    def application_state(self) -> WebSocketState:
        """Return this side's state: CONNECTING until accept(), DISCONNECTED after close()."""
        return self._server_state

    @property
    def client_state(self) -> WebSocketState:
        """Return the client's state: DISCONNECTED once it closed or left."""
        return self._client_state

    @property
    def state(self) -> WebSocketState:  # type: ignore[override]
        """Return the connection's state: DISCONNECTED when either side has closed."""
        if self._client_state is WebSocketState.DISCONNECTED:
            return WebSocketState.DISCONNECTED
        return self._server_state

    @property
    def accepted(self) -> bool:
        """Tell whether the 101 was sent."""
        return self._accepted

    @property
    def subprotocols(self) -> list[str]:
        """Return the subprotocols the client offered, in its order."""
        return list(self._channel.subprotocols)

    @property
    def scope(self) -> dict[str, Any]:
        """Return the ASGI-style scope of the handshake."""
        return {
            "type": "websocket",
            "scheme": "wss" if self.scheme == "https" else "ws",
            "http_version": self.http_version,
            "path": self.path,
            "raw_path": self.target.split(b"?", 1)[0],
            "query_string": self.query_string.encode("latin-1"),
            "headers": [(name.lower(), value) for name, value in self.raw_headers],
            "client": self.client,
            "server": self.server,
            "subprotocols": list(self._channel.subprotocols),
            "path_params": self.path_params,
        }

    # --- the handshake --------------------------------------------------------------------------

    async def accept(
        self, subprotocol: str | None = None, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        """Answer the handshake with 101; ``ValueError`` for an unoffered subprotocol or a
        header the handshake sets itself."""
        if self._server_state is not WebSocketState.CONNECTING:
            raise RuntimeError("accept() after the handshake was answered")
        self._channel.accept(
            subprotocol, list(headers or ()), self._route_max_size, self._route_compression
        )
        self._accepted = True
        self._server_state = self._client_state = WebSocketState.CONNECTED
        self._settle()

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Close the connection, or refuse the handshake (403) before :meth:`accept`."""
        if self._server_state is WebSocketState.DISCONNECTED:
            return
        check_close(int(code), reason)
        self._server_state = WebSocketState.DISCONNECTED
        if self._accepted:
            self._channel.close(int(code), reason)
        self._settle()

    def _settle(self) -> None:
        decided = self._decided
        if decided is not None and not decided.done():
            decided.set_result(None)

    # --- receiving ------------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        """Return the next message as ``{"type": "websocket.receive", "text" | "bytes": ...}``.

        Before :meth:`accept` the first call gives ``{"type": "websocket.connect"}``; a second
        waits until the handshake is answered. Raises :class:`WebSocketDisconnect` when the
        client has closed.
        """
        if not self._accepted:
            if not self._connect_given and self._server_state is WebSocketState.CONNECTING:
                self._connect_given = True
                return {"type": "websocket.connect"}
            await self._answered()
        if self._client_state is WebSocketState.DISCONNECTED:
            raise WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE)
        try:
            data = await self._channel.receive()
        except ChannelClosed as closed:
            self._client_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(closed.code, closed.reason) from None
        if isinstance(data, str):
            return {"type": "websocket.receive", "text": data}
        return {"type": "websocket.receive", "bytes": data}

    async def _answered(self) -> None:
        if self._server_state is WebSocketState.CONNECTING:
            if self._decided is None:
                self._decided = asyncio.get_running_loop().create_future()
            await self._decided
        if not self._accepted:
            raise RuntimeError("the handshake was refused: nothing can be received")

    async def _data(self) -> str | bytes:
        """Return the next message's data (``receive()`` without its dict, for the typed calls)."""
        if not self._accepted or self._client_state is WebSocketState.DISCONNECTED:
            message = await self.receive()
            data: str | bytes = message.get("text", message.get("bytes", b""))
            return data
        try:
            return await self._channel.receive()
        except ChannelClosed as closed:
            self._client_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(closed.code, closed.reason) from None

    async def receive_text(self) -> str:
        """Return the next message, which must be text (``TypeError`` otherwise)."""
        if self._accepted and self._client_state is not _DISCONNECTED:
            # iter_text's path, one await from the server's queue.
            try:
                data = await self._channel.receive()
            except ChannelClosed as closed:
                self._client_state = _DISCONNECTED
                raise WebSocketDisconnect(closed.code, closed.reason) from None
        else:
            data = await self._data()
        if not isinstance(data, str):
            raise TypeError("expected a text message, got a binary one")
        return data

    async def receive_bytes(self) -> bytes:
        """Return the next message, which must be binary (``TypeError`` otherwise)."""
        data = await self._data()
        if isinstance(data, str):
            raise TypeError("expected a binary message, got a text one")
        return data

    async def receive_json(self, mode: str = "text") -> Any:
        """Return the next message decoded as JSON (``mode``: ``"text"`` or ``"binary"``)."""
        message = await self.receive()
        data: str | bytes = message.get("text" if mode == "text" else "bytes") or b""
        return _decode(data)

    async def iter_text(self) -> AsyncIterator[str]:
        """Yield text messages until the client closes."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            return

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Yield binary messages until the client closes."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            return

    async def iter_json(self) -> AsyncIterator[Any]:
        """Yield messages decoded as JSON until the client closes."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            return

    # --- sending --------------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        """Send an ASGI-style message: ``websocket.send`` (text or bytes) or ``websocket.close``."""
        kind = message.get("type")
        if kind == "websocket.close":
            await self.close(message.get("code", 1000), message.get("reason") or "")
        elif kind == "websocket.accept":
            await self.accept(message.get("subprotocol"), message.get("headers"))
        elif kind == "websocket.send":
            text = message.get("text")
            await self._send(text if text is not None else message.get("bytes") or b"")
        else:
            raise ValueError(f"unknown WebSocket message type {kind!r}")

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self._send(data if type(data) is str else str(data))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._send(bytes(data))

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON, in a text message (or a binary one, ``mode="binary"``)."""
        encoded = _encode(data)
        await self._send(encoded.decode("utf-8") if mode == "text" else encoded)

    async def _send(self, data: str | bytes) -> None:
        if self._server_state is not _CONNECTED:
            raise RuntimeError("the WebSocket is not connected (accept() it first, or it closed)")
        if self._client_state is _DISCONNECTED:
            raise WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE)
        try:
            await self._channel.send(data)
        except ChannelClosed:
            self._client_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnect(CloseCode.ABNORMAL_CLOSURE) from None

    def __repr__(self) -> str:
        return f"<WebSocket {self.path} {self.state.name}>"


# Looked up once: the per-message checks compare identities.
_CONNECTED: Final = WebSocketState.CONNECTED
_DISCONNECTED: Final = WebSocketState.DISCONNECTED
