"""BoltAPI and Router: registering routes, assembling them once, and the ``dispatch`` entry."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import typing
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, ClassVar, Final, TypeVar

from django_bolt._db import SHARED as _DB_SHARED, schedule_shared_settle
from django_bolt._dispatch.compile import Endpoint, compile_routes, run_full
from django_bolt._dispatch.settings import (
    FROM_SETTINGS,
    read_dispatch_settings,
    read_runtime_settings,
)
from django_bolt._dispatch.table import (
    RouteMatch,
    RouteTable,
    TrailingSlash,
    normalize_path,
)
from django_bolt._files import configure_allowed_paths
from django_bolt._wire import VARY_ORIGIN, WireResponse, add_vary
from django_bolt.binding import configure_sync_pool
from django_bolt.exceptions import HTTPException, is_client_error, response_for_exception
from django_bolt.request import Request
from django_bolt.responses import build_result_converter
from django_bolt.router import (
    ANNOTATED as ANNOTATED,  # declared here before django_bolt.router
    RouteInfo,
    RouteOptions,
    Router,
    join_paths,
)

if typing.TYPE_CHECKING:
    import contextlib

    from django_bolt.django_bridge import DjangoBridge
    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.middleware.hosts import HostValidator
    from django_bolt.middleware.rate_limit import RateLimiter
    from django_bolt.openapi.config import OpenAPIConfig
    from django_bolt.static import StaticFiles

__all__ = ("BoltAPI", "RouteInfo", "RouteOptions", "Router")

logger: Final = logging.getLogger("django_bolt")

F = TypeVar("F", bound=Callable[..., Any])
ExceptionHandler = Callable[[Request, Any], Any]
# A route's rate limits, auth and middleware chain around its handler: (request, path values).
Policy = Callable[[Request, Any], Awaitable[WireResponse]]

_NOT_FOUND_BODY: Final = b'{"detail":"Not Found"}'
# A Location every browser resolves on this origin: one "/" followed by neither "/" nor a
# backslash (browsers read "//evil.example" and "/<backslash>evil.example" as another host), and
# no control character or space anywhere (browsers drop tabs and newlines: "/<tab>/evil" would
# become "//evil"). Anything else gets no redirect: the request is a 404, as if no route matched.
_SAME_ORIGIN_PATH: Final = re.compile(r"/(?![/\\])[^\x00-\x20\x7f]*\Z")
_METHOD_NOT_ALLOWED_BODY: Final = b'{"detail":"Method Not Allowed"}'
_CT_JSON: Final = (b"content-type", b"application/json")
# ``openapi_config=`` not given: the defaults, unless a mounted API chose a config.
_DEFAULT_DOCS: Final[Any] = object()


class BoltAPI(Router):
    """An API: routes, exception handlers and lifespan hooks, served by ``runbolt``.

    ``trailing_slash`` decides how registered paths are normalised: ``"strip"`` (``/items/`` is
    served as ``/items``), ``"append"`` (as ``/items/``) or ``"keep"`` (as written). A request
    that differs from a route only by the trailing slash is redirected with 308, unless the
    project's URLconf serves that exact path.

    ``django_fallthrough`` decides where a request no route matches goes: to the project's
    URLconf, served by Django (admin, views, static files in DEBUG), or straight to the JSON 404.
    ``None`` (the default) means "to Django when ``settings.ROOT_URLCONF`` is set"; only the
    API that serves the requests (not a mounted one) is asked; ``runbolt --no-admin`` sets it to
    ``False``.

    ``compression`` takes a :class:`~django_bolt.middleware.CompressionConfig`; ``None`` or
    ``False`` turns compression off; not given, the ``BOLT_COMPRESSION`` setting decides, and
    without that setting the default ``CompressionConfig()`` applies. The API that serves the
    requests decides for every route, mounted APIs' included; a route opts out with
    ``@no_compress``.

    ``middleware`` wraps every route of this API (and of the APIs it mounts) in the given
    middleware classes, outermost first; ``django_middleware`` (off by default) runs Django's
    ``settings.MIDDLEWARE`` (``True``), a list of dotted paths, or ``{"include": [...]}`` /
    ``{"exclude": [...]}`` of it around them, outside everything else. See docs/middleware.md.

    ``openapi_config`` takes a :class:`~django_bolt.openapi.OpenAPIConfig`; not given, the
    defaults apply (document at ``/openapi.json``, Swagger UI at ``/docs``); ``None`` or
    ``False`` serves no docs.
    """

    request_class: ClassVar[type[Request]] = Request
    _serves_requests: ClassVar[bool] = True

    # The positional order is Django-Bolt 0.13's (``BoltAPI("/api", "strip", "v1")`` means the
    # same there and here); this framework's own options are keyword-only.
    def __init__(
        self,
        prefix: str = "",
        trailing_slash: TrailingSlash = "strip",
        namespace: str | None = None,
        middleware: Sequence[Any] | None = None,
        django_middleware: bool | list[str] | dict[str, list[str]] | None = None,
        enable_logging: bool = True,
        logging_config: Any = None,
        compression: Any = FROM_SETTINGS,
        openapi_config: OpenAPIConfig | bool | None = _DEFAULT_DOCS,
        validate_response: bool = True,
        include_in_schema: bool | None = None,
        lifespan: Callable[[BoltAPI], contextlib.AbstractAsyncContextManager[Any]] | None = None,
        error_formatter: Callable[[Any, Any], Any] | None = None,
        *,
        tags: list[str] | None = None,
        auth: list[Any] | None = None,
        guards: list[Any] | None = None,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        debug: bool | None = None,
        django_fallthrough: bool | None = None,
    ) -> None:
        if trailing_slash not in ("strip", "append", "keep"):
            raise ValueError(
                f"trailing_slash must be 'strip', 'append' or 'keep', not {trailing_slash!r}"
            )
        self.trailing_slash: TrailingSlash = trailing_slash
        # Routes reverse as "<namespace>:<name>" through django_bolt.urls (see docs/api.md).
        self.namespace = namespace
        self.validate_response = bool(validate_response)
        # None: as the API that mounts this one decides (True at the top).
        self.include_in_schema = include_in_schema
        if error_formatter is not None and not callable(error_formatter):
            raise TypeError(f"error_formatter must be callable, not {error_formatter!r}")
        self.error_formatter = error_formatter
        self.on_startup = list(on_startup or [])
        self.on_shutdown = list(on_shutdown or [])
        self.lifespan = lifespan
        self.debug = debug
        self.django_fallthrough = django_fallthrough
        self.compression = compression
        # Whether the caller chose (an API without a config of its own follows a mounted one's).
        self.openapi_config_given = openapi_config is not _DEFAULT_DOCS
        if openapi_config is _DEFAULT_DOCS or openapi_config is True:
            from django_bolt.openapi.config import OpenAPIConfig

            openapi_config = OpenAPIConfig()
        self.openapi_config: OpenAPIConfig | None = openapi_config or None
        self._bridge: DjangoBridge | None = None
        self._static: StaticFiles | None = None
        self.exception_handlers: dict[type[BaseException], ExceptionHandler] = {}
        self._mounts: list[tuple[str, BoltAPI]] = []
        self._table: RouteTable[Endpoint] | None = None
        self._cors: CORSPolicy | None = None
        self._hosts: HostValidator | None = None
        self._debug = False
        self.server_error_hook: Callable[[BaseException], None] | None = None
        self._lifespans: dict[int, contextlib.AbstractAsyncContextManager[Any]] = {}
        self.mounted = False
        self._limiters: list[RateLimiter] = []
        super().__init__(prefix, tags, middleware=middleware, auth=auth, guards=guards)
        logging_entry = _logging_middleware(enable_logging, logging_config)
        if logging_entry is not None:
            self.middleware = (logging_entry, *self.middleware)
        if django_middleware:
            from django_bolt.middleware.django import DjangoMiddlewareStack

            # Outside the API's own middleware: Django's request is ready before they run.
            stack = DjangoMiddlewareStack.from_config(django_middleware)
            self.middleware = (stack, *self.middleware)
        elif django_middleware not in (None, False):
            raise TypeError(
                f"django_middleware must be True, a list or a dict, not {django_middleware!r}"
            )

    def _changed(self) -> None:
        self._table = None

    # --- registration ---------------------------------------------------------------------------
    def mount(self, prefix: str, app: BoltAPI) -> None:
        """Serve another API under ``prefix``, with its own exception handlers and hooks."""
        if app is self:
            raise ValueError("an API cannot mount itself")
        app.mounted = True
        self._mounts.append((prefix, app))
        self._changed()

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[F], F]:
        """Register ``fn(request, exc)`` to answer ``exc_type`` (and subclasses) raised here."""

        def decorator(fn: F) -> F:
            self.exception_handlers[exc_type] = fn
            self._changed()
            return fn

        return decorator

    def routes(self) -> list[RouteInfo]:
        """Every route this API serves, with full paths (mounted APIs included)."""
        return [info for info, _ in self._flatten("", {})]

    def _flatten(
        self,
        prefix: str,
        handlers: dict[type[BaseException], ExceptionHandler],
        outer: tuple[Any, ...] = (),
        in_schema: bool = True,
    ) -> Iterator[tuple[RouteInfo, dict[type[BaseException], ExceptionHandler]]]:
        merged = {**handlers, **self.exception_handlers}
        if self.include_in_schema is not None:
            in_schema = self.include_in_schema
        for info in self.iter_routes():
            info.path = normalize_path(join_paths(prefix, info.path), self.trailing_slash)
            if outer:
                info.middleware = (*outer, *info.middleware)
            # A route's own choice wins; otherwise the API that registered it decides.
            if info.validate_response is None:
                info.validate_response = self.validate_response
            if info.include_in_schema is None:
                info.include_in_schema = in_schema
            yield info, merged
        # The mounting API's middleware wraps the mounted API's.
        around = (*outer, *self.middleware)
        for mount_prefix, app in self._mounts:
            yield from app._flatten(
                join_paths(prefix, join_paths(self.prefix, mount_prefix)), merged, around, in_schema
            )

    def _all_apis(self) -> Iterator[BoltAPI]:
        yield self
        for _, app in self._mounts:
            yield from app._all_apis()

    # --- assembly -------------------------------------------------------------------------------
    def compile(self) -> RouteTable[Endpoint]:
        """Build the route table, binders and converters; errors here are configuration errors."""
        config = read_dispatch_settings(self.compression, self.debug, self.django_fallthrough)
        routes = [*self._flatten("", {}), *_docs_routes(self)]
        table, limiters = compile_routes(routes, config)
        self._limiters.extend(limiters)
        self._debug = config.debug
        self._bridge = config.bridge
        self._static = config.static
        self._cors = config.cors_default
        self._hosts = config.hosts
        self._table = table
        return table

    async def startup(self) -> None:
        """Compile, size the sync pool, then run start-up hooks (once per event loop)."""
        if self._table is None:
            self.compile()
        runtime = read_runtime_settings()
        if runtime is None:
            logger.debug("Django settings not configured; framework defaults apply")
        else:
            pool_size, allowed = runtime
            configure_sync_pool(pool_size)
            configure_allowed_paths(allowed)  # type: ignore[arg-type]
        if self._bridge is not None:
            # Django's middleware chain is loaded here, so a broken MIDDLEWARE fails at start-up.
            self._bridge.prepare()
        for api in self._all_apis():
            for hook in api.on_startup:
                await _maybe_await(hook())
            if api.lifespan is not None:
                manager = api.lifespan(api)
                await manager.__aenter__()
                api._lifespans[id(asyncio.get_running_loop())] = manager

    async def shutdown(self) -> None:
        """Run shutdown hooks and leave lifespan contexts (newest first)."""
        for limiter in self._limiters:
            # Shared-backend clients belong to this loop: closed here, once per loop.
            await limiter.aclose()
        for api in reversed(list(self._all_apis())):
            manager = api._lifespans.pop(id(asyncio.get_running_loop()), None)
            if manager is not None:
                await manager.__aexit__(None, None, None)
            for hook in api.on_shutdown:
                await _maybe_await(hook())

    def error_headers(
        self, status: int, method: str, target: bytes, raw_headers: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """Headers for an error the server answers itself (a 413 before the body is read).

        The CORS policy that would answer this request (the route's, else the global one) adds
        its headers, so a browser can read the refusal as it reads the application's errors.
        """
        table = self._table if self._table is not None else self.compile()
        cut = target.find(b"?")
        raw_path = (target if cut < 0 else target[:cut]).decode("latin-1")
        found = table.match(raw_path)
        policy = self._cors
        if found is not None:
            endpoint = found[0].methods.get(method) or self._other_method(found[0], method)
            if endpoint is not None:
                policy = endpoint.cors
        if policy is None:
            return []
        request = self.request_class(method, target, raw_headers, b"", None, "http", None, "1.1")
        response = policy(request, WireResponse(status, [], b""))
        return response.raw_headers

    # --- per request ----------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> WireResponse:
        """Answer one request; never raises (errors become responses)."""
        endpoint: Endpoint | None = None
        cors: CORSPolicy | None = None
        try:
            table = self._table
            if table is None:
                table = self.compile()
            hosts = self._hosts
            if hosts is not None:
                rejected = hosts(request)
                if rejected is not None:
                    return rejected
            target = request.target
            cut = target.find(b"?")
            if cut < 0:
                raw_path = target.decode("latin-1")
            else:
                raw_path = target[:cut].decode("latin-1")
                # Already split here: spare the request doing it again if a view needs it.
                request._query_string = target[cut + 1 :].decode("latin-1")
            found = table.match(raw_path)
            if found is None:
                return await self._miss(request, table, raw_path, target, cut)
            entry, values = found
            endpoint = entry.methods.get(request.method)
            if endpoint is None:
                endpoint = self._other_method(entry, request.method)
                if endpoint is None:
                    matches = table.match_all(raw_path)
                    other = self._other_shape(matches, request.method)
                    if other is None:
                        return self._no_method(request, _allowing(matches, entry))
                    entry, values, endpoint = other
            cors = endpoint.cors
            if cors is not None and request.method == "OPTIONS":
                # Preflights are answered before auth and the handler run.
                early = cors.preflight(request)
                if early is not None:
                    return early
            gate = endpoint.gate
            if gate is not None:
                # Auth and guards run before any parameter is bound: a refused request costs
                # no body parsing or validation.
                pending = gate(request)
                if pending is not None:
                    await pending
            if values:
                # The table captured exactly one value per name of this shape.
                only = endpoint.only_path_name
                params = (
                    {only: values[0]}
                    if only is not None
                    else dict(zip(endpoint.path_names, values))  # noqa: B905
                )
                request._path_params = params
            else:
                params = None
            policy = endpoint.policy
            if policy is not None:
                # Rate limits, auth and middleware, compiled for this route (see compile()).
                response = await policy(request, params)
            elif endpoint.simple:
                if endpoint.has_params:
                    result = endpoint.fn(**endpoint.bind(request, params))
                else:
                    result = endpoint.fn()
                if endpoint.is_async:
                    result = await result
                response = endpoint.convert(result)
                if response.__class__ is not WireResponse:
                    response = response.finish(request)  # type: ignore[attr-defined]
            else:
                response = await run_full(endpoint, request, params)
        except Exception as exc:
            handlers = endpoint.handlers if endpoint is not None else self.exception_handlers
            response = await self._error_response(request, exc, handlers)
            if endpoint is None:
                cors = self._cors
                return response if cors is None else cors(request, response)
        if request._session is not None or _DB_SHARED.dirty:
            response = await self._finish(request, response, endpoint)
        # CORS (CORSPolicy.__call__, written out) before compression: compression then merges
        # its token into the Vary the route's converter made, which is recognised here only
        # while it is the list's last item.
        allow_origin = endpoint.allow_origin
        if allow_origin is not None:
            headers = response.raw_headers
            # Every answer of the route names Origin in Vary. The converter put that field last
            # in the lists it makes (build_result_converter's vary_origin): nothing to do there.
            if not headers or headers[-1] is not VARY_ORIGIN:
                add_vary(headers, b"origin")
            origin = request.origin
            if origin is not None:
                allow_origin(origin, headers)
        compress = endpoint.compress
        if compress is not None and (
            response.stream is not None or len(response.body) >= endpoint.compress_from
        ):
            return compress(request, response)
        return response

    async def _finish(
        self, request: Request, response: WireResponse, endpoint: Endpoint
    ) -> WireResponse:
        """After a handler that used the session or the async ORM (see sessions.py, _db.py)."""
        if request._session is not None:
            from django_bolt.sessions import finish_session

            try:
                await finish_session(request, response, endpoint.is_async)
            except Exception as exc:
                response = await self._error_response(request, exc, endpoint.handlers)
        if _DB_SHARED.dirty:
            schedule_shared_settle()
        return response

    def _no_method(self, request: Request, entry: RouteMatch[Endpoint]) -> WireResponse:
        """No handler for this method: a preflight, a bare OPTIONS (204) or a 405."""
        policy = self._path_cors(request, entry)
        if policy is not None:
            early = policy.preflight(request)
            if early is not None:
                return early
        response = _allow_response(entry, request.method)
        return response if policy is None else policy(request, response)

    def _path_cors(self, request: Request, entry: RouteMatch[Endpoint]) -> CORSPolicy | None:
        # A preflight asks about one method: that route's policy answers it.
        if request.method == "OPTIONS":
            for name, value in request.raw_headers:
                if name.lower() == b"access-control-request-method":
                    asked = value.decode("latin-1").strip().upper()
                    target = entry.methods.get(asked) or self._other_method(entry, asked)
                    if target is not None:
                        return target.cors
                    break
        for other in entry.methods.values():
            if other.cors is not None:
                return other.cors
        return self._cors

    def _with_cors(self, request: Request, response: WireResponse) -> WireResponse:
        """The global policy on a response no route produced (404, 308), preflights answered."""
        cors = self._cors
        if cors is None:
            return response
        early = cors.preflight(request)
        return early if early is not None else cors(request, response)

    def _other_shape(
        self, matches: list[tuple[RouteMatch[Endpoint], tuple[str, ...]]], method: str
    ) -> tuple[RouteMatch[Endpoint], tuple[str, ...], Endpoint] | None:
        """A later route whose shape also matches and that serves ``method`` (rare: two
        templates for one path, such as ``{id:int}`` for GET and ``{id}`` for DELETE)."""
        for entry, values in matches[1:]:
            endpoint = entry.methods.get(method) or self._other_method(entry, method)
            if endpoint is not None:
                return entry, values, endpoint
        return None

    def _other_method(self, entry: RouteMatch[Endpoint], method: str) -> Endpoint | None:
        if method == "HEAD":
            # RFC 9110 section 9.3.2: HEAD is GET without the body; the server drops the body.
            return entry.methods.get("GET")
        return None

    async def _miss(
        self,
        request: Request,
        table: RouteTable[Endpoint],
        raw_path: str,
        target: bytes,
        cut: int,
    ) -> WireResponse:
        static = self._static
        if static is not None:
            # STATIC_ROOT / MEDIA_ROOT in production; a name not there goes on to Django.
            response = static.serve(request, raw_path)
            if response is not None:
                return response
        bridge = self._bridge
        if raw_path != "/":
            other = raw_path[:-1] if raw_path.endswith("/") else raw_path + "/"
            location = other + (target[cut:].decode("latin-1") if cut >= 0 else "")
            # The 308 is for API spellings only: a path Django serves as written stays Django's.
            if (
                _SAME_ORIGIN_PATH.match(location) is not None
                and table.match(other) is not None
                and (bridge is None or not bridge.resolves(request.path))
            ):
                return self._with_cors(
                    request,
                    WireResponse(
                        308,
                        [_CT_JSON, (b"location", location.encode("latin-1"))],
                        b'{"detail":"Permanent Redirect"}',
                    ),
                )
        if bridge is not None:
            response = await bridge(request)
            if response is not None:
                return response
        return self._with_cors(request, WireResponse(404, [_CT_JSON], _NOT_FOUND_BODY))

    async def _error_response(
        self,
        request: Request,
        exc: Exception,
        handlers: dict[type[BaseException], ExceptionHandler],
    ) -> WireResponse:
        try:
            if handlers:
                for cls in type(exc).__mro__:
                    handler = handlers.get(cls)
                    if handler is not None:
                        result = await _maybe_await(handler(request, exc))
                        status = exc.status_code if isinstance(exc, HTTPException) else 500
                        return build_result_converter(status, None, "exception handler")(result)
            if not is_client_error(exc):
                # Still inside dispatch's ``except``: receivers read sys.exc_info(), as in Django.
                await send_got_request_exception(request)
            self._report_server_error(exc)
            return response_for_exception(exc, self._debug)
        except Exception as second:
            self._report_server_error(second)
            return response_for_exception(second, self._debug)

    def _report_server_error(self, exc: Exception) -> None:
        # Test clients with raise_server_exceptions=True set this to re-raise server bugs.
        if self.server_error_hook is not None and not is_client_error(exc):
            self.server_error_hook(exc)


async def send_got_request_exception(request: Request) -> None:
    """Django's ``got_request_exception`` for an exception no handler answered (a 500).

    Called while the exception is being handled, so receivers that read ``sys.exc_info()``
    (error trackers such as Sentry's Django integration, Django's test client) see it. They get
    a Django ``HttpRequest`` as ``request``: the one Django middleware used when the route has
    any, else a ``WSGIRequest`` built over the same bytes whose ``user`` is the one the request
    already knows (never loaded from the database here: anonymous if not resolved yet).
    ``sender`` is None, as Django sends it. Receivers run in a worker thread with the exception
    re-raised there (as Django's ASGI handler does), so ``sys.exc_info()`` works in them; async
    receivers are run from that thread on the event loop. A failing receiver is logged and does
    not change the 500. With no receiver connected this costs one check.
    """
    from django.core.signals import got_request_exception

    if not got_request_exception.has_listeners(None):
        return
    from asgiref.sync import sync_to_async

    django_request = _as_django_request(request)
    try:
        # Not Signal.asend_robust: it gathers receivers in new Tasks, where sys.exc_info() is
        # empty. sync_to_async re-raises the exception in its thread before calling.
        results = await sync_to_async(got_request_exception.send_robust, thread_sensitive=False)(
            sender=None, request=django_request
        )
    except Exception:
        logger.exception("got_request_exception could not be sent")
        return
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error("got_request_exception receiver %r failed", receiver, exc_info=result)


def _as_django_request(request: Request) -> Any:
    state = getattr(request, "_state", None)
    existing = getattr(state, "django_request", None) if state is not None else None
    if existing is not None:
        return existing
    from django.core.handlers.wsgi import WSGIRequest

    from django_bolt.django_bridge import _environ

    django_request = WSGIRequest(_environ(request))
    # On the event loop this never queries: an unresolved session user reads as anonymous.
    django_request.user = request.user
    return django_request


def _allowing(
    matches: list[tuple[RouteMatch[Endpoint], tuple[str, ...]]], entry: RouteMatch[Endpoint]
) -> RouteMatch[Endpoint]:
    """The entry whose ``Allow`` answers for this path: every matching route's methods."""
    if len(matches) < 2:
        return entry
    return RouteMatch.merged([found for found, _ in matches])


def _allow_response(entry: RouteMatch[Endpoint], method: str) -> WireResponse:
    allow = (b"allow", entry.allow.encode("latin-1"))
    if method == "OPTIONS":
        return WireResponse(204, [allow], b"")
    return WireResponse(405, [_CT_JSON, allow], _METHOD_NOT_ALLOWED_BODY)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _logging_middleware(enabled: bool, config: Any) -> Any:
    """What ``enable_logging`` / ``logging_config`` add in front of the API's middleware.

    Django-Bolt 0.13 logs every request by default through its logging middleware; here the
    server's access log (``runbolt --access-log``) does that, so the default adds nothing. A
    ``logging_config`` asks for the request/response logging middleware with those options.
    """
    if not enabled or config is None:
        return None
    from django_bolt.middleware import LoggingMiddleware

    return LoggingMiddleware.configured(config)


def _docs_routes(api: BoltAPI) -> list[tuple[RouteInfo, dict[type[BaseException], Any]]]:
    """The OpenAPI document and UI routes, for the API that serves requests (not a mounted one)."""
    if api.mounted:
        return []
    from django_bolt.openapi.routes import docs_routes

    return [(info, api.exception_handlers) for info in docs_routes(api)]
