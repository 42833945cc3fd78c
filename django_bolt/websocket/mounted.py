"""WebSocket handshakes served by a mounted ASGI application (``api.mount_asgi()``).

A handshake no ``@api.websocket`` route serves goes to the mount with the longest matching
prefix (``MountTable.find_websocket``), after the same checks as a route's: the server's RFC 6455
verdict, ALLOWED_HOSTS (the dispatcher's), and the Origin check with its default policy (same
origin, or an origin the API's CORS policy allows). The application then speaks the ASGI
WebSocket protocol over the server's connection (``server/websocket.py``), which keeps its own
limits: the message size, the read queue's back-pressure, pings, idle and close timeouts, and
1012 when the worker drains.

- ``receive()``: ``websocket.connect`` first; then, once accepted, ``websocket.receive`` (text
  or bytes) and, when the client closes or leaves or the server closes, ``websocket.disconnect``
  with the code and reason (again on every later call).
- ``send()``: ``websocket.accept`` (subprotocol, headers) writes the 101; ``websocket.close``
  before it refuses the handshake with 403, after it starts the close handshake;
  ``websocket.http.response.start``/``body`` before it answers the handshake with that HTTP
  response (the WebSocket Denial Response extension); ``websocket.send`` sends text or bytes and
  raises :class:`ClientDisconnected` (an ``OSError``, as ASGI 2.4 asks) once the client left.
- The application has ``BOLT_ASGI_MOUNT_TIMEOUT`` seconds to answer the handshake (504 and
  cancelled otherwise). Raising or returning before answering is a 500 or a 403; raising after
  the accept closes the connection with 1011. The connection lasts as long as the application
  runs; one that returns without closing is closed with 1000.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Final

from django_bolt._http.wire import CT_JSON, WireResponse
from django_bolt.mounts import asgi_headers
from django_bolt.server.contract import ChannelClosed
from django_bolt.websocket.connection import check_close
from django_bolt.websocket.routes import (
    ACCEPTED,
    FORBIDDEN,
    OriginCheck,
    WebSocketOptions,
    refusal_response,
)

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.mounts import AsgiMount
    from django_bolt.request import Request
    from django_bolt.server.contract import WebSocketChannel

__all__ = ("ClientDisconnected", "serve_mounted_websocket")

logger: Final = logging.getLogger("django_bolt.mounts")

_DEFAULT_OPTIONS: Final = WebSocketOptions()
_ORIGIN_REFUSED: Final = WireResponse(403, [CT_JSON], b'{"detail":"Origin not allowed"}')
_FAILED: Final = WireResponse(500, [CT_JSON], b'{"detail":"Internal Server Error"}')
_TIMED_OUT: Final = WireResponse(504, [CT_JSON], b'{"detail":"Gateway Timeout"}')
# What receive() says after a refused (or abandoned) handshake: there never was a connection.
_NEVER_OPEN: Final = 1006
# Tasks of applications whose handshake was answered without them: kept referenced until they end.
_ORPHANS: Final[set[asyncio.Task[None]]] = set()


class ClientDisconnected(OSError):
    """``websocket.send`` after the client left (ASGI 2.4: the server raises an ``OSError``)."""


class _AppFailed(Exception):
    """The application raised before answering the handshake."""


class _Session:
    """One mounted WebSocket: the application's ``receive`` and ``send`` over the channel."""

    __slots__ = ("accepted", "app_closed", "channel", "connect_given", "decided", "denial")

    def __init__(self, channel: WebSocketChannel) -> None:
        self.channel = channel
        # The handshake's answer: None for the accept, else the HTTP response to write.
        self.decided: asyncio.Future[WireResponse | None] = (
            asyncio.get_running_loop().create_future()
        )
        self.connect_given = False
        self.accepted = False
        self.app_closed = False
        # A denial response started: its status, headers and the body so far.
        self.denial: tuple[int, list[tuple[bytes, bytes]], list[bytes]] | None = None

    # --- receive -------------------------------------------------------------------------------

    async def receive(self) -> dict[str, Any]:
        if not self.connect_given:
            self.connect_given = True
            return {"type": "websocket.connect"}
        if not self.decided.done():
            await asyncio.shield(self.decided)
        if not self.accepted:
            return _disconnect(_NEVER_OPEN, "")
        try:
            data = await self.channel.receive()
        except ChannelClosed as closed:
            return _disconnect(closed.code, closed.reason)
        if isinstance(data, str):
            return {"type": "websocket.receive", "text": data}
        return {"type": "websocket.receive", "bytes": data}

    # --- send ----------------------------------------------------------------------------------

    async def send(self, message: MutableMapping[str, Any]) -> None:
        kind = message.get("type")
        if not self.decided.done():
            self._answer(kind, message)
        elif not self.accepted:
            raise RuntimeError(f"{kind!r} after the handshake was answered without an accept")
        elif kind == "websocket.send":
            await self._send(message)
        elif kind == "websocket.close":
            code = int(message.get("code") or 1000)
            reason = message.get("reason") or ""
            check_close(code, reason)
            self.app_closed = True
            self.channel.close(code, reason)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} on an open WebSocket")

    def _answer(self, kind: Any, message: MutableMapping[str, Any]) -> None:
        """Take a message sent before the handshake is answered."""
        if kind == "websocket.http.response.start" and self.denial is None:
            status = int(message["status"])
            if not 200 <= status <= 599:
                raise ValueError(f"a denial response has a final status, not {status}")
            self.denial = (status, asgi_headers(message), [])
        elif kind == "websocket.http.response.body" and self.denial is not None:
            status, headers, body = self.denial
            body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                headers = [pair for pair in headers if pair[0] != b"content-length"]
                self._settle(WireResponse(status, headers, b"".join(body)))
        elif self.denial is not None:
            raise RuntimeError(f"{kind!r} in the middle of a denial response")
        elif kind == "websocket.accept":
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
            # ValueError for an unoffered subprotocol or a field the handshake sets: a 500.
            self.channel.accept(message.get("subprotocol"), headers)
            self.accepted = True
            self._settle(None)
        elif kind == "websocket.close":
            self._settle(FORBIDDEN)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} before websocket.accept")

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        if self.app_closed:
            raise RuntimeError("websocket.send after websocket.close")
        text = message.get("text")
        data: str | bytes
        if text is not None:
            data = str(text)
        elif message.get("bytes") is not None:
            data = bytes(message["bytes"])
        else:
            raise ValueError("websocket.send carries neither text nor bytes")
        try:
            await self.channel.send(data)
        except ChannelClosed:
            raise ClientDisconnected("the WebSocket client has gone") from None

    # --- the application's end -----------------------------------------------------------------

    def _settle(self, answer: WireResponse | None) -> None:
        if not self.decided.done():
            self.decided.set_result(answer)

    def app_done(self, task: asyncio.Task[None]) -> None:
        """Answer the handshake if the application ended without doing so."""
        error = None if task.cancelled() else task.exception()
        if error is not None:
            logger.error("mounted ASGI application raised on a WebSocket", exc_info=error)
        if self.decided.done():
            return
        if error is None:
            self._settle(FORBIDDEN)  # returned without accepting: refused (as 0.13)
        else:
            self.decided.set_exception(_AppFailed())

    def abandon(self, task: asyncio.Task[None], grace_s: float) -> None:
        """Leave the application to end on its own; cancel it if it runs ``grace_s`` longer."""
        self._settle(_TIMED_OUT)  # a receive() waiting for the answer gets the disconnect
        if not task.done():
            _ORPHANS.add(task)
            task.add_done_callback(_ORPHANS.discard)
            asyncio.get_running_loop().call_later(grace_s, task.cancel)


def _disconnect(code: int, reason: str) -> dict[str, Any]:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


async def serve_mounted_websocket(
    mount: AsgiMount,
    request: Request,
    channel: WebSocketChannel,
    cors: CORSPolicy | None,
    timeout_s: float,
) -> WireResponse:
    """Run ``mount``'s application on the handshake; return the HTTP answer if it did not accept.

    ``cors`` is the API's global CORS policy, whose origins the Origin check accepts.
    """
    refused = refusal_response(channel)
    if refused is not None:
        return refused
    if not OriginCheck(_DEFAULT_OPTIONS, cors).allows(request):
        return _ORIGIN_REFUSED
    session = _Session(channel)
    scope = mount.websocket_scope(request, channel.subprotocols)
    task = asyncio.get_running_loop().create_task(mount.app(scope, session.receive, session.send))
    task.add_done_callback(session.app_done)
    try:
        answer = await asyncio.wait_for(asyncio.shield(session.decided), timeout_s)
    except TimeoutError:
        session.abandon(task, 0)
        logger.error(
            "mounted ASGI application at %s: no handshake answer in %g s", mount.prefix, timeout_s
        )
        return _TIMED_OUT
    except _AppFailed:
        return _FAILED
    except asyncio.CancelledError:
        task.cancel()
        raise
    if answer is not None:
        session.abandon(task, timeout_s)
        return answer
    return await _connected(task, channel)


async def _connected(task: asyncio.Task[None], channel: WebSocketChannel) -> WireResponse:
    """Wait while the accepted connection lasts: as long as the application runs."""
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task.cancelled() or task.exception() is not None:
        channel.close(1011, "")  # app_done logged it; a close already started stays as it is
    return ACCEPTED
