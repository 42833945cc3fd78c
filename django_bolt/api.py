"""BoltAPI: the API users declare routes on, mount, hook into, and serve with ``runbolt``.

Route declaration is :class:`~django_bolt.router.Router`'s (router.py); the request path is
private: ``compile()`` turns the declared routes into endpoints (``_dispatch.compile``) with the
settings read once (``_dispatch.settings``), and ``dispatch`` answers each request through one
sequence (``_dispatch.dispatcher``, a base class of BoltAPI).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, ClassVar, Final, TypeVar

from django_bolt._conf.environ import max_param_length, sync_pool_size
from django_bolt._dispatch.compile import Endpoint, ExceptionHandler, compile_routes
from django_bolt._dispatch.dispatcher import Dispatcher
from django_bolt._dispatch.errors import (
    maybe_await,
    send_got_request_exception as send_got_request_exception,  # defined here before _dispatch
)
from django_bolt._dispatch.lane import Lane
from django_bolt._dispatch.settings import FROM_SETTINGS, read_dispatch_settings
from django_bolt._dispatch.table import RouteTable, TrailingSlash, normalize_path
from django_bolt._django.db import configure_orm_threads
from django_bolt._http.files import configure_allowed_paths
from django_bolt._http.limits import configure as configure_param_length
from django_bolt._http.wire import WireResponse
from django_bolt.concurrency import configure_sync_pool
from django_bolt.conf import framework_config
from django_bolt.error_handlers import server_error_body
from django_bolt.logging import LoggingConfig, LoggingMiddleware as BoltLoggingMiddleware
from django_bolt.middleware import LoggingMiddleware
from django_bolt.middleware.django import DjangoMiddlewareStack
from django_bolt.mounts import AsgiMount, MountTable, check_prefixes, django_mount
from django_bolt.openapi.config import OpenAPIConfig
from django_bolt.openapi.routes import docs_routes
from django_bolt.request import Request, new_request
from django_bolt.router import (  # noqa: F401 - re-exported: declared here before router.py
    ANNOTATED,
    RouteInfo,
    RouteOptions,
    Router,
    declared_model,
    join_paths,
)
from django_bolt.websocket.routes import WebSocketEndpoint, compile_websocket_routes

if typing.TYPE_CHECKING:
    import contextlib

    from django_bolt._django.bridge import DjangoBridge
    from django_bolt._django.static import StaticFiles
    from django_bolt.middleware.cors import CORSPolicy
    from django_bolt.middleware.hosts import HostValidator
    from django_bolt.middleware.rate_limit import RateLimiter

__all__ = ("BoltAPI", "RouteInfo", "RouteOptions", "Router")

logger: Final = logging.getLogger("django_bolt")

F = TypeVar("F", bound=Callable[..., Any])
# Kept for imports from here; the compiled form is django_bolt._dispatch.compile.Call.
Policy = Callable[[Request, Any], Awaitable[WireResponse]]

# ``openapi_config=`` not given: the defaults, unless a mounted API chose a config.
_DEFAULT_DOCS: Final[Any] = object()


class BoltAPI(Router, Dispatcher):
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
        if inspect.iscoroutinefunction(error_formatter):
            raise TypeError("error_formatter must be a sync callable, not an async function")
        # Writes the body of every error response (see django_bolt.error_handlers).
        self.error_formatter = error_formatter
        self._formatter: Callable[[Any, Any], Any] | None = None
        self.on_startup = list(on_startup or [])
        self.on_shutdown = list(on_shutdown or [])
        self.lifespan = lifespan
        self.debug = debug
        self.django_fallthrough = django_fallthrough
        self.compression = compression
        # Whether the caller chose (an API without a config of its own follows a mounted one's).
        self.openapi_config_given = openapi_config is not _DEFAULT_DOCS
        if openapi_config is _DEFAULT_DOCS or openapi_config is True:
            openapi_config = OpenAPIConfig()
        self.openapi_config: OpenAPIConfig | None = openapi_config or None
        self._bridge: DjangoBridge | None = None
        self._static: StaticFiles | None = None
        self.exception_handlers: dict[type[BaseException], ExceptionHandler] = {}
        # (prefix, API, whether its routes take this API's trailing_slash): mount() says yes,
        # the merge of discovered APIs (discovery.py) no, as in Django-Bolt 0.13.
        self._mounts: list[tuple[str, BoltAPI, bool]] = []
        # mount_asgi() / mount_django(); compiled into _mount_table with the mounted APIs'.
        self._asgi_mounts: list[AsgiMount] = []
        self._mount_table: MountTable | None = None
        self._table: RouteTable[Endpoint] | None = None
        self.dispatch_nowait = Lane(self)
        # The server's optional request_factory (contract.py), unless a subclass names its own
        # request class.
        if self.request_class is Request:
            self.request_factory = new_request
        # What the server may answer by itself: (Host, path) -> the 404 (Dispatcher._miss_now).
        self.miss_answers: dict[tuple[bytes, bytes], WireResponse] = {}
        self._ws_table: RouteTable[WebSocketEndpoint] | None = None
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
            # Outside the API's own middleware: Django's request is ready before they run.
            stack = DjangoMiddlewareStack.from_config(django_middleware)
            self.middleware = (stack, *self.middleware)
        elif django_middleware not in (None, False):
            raise TypeError(
                f"django_middleware must be True, a list or a dict, not {django_middleware!r}"
            )

    def _changed(self) -> None:
        self._table = self.dispatch_nowait.table = None
        self.miss_answers.clear()  # a route added now may serve a path that was a miss

    # --- registration ---------------------------------------------------------------------------
    def mount(self, prefix: str, app: BoltAPI) -> None:
        """Serve another API under ``prefix``, with its own exception handlers and hooks."""
        if app is self:
            raise ValueError("an API cannot mount itself")
        formatter = app.error_formatter
        if formatter is not None and self.error_formatter not in (None, formatter):
            raise ValueError(
                "the mounted API's error_formatter differs from this API's: one API tree has "
                "one error formatter"
            )
        if formatter is not None:
            self.error_formatter = formatter
        app.mounted = True
        self._mounts.append((prefix, app, True))
        self._changed()

    def mount_asgi(self, path: str, app: Any) -> None:
        """Serve the ASGI 3 application ``app`` under the static prefix ``path`` (see mounts.py).

        Routes win: only a request no route matches (and that is no 405 or trailing-slash 308
        of one) goes to the mount with the longest matching prefix.
        """
        self._add_asgi_mount(AsgiMount(path, app))

    def mount_django(self, path: str, app: Any = None, *, clear_root_path: bool = False) -> None:
        """Serve Django's ASGI handler (or ``app``) under ``path``.

        ``clear_root_path=True`` hands Django the full path with an empty ``root_path``, for
        URL patterns that already start with the prefix (``admin/`` mounted at ``/admin``).
        """
        self._add_asgi_mount(django_mount(path, app, clear_root_path))

    def _add_asgi_mount(self, mount: AsgiMount) -> None:
        check_prefixes([*self._asgi_mounts, mount], ())
        self._asgi_mounts.append(mount)
        self._changed()

    def error_body(
        self,
        status: int,
        detail: str,
        method: str | None,
        target: bytes | None,
        raw_headers: list[tuple[bytes, bytes]],
    ) -> tuple[bytes, bytes] | None:
        """Return the body ``error_formatter`` writes for an error the server answers itself
        (the server's ``error_body`` hook), or None without a formatter."""
        formatter = self._formatter
        if formatter is None:
            return None
        request = None
        if method is not None and target is not None:
            request = self.request_class(
                method, target, raw_headers, b"", None, "http", None, "1.1"
            )
        return server_error_body(formatter, status, detail, request)

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[F], F]:
        """Register ``fn(request, exc)`` to answer ``exc_type`` (and subclasses) raised here."""

        def decorator(fn: F) -> F:
            self.exception_handlers[exc_type] = fn
            self._changed()
            return fn

        return decorator

    def routes(self) -> list[RouteInfo]:
        """List every route this API serves, with full paths (mounted APIs included)."""
        return [info for info, _ in self._flatten("", {})]

    def _flatten(
        self,
        prefix: str,
        handlers: dict[type[BaseException], ExceptionHandler],
        outer: tuple[Any, ...] = (),
        in_schema: bool = True,
        namespace: str | None = None,
        slash: TrailingSlash | None = None,
    ) -> Iterator[tuple[RouteInfo, dict[type[BaseException], ExceptionHandler]]]:
        merged = {**handlers, **self.exception_handlers}
        # A mounted API's routes take the mounting API's mode (``slash``), as 0.13's do.
        mode = slash or self.trailing_slash
        # A mounted API without a namespace of its own reverses under the mounting API's.
        namespace = self.namespace or namespace
        if self.include_in_schema is not None:
            in_schema = self.include_in_schema
        for info in self.iter_routes():
            info.path = normalize_path(join_paths(prefix, info.path), mode)
            if outer:
                info.middleware = (*outer, *info.middleware)
            # A route's own choice wins; otherwise the API that registered it decides.
            if info.validate_response is None:
                info.validate_response = self.validate_response
            if info.include_in_schema is None:
                info.include_in_schema = in_schema
            info.namespace = namespace
            yield info, merged
        # The mounting API's middleware wraps the mounted API's.
        around = (*outer, *self.middleware)
        for mount_prefix, app, inherits in self._mounts:
            yield from app._flatten(
                join_paths(prefix, join_paths(self.prefix, mount_prefix)),
                merged,
                around,
                in_schema,
                namespace,
                mode if inherits else None,
            )

    def _all_apis(self) -> Iterator[BoltAPI]:
        yield self
        for _, app, _ in self._mounts:
            yield from app._all_apis()

    # --- assembly -------------------------------------------------------------------------------
    def compile(self) -> RouteTable[Endpoint]:
        """Build the route table, binders and converters; errors here are configuration errors."""
        config = dataclasses.replace(
            read_dispatch_settings(self.compression, self.debug, self.django_fallthrough),
            error_formatter=self.error_formatter,
        )
        self._formatter = self.error_formatter
        self.miss_answers.clear()
        routes = [*self._flatten("", {}), *_docs_routes(self)]
        sockets = [route for route in routes if route[0].websocket is not None]
        self._ws_table = compile_websocket_routes(sockets, config)
        routes = [route for route in routes if route[0].websocket is None]
        table, limiters = compile_routes(routes, config)
        self._limiters.extend(limiters)
        self._debug = config.debug
        self._bridge = config.bridge
        self._static = config.static
        self._cors = config.cors_default
        self._hosts = config.hosts
        self._mount_table = self._compile_mounts(table)
        self._table = table
        lane = self.dispatch_nowait
        lane.table, lane.hosts = table, config.hosts
        return table

    def _compile_mounts(self, table: RouteTable[Endpoint]) -> MountTable | None:
        """Return the ASGI mounts of this API and of the APIs it mounts, checked."""
        mounts = list(self._asgi_mounts_under(""))
        check_prefixes(mounts, table.static)
        return MountTable(mounts) if mounts else None

    def _asgi_mounts_under(self, outer: str) -> Iterator[AsgiMount]:
        # The serving API's mount paths are absolute; a mounted API's lie under its prefix.
        for mount in self._asgi_mounts:
            yield mount.under(outer) if outer else mount
        for prefix, app, _ in self._mounts:
            yield from app._asgi_mounts_under(join_paths(outer, join_paths(self.prefix, prefix)))

    async def startup(self) -> None:
        """Compile, size the sync pool, then run start-up hooks (once per event loop)."""
        if self._table is None:
            self.compile()
        config = framework_config()
        configure_sync_pool(sync_pool_size(config.bolt_sync_pool_size))
        configure_orm_threads()
        configure_param_length(max_param_length())
        configure_allowed_paths(config.bolt_allowed_file_paths)
        if self._bridge is not None:
            # Django's middleware chain is loaded here, so a broken MIDDLEWARE fails at start-up.
            self._bridge.prepare()
        if self._mount_table is not None:
            await self._mount_table.startup()
        for api in self._all_apis():
            for hook in api.on_startup:
                await maybe_await(hook())
            if api.lifespan is not None:
                manager = api.lifespan(api)
                await manager.__aenter__()
                api._lifespans[id(asyncio.get_running_loop())] = manager

    async def shutdown(self) -> None:
        """Run shutdown hooks and leave lifespan contexts (newest first)."""
        for limiter in self._limiters:
            # Shared-backend clients belong to this loop: closed here, once per loop.
            await limiter.aclose()
        if self._mount_table is not None:
            await self._mount_table.shutdown()
        for api in reversed(list(self._all_apis())):
            manager = api._lifespans.pop(id(asyncio.get_running_loop()), None)
            if manager is not None:
                await manager.__aexit__(None, None, None)
            for hook in api.on_shutdown:
                await maybe_await(hook())


def _logging_middleware(enabled: bool, config: Any) -> Any:
    """Return what ``enable_logging`` / ``logging_config`` add in front of the API's middleware.

    Django-Bolt 0.13 logs every request by default through its logging middleware; here the
    server's access log (``runbolt --access-log``) does that, so the default adds nothing. A
    ``logging_config`` asks for the request/response logging middleware with those options:
    ``django_bolt.logging``'s for a ``LoggingConfig``, the plain one for another object.
    """
    if not enabled or config is None:
        return None
    if isinstance(config, LoggingConfig):
        return BoltLoggingMiddleware(config)
    return LoggingMiddleware.configured(config)


def _docs_routes(api: BoltAPI) -> list[tuple[RouteInfo, dict[type[BaseException], Any]]]:
    """Return the OpenAPI document and UI routes, for the API that serves requests (not a mounted
    one)."""
    if api.mounted:
        return []
    return [(info, api.exception_handlers) for info in docs_routes(api)]
