"""Exceptions raised while answering a request, turned into responses.

The API's exception handlers answer first (the nearest class in the exception's MRO wins);
anything they leave is :func:`django_bolt.exceptions.response_for_exception`'s, after Django's
``got_request_exception`` signal for a server error. In ``DEBUG``, an unexpected 500 of an API
without an error formatter is Django's technical 500 page instead. Nothing here raises.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from asgiref.sync import sync_to_async
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import got_request_exception

from django_bolt._django.bridge import _environ
from django_bolt.error_handlers import (
    apply_formatter,
    debug_page,
    error_from_exception,
    shows_debug_page,
)
from django_bolt.exceptions import (
    HTTPException,
    RequestValidationError,
    is_client_error,
    response_for_exception,
)
from django_bolt.results import build_result_converter

if TYPE_CHECKING:
    from django_bolt._dispatch.compile import ExceptionHandler
    from django_bolt._http.wire import WireResponse
    from django_bolt.request import Request

__all__ = ("error_response", "maybe_await", "send_got_request_exception")

logger: Final = logging.getLogger("django_bolt")

# Called with a server error before it becomes a 500 (test clients that re-raise them set it).
ErrorHook = Callable[[BaseException], None]
# BoltAPI(error_formatter=...): (BoltError, request) -> Response.
ErrorFormatter = Callable[[Any, Any], Any]


async def error_response(
    request: Request,
    exc: Exception,
    handlers: dict[type[BaseException], ExceptionHandler],
    debug: bool,
    hook: ErrorHook | None,
    formatter: ErrorFormatter | None = None,
) -> WireResponse:
    """Turn ``exc`` into a response: a registered handler's, else the framework's error shape
    (written by the API's ``error_formatter`` when it has one)."""
    try:
        if handlers:
            for cls in type(exc).__mro__:
                handler = handlers.get(cls)
                if handler is not None:
                    result = await maybe_await(handler(request, exc))
                    status = exc.status_code if isinstance(exc, HTTPException) else 500
                    return build_result_converter(status, None, "exception handler")(result)
        if not is_client_error(exc):
            # Still inside dispatch's ``except``: receivers read sys.exc_info(), as in Django.
            await send_got_request_exception(request)
        _report(exc, hook)
        default = response_for_exception(exc, debug)
        if formatter is None:
            return _debug_page(exc, request, default) if debug else default
        if _keeps_its_body(exc):
            return default
        return apply_formatter(formatter, error_from_exception(exc, default), request, default)
    except Exception as second:
        _report(second, hook)
        default = response_for_exception(second, debug)
        return _debug_page(second, request, default) if debug and formatter is None else default


def _debug_page(exc: Exception, request: Request, default: WireResponse) -> WireResponse:
    """Return Django's debug page for an unexpected 500 in ``DEBUG``, else ``default``.

    With an error formatter there is no page: the formatter writes the body (and can read
    ``error.exception``). The page's request section shows the request as Django sees it;
    when that request cannot be built the page goes without it, and when no page can be
    built ``default`` (the JSON 500 with its traceback) is sent.
    """
    if not shows_debug_page(exc, default.status_code):
        return default
    try:
        django_request = _as_django_request(request)
    except Exception:
        django_request = None
    page = debug_page(exc, django_request)
    return default if page is None else page


def _keeps_its_body(exc: Exception) -> bool:
    """Return True for an ``HTTPException`` with a typed ``body``: the route declares that body."""
    return (
        isinstance(exc, HTTPException)
        and exc.body is not None
        and not isinstance(exc, RequestValidationError)
    )


def _report(exc: Exception, hook: ErrorHook | None) -> None:
    if hook is not None and not is_client_error(exc):
        hook(exc)


async def send_got_request_exception(request: Request) -> None:
    """Send Django's ``got_request_exception`` for an exception no handler answered (a 500).

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
    if not got_request_exception.has_listeners(None):
        return
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
    django_request = WSGIRequest(_environ(request))
    # On the event loop this never queries: an unresolved session user reads as anonymous.
    django_request.user = request.user
    return django_request


async def maybe_await(value: Any) -> Any:
    """Return ``value``, awaited first when it is awaitable (hooks and handlers may be either)."""
    if inspect.isawaitable(value):
        return await value
    return value
