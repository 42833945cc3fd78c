"""Error responses by Django-Bolt 0.13's names: the error handlers, ``BoltError`` and formatters.

The framework turns every exception into a response in one place
(:func:`django_bolt.exceptions.response_for_exception`); the functions here are views of it
with 0.13's signatures, returning ``(status, headers, body)``.

``BoltAPI(error_formatter=fn)`` gives the API one function that writes the body of every error
response the framework makes: exceptions (validation 422s, ``HTTPException``, guards' 401 and
403, unhandled 500s), a path no route serves (404), a method a path does not serve (405), a
refused ``Host`` (400) and a rate limit (429). It is called as ``fn(error, request)`` with a
:class:`BoltError` and returns a response (``Response``, ``JSON``, ``PlainText``, ``HTML``);
:func:`problem_details` is the RFC 9457 one. A formatter that raises, or returns something
that is not an error response, is logged and the default response is sent.
"""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponseBase
from django.views.debug import get_exception_reporter_class

from django_bolt._django.convert import django_headers
from django_bolt._http.wire import WireResponse, json_response
from django_bolt.exceptions import (
    AuthRefusal,
    HTTPException,
    RequestValidationError,
    ResponseValidationError,
    response_for_exception,
    split_validation,
)
from django_bolt.responses import Response
from django_bolt.server.contract import REASON_PHRASES

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "ERROR_SCHEMA_ATTRIBUTE",
    "BoltError",
    "ProblemDetails",
    "apply_formatter",
    "debug_page",
    "error_from_exception",
    "error_from_response",
    "error_schema",
    "format_error_response",
    "generic_exception_handler",
    "handle_exception",
    "http_exception_handler",
    "is_django_response",
    "kind_for_status",
    "msgspec_validation_error_to_dict",
    "problem_details",
    "request_validation_error_handler",
    "response_validation_error_handler",
    "serialize_django_response",
    "server_error_body",
    "shows_debug_page",
)

logger: Final = logging.getLogger("django_bolt")

ErrorTuple = tuple[int, list[tuple[str, str]], bytes]

# The kinds 0.13 names; other statuses are named after their reason phrase (409: "conflict").
_KINDS: Final = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    422: "validation",
    429: "rate_limited",
}
_NOT_WORD: Final = re.compile(r"[^a-z0-9]+")
_PROBLEM_JSON: Final = "application/problem+json"
_STANDARD_MEMBERS: Final = frozenset({"type", "title", "status", "detail", "instance", "errors"})
_HTML_HEADERS: Final = [(b"content-type", b"text/html; charset=utf-8")]


@dataclass(slots=True)
class BoltError:
    """One error response about to be sent, as an error formatter sees it.

    ``kind`` is a stable name (``"not_found"``, ``"validation"``, ``"internal_error"``...);
    ``detail`` a message for a human that never holds internal data; ``errors`` the field
    errors (``loc``, ``msg``, ``type``, sometimes ``ctx``); ``headers`` those the response needs
    (``WWW-Authenticate``, ``Retry-After``), added to the formatter's response unless it sets
    them; ``extra`` an ``HTTPException``'s ``extra`` (or ``{"retry_after": n}`` for a rate
    limit); ``exception`` the exception, or None for an error 0.13 makes in its core: no
    route (404), a method the path does not serve (405), a rate limit (429), a refused
    ``Host``, a refusal of the route's auth or guards (401, 403), an error the server answers
    itself (a 413 before the body).
    """

    status: int
    kind: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    exception: BaseException | None = None


def kind_for_status(status: int) -> str:
    """Return the stable kind of an error with this status (``http_error`` when unnamed)."""
    kind = _KINDS.get(status)
    if kind is not None:
        return kind
    phrase = REASON_PHRASES.get(status)
    if phrase is None:
        return "http_error"
    return _NOT_WORD.sub("_", phrase.lower()).strip("_")


def _phrase(status: int) -> str:
    return REASON_PHRASES.get(status, "Error")


def _default_body(default: WireResponse) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(default.body) if default.stream is None else None
    except msgspec.DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _as_extra(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return dict(value) if isinstance(value, dict) else {"extra": value}


def error_from_exception(exc: BaseException, default: WireResponse) -> BoltError:
    """Describe the error ``exc`` became (``default`` is the response the framework made)."""
    status = default.status_code
    if isinstance(exc, RequestValidationError):
        return BoltError(status, "validation", "Validation error", list(exc.errors), exception=exc)
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else _phrase(status)
        return BoltError(
            status,
            kind_for_status(status),
            detail,
            headers=dict(exc.headers),
            extra=_as_extra(exc.extra),
            # A refusal of auth or guards is one of 0.13's core: no exception to show.
            exception=None if isinstance(exc, AuthRefusal) else exc,
        )
    if isinstance(exc, ResponseValidationError):
        errors = list(exc.errors)
        return BoltError(
            status, "response_validation", "Response validation error", errors, exception=exc
        )
    if status >= 500:
        # The default body may carry a traceback in DEBUG: the detail never does.
        kind = "internal_error" if status == 500 else kind_for_status(status)
        return BoltError(status, kind, _phrase(status), exception=exc)
    found: Any = _default_body(default).get("detail")
    if status == 422 and isinstance(found, list):
        # A msgspec.ValidationError or a ValidationException a handler raised itself.
        return BoltError(status, "validation", "Validation error", found, exception=exc)
    detail = found if isinstance(found, str) else _phrase(status)
    return BoltError(status, kind_for_status(status), detail, exception=exc)


def error_from_response(response: WireResponse) -> BoltError:
    """Describe an error response the framework made without an exception (404, 405, 429)."""
    body = _default_body(response)
    detail = body.pop("detail", None)
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in response.raw_headers
        if name not in (b"content-type", b"vary")
    }
    status = response.status_code
    return BoltError(
        status,
        kind_for_status(status),
        detail if isinstance(detail, str) else _phrase(status),
        headers=headers,
        extra=body,
    )


def _checked(result: Any) -> WireResponse:
    if not isinstance(result, Response):
        raise TypeError(f"returned {type(result).__name__}, not a Response")
    if not 400 <= result.status_code <= 599:
        raise ValueError(f"returned status {result.status_code}, not an error status")
    if result._cookies:
        raise ValueError("set a cookie; an error response cannot")
    for name, value in result.headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header {name!r}: names and values must be str")
    return result.to_wire()


def apply_formatter(
    formatter: Callable[[BoltError, Any], Any],
    error: BoltError,
    request: Any,
    default: WireResponse,
) -> WireResponse:
    """Return the formatter's response for ``error``, or ``default`` when it fails."""
    try:
        wire = _checked(formatter(error, request))
    except Exception:
        logger.exception(
            "error_formatter failed for a %d (%s); the default response is sent",
            error.status,
            error.kind,
        )
        return default
    have = {name for name, _ in wire.raw_headers}
    for name, value in error.headers.items():
        key = name.lower().encode("latin-1")
        if key not in have:
            wire.raw_headers.append((key, value.encode("latin-1")))
    return wire


def server_error_body(
    formatter: Callable[[BoltError, Any], Any], status: int, detail: str, request: Any
) -> tuple[bytes, bytes] | None:
    """Return (content type, body) of ``formatter``'s response to an error the server makes
    itself (a 413, a malformed request...), or None when it fails (logged by
    :func:`apply_formatter`): the server then sends its own body. ``request`` is None when the
    request line was not read. The server keeps its status and framing; the formatter's other
    headers are not sent.
    """
    default = json_response(status, {"detail": detail})
    wire = apply_formatter(
        formatter, BoltError(status, kind_for_status(status), detail), request, default
    )
    if wire is default:
        return None
    if wire.stream is not None:
        logger.error("error_formatter returned a stream for a %d; the default body is sent", status)
        return None
    content_type = next((v for n, v in wire.raw_headers if n == b"content-type"), b"text/plain")
    return content_type, bytes(wire.body)


# Where error_schema() notes a formatter's body for the OpenAPI document (read by openapi/).
ERROR_SCHEMA_ATTRIBUTE: Final = "__bolt_error_schema__"

_F = TypeVar("_F", bound="Callable[..., Any]")


def error_schema(schema: Any, media_type: str = "application/json") -> Callable[[_F], _F]:
    """Declare the body an error formatter writes, for the OpenAPI document's error responses.

    ``schema`` is any type msgspec can describe (a Struct, a TypedDict); the document's 422 (and
    the 401/403 of guarded routes) then show it under ``media_type``. A formatter without it
    gets error responses with a description and no content: the document makes no claim.
    """

    def declare(formatter: _F) -> _F:
        setattr(formatter, ERROR_SCHEMA_ATTRIBUTE, (schema, media_type))
        return formatter

    return declare


class ProblemDetails(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details as :func:`problem_details` writes them (extension members too)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, Any]] = msgspec.field(default_factory=list)


@error_schema(ProblemDetails, media_type=_PROBLEM_JSON)
def problem_details(error: BoltError, request: Any) -> Response:
    """Return ``error`` as RFC 9457 problem details (``application/problem+json``).

    Members: ``type`` (``about:blank``), ``title`` (the status's RFC 9110 name), ``status``,
    ``detail``, ``instance`` (the request's path), ``errors`` when there are field errors, and
    each key of ``error.extra`` that is not one of those (``retry_after`` for a 429).
    """
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _phrase(error.status),
        "status": error.status,
        "detail": error.detail,
        "instance": getattr(request, "path", None) or "/",
    }
    if error.errors:
        body["errors"] = error.errors
    body.update((key, value) for key, value in error.extra.items() if key not in _STANDARD_MEMBERS)
    return Response(body, error.status, media_type=_PROBLEM_JSON)


# --- 0.13's handler functions: (status, headers, body) -------------------------------------------


def _as_tuple(response: WireResponse) -> ErrorTuple:
    headers = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.raw_headers
    ]
    return response.status_code, headers, response.body


def format_error_response(
    status_code: int,
    detail: Any,
    headers: dict[str, str] | None = None,
    extra: Any = None,
) -> ErrorTuple:
    """Return ``{"detail": ..., "extra": ...}`` as ``(status, headers, body)``."""
    payload: dict[str, Any] = {"detail": detail}
    if extra is not None:
        payload["extra"] = extra
    response = json_response(status_code, payload)
    status, fields, body = _as_tuple(response)
    return status, [*fields, *(headers or {}).items()], body


def http_exception_handler(exc: HTTPException) -> ErrorTuple:
    """Return the response of an ``HTTPException`` (its detail, extra and headers)."""
    return _as_tuple(response_for_exception(exc, False))


def msgspec_validation_error_to_dict(error: msgspec.ValidationError) -> list[dict[str, Any]]:
    """Return a msgspec validation error as 422 items (``loc``, ``msg``, ``type``)."""
    msg, loc, missing = split_validation(str(error))
    if missing is not None:
        return [{"loc": ["body", *loc, missing], "msg": msg, "type": "missing_field"}]
    return [{"loc": ["body", *loc], "msg": msg, "type": "validation_error"}]


def request_validation_error_handler(exc: RequestValidationError) -> ErrorTuple:
    """Return the 422 of a request validation error (msgspec errors turned into items)."""
    items: list[Any] = []
    for item in exc.errors:
        if isinstance(item, msgspec.ValidationError):
            items.extend(msgspec_validation_error_to_dict(item))
        elif isinstance(item, dict):
            items.append(item)
        else:
            items.append({"loc": ["body"], "msg": str(item), "type": "validation_error"})
    return format_error_response(422, items)


def response_validation_error_handler(exc: ResponseValidationError) -> ErrorTuple:
    """Return the 500 of a handler's return value that failed validation (and log it)."""
    return _as_tuple(response_for_exception(exc, False))


def shows_debug_page(exc: BaseException, status: int) -> bool:
    """Whether ``exc``, answered with ``status``, gets Django's debug page when ``DEBUG`` is on.

    Only an unexpected server error does: an ``HTTPException`` (even a 500) is a planned
    answer, a response validation error has its own 500, and a mapped exception (a 400 for a
    ``SuspiciousOperation``, a 503 for a database that is down) keeps its status and body.
    """
    return status == 500 and not isinstance(exc, HTTPException | ResponseValidationError)


def debug_page(exc: BaseException, request: HttpRequest | None = None) -> WireResponse | None:
    """Return Django's technical 500 page for ``exc`` (HTML), or None when it cannot be built.

    ``request`` fills the page's request section; the reporter is the one Django would use
    (``DEFAULT_EXCEPTION_REPORTER``, or the request's ``exception_reporter_class``), with its
    filter for sensitive settings and POST values. A request the reporter cannot read is left
    out rather than losing the page; nothing here raises.
    """
    try:
        reporter_class = get_exception_reporter_class(request)
        reporter = reporter_class(request, type(exc), exc, exc.__traceback__)
        html = str(reporter.get_traceback_html())
    except Exception:
        if request is not None:
            return debug_page(exc, None)
        logger.exception("Django's debug page could not be built; the JSON 500 is sent")
        return None
    return WireResponse(500, list(_HTML_HEADERS), html.encode("utf-8"))


def generic_exception_handler(
    exc: Exception, debug: bool = False, request: Any = None
) -> ErrorTuple:
    """Return the 500 of an unexpected exception (logged): Django's debug page when ``debug``
    (with its request section when ``request`` is a Django ``HttpRequest``)."""
    if not debug:
        return _as_tuple(response_for_exception(exc, False))
    logger.error("Unhandled exception", exc_info=exc)
    return _debug_tuple(exc, request)


def _debug_tuple(exc: Exception, request: Any) -> ErrorTuple:
    page = debug_page(exc, request if isinstance(request, HttpRequest) else None)
    if page is None:
        lines = traceback.format_exception(exc)
        return format_error_response(500, f"{type(exc).__name__}: {exc}", extra=lines)
    return _as_tuple(page)


def handle_exception(exc: Exception, debug: bool | None = None, request: Any = None) -> ErrorTuple:
    """Return the response for any exception; ``debug`` defaults to ``settings.DEBUG``."""
    if debug is None:
        debug = bool(django_settings.configured and django_settings.DEBUG)
    if isinstance(exc, RequestValidationError):
        return request_validation_error_handler(exc)
    # The rest as a request would get it: SuspiciousOperation 400 (logged to django.security.*),
    # FileNotFoundError and Http404 404, PermissionDenied 403, other validation errors 422.
    response = response_for_exception(exc, debug)
    if debug and shows_debug_page(exc, response.status_code):
        return _debug_tuple(exc, request)  # response_for_exception has logged it
    return _as_tuple(response)


def is_django_response(obj: Any) -> bool:
    """Return whether ``obj`` is a Django response (a handler may return one)."""
    return isinstance(obj, HttpResponseBase)


def serialize_django_response(response: HttpResponseBase) -> ErrorTuple:
    """Return a buffered Django response as ``(status, headers, body)``."""
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in django_headers(response)
    ]
    body = b"".join(response) if response.streaming else response.content
    return response.status_code, headers, body
