"""Answer requests: the one sequence every route goes through, from path to response.

``dispatch`` finds the route (a 404, 405 or 308 when there is none for the request), answers a
CORS preflight, runs the route's ``guard``, calls the handler (itself for a simple handler,
the fast path; through the endpoint's ``call`` otherwise; both decided per route by
compile.py), turns an exception into a response (errors.py), saves the session and settles the
database connections when the handler used them, and applies CORS and compression. Plain,
guarded, rate-limited, middleware-wrapped routes and routes with dependencies all take this
path; they differ only in the ``guard`` and ``call`` their endpoint carries.

The server calls ``dispatch_nowait`` first: the API's :class:`~.lane.Lane`, compiled, answers a
route whose handler cannot wait (an inline ``def`` handler, or an ``async def`` one with no
``await`` that provably neither blocks nor looks for its Task; compile.py's
``answers_at_once``) right there, with no coroutine and no Task; any other route gets
``dispatch``'s coroutine, which the server drives once (DESIGN.md, rule 2) and wraps in a Task
only if it suspends. The lane leaves every step that has to wait to ``_finish_later`` and the
misses to ``_miss_at_once``.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import unquote

from django.core.signals import setting_changed

from django_bolt._dispatch.compile import finish_response
from django_bolt._dispatch.errors import ErrorFormatter, error_response
from django_bolt._dispatch.lane import Lane, path_params
from django_bolt._dispatch.table import RouteMatch, RouteTable
from django_bolt._django.sessions import finish_session
from django_bolt._http.wire import CT_JSON, VARY_ORIGIN, WireResponse, add_vary
from django_bolt.error_handlers import apply_formatter, error_from_response
from django_bolt.request import Request
from django_bolt.server.contract import find_header
from django_bolt.websocket.mounted import serve_mounted_websocket
from django_bolt.websocket.routes import WEBSOCKET, serve_websocket, upgrade_required

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from django_bolt._dispatch.compile import Endpoint, ExceptionHandler
    from django_bolt._django.bridge import DjangoBridge
    from django_bolt._django.static import StaticFiles
    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.middleware.hosts import HostValidator
    from django_bolt.mounts import MountTable
    from django_bolt.server.contract import WebSocketChannel
    from django_bolt.websocket.routes import WebSocketEndpoint

__all__ = ("Dispatcher",)

_NOT_FOUND_BODY: Final = b'{"detail":"Not Found"}'
# miss_answers: at most this many (Host, path) pairs, each at most this long in all.
_MISS_ANSWERS_MAX: Final = 1024
_MISS_KEY_MAX_BYTES: Final = 256
_MISS_METHODS: Final = frozenset(("GET", "HEAD"))
_METHOD_NOT_ALLOWED_BODY: Final = b'{"detail":"Method Not Allowed"}'
# A Location every browser resolves on this origin: one "/" followed by neither "/" nor a
# backslash (browsers read "//evil.example" and "/<backslash>evil.example" as another host), and
# no control character or space anywhere (browsers drop tabs and newlines: "/<tab>/evil" would
# become "//evil"). Anything else gets no redirect: the request is a 404, as if no route matched.
_SAME_ORIGIN_PATH: Final = re.compile(r"/(?![/\\])[^\x00-\x20\x7f]*\Z")


class Dispatcher:
    """The per-request half of ``BoltAPI``: ``dispatch(request) -> response``, never raising.

    A base class rather than an object of its own so that the server's call to
    ``api.dispatch`` is the dispatch itself, with nothing in between. ``compile()`` (BoltAPI's)
    sets the attributes below; the first request compiles when nothing did yet.
    """

    request_class: ClassVar[type[Request]] = Request
    exception_handlers: dict[type[BaseException], ExceptionHandler]
    # Test clients with raise_server_exceptions=True set this to re-raise server bugs.
    server_error_hook: Callable[[BaseException], None] | None
    _table: RouteTable[Endpoint] | None
    _ws_table: RouteTable[WebSocketEndpoint] | None
    _hosts: HostValidator | None
    _cors: CORSPolicy | None
    _bridge: DjangoBridge | None
    _static: StaticFiles | None
    _mount_table: MountTable | None
    # The server's optional ``miss_answers`` (contract.py): filled by _miss_now, emptied when
    # the routes change.
    miss_answers: dict[tuple[bytes, bytes], WireResponse]
    # The server's optional ``dispatch_nowait`` (contract.py), pointed at each compiled table.
    dispatch_nowait: Lane
    _debug: bool
    # BoltAPI(error_formatter=...), for the API and every API it mounts (None: default bodies).
    _formatter: ErrorFormatter | None
    # Paths the server answers itself (serve_at); replaced, never mutated, so a shared default.
    _server_routes: dict[str, Callable[[Request], Awaitable[Any]]] = {}  # noqa: RUF012

    def compile(self) -> RouteTable[Endpoint]:
        raise NotImplementedError

    async def dispatch(self, request: Request) -> WireResponse:
        """Answer one request; never raises (errors become responses)."""
        endpoint: Endpoint | None = None
        try:
            table = self._table
            if table is None:
                table = self.compile()
            hosts = self._hosts
            if hosts is not None:
                rejected = hosts(request)
                if rejected is not None:
                    return self._refusal(request, rejected)
            target = request.target
            cut = target.find(b"?")
            if cut < 0:
                raw_path = target.decode("latin-1")
            else:
                raw_path = target[:cut].decode("latin-1")
                # Already split here: spare the request doing it again if a view needs it.
                request.set_query_string(target[cut + 1 :].decode("latin-1"))
            # A static path is one dict lookup (RouteTable.match's first step, without its call).
            entry = table.static.get(raw_path)
            if entry is not None:
                values: tuple[str, ...] = ()
            else:
                found = table.match_dynamic(raw_path)
                if found is None:
                    return await self._miss(request, table, raw_path, target, cut)
                entry, values = found
            endpoint = entry.methods.get(request.method)
            if endpoint is None:
                endpoint = _other_method(entry, request.method)
                if endpoint is None:
                    matches = table.match_all(raw_path)
                    other = _other_shape(matches, request.method)
                    if other is None:
                        return self._no_method(request, _allowing(matches, entry))
                    entry, values, endpoint = other
            cors = endpoint.cors
            if cors is not None and request.method == "OPTIONS":
                # Preflights are answered before auth and the handler run.
                early = cors.preflight(request)
                if early is not None:
                    return early
            params = path_params(endpoint, values, request) if values else None
            # Auth, guards and rate limits run before any parameter is bound: a refused
            # request costs no body parsing or validation. A refusal is an exception (auth,
            # guards) or a response (rate limits).
            guard = endpoint.guard
            if (
                guard is not None
                and (pending := guard(request)) is not None
                and (refused := await pending) is not None
            ):
                response = refused
            elif (call := endpoint.call) is not None:
                # Dependencies, forms, the pool, or a middleware chain (see compile.py).
                response = await call(request, params)
            else:
                # The fast path: the handler bound, called and converted right here, with no
                # coroutine of ours around it (one costs about 1 % of a small request). The
                # same steps as compile.invoke (a middleware chain's innermost layer).
                if endpoint.has_params:
                    result = endpoint.fn(**endpoint.bind(request, params))
                else:
                    result = endpoint.fn()
                if endpoint.is_async:
                    result = await result
                response = endpoint.convert(result)
                if response.__class__ is not WireResponse:
                    response = await finish_response(response, request)
        except Exception as exc:
            handlers = endpoint.handlers if endpoint is not None else self.exception_handlers
            response = await self._error_response(request, exc, handlers)
            if endpoint is None:
                cors = self._cors
                return response if cors is None else cors(request, response)
        # The slot behind request.loaded_session, read directly: the property's call costs
        # about 1.4 % of a small request (bench/instructions.py json-async, Python 3.11).
        if request._session is not None:
            response = await self._finish(request, response, endpoint)
        return self._dress(request, response, endpoint)

    def _miss_at_once(
        self,
        request: Request,
        table: RouteTable[Endpoint],
        raw_path: str,
        target: bytes,
        cut: int,
    ) -> WireResponse | Coroutine[Any, Any, WireResponse]:
        """Answer a miss that needs no waiting (the usual 404); else return dispatch's coroutine."""
        try:
            answer = self._miss_now(request, table, raw_path, target, cut)
        except Exception:
            answer = None  # dispatch meets it again, and turns it into a response
        return self.dispatch(request) if answer is None else answer

    async def _finish_later(
        self,
        request: Request,
        endpoint: Endpoint,
        response: Any,
        exc: Exception | None,
    ) -> WireResponse:
        """Complete an answer ``dispatch_nowait`` began: ``dispatch``'s steps after the call."""
        try:
            if exc is not None:
                raise exc
            if response.__class__ is not WireResponse:
                response = await finish_response(response, request)
        except Exception as error:
            response = await self._error_response(request, error, endpoint.handlers)
        if request._session is not None:
            response = await self._finish(request, response, endpoint)
        return self._dress(request, response, endpoint)

    def _dress(self, request: Request, response: WireResponse, endpoint: Endpoint) -> WireResponse:
        """Apply the route's CORS headers and compression to its answer."""
        # CORS (CORSPolicy.__call__, written out) before compression: compression then merges
        # its token into the Vary the route's converter made, which is recognised here only
        # while it is the list's last item.
        allow_origin = endpoint.allow_origin
        if allow_origin is not None:
            headers = response.raw_headers
            # Every answer of the route names Origin in Vary. The converter put that field last
            # in the lists it makes (build_result_converter's vary_origin): nothing to do there.
            if not headers or headers[-1] is not VARY_ORIGIN:
                add_vary(headers, b"Origin")
            origin = request.origin
            if origin is not None:
                allow_origin(origin, headers)
        compress = endpoint.compress
        if compress is not None and (
            response.stream is not None or len(response.body) >= endpoint.compress_from
        ):
            return compress(request, response)
        return response

    async def dispatch_websocket(self, request: Request, channel: WebSocketChannel) -> WireResponse:
        """Answer a request offering a WebSocket upgrade (the server's optional hook).

        A path with a WebSocket route runs its handshake (``websocket/routes.py``); else a
        mount with the longest matching prefix serves it (``websocket/mounted.py``); any other
        request is plain HTTP, its Upgrade ignored.
        """
        if self._table is None:
            self.compile()
        table = self._ws_table
        target = request.target
        cut = target.find(b"?")
        found = (
            None
            if table is None
            else table.match((target if cut < 0 else target[:cut]).decode("latin-1"))
        )
        endpoint = None if found is None else found[0].methods.get(WEBSOCKET)
        if found is None or endpoint is None:
            return await self._mounted_websocket(request, channel)
        hosts = self._hosts
        if hosts is not None and (rejected := hosts(request)) is not None:
            return rejected
        values = found[1]
        params = dict(zip(endpoint.path_names, values, strict=True)) if values else None
        return await serve_websocket(
            endpoint, request, channel, params, self._debug, self.server_error_hook
        )

    async def _mounted_websocket(self, request: Request, channel: WebSocketChannel) -> WireResponse:
        """Hand a handshake no WebSocket route serves to a mount, or answer it as HTTP."""
        mounts = self._mount_table
        mount = None if mounts is None else mounts.find_websocket(request.path)
        if mounts is None or mount is None:
            return await self.dispatch(request)
        hosts = self._hosts
        if hosts is not None and (rejected := hosts(request)) is not None:
            return rejected
        return await serve_mounted_websocket(mount, request, channel, self._cors, mounts.timeout_s)

    def serve_at(self, path: str, endpoint: Callable[[Request], Awaitable[Any]]) -> None:
        """Answer ``path`` with the server's ``endpoint`` when no route of the API takes it.

        The server's metrics scrape is served this way: looked up only after the route table
        missed, so it costs the API's routes nothing.
        """
        self._server_routes = {**self._server_routes, path: endpoint}

    def route_template(self, path: bytes) -> str | None:
        """Return the template of the route ``path`` (raw, without query) reaches, or None.

        The server's metrics label each response with it (``/items/{item_id}``, not the path),
        so their number of series is bounded by the routes.
        """
        table = self._table if self._table is not None else self.compile()
        raw_path = path.decode("latin-1")
        entry = table.static.get(raw_path)
        if entry is not None:
            return entry.path
        found = table.match_dynamic(raw_path)
        if found is not None:
            return found[0].path
        sockets = self._ws_table  # a WebSocket's handshake and session lines
        found_socket = None if sockets is None else sockets.match(raw_path)
        return None if found_socket is None else found_socket[0].path

    def error_headers(
        self, status: int, method: str, target: bytes, raw_headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """Return the headers for an error the server answers itself (a 413 before the body).

        The CORS policy that would answer this request (the route's, else the global one) adds
        its headers, so a browser can read the refusal as it reads the application's errors.
        """
        table = self._table if self._table is not None else self.compile()
        cut = target.find(b"?")
        raw_path = (target if cut < 0 else target[:cut]).decode("latin-1")
        found = table.match(raw_path)
        policy = self._cors
        if found is not None:
            endpoint = found[0].methods.get(method) or _other_method(found[0], method)
            if endpoint is not None:
                policy = endpoint.cors
        if policy is None:
            return []
        request = self.request_class(method, target, raw_headers, b"", None, "http", None, "1.1")
        response = policy(request, WireResponse(status, [], b""))
        return response.raw_headers

    # --- the rarer answers ------------------------------------------------------------------------
    async def _finish(
        self, request: Request, response: WireResponse, endpoint: Endpoint
    ) -> WireResponse:
        """Save the session the handler loaded or assigned (_django/sessions.py)."""
        if request.loaded_session is not None:
            try:
                await finish_session(request, response, endpoint.is_async)
            except Exception as exc:
                response = await self._error_response(request, exc, endpoint.handlers)
        return response

    async def _error_response(
        self,
        request: Request,
        exc: Exception,
        handlers: dict[type[BaseException], ExceptionHandler],
    ) -> WireResponse:
        return await error_response(
            request, exc, handlers, self._debug, self.server_error_hook, self._formatter
        )

    def _refusal(self, request: Request, response: WireResponse) -> WireResponse:
        """Return an error the framework made without an exception, as the formatter writes it."""
        formatter = self._formatter
        if formatter is None:
            return response
        return apply_formatter(formatter, error_from_response(response), request, response)

    def _no_method(self, request: Request, entry: RouteMatch[Endpoint]) -> WireResponse:
        """No handler for this method: a preflight, a bare OPTIONS (204) or a 405."""
        policy = self._path_cors(request, entry)
        if policy is not None:
            early = policy.preflight(request)
            if early is not None:
                return early
        response = _allow_response(entry, request.method)
        if response.status_code == 405:
            response = self._refusal(request, response)
        return response if policy is None else policy(request, response)

    def _path_cors(self, request: Request, entry: RouteMatch[Endpoint]) -> CORSPolicy | None:
        # A preflight asks about one method: that route's policy answers it.
        if request.method == "OPTIONS":
            for name, value in request.raw_headers:
                if name.lower() == b"access-control-request-method":
                    asked = value.decode("latin-1").strip().upper()
                    target = entry.methods.get(asked) or _other_method(entry, asked)
                    if target is not None:
                        return target.cors
                    break
        for other in entry.methods.values():
            if other.cors is not None:
                return other.cors
        return self._cors

    def _with_cors(self, request: Request, response: WireResponse) -> WireResponse:
        """Return the global policy on a response no route produced (404, 308), preflights
        answered."""
        cors = self._cors
        if cors is None:
            return response
        early = cors.preflight(request)
        return early if early is not None else cors(request, response)

    async def _miss(
        self,
        request: Request,
        table: RouteTable[Endpoint],
        raw_path: str,
        target: bytes,
        cut: int,
    ) -> WireResponse:
        answer = self._miss_now(request, table, raw_path, target, cut)
        if answer is not None:
            return answer
        served = self._server_routes.get(raw_path)
        if served is not None:
            return await served(request)  # type: ignore[no-any-return]
        mounts = self._mount_table
        if mounts is not None:
            # mount_asgi() / mount_django(): after every API answer, before the URLconf.
            response = await mounts(request)
            if response is not None:
                return response
        bridge = self._bridge
        if bridge is not None:
            response = await bridge(request)
            if response is not None:
                return response
        return self._not_found(request)

    def _miss_now(
        self,
        request: Request,
        table: RouteTable[Endpoint],
        raw_path: str,
        target: bytes,
        cut: int,
    ) -> WireResponse | None:
        """Answer a path no route has when that needs no waiting; None when it does.

        In order: a WebSocket route's path (426), a path the server answers (None: it waits),
        a static file, the other spelling of an API path (308), then a mount or Django (None,
        unless Django's resolver already says it has no pattern for the path: a 404 here).
        """
        if self._ws_table is not None and self._ws_table.match(raw_path) is not None:
            return upgrade_required()  # a WebSocket route, asked without the handshake
        if raw_path in self._server_routes:
            return None
        static = self._static
        if static is not None:
            # STATIC_ROOT / MEDIA_ROOT in production; a name not there goes on to Django.
            response = static.serve(request, raw_path)
            if response is not None:
                return response
        bridge = self._bridge
        # request.path, computed from what is at hand (the property's first read raises and
        # catches an AttributeError).
        path = unquote(raw_path) if "%" in raw_path else raw_path
        if raw_path != "/":
            other = raw_path[:-1] if raw_path.endswith("/") else raw_path + "/"
            # The 308 is for API spellings only: a path Django serves as written stays Django's.
            # The table first: most misses have no other spelling either.
            if table.match(other) is not None and (bridge is None or not bridge.resolves(path)):
                location = other + (target[cut:].decode("latin-1") if cut >= 0 else "")
                if _SAME_ORIGIN_PATH.match(location) is not None:
                    return self._with_cors(
                        request,
                        WireResponse(
                            308,
                            [CT_JSON, (b"location", location.encode("latin-1"))],
                            b'{"detail":"Permanent Redirect"}',
                        ),
                    )
        if self._mount_table is not None or (bridge is not None and not bridge.certain_miss(path)):
            return None
        response = self._not_found(request)
        if self._cors is None and self._formatter is None and static is None:
            self._remember_miss(request, target, cut, response)
        return response

    def _remember_miss(
        self, request: Request, target: bytes, cut: int, response: WireResponse
    ) -> None:
        """Let the server answer this Host and path itself from now on (``miss_answers``).

        Only for a 404 that nothing about the request but its Host and path decided: no CORS
        policy or error formatter to dress it, no static files that may appear later, a GET or
        HEAD. The table is bounded, and so are its keys, so a scan of random paths cannot
        grow it: once full, misses are decided as before.
        """
        answers = self.miss_answers
        if len(answers) >= _MISS_ANSWERS_MAX or request.method not in _MISS_METHODS:
            return
        host = find_header(request.raw_headers, b"host")
        path = target if cut < 0 else target[:cut]
        if host is not None and len(host) + len(path) <= _MISS_KEY_MAX_BYTES:
            answers[(host, path)] = response
            _REMEMBERING.add(self)

    def _not_found(self, request: Request) -> WireResponse:
        not_found = WireResponse(404, [CT_JSON], _NOT_FOUND_BODY)
        return self._with_cors(request, self._refusal(request, not_found))


# The dispatchers holding miss answers: a changed setting (override_settings in a test, say)
# may change what a miss gets (ALLOWED_HOSTS, MIDDLEWARE, APPEND_SLASH), so they are forgotten.
_REMEMBERING: Final[weakref.WeakSet[Dispatcher]] = weakref.WeakSet()


def _forget_misses(**_: object) -> None:
    for dispatcher in list(_REMEMBERING):
        dispatcher.miss_answers.clear()


setting_changed.connect(_forget_misses, dispatch_uid="django_bolt.miss_answers")


def _other_method(entry: RouteMatch[Endpoint], method: str) -> Endpoint | None:
    if method == "HEAD":
        # RFC 9110 section 9.3.2: HEAD is GET without the body; the server drops the body.
        return entry.methods.get("GET")
    return None


def _other_shape(
    matches: list[tuple[RouteMatch[Endpoint], tuple[str, ...]]], method: str
) -> tuple[RouteMatch[Endpoint], tuple[str, ...], Endpoint] | None:
    """Return a later route whose shape also matches and that serves ``method`` (rare: two templates
    for one path, such as ``{id:int}`` for GET and ``{id}`` for DELETE)."""
    for entry, values in matches[1:]:
        endpoint = entry.methods.get(method) or _other_method(entry, method)
        if endpoint is not None:
            return entry, values, endpoint
    return None


def _allowing(
    matches: list[tuple[RouteMatch[Endpoint], tuple[str, ...]]], entry: RouteMatch[Endpoint]
) -> RouteMatch[Endpoint]:
    """Return the entry whose ``Allow`` answers for this path: every matching route's methods."""
    if len(matches) < 2:
        return entry
    return RouteMatch.merged([found for found, _ in matches])


def _allow_response(entry: RouteMatch[Endpoint], method: str) -> WireResponse:
    allow = (b"allow", entry.allow.encode("latin-1"))
    if method == "OPTIONS":
        return WireResponse(204, [allow], b"")
    return WireResponse(405, [CT_JSON, allow], _METHOD_NOT_ALLOWED_BODY)
