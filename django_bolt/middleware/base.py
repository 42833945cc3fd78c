"""Custom middleware: classes and functions wrapped around a route's handler, chained once.

A middleware class takes ``get_response`` (the rest of the chain) in ``__init__`` and is called
with the request; it returns a response. Each route that has middleware gets its own chain, built
at start-up from the API's, the routers' and the route's own entries (outermost first); a route
with none has no chain and pays nothing.

Between two layers a response is always a :class:`ChainResponse`: the bytes-level response the
server sends, plus a ``headers`` mapping a middleware may read and change. A middleware may also
return a :class:`~django_bolt.responses.Response`, a dict or anything a handler may return; it is
converted before the next layer out sees it.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, TypeVar, runtime_checkable

from django_bolt._http.wire import WireResponse, encode_headers
from django_bolt.exceptions import HTTPException

if TYPE_CHECKING:
    from django_bolt.request import Request

__all__ = (
    "DJANGO_NAME",
    "SKIP_ALL",
    "BaseMiddleware",
    "ChainResponse",
    "ErrorHandlerMiddleware",
    "FunctionMiddleware",
    "GetResponse",
    "LoggingMiddleware",
    "Middleware",
    "MiddlewareProtocol",
    "ResponseHeaders",
    "TimingMiddleware",
    "build_chain",
    "check_entries",
    "check_entry",
    "entry_name",
    "is_skipped",
    "middleware",
    "route_middleware",
    "route_skips",
    "skip_middleware",
)

F = TypeVar("F", bound=Callable[..., Any])
GetResponse = Callable[["Request"], Awaitable["ChainResponse"]]
Layer = Callable[["Request"], Awaitable["ChainResponse"]]

_ROUTE_ATTR: Final = "_bolt_middleware"
_SKIP_ATTR: Final = "_bolt_skip_middleware"
# skip_middleware("*") skips every middleware of ours, built-in ones included; not Django's.
SKIP_ALL: Final = "*"
# skip_middleware("django") skips Django's middleware (django_middleware=, DjangoMiddleware).
DJANGO_NAME: Final = "django"


# --- the response a middleware sees -------------------------------------------------------------


class ResponseHeaders(MutableMapping[str, str]):
    """A case-insensitive ``str`` view over a response's raw header pairs; writes go through.

    Setting a name replaces every field of that name; names and values are checked as a
    handler's headers are (no CR/LF, token names), so a middleware cannot split a response.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    def __getitem__(self, key: str) -> str:
        wanted = key.lower().encode("latin-1")
        found = None
        for name, value in self._raw:
            if name == wanted:
                found = value
        if found is None:
            raise KeyError(key)
        return found.decode("latin-1")

    def __setitem__(self, key: str, value: str) -> None:
        ((name, encoded),) = encode_headers([(key, value)])
        self._raw[:] = [pair for pair in self._raw if pair[0] != name]
        self._raw.append((name, encoded))

    def __delitem__(self, key: str) -> None:
        wanted = key.lower().encode("latin-1")
        kept = [pair for pair in self._raw if pair[0] != wanted]
        if len(kept) == len(self._raw):
            raise KeyError(key)
        self._raw[:] = kept

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name.decode("latin-1") for name, _ in self._raw))

    def __len__(self) -> int:
        return len({name for name, _ in self._raw})

    def getlist(self, key: str) -> list[str]:
        """Every value of ``key`` (``set-cookie`` may repeat)."""
        wanted = key.lower().encode("latin-1")
        return [value.decode("latin-1") for name, value in self._raw if name == wanted]

    def append(self, key: str, value: str) -> None:
        """Add one more field, keeping those already there."""
        self._raw.extend(encode_headers([(key, value)]))


class ChainResponse(WireResponse):
    """The response passed between middleware layers: a :class:`WireResponse` with ``headers``."""

    __slots__ = ()

    @property
    def headers(self) -> ResponseHeaders:
        return ResponseHeaders(self.raw_headers)


def _chain_response(result: Any, request: Request, convert: Callable[[Any], Any]) -> ChainResponse:
    if result.__class__ is ChainResponse:
        return result
    if result is None:
        # Almost always a forgotten ``return``: a 500 that names it, not a silent ``null``.
        raise TypeError("a middleware returned None instead of a response")
    if not isinstance(result, WireResponse):
        result = convert(result)
    if result.__class__ is not WireResponse and not isinstance(result, ChainResponse):
        finish = getattr(result, "finish", None)
        if finish is not None:  # a file response still deciding between 200, 206 and 304
            result = finish(request)
    if isinstance(result, ChainResponse):
        return result
    return ChainResponse(
        result.status_code, result.raw_headers, result.body, result.stream, result.background
    )


# --- middleware classes -------------------------------------------------------------------------


@runtime_checkable
class MiddlewareProtocol(Protocol):
    """What a middleware class looks like: built with ``get_response``, called per request."""

    def __init__(self, get_response: GetResponse) -> None: ...

    def __call__(self, request: Request) -> Awaitable[Any]: ...


def _glob(pattern: str) -> str:
    # "**" crosses "/", "*" stays inside one path segment.
    return re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")


class BaseMiddleware:
    """Base class for middleware: override ``process_request``; ``exclude_*`` skip it.

    ``exclude_paths`` are glob patterns matched against the whole decoded path (``*`` within a
    segment, ``**`` across segments); ``exclude_methods`` are HTTP methods. An excluded request
    goes straight on to ``get_response``. ``process_request`` may be ``async def`` (await
    ``self.get_response(request)`` to run the rest) or a plain ``def`` that returns
    ``self.get_response(request)`` or a response of its own; a plain ``def`` runs on the event
    loop, so it must not block.
    """

    exclude_paths: ClassVar[Sequence[str] | None] = None
    exclude_methods: ClassVar[Sequence[str] | None] = None

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        # Compiled once per chain (per route), not per request.
        paths = self.exclude_paths
        self._excluded_path = (
            re.compile("|".join(f"(?:{_glob(p)})" for p in paths)).fullmatch if paths else None
        )
        methods = self.exclude_methods
        self._excluded_methods = frozenset(m.upper() for m in methods) if methods else None

    async def __call__(self, request: Request) -> Any:
        methods = self._excluded_methods
        if methods is not None and request.method in methods:
            return await self.get_response(request)
        excluded = self._excluded_path
        if excluded is not None and excluded(request.path) is not None:
            return await self.get_response(request)
        result = self.process_request(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    def process_request(self, request: Request) -> Any:
        """Run the rest of the chain; subclasses do their work around this call."""
        return self.get_response(request)


class Middleware(BaseMiddleware, ABC):
    """A :class:`BaseMiddleware` whose subclasses must define ``process_request``."""

    @abstractmethod
    def process_request(self, request: Request) -> Any:
        """Handle the request; ``await self.get_response(request)`` runs the rest."""


class TimingMiddleware(BaseMiddleware):
    """Adds ``X-Request-ID`` and ``X-Response-Time``; ``request.state`` gets both values."""

    async def process_request(self, request: Request) -> Any:
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        state = request.state
        state.request_id = request_id  # type: ignore[attr-defined]
        state.start_time = started  # type: ignore[attr-defined]
        response = await self.get_response(request)
        elapsed = time.perf_counter() - started
        response.headers["X-Request-ID"] = request_id
        response.headers["X-Response-Time"] = f"{elapsed:.4f}s"
        return response


class LoggingMiddleware(BaseMiddleware):
    """Logs each request and its status to the ``django_bolt.requests`` logger (INFO).

    ``logger``, ``log_level``, ``log_headers`` (add the request headers) and ``log_body`` (add
    the body's size) are Django-Bolt's options; pass them with ``functools.partial`` or a
    subclass, or through ``BoltAPI(logging_config=...)``.
    """

    exclude_paths: ClassVar[Sequence[str] | None] = (
        "/health",
        "/metrics",
        "/docs",
        "/docs/**",
        "/openapi.json",
    )
    logger: logging.Logger = logging.getLogger("django_bolt.requests")
    log_level: int = logging.INFO
    log_headers: bool = False
    log_body: bool = False

    def __init__(
        self,
        get_response: GetResponse,
        logger: logging.Logger | None = None,
        log_body: bool | None = None,
        log_headers: bool | None = None,
        log_level: int | None = None,
    ) -> None:
        super().__init__(get_response)
        # None keeps the class attribute, so subclasses that set them still work.
        if logger is not None:
            self.logger = logger
        if log_body is not None:
            self.log_body = log_body
        if log_headers is not None:
            self.log_headers = log_headers
        if log_level is not None:
            self.log_level = log_level

    @classmethod
    def configured(cls, config: Any) -> type[LoggingMiddleware]:
        """Return a subclass set up from a Django-Bolt ``LoggingConfig``-like object.

        Read: ``logger_name``, ``log_level`` (a name or a number), ``skip_paths``,
        ``log_request_body``; attributes it lacks keep their defaults.
        """
        name = getattr(config, "logger_name", None)
        level = getattr(config, "log_level", cls.log_level)
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
            if not isinstance(level, int):
                raise ValueError(f"unknown log level {config.log_level!r}")
        skip = getattr(config, "skip_paths", None)
        attributes: dict[str, Any] = {
            "log_level": level,
            "log_body": bool(getattr(config, "log_request_body", False)),
        }
        if name:
            attributes["logger"] = logging.getLogger(name)
        if skip is not None:
            attributes["exclude_paths"] = tuple(skip)
        return type("ConfiguredLoggingMiddleware", (cls,), attributes)

    async def process_request(self, request: Request) -> Any:
        logger = self.logger
        level = self.log_level
        if logger.isEnabledFor(level):
            if self.log_headers or self.log_body:
                details: dict[str, Any] = {}
                if self.log_headers:
                    details["headers"] = dict(request.headers)
                if self.log_body:
                    details["body_size"] = len(request.body)
                logger.log(level, "Request: %s %s %s", request.method, request.path, details)
            else:
                logger.log(level, "Request: %s %s", request.method, request.path)
        started = time.perf_counter()
        response = await self.get_response(request)
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "Response: %s for %s %s (%.4fs)",
                response.status_code,
                request.method,
                request.path,
                time.perf_counter() - started,
            )
        return response


class ErrorHandlerMiddleware(BaseMiddleware):
    """Turns an unexpected exception below it into a logged ``HTTPException(500)``.

    ``HTTPException`` passes through unchanged. With ``debug=True`` (an argument, as in
    Django-Bolt, or a class attribute on a subclass) the 500's detail is the traceback.
    """

    debug: bool = False
    logger: ClassVar[logging.Logger] = logging.getLogger("django_bolt.errors")

    def __init__(self, get_response: GetResponse, debug: bool | None = None) -> None:
        super().__init__(get_response)
        if debug is not None:
            self.debug = debug

    async def process_request(self, request: Request) -> Any:
        try:
            return await self.get_response(request)
        except HTTPException:
            raise
        except Exception as exc:
            self.logger.exception("Unhandled exception in %s %s", request.method, request.path)
            detail = "".join(traceback.format_exception(exc)) if self.debug else None
            raise HTTPException(500, detail or "Internal Server Error") from None


# --- function middleware and the route decorators -----------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionMiddleware:
    """``fn(request, call_next)`` as a route middleware (``@middleware`` on a function)."""

    func: Callable[..., Any]

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", repr(self.func))

    def __call__(self, handler: F) -> F:
        """Attach this middleware to ``handler`` (used as a route decorator)."""
        _attach(handler, [self])
        return handler


def _attach(handler: Any, entries: list[Any]) -> None:
    if not callable(handler):
        raise TypeError(f"@middleware decorates a route handler, not {handler!r}")
    current = list(getattr(handler, _ROUTE_ATTR, ()))
    # Decorators apply bottom-up; prepending keeps the written order outermost-first.
    setattr(handler, _ROUTE_ATTR, (*entries, *current))


def middleware(*entries: Any, **config: Any) -> Any:
    """Attach middleware to a route, or turn a function into a route middleware.

    ``@middleware(A, B)`` above a handler runs ``A`` around ``B`` around the handler; entries are
    middleware classes, ``DjangoMiddleware`` wrappers, functions ``fn(request, call_next)`` or
    dict configs (``{"type": "rate_limit", ...}``); keyword arguments are one more dict config,
    after the others (``@middleware(type="cors", origins=[...])``, Django-Bolt's spelling).
    ``@middleware`` directly on a function ``fn(request, call_next)`` makes it a decorator for
    routes.
    """
    if len(entries) == 1 and not config and _is_function(entries[0]):
        return FunctionMiddleware(entries[0])
    if config:
        entries = (*entries, config)
    checked = [check_entry(e, "route", allow_functions=True) for e in entries]

    def decorator(handler: F) -> F:
        _attach(handler, checked)
        return handler

    return decorator


def skip_middleware(*names: Any) -> Callable[[F], F]:
    """Leave middleware out of this route's pipeline, by class, by name, or ``"*"``.

    Built-in names: ``"cors"``, ``"compression"``, ``"rate_limit"`` and ``"django"`` (every
    Django middleware entry). A middleware of ours is also named by its dotted path. ``"*"``
    leaves out every middleware but Django's: a Django middleware is left out by the name of its
    class (``"CsrfViewMiddleware"``), its class, or ``"django"``.
    """

    def decorator(handler: F) -> F:
        current = frozenset(getattr(handler, _SKIP_ATTR, ()))
        setattr(handler, _SKIP_ATTR, current | frozenset(names))
        return handler

    return decorator


def route_middleware(handler: object) -> tuple[Any, ...]:
    """Return the entries ``@middleware`` / ``@rate_limit`` put on ``handler``, outermost first."""
    found = getattr(handler, _ROUTE_ATTR, ())
    return tuple(found) if isinstance(found, tuple | list) else ()


def route_skips(handler: object) -> frozenset[Any]:
    """Return what ``@skip_middleware`` asked this handler to leave out."""
    found: Any = getattr(handler, _SKIP_ATTR, frozenset())
    return found if isinstance(found, frozenset) else frozenset()


def _is_function(value: object) -> bool:
    return inspect.isfunction(value) or inspect.ismethod(value)


def check_entry(entry: Any, where: str, *, allow_functions: bool = False) -> Any:
    """Validate one ``middleware=[...]`` entry at declaration time; return what to store."""
    if isinstance(entry, dict):
        kind = entry.get("type")
        if kind is None:
            raise ValueError(f"{where} middleware dict {entry!r} has no 'type'")
        if kind not in ("cors", "rate_limit"):
            raise ValueError(
                f"{where} middleware type must be 'cors' or 'rate_limit', not {kind!r}"
            )
        return dict(entry)
    if isinstance(entry, FunctionMiddleware) or _is_function(entry):
        if not allow_functions:
            raise TypeError(
                f"{where} middleware cannot be a function: use @middleware on the route"
            )
        return entry if isinstance(entry, FunctionMiddleware) else FunctionMiddleware(entry)
    if hasattr(entry, "build_layer"):  # DjangoMiddleware / DjangoMiddlewareStack
        return entry
    if isinstance(entry, type):
        if "__call__" not in {n for c in entry.__mro__ if c is not object for n in vars(c)}:
            raise TypeError(f"{entry.__name__} has no __call__: it cannot be a middleware")
        return entry
    if isinstance(entry, BaseMiddleware) or callable(entry):
        raise TypeError(
            f"{where} middleware got an instance ({type(entry).__name__}): pass the class, "
            "e.g. middleware=[MyMiddleware]"
        )
    raise TypeError(f"unsupported {where} middleware entry {entry!r}")


def check_entries(entries: Sequence[Any] | None, where: str) -> tuple[Any, ...]:
    """Validate a ``middleware=[...]`` list (API or router: no function middleware)."""
    if not entries:
        return ()
    if isinstance(entries, str | bytes | dict) or not isinstance(entries, Sequence):
        raise TypeError(f"{where} middleware must be a list, not {entries!r}")
    return tuple(check_entry(e, where) for e in entries)


def entry_name(entry: Any) -> str:
    """Return the name ``@skip_middleware`` matches an entry by."""
    if isinstance(entry, dict):
        return str(entry["type"])
    name = getattr(entry, "skip_name", None)
    if isinstance(name, str):
        return name
    if isinstance(entry, FunctionMiddleware):
        return entry.__name__
    return getattr(entry, "__name__", type(entry).__name__)


def _dotted_path(value: object) -> str:
    return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"


def is_skipped(entry: Any, skips: frozenset[Any]) -> bool:
    """Whether ``@skip_middleware(...)`` names ``entry`` as a whole.

    A middleware of ours is named by its class or function, its name, its dotted path or
    ``"*"``. A Django middleware entry is not reached by ``"*"`` (that would take the CSRF check
    off a route, as Django-Bolt 0.13 refuses to): ``"django"`` names all of them, a class name
    or class one ``DjangoMiddleware``; a stack drops single classes itself (``skipping``).
    """
    if not skips:
        return False
    if hasattr(entry, "build_layer"):
        if DJANGO_NAME in skips:
            return True  # every Django middleware entry, whether a stack or a single class
        named_by = getattr(entry, "named_by", None)
        return bool(named_by(skips)) if named_by is not None else False
    if SKIP_ALL in skips or entry_name(entry) in skips:
        return True
    if isinstance(entry, FunctionMiddleware):
        return entry.func in skips or _dotted_path(entry.func) in skips
    if isinstance(entry, type):
        return entry in skips or _dotted_path(entry) in skips
    return False


# --- the chain ----------------------------------------------------------------------------------


def _function_layer(fn: Callable[..., Any], call_next: Layer) -> Layer:
    async def layer(request: Request) -> Any:
        result = fn(request, call_next)
        if inspect.isawaitable(result):
            result = await result
        return result

    return layer


def build_chain(
    entries: Sequence[Any],
    innermost: Callable[[Request], Awaitable[Any]],
    convert: Callable[[Any], Any],
    handler: object = None,
) -> Layer:
    """Compose ``entries`` (outermost first) around ``innermost``; called once per route.

    Every layer's result is normalised to a :class:`ChainResponse` before the layer outside it
    (or ``dispatch``) sees it, so ``response.headers[...] = ...`` works at every level.
    """

    def normalised(layer: Callable[[Request], Any]) -> Layer:
        async def get_response(request: Request) -> ChainResponse:
            result = layer(request)
            if inspect.isawaitable(result):
                result = await result
            return _chain_response(result, request, convert)

        return get_response

    chain: Layer = normalised(innermost)
    for entry in reversed(entries):
        if isinstance(entry, FunctionMiddleware):
            chain = normalised(_function_layer(entry.func, chain))
        elif hasattr(entry, "build_layer"):
            chain = normalised(entry.build_layer(chain, handler))
        else:
            chain = normalised(entry(chain))
    return chain
