"""Django's own middleware (``settings.MIDDLEWARE`` or chosen classes) around API routes.

``BoltAPI(django_middleware=True)`` or a ``DjangoMiddleware(...)`` / ``DjangoMiddlewareStack``
entry puts Django middleware in a route's chain. Each stack is built once per route, the way
Django's ASGI handler builds its chain: middleware that can run async get async
``get_response``; sync-only ones are adapted with asgiref, exactly as under ``daphne`` or
``uvicorn``. Their ``process_view``, ``process_exception`` and ``process_template_response``
hooks are collected then, once. Per request the stack

1. builds a Django ``HttpRequest`` from our request (the same WSGI environ the Django fallthrough
   bridge builds), or takes the one of a Django middleware entry outside it: one request has
   one Django request, whatever the number of entries,
2. runs the middleware's request phase, then their ``process_view`` hooks (CSRF lives there,
   so ``@csrf_exempt`` on the handler is honoured); any of them may answer instead,
3. hands the user and session Django set to our request (``request.user``, ``request.session``,
   ``request.state.django_request`` for everything else,
   such as messages) and runs the rest of our chain and the handler,
4. passes our response through the middleware's response phase (session and CSRF cookies,
   ``Vary``, security headers) and back to the server.

An exception from the handler (or from our middleware inside the stack) goes to the
``process_exception`` hooks, innermost first, as Django's handler does; the first response one
returns is the answer and goes through the response phase. If none answers, the exception goes on
unchanged to the API's error handling (``exception_handler``s, then ``{"detail": ...}``).
``HTTPException`` (422 validation errors included) skips the hooks: it is how a handler answers
with an error, not a failure. Django's own exceptions (``Http404``, ``PermissionDenied``) reach
them, as under Django.

``process_template_response`` hooks and ``render()`` apply, as in Django, to a deferred response
(``TemplateResponse``) that a ``process_view`` or ``process_exception`` hook returned. A handler's
own response never is one: handlers return our responses, encoded when the handler returns (a
Django ``HttpResponse`` is not a value a handler may return).

An exception raised by a middleware or a hook is answered where it is raised, as Django does
(``convert_exception_to_response``): the middleware outside it see a response. A
``process_exception`` hook that re-raises the exception it was given hands it back unchanged.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from django_bolt._django.bridge import _environ
from django_bolt._django.convert import django_headers
from django_bolt._django.db import on_django_thread
from django_bolt._http.wire import WireResponse
from django_bolt.conf import framework_config
from django_bolt.exceptions import HTTPException

if TYPE_CHECKING:
    from types import CodeType

    from django.http import HttpRequest, HttpResponseBase

    from django_bolt.request import Request

__all__ = ("DjangoMiddleware", "DjangoMiddlewareStack", "route_callee")

Layer = Callable[["Request"], Awaitable[Any]]
# The attribute of the Django request that points back at ours.
_BOLT_REQUEST: Final = "_bolt_request"
# Where the Django request keeps an exception our part of the chain raised.
_BOLT_ERROR: Final = "_bolt_error"


def _import(path: str) -> type:
    try:
        found: type = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"cannot import Django middleware {path!r}: {exc}") from exc
    return found


class DjangoMiddleware:
    """One Django middleware class (or its dotted path) as a ``middleware=[...]`` entry.

    ``options`` are passed to the class after ``get_response``. Several in a row share one
    Django request, but run their hooks entry by entry; one :class:`DjangoMiddlewareStack` runs
    them in Django's order.
    """

    def __init__(self, middleware_class: type | str, **options: Any) -> None:
        if not isinstance(middleware_class, type | str):
            raise TypeError(
                f"DjangoMiddleware takes a class or a dotted path, not {middleware_class!r}"
            )
        self.middleware_class = middleware_class
        self.options = options

    @property
    def skip_name(self) -> str:
        cls = self.middleware_class
        return cls.rsplit(".", 1)[-1] if isinstance(cls, str) else cls.__name__

    def named_by(self, skips: frozenset[Any]) -> bool:
        """Whether ``@skip_middleware`` names this middleware: by its class or the class's name.

        As in Django-Bolt 0.13, neither ``"*"`` nor the dotted path does.
        """
        if self.skip_name in skips:
            return True
        if not any(isinstance(name, type) for name in skips):
            return False
        return self.resolve()[0] in skips

    def resolve(self) -> tuple[type, dict[str, Any]]:
        cls = self.middleware_class
        return (_import(cls) if isinstance(cls, str) else cls), self.options

    def build_layer(self, next_layer: Layer, handler: object = None) -> Layer:
        return DjangoMiddlewareStack([self]).build_layer(next_layer, handler)

    def __repr__(self) -> str:
        return f"DjangoMiddleware({self.skip_name})"


class DjangoMiddlewareStack:
    """Several Django middleware, first outermost, sharing one Django request per call.

    Entries are classes, dotted paths or :class:`DjangoMiddleware` (for options). ``@skip_middleware
    ("django")`` leaves the whole stack out of a route.
    """

    skip_name: Final = "django"

    def __init__(
        self,
        middleware: Iterable[type | str | DjangoMiddleware] = (),
        *,
        middleware_classes: Iterable[type | str | DjangoMiddleware] | None = None,
    ) -> None:
        # ``middleware_classes=`` is Django-Bolt 0.13's name for the same list.
        if middleware_classes is not None:
            middleware = middleware_classes
        self._entries = [
            m if isinstance(m, DjangoMiddleware) else DjangoMiddleware(m) for m in middleware
        ]
        self._config: Any = None
        # What @skip_middleware named on the route this copy serves (see ``skipping``).
        self._skipped: frozenset[Any] = frozenset()

    @property
    def middleware_classes(self) -> list[type]:
        """Return the Django middleware classes of the stack, outermost first (0.13's name).

        For ``BoltAPI(django_middleware=...)`` they are read from ``settings.MIDDLEWARE``.
        """
        return [middleware_class for middleware_class, _ in self._resolved()]

    @classmethod
    def from_config(cls, config: bool | list[str] | dict[str, list[str]]) -> DjangoMiddlewareStack:
        """``BoltAPI(django_middleware=...)``: read against ``settings.MIDDLEWARE`` at compile()."""
        if not isinstance(config, bool | list | tuple | dict):
            raise TypeError(f"django_middleware must be True, a list or a dict, not {config!r}")
        if isinstance(config, dict) and (set(config) - {"include", "exclude"} or len(config) != 1):
            raise TypeError("django_middleware dict takes exactly one of 'include' or 'exclude'")
        stack = cls()
        stack._config = config
        return stack

    def skipping(self, skips: frozenset[Any]) -> DjangoMiddlewareStack | None:
        """Return this stack without the classes ``skips`` names (by class or class name), for
        one route; None when none is left. ``"*"`` names none of them."""
        if not skips - {"*"}:
            return self
        narrowed = copy.copy(self)
        narrowed._skipped = self._skipped | skips
        if not narrowed._resolved() and self._resolved():
            return None  # each class named: no Django request to build
        return narrowed

    def _resolved(self) -> list[tuple[type, dict[str, Any]]]:
        skipped = self._skipped
        if not skipped:
            return self._all_resolved()
        return [
            (cls, options)
            for cls, options in self._all_resolved()
            if cls.__name__ not in skipped and cls not in skipped
        ]

    def _all_resolved(self) -> list[tuple[type, dict[str, Any]]]:
        config = self._config
        if config is None:
            return [entry.resolve() for entry in self._entries]
        configured = list(framework_config().middleware)
        if config is True:
            paths = configured
        elif isinstance(config, list | tuple):
            paths = list(config)
        else:
            ((mode, names),) = config.items()
            unknown = [n for n in names if n not in configured]
            if unknown:
                raise ImproperlyConfigured(
                    f"django_middleware {mode}: {unknown} not in settings.MIDDLEWARE"
                )
            paths = [p for p in configured if (p in names) == (mode == "include")]
        return [(_import(p), {}) for p in paths]

    def build_layer(self, next_layer: Layer, handler: object = None) -> Layer:
        """Return this stack around ``next_layer`` for one route (``handler`` for
        ``process_view``)."""
        view_phase = _ViewPhase(next_layer, handler)
        # Django wraps its innermost step too: an exception a hook raises becomes a response that
        # every middleware's response phase sees.
        chain: Callable[..., Any] = _converting(view_phase, True)
        chain_is_async = True
        for cls, options in reversed(self._resolved()):
            # Django's rule (BaseHandler.load_middleware): async when the class can be.
            is_async = bool(getattr(cls, "async_capable", False))
            adapted = _adapt(is_async, chain, chain_is_async)
            try:
                instance = cls(adapted, **options)
            except MiddlewareNotUsed:
                continue
            view_phase.collect(instance)
            chain = _converting(instance, is_async)
            chain_is_async = is_async
        outermost = _adapt(True, chain, chain_is_async)

        async def layer(request: Request) -> WireResponse:
            django_request = _shared_django_request(request)
            if asyncio.current_task() is None:
                # On Python 3.11 the server runs a request's first step outside any Task;
                # asgiref (and middleware using asyncio.timeout) expect one.
                response = await asyncio.ensure_future(outermost(django_request))
            else:
                response = await outermost(django_request)
            session = getattr(django_request, "session", None)
            if session is not None and request.loaded_session is session:
                # SessionMiddleware has saved it and set its cookie: the API must not again.
                request.session = None
            return await _to_wire(response)

        return on_django_thread(layer)


def _shared_django_request(request: Request) -> HttpRequest:
    """Return the Django request of ``request``: that of a Django middleware entry outside this
    one, if any, so that what its middleware set (``request.session``) is seen here, as one
    Django chain would; else a new one."""
    outer = getattr(request.state, "django_request", None)
    if outer is not None and getattr(outer, _BOLT_REQUEST, None) is request:
        return outer
    django_request = WSGIRequest(_environ(request))
    setattr(django_request, _BOLT_REQUEST, request)
    return django_request


class _ViewPhase:
    """What Django's handler does inside all the middleware (``BaseHandler._get_response``), with
    the rest of our chain as the view.

    The hooks are collected once, when the stack is built, in the order Django calls them:
    ``process_view`` outermost first, ``process_exception`` and ``process_template_response``
    innermost first. Each is awaited: a plain ``def`` hook runs in asgiref's thread (it may use
    the ORM), an ``async def`` one on the event loop.
    """

    __slots__ = ("exception_hooks", "handler", "next_layer", "template_hooks", "view_hooks")

    def __init__(self, next_layer: Layer, handler: object) -> None:
        self.next_layer = next_layer
        self.handler = handler
        self.view_hooks: list[Callable[..., Awaitable[Any]]] = []
        self.exception_hooks: list[Callable[..., Awaitable[Any]]] = []
        self.template_hooks: list[tuple[str, Callable[..., Awaitable[Any]]]] = []

    def collect(self, instance: object) -> None:
        """Take the hooks of ``instance``, the middleware just outside those already collected."""
        hook = getattr(instance, "process_view", None)
        if hook is not None:
            self.view_hooks.insert(0, _adapt(True, hook, iscoroutinefunction(hook)))
        hook = getattr(instance, "process_exception", None)
        if hook is not None:
            self.exception_hooks.append(_adapt(True, hook, iscoroutinefunction(hook)))
        hook = getattr(instance, "process_template_response", None)
        if hook is not None:
            adapted = _adapt(True, hook, iscoroutinefunction(hook))
            self.template_hooks.append((type(instance).__name__, adapted))

    async def __call__(self, django_request: HttpRequest) -> HttpResponseBase:
        request: Request = getattr(django_request, _BOLT_REQUEST)
        await _expose(django_request, request)
        for view_hook in self.view_hooks:
            early = await view_hook(django_request, self.handler, (), {})
            if early is not None:
                return await self._rendered(django_request, early)
        try:
            response = await self.next_layer(request)
        except Exception as exc:
            # The API's to answer unless a process_exception hook does; marked so that the
            # layers outside let it through unchanged (a hook re-raising it included).
            setattr(django_request, _BOLT_ERROR, exc)
            if not self.exception_hooks or isinstance(exc, HTTPException):
                # HTTPException (422 included) is how a handler answers with an error, as a
                # returned response is: not a failure for the hooks. Django's own exceptions
                # (Http404, PermissionDenied, ...) do reach them, as under Django.
                raise
            answer = await self._by_exception_hooks(django_request, exc)
            if answer is None:
                raise
            return await self._rendered(django_request, answer)
        return _as_django(response)

    async def _by_exception_hooks(
        self, django_request: HttpRequest, exc: Exception
    ) -> HttpResponseBase | None:
        for hook in self.exception_hooks:
            answer: HttpResponseBase | None = await hook(django_request, exc)
            if answer is not None:
                return answer  # the first answer wins
        return None

    async def _rendered(
        self, django_request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Return a hook's response; a deferred one (``TemplateResponse``) is finished as Django
        does.

        Our handlers' responses are never deferred: they are encoded when the handler returns.
        """
        if not callable(getattr(response, "render", None)):
            return response
        for name, hook in self.template_hooks:
            response = await hook(django_request, response)
            if response is None:
                raise ValueError(
                    f"{name}.process_template_response didn't return an HttpResponse object. "
                    "It returned None instead."
                )
        render = response.render
        try:
            if iscoroutinefunction(render):
                rendered: HttpResponseBase = await render()
            else:
                rendered = await sync_to_async(render, thread_sensitive=True)()
        except Exception as exc:
            answer = await self._by_exception_hooks(django_request, exc)
            if answer is None:
                raise
            return answer
        return rendered


def route_callee(view: Callable[..., Any]) -> Callable[..., Any]:
    """Return the function a route calls for the handler ``view``: Django's ``@csrf_exempt``
    wrapper off.

    That wrapper hands the request on positionally, which only suits a handler whose first
    parameter is the request. The route binds and calls the function inside instead, whatever
    its signature; ``process_view`` still gets ``view``, whose ``csrf_exempt`` flag
    ``CsrfViewMiddleware`` reads. Recognised by its code object, so that any other wrapper
    (which may do work of its own) is called as it is.
    """
    callee = view
    while getattr(callee, "csrf_exempt", False) is True:
        inner = getattr(callee, "__wrapped__", None)
        if inner is None or getattr(callee, "__code__", None) not in _csrf_exempt_codes():
            break
        callee = inner
    return callee


@functools.cache
def _csrf_exempt_codes() -> frozenset[CodeType]:
    """Return the code of the wrappers ``csrf_exempt`` makes (one for ``def``, one for ``async
    def``)."""

    def plain(request: HttpRequest) -> None: ...

    async def coroutine(request: HttpRequest) -> None: ...

    return frozenset(csrf_exempt(f).__code__ for f in (plain, coroutine))


def _adapt(is_async: bool, method: Callable[..., Any], method_is_async: bool) -> Callable[..., Any]:
    if is_async and not method_is_async:
        return sync_to_async(method, thread_sensitive=True)
    if not is_async and method_is_async:
        return async_to_sync(method)
    return method


async def _expose(django_request: HttpRequest, request: Request) -> None:
    """Make what Django middleware set visible to our handler."""
    request.state.django_request = django_request  # type: ignore[attr-defined]
    if request.context is None and hasattr(django_request, "user"):
        # Resolved here, where the database may be used: an async handler reading a lazy user
        # would hit the ORM on the event loop.
        auser = getattr(django_request, "auser", None)
        if auser is not None:
            request.user = await auser()
        else:
            request.user = await sync_to_async(_resolve_user)(django_request)
    if hasattr(django_request, "session"):
        # ``request.session`` is then the one SessionMiddleware saves.
        request.session = django_request.session
    storage = getattr(django_request, "_messages", None)
    if storage is not None:
        # django.contrib.messages reads ``request._messages``: the storage MessageMiddleware
        # saves in its response phase, shared so messages added on our request are kept.
        request.set_messages(storage)


def _resolve_user(django_request: HttpRequest) -> Any:
    user = django_request.user
    user.is_authenticated  # noqa: B018 - evaluating the lazy object is the point
    return user


def _as_django(response: Any) -> HttpResponseBase:
    """Our response as a Django one the middleware's response phase can read and change."""
    if not isinstance(response, WireResponse):
        raise TypeError(f"expected a response from the chain, got {response!r}")
    django_response: HttpResponseBase
    if response.stream is not None:
        # Django takes sync and async iterators alike; middleware that rewrite bodies
        # (GZipMiddleware) wrap the stream, which is then what the server sends.
        django_response = StreamingHttpResponse(response.stream, status=response.status_code)
    else:
        django_response = HttpResponse(response.body, status=response.status_code)
    del django_response["Content-Type"]
    cookies: list[bytes] = []
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            cookies.append(value)  # Django's header dict keeps one value per name
            continue
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        django_response[key] = f"{django_response[key]}, {text}" if key in django_response else text
    django_response._bolt_wire = response
    django_response._bolt_cookies = cookies
    return django_response


async def _to_wire(response: HttpResponseBase) -> WireResponse:
    """Return the response after Django's middleware (ours, changed, or one a middleware made)."""
    headers = django_headers(response)
    headers.extend((b"set-cookie", c) for c in getattr(response, "_bolt_cookies", ()))
    ours: WireResponse | None = getattr(response, "_bolt_wire", None)
    if ours is not None and ours.stream is not None and response.streaming:
        stream = response.streaming_content  # ours, perhaps wrapped by a middleware
        return WireResponse(response.status_code, headers, b"", stream, ours.background)
    # Sent buffered below: its length is the server's to compute.
    headers = [pair for pair in headers if pair[0] != b"content-length"]
    body = await sync_to_async(_read_stream)(response) if response.streaming else response.content
    # close() sends request_finished (database connections are tidied): on Django's thread.
    await sync_to_async(response.close, thread_sensitive=True)()
    background = ours.background if ours is not None else None
    return WireResponse(response.status_code, headers, body, None, background)


def _read_stream(response: HttpResponseBase) -> bytes:
    return b"".join(response)


def _converting(middleware: Callable[..., Any], is_async: bool) -> Callable[..., Any]:
    """``middleware`` with Django's own exceptions answered where they are raised.

    Django wraps every middleware this way (``convert_exception_to_response``), so the ones
    outside see a 403 for ``PermissionDenied``, a 404 for ``Http404``, a 400 for
    ``SuspiciousOperation``. An exception from our handler is marked and goes through unchanged.
    """
    if is_async:

        async def converting_async(django_request: HttpRequest) -> HttpResponseBase:
            try:
                response: HttpResponseBase = await middleware(django_request)
            except Exception as exc:
                if getattr(django_request, _BOLT_ERROR, None) is exc:
                    raise
                return await sync_to_async(_django_answer, thread_sensitive=True)(
                    django_request, exc
                )
            return response

        return converting_async

    def converting(django_request: HttpRequest) -> HttpResponseBase:
        try:
            response: HttpResponseBase = middleware(django_request)
        except Exception as exc:
            if getattr(django_request, _BOLT_ERROR, None) is exc:
                raise
            return _django_answer(django_request, exc)
        return response

    return converting


def _django_answer(django_request: HttpRequest, exc: Exception) -> HttpResponseBase:
    answer: HttpResponseBase = response_for_exception(django_request, exc)
    return answer
