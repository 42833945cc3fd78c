"""WebSockets: ``@api.websocket(path)`` handlers receive a :class:`WebSocket`.

See docs/websockets.md. The server side (handshake, framing, limits, liveness) is
``django_bolt/server/websocket.py``.
"""

from django_bolt.websocket.connection import (
    CloseCode,
    WebSocket,
    WebSocketClose,
    WebSocketDisconnect,
    WebSocketException,
    WebSocketState,
)
from django_bolt.websocket.routes import WebSocketOptions

__all__ = (
    "CloseCode",
    "WebSocket",
    "WebSocketClose",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketOptions",
    "WebSocketState",
)
