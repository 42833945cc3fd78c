"""Route declaration: ``Router``, the route decorators and what each route declares.

Nothing here runs per request: a :class:`RouteInfo` records a declaration, and ``BoltAPI``
compiles the routes it serves (see ``django_bolt._dispatch.compile``) once, at start-up.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Final, TypedDict, TypeVar, Unpack

from django_bolt._binding.plan import check_bodiless
from django_bolt.middleware.base import check_entries
from django_bolt.pagination import paginated_endpoint, pagination_of
from django_bolt.responses import Response
from django_bolt.views import RouteSpec, view_routes, viewset_routes
from django_bolt.websocket.routes import WEBSOCKET, WebSocketOptions

__all__ = (
    "ANNOTATED",
    "RouteInfo",
    "RouteOptions",
    "Router",
    "declared_model",
    "join_paths",
)

F = TypeVar("F", bound=Callable[..., Any])


class _Annotated:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANNOTATED"


# ``response_model=`` not given: the return annotation declares the type (``None`` declares none).
ANNOTATED: Final[Any] = _Annotated()


class RouteOptions(TypedDict, total=False):
    """Options every route decorator takes (``get``, ``post``, ... all forward to ``route``).

    ``validate_response`` (``None``: the API's default) turns the check of return values against
    ``response_model`` or the return annotation off for ``False``. ``response_class`` documents the
    body's media type in OpenAPI and, for :class:`~django_bolt.responses.EventSourceResponse`,
    makes a returned generator a stream of Server-Sent Events. ``response_model`` may be a dict
    ``{status: type}`` (several documented responses; bodies are sent unvalidated, a handler
    picks the status by returning ``(status, body)``) or ``None`` (no declared type at all).
    """

    status_code: int | None
    response_model: Any
    tags: list[str] | None
    summary: str | None
    description: str | None
    name: str | None
    include_in_schema: bool | None
    guards: list[Any] | None
    auth: list[Any] | None
    inline: bool | None
    validate_response: bool | None
    response_class: type | None


class RouteInfo:
    """What was declared for one handler; kept for OpenAPI, guards and auth (later issues)."""

    __slots__ = (
        "auth",
        "description",
        "endpoint",
        "guards",
        "include_in_schema",
        "inline",
        "methods",
        "middleware",
        "name",
        "name_explicit",
        "namespace",
        "path",
        "response_class",
        "response_model",
        "status_code",
        "summary",
        "tags",
        "validate_response",
        "websocket",
    )

    def __init__(
        self,
        path: str,
        methods: tuple[str, ...],
        endpoint: Callable[..., Any],
        *,
        status_code: int | None = None,
        response_model: Any = ANNOTATED,
        tags: list[str] | None = None,
        summary: str | None = None,
        description: str | None = None,
        name: str | None = None,
        include_in_schema: bool | None = None,
        guards: list[Any] | None = None,
        auth: list[Any] | None = None,
        inline: bool | None = None,
        validate_response: bool | None = None,
        response_class: type | None = None,
        websocket: WebSocketOptions | None = None,
    ) -> None:
        if response_class is not None and not (
            isinstance(response_class, type) and issubclass(response_class, Response)
        ):
            raise TypeError(f"response_class must be a Response subclass, not {response_class!r}")
        self.path = path
        self.methods = methods
        self.endpoint = endpoint
        if status_code is None:
            status_code = _default_status(response_model)
        self.status_code = status_code
        self.response_model = response_model
        # None until an API resolves them (its own default), see BoltAPI._flatten().
        self.validate_response = validate_response
        self.response_class = response_class
        self.tags = list(tags or [])
        self.summary = summary
        self.description = description if description is not None else inspect.getdoc(endpoint)
        self.name = name or getattr(endpoint, "__name__", None)
        # Reversing (django_bolt.urls): an explicit name wins over a derived one; the
        # namespace is the registering API's, set when an API lists its routes.
        self.name_explicit = name is not None
        self.namespace: str | None = None
        self.include_in_schema = include_in_schema
        self.guards = list(guards) if guards is not None else None
        self.auth = list(auth) if auth is not None else None
        self.inline = inline
        # A WebSocket route's own options (methods is then ("WEBSOCKET",)); None for HTTP.
        self.websocket = websocket
        # Middleware entries of the routers and APIs around this route, outermost first (the
        # route's own @middleware entries stay on the handler).
        self.middleware: tuple[Any, ...] = ()

    def prefixed(
        self,
        prefix: str,
        tags: list[str],
        guards: list[Any] | None,
        auth: list[Any] | None,
        middleware: tuple[Any, ...] = (),
    ) -> RouteInfo:
        """Return a copy as an including router sees it: prefix added, its defaults applied."""
        copy = RouteInfo.__new__(RouteInfo)
        for slot in RouteInfo.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.path = join_paths(prefix, self.path)
        copy.tags = [*tags, *(t for t in self.tags if t not in tags)]
        # A route's own guards/auth win over the router's.
        copy.guards = self.guards if self.guards is not None else guards
        copy.auth = self.auth if self.auth is not None else auth
        if middleware:
            copy.middleware = (*middleware, *self.middleware)
        return copy

    @property
    def label(self) -> str:
        """Return the handler's dotted name, as logs and configuration errors show it."""
        fn = self.endpoint
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"

    def __repr__(self) -> str:
        return f"<RouteInfo {'|'.join(self.methods)} {self.path} -> {self.label}>"


def join_paths(prefix: str, path: str) -> str:
    """Join ``prefix`` and ``path`` with exactly one ``/`` (either may be empty)."""
    if not prefix:
        return path
    if not path:
        return prefix
    return prefix.rstrip("/") + "/" + path.lstrip("/")


def _default_status(response_model: Any) -> int:
    """200, or with ``response_model={status: type}`` its first success status (Django-Bolt)."""
    if isinstance(response_model, dict):
        codes = sorted(code for code in response_model if isinstance(code, int))
        if not codes:
            raise ValueError(
                "response_model as a dict needs at least one int status key, e.g. {200: Item}"
            )
        return next((code for code in codes if 200 <= code < 300), codes[0])
    return 200


def declared_model(info: RouteInfo) -> Any:
    """Return the type a route declares: ``response_model``, else the return annotation."""
    if info.response_model is ANNOTATED:
        return _return_model(info.endpoint)
    return info.response_model


def _return_model(fn: Callable[..., Any]) -> Any:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return None
    return hints.get("return")


class Router:
    """A group of routes with a shared prefix, tags, auth, guards and middleware.

    ``middleware`` entries (classes, ``DjangoMiddleware`` wrappers, ``{"type": "cors" |
    "rate_limit", ...}`` dicts) wrap every route of this router and of the routers it includes,
    outside the routes' own ``@middleware``.
    """

    # True for BoltAPI: an API is served (``mount()``), never included as a router.
    _serves_requests: ClassVar[bool] = False

    def __init__(
        self,
        prefix: str = "",
        tags: list[str] | None = None,
        dependencies: list[Any] | None = None,
        middleware: Sequence[Any] | None = None,
        auth: list[Any] | None = None,
        guards: list[Any] | None = None,
        parent: Router | None = None,
    ) -> None:
        self.prefix = prefix
        self.tags = list(tags or [])
        # Kept as given: Django-Bolt 0.13 stores router dependencies but never runs them either.
        # A dependency for every route is a Depends() parameter (or a middleware) here.
        self.dependencies = list(dependencies or [])
        self.auth = auth
        self.guards = guards
        self.middleware: tuple[Any, ...] = check_entries(middleware, type(self).__name__)
        self._routes: list[RouteInfo] = []
        self._routers: list[tuple[str, Router]] = []
        self._parent: Router | None = None
        self._changed()
        if parent is not None:
            parent.include_router(self)

    def _changed(self) -> None:
        """Forget the compiled table when routes change (a hook for BoltAPI)."""

    def route(
        self, path: str, methods: Sequence[str] = ("GET",), **options: Unpack[RouteOptions]
    ) -> Callable[[F], F]:
        """Register the decorated function for ``methods`` on ``path``."""
        upper = tuple(dict.fromkeys(m.upper() for m in methods))
        if not upper:
            raise ValueError("a route needs at least one method")

        def decorator(fn: F) -> F:
            if not callable(fn):
                raise TypeError(f"{fn!r} is not callable")
            check_bodiless(fn, path, upper)
            info = RouteInfo(path, upper, fn, **options)
            pagination = pagination_of(fn)
            if pagination is not None:
                # @paginate: the route serves pages of what the handler returns.
                info.endpoint, info.response_model = paginated_endpoint(
                    fn, pagination, declared_model(info)
                )
            self._routes.append(info)
            self._changed()
            return fn

        return decorator

    def get(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for GET on ``path``."""
        return self.route(path, ("GET",), **options)

    def post(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for POST on ``path``."""
        return self.route(path, ("POST",), **options)

    def put(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for PUT on ``path``."""
        return self.route(path, ("PUT",), **options)

    def patch(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for PATCH on ``path``."""
        return self.route(path, ("PATCH",), **options)

    def delete(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for DELETE on ``path``."""
        return self.route(path, ("DELETE",), **options)

    def head(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for HEAD on ``path``."""
        return self.route(path, ("HEAD",), **options)

    def options(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for OPTIONS on ``path``."""
        return self.route(path, ("OPTIONS",), **options)

    def query(self, path: str, **options: Unpack[RouteOptions]) -> Callable[[F], F]:
        """Register the decorated function for QUERY on ``path`` (a safe, idempotent request
        with a body; IETF httpbis draft)."""
        return self.route(path, ("QUERY",), **options)

    def view(self, path: str, **options: Any) -> Callable[[type[Any]], type[Any]]:
        """Register the decorated ``APIView`` class: one route per HTTP method it implements.

        Options: ``name``, ``methods``, ``guards``, ``auth``, ``status_code``,
        ``validate_response``, ``tags``, ``include_in_schema`` (see ``django_bolt.views``).
        """

        def decorator(cls: type[Any]) -> type[Any]:
            self._declare(view_routes(cls, path, **options))
            return cls

        return decorator

    def viewset(self, path: str, **options: Any) -> Callable[[type[Any]], type[Any]]:
        """Register the decorated ``ViewSet`` class: its standard actions and ``@action``s.

        Options: ``name``, ``guards``, ``auth``, ``status_code``, ``validate_response``,
        ``lookup_field``, ``tags``, ``include_in_schema`` (see ``django_bolt.views``).
        """

        def decorator(cls: type[Any]) -> type[Any]:
            self._declare(viewset_routes(cls, path, **options))
            return cls

        return decorator

    def _declare(self, specs: list[RouteSpec]) -> None:
        for spec in specs:
            self.route(spec.path, spec.methods, **spec.options)(spec.handler)
            # A name made from the class name is derived, as a function's own name is.
            self._routes[-1].name_explicit = spec.name_explicit

    def websocket(
        self,
        path: str,
        *,
        name: str | None = None,
        guards: list[Any] | None = None,
        auth: list[Any] | None = None,
        tags: list[str] | None = None,
        summary: str | None = None,
        description: str | None = None,
        include_in_schema: bool | None = None,
        allowed_origins: Sequence[str] | None = None,
        max_message_size: int | None = None,
        compression: bool = True,
    ) -> Callable[[F], F]:
        """Register the decorated ``async def handler(websocket: WebSocket, ...)`` for ``path``.

        ``allowed_origins`` replaces the CORS allowed origins in the handshake's Origin check
        (the same origin is always allowed; ``"*"`` allows any); ``max_message_size`` replaces
        ``BOLT_WEBSOCKET_MAX_MESSAGE_SIZE``; ``compression=False`` never negotiates
        permessage-deflate. See docs/websockets.md.
        """
        options = WebSocketOptions(
            tuple(allowed_origins) if allowed_origins is not None else None,
            max_message_size,
            compression,
        )

        def decorator(fn: F) -> F:
            if not callable(fn):
                raise TypeError(f"{fn!r} is not callable")
            info = RouteInfo(
                path,
                (WEBSOCKET,),
                fn,
                tags=tags if tags is not None else ["WebSocket"],
                summary=summary,
                description=description,
                name=name,
                include_in_schema=include_in_schema,
                guards=guards,
                auth=auth,
                websocket=options,
            )
            self._routes.append(info)
            self._changed()
            return fn

        return decorator

    def include_router(self, router: Router, prefix: str = "") -> None:
        """Serve ``router``'s routes under this one (plus ``prefix``)."""
        if router is self:
            raise ValueError("a router cannot include itself")
        if router._serves_requests:
            raise TypeError("include_router() takes a Router; serve a BoltAPI with mount()")
        router._parent = self
        self._routers.append((prefix, router))
        self._changed()

    def get_all_routes(self) -> list[tuple[str, str, Callable[..., Any], dict[str, Any]]]:
        """List ``(method, path, handler, options)`` for every route (Django-Bolt's listing)."""
        routes: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = []
        for info in self.iter_routes():
            options: dict[str, Any] = {
                "name": info.name,
                "tags": info.tags,
                "auth": info.auth,
                "guards": info.guards,
                "status_code": info.status_code,
                "summary": info.summary,
                "description": info.description,
                "include_in_schema": info.include_in_schema,
                "validate_response": info.validate_response,
                "response_class": info.response_class,
            }
            if info.response_model is not ANNOTATED:
                options["response_model"] = info.response_model
            routes.extend((method, info.path, info.endpoint, options) for method in info.methods)
        return routes

    def get_middleware_chain(self) -> list[Any]:
        """Return the middleware around this router's routes, including routers' first."""
        outer = self._parent.get_middleware_chain() if self._parent is not None else []
        return [*outer, *self.middleware]

    def iter_routes(self) -> Iterator[RouteInfo]:
        """Yield every route of this router and the routers it includes, as seen from here."""
        for info in self._routes:
            yield info.prefixed(self.prefix, self.tags, self.guards, self.auth, self.middleware)
        for prefix, router in self._routers:
            for info in router.iter_routes():
                yield info.prefixed(
                    join_paths(self.prefix, prefix),
                    self.tags,
                    self.guards,
                    self.auth,
                    self.middleware,
                )
