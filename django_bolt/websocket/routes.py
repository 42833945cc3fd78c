"""WebSocket routes: declared options, compiled once, and the handshake served per connection.

A handshake goes through: the route (a path with no WebSocket route is plain HTTP, its Upgrade
ignored), ALLOWED_HOSTS, the server's RFC 6455 verdict (426 for another version, 400 for a bad
key), the Origin check (403), the route's auth and guards (401/403), its typed parameters and
dependencies (400 naming the value that did not convert), then the handler, which answers the
handshake by calling ``accept()``; returning or closing before it gives 403, an exception 500.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt._binding.binder import Binder, compile_binder
from django_bolt._binding.dependencies import run_exits
from django_bolt._binding.plan import WEBSOCKET_METHOD
from django_bolt._dispatch.errors import error_response
from django_bolt._dispatch.table import PathTemplate, RouteTable
from django_bolt._http.wire import CT_JSON, WireResponse
from django_bolt.auth.guards import compile_gate, resolve_entries
from django_bolt.exceptions import RequestValidationError
from django_bolt.websocket.connection import (
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_bolt._dispatch.compile import ExceptionHandler
    from django_bolt._dispatch.errors import ErrorHook
    from django_bolt._dispatch.settings import DispatchSettings
    from django_bolt.auth.guards import Gate
    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.request import Request
    from django_bolt.router import RouteInfo
    from django_bolt.server.contract import WebSocketChannel

__all__ = (
    "ACCEPTED",
    "FORBIDDEN",
    "WEBSOCKET",
    "OriginCheck",
    "WebSocketEndpoint",
    "WebSocketOptions",
    "compile_websocket_routes",
    "refusal_response",
    "serve_websocket",
    "upgrade_required",
)

logger: Final = logging.getLogger("django_bolt")

# The pseudo-method WebSocket routes are declared and tabled under.
WEBSOCKET: Final = "WEBSOCKET"
# The handshake refused (403), and the answer once the handler accepted (never written).
FORBIDDEN: Final = WireResponse(403, [CT_JSON], b'{"detail":"WebSocket connection refused"}')
ACCEPTED: Final = WireResponse(101, [], b"")
_DEFAULT_PORTS: Final = {"http": ":80", "https": ":443"}


@dataclass(frozen=True, slots=True)
class WebSocketOptions:
    """What a WebSocket route declares beyond an HTTP route's options.

    ``allowed_origins``: None for the default (same origin, plus the CORS allowed origins), or
    the origins to accept besides the same origin (``"*"``: any). ``max_message_size``: None for
    the server's ``BOLT_WEBSOCKET_MAX_MESSAGE_SIZE``. ``compression``: False never negotiates
    permessage-deflate on this route.
    """

    allowed_origins: tuple[str, ...] | None = None
    max_message_size: int | None = None
    compression: bool = True


def upgrade_required() -> WireResponse:
    """Return the answer to a plain request for a WebSocket route's path."""
    return WireResponse(
        426,
        [CT_JSON, (b"sec-websocket-version", b"13")],
        b'{"detail":"This path serves WebSocket connections only"}',
    )


class OriginCheck:
    """The Origin check of one route or mount (cross-site WebSocket hijacking defence)."""

    __slots__ = ("any", "cors", "listed")

    def __init__(self, options: WebSocketOptions, cors: CORSPolicy | None) -> None:
        listed = options.allowed_origins
        self.any = listed is not None and "*" in listed
        self.listed = frozenset(o.lower().rstrip("/") for o in listed or () if o != "*")
        # The route's own list replaces the CORS origins.
        self.cors = cors if listed is None else None

    def allows(self, request: Request) -> bool:
        """Tell whether the handshake's Origin may open this WebSocket."""
        origin = request.origin
        if origin is None or self.any:
            return True  # not a browser: nothing to hijack
        text = origin.decode("latin-1").lower()
        if text in self.listed or text == _own_origin(request):
            return True
        return self.cors is not None and self.cors.allows_origin(origin)


def _own_origin(request: Request) -> str:
    scheme = "https" if request.scheme == "https" else "http"
    host = request.headers.get("host", "").lower()
    default = _DEFAULT_PORTS[scheme]
    if host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host}"


class WebSocketEndpoint:
    """A WebSocket route compiled: its origin check, gate, binder and handler."""

    __slots__ = ("binder", "gate", "handlers", "info", "options", "origins", "path_names")

    def __init__(
        self,
        info: RouteInfo,
        path_names: tuple[str, ...],
        handlers: dict[type[BaseException], ExceptionHandler],
        gate: Gate | None,
        cors: CORSPolicy | None,
    ) -> None:
        self.info = info
        self.path_names = path_names
        self.handlers = handlers
        self.gate = gate
        self.options: WebSocketOptions = info.websocket or WebSocketOptions()
        self.origins = OriginCheck(self.options, cors)
        # GET: a WebSocket handshake has no body, so a body parameter is a registration error.
        self.binder: Binder = compile_binder(
            info.endpoint, path_names, frozenset({"GET", WEBSOCKET_METHOD}), False
        )
        if not self.binder.is_async:
            raise TypeError(f"{info.label}: a WebSocket handler must be an async function")


def compile_websocket_routes(
    routes: Iterable[tuple[RouteInfo, dict[type[BaseException], ExceptionHandler]]],
    config: DispatchSettings,
) -> RouteTable[WebSocketEndpoint] | None:
    """Compile the WebSocket routes into their own table (None when there are none)."""
    table: RouteTable[WebSocketEndpoint] = RouteTable()
    count = 0
    for info, handlers in routes:
        template = PathTemplate(info.path)
        gate = compile_gate(
            resolve_entries(info.auth) if info.auth is not None else config.auth_default,
            resolve_entries(info.guards) if info.guards is not None else config.guards_default,
        )
        cors = config.cors_for(info.endpoint, ())
        endpoint = WebSocketEndpoint(info, template.names, handlers, gate, cors)
        table.add(WEBSOCKET, template, endpoint, info.label)
        count += 1
    if not count:
        return None
    table.compile()
    return table


def refusal_response(channel: WebSocketChannel) -> WireResponse | None:
    """Return the answer to a handshake that breaks RFC 6455 (the server's verdict), or None."""
    refusal = channel.refusal
    if refusal is None:
        return None
    status, detail, fields = refusal
    return WireResponse(status, [CT_JSON, *fields], msgspec.json.encode({"detail": detail}))


async def serve_websocket(
    endpoint: WebSocketEndpoint,
    request: Request,
    channel: WebSocketChannel,
    params: dict[str, str] | None,
    debug: bool,
    hook: ErrorHook | None,
) -> WireResponse:
    """Run the handshake's checks and the handler; return the HTTP answer if it did not accept."""
    refused = refusal_response(channel)
    if refused is not None:
        return refused
    if not endpoint.origins.allows(request):
        return WireResponse(403, [CT_JSON], b'{"detail":"Origin not allowed"}')
    websocket = WebSocket(request, channel)
    options = endpoint.options
    websocket._route_max_size = options.max_message_size
    websocket._route_compression = options.compression
    if params:
        websocket.set_path_params(params)
    exits: list[Any] = []
    try:
        gate = endpoint.gate
        if gate is not None and (pending := gate(websocket)) is not None:
            await pending
        try:
            kwargs = await endpoint.binder.solve(websocket, params, {}, exits)
        except RequestValidationError as exc:
            return WireResponse(400, [CT_JSON], msgspec.json.encode({"detail": exc.errors}))
        await endpoint.binder.fn(**kwargs)
    except Exception as exc:
        return await _failed(endpoint, websocket, exc, debug, hook)
    finally:
        if exits:
            await run_exits(exits)
    if websocket.accepted:
        return ACCEPTED
    return FORBIDDEN


async def _failed(
    endpoint: WebSocketEndpoint,
    websocket: WebSocket,
    exc: Exception,
    debug: bool,
    hook: ErrorHook | None,
) -> WireResponse:
    """Answer what the handshake's checks or the handler raised."""
    if isinstance(exc, WebSocketDisconnect):
        return ACCEPTED if websocket.accepted else FORBIDDEN  # the client left: nobody to tell
    if isinstance(exc, WebSocketException):
        if websocket.accepted:
            await websocket.close(exc.code, exc.reason)
            return ACCEPTED
        return FORBIDDEN
    if not websocket.accepted:
        return await error_response(websocket, exc, endpoint.handlers, debug, hook)
    logger.error("WebSocket handler %s failed", endpoint.info.label, exc_info=exc)
    await websocket.close(1011, "")
    return ACCEPTED
