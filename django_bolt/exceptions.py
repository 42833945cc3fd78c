"""HTTP errors, and the one place that turns any exception into a response."""

from __future__ import annotations

import logging
import re
import traceback
from typing import TYPE_CHECKING, Any, ClassVar, Final

import msgspec
from django.core.exceptions import (
    BadRequest as DjangoBadRequest,
    ImproperlyConfigured,
    PermissionDenied,
    SuspiciousOperation,
)
from django.db.utils import InterfaceError, OperationalError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError

from django_bolt._http.wire import encode_headers, json_response
from django_bolt.server.contract import REASON_PHRASES

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from django_bolt._http.wire import WireResponse

__all__ = (
    "JSON_DECODE_ERRORS",
    "AuthRefusal",
    "BadGateway",
    "BadRequest",
    "ClientException",
    "ConfigurationError",
    "Conflict",
    "ErrorList",
    "Forbidden",
    "GatewayTimeout",
    "Gone",
    "HTTPException",
    "InternalServerError",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "NotImplemented",
    "PayloadTooLarge",
    "RequestValidationError",
    "ResponseValidationError",
    "SerializerValidationError",
    "ServerException",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "ValidationException",
    "body_error",
    "body_errors",
    "response_for_exception",
    "split_validation",
)

logger: Final = logging.getLogger("django_bolt")

# What decoding a client's JSON may raise. msgspec (like the json module) guards its recursion
# with the interpreter's recursion limit, so JSON nested deeper than the stack has room for
# (about 1,000 levels, fewer the deeper the call) raises RecursionError, not a DecodeError: it
# is the same client mistake, and every place that decodes client JSON catches both.
JSON_DECODE_ERRORS: Final = (msgspec.MsgspecError, RecursionError)
_TOO_DEEP: Final = "JSON is nested too deeply"


# Django ships no type information: ImproperlyConfigured is Any to mypy.
class ConfigurationError(ImproperlyConfigured, ValueError):  # type: ignore[misc]
    """A value given to a configuration object (``CompressionConfig``, ``JWTAuthentication``)
    that cannot work, raised when the object is built, so a mistake stops start-up.

    An ``ImproperlyConfigured`` and also a ``ValueError``: Django-Bolt raises one or the other
    for these mistakes, and code that catches either keeps working.
    """


class HTTPException(Exception):
    """An error the client should see: ``{"detail": ...}`` with ``status_code`` and headers.

    ``body`` (Django-Bolt's keyword) replaces that envelope: any value msgspec encodes (a
    Struct, a dict), sent as JSON as it is; document it with ``response_model={status: Type}``.
    """

    status_code: int = 500

    def __init__(
        self,
        status_code: int | None = None,
        detail: Any = "",
        headers: Mapping[str, str] | None = None,
        extra: Any = None,
        *,
        body: Any = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        if detail in ("", None):
            detail = REASON_PHRASES.get(self.status_code, "Error")
        self.detail = detail
        if headers:
            # Checked here so a header that could split the response fails where it is raised.
            encode_headers(headers)
            self.headers = dict(headers)
        else:
            self.headers = {}
        self.extra = extra
        self.body = body
        super().__init__(detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, detail={self.detail!r})"


class AuthRefusal(HTTPException):
    """The 401 or 403 with which a route's auth and guards refuse a request.

    Django-Bolt 0.13 makes this answer in its core, with no Python exception: an error
    formatter gets ``error.exception`` None for it, while the ``HTTPException`` a handler
    raises is passed on. Exception handlers registered for ``HTTPException`` still see it.
    """


class _FixedStatus(HTTPException):
    """An HTTPException whose status comes from the class: ``NotFound("no such user")``."""

    def __init__(
        self,
        detail: Any = "",
        headers: Mapping[str, str] | None = None,
        extra: Any = None,
        *,
        body: Any = None,
    ) -> None:
        super().__init__(None, detail, headers, extra, body=body)


class ClientException(_FixedStatus):
    """Base of the 4xx exceptions below (``except ClientException`` catches them all)."""

    status_code = 400


class ServerException(_FixedStatus):
    """Base of the 5xx exceptions below."""

    status_code = 500


class BadRequest(ClientException):
    status_code = 400


class Unauthorized(ClientException):
    status_code = 401


class Forbidden(ClientException):
    status_code = 403


class NotFound(ClientException):
    status_code = 404


class MethodNotAllowed(ClientException):
    status_code = 405


class NotAcceptable(ClientException):
    status_code = 406


class Conflict(ClientException):
    status_code = 409


class Gone(ClientException):
    status_code = 410


class PayloadTooLarge(ClientException):
    status_code = 413


class UnsupportedMediaType(ClientException):
    status_code = 415


class UnprocessableEntity(ClientException):
    status_code = 422


class TooManyRequests(ClientException):
    status_code = 429


class InternalServerError(ServerException):
    status_code = 500


class BadGateway(ServerException):
    status_code = 502


class ServiceUnavailable(ServerException):
    status_code = 503


class GatewayTimeout(ServerException):
    status_code = 504


class NotImplemented(ServerException):
    # Shadows the builtin inside this module on purpose: it is Django-Bolt's name for the 501.
    status_code = 501


class ErrorList(list[Any]):
    """The error items; also callable, as Django-Bolt's ``exc.errors()`` method is."""

    def __call__(self) -> ErrorList:
        return self


class ValidationException(Exception):
    """Base of the request and response validation errors; ``errors`` lists what failed.

    ``exc.errors`` and ``exc.errors()`` (Django-Bolt's spelling) are the same list.
    """

    errors: ErrorList


class RequestValidationError(HTTPException, ValidationException):
    """The request did not fit the handler's signature: 422 with a list of error items.

    Each item is ``{"loc": [...], "msg": str, "type": str}`` and, for malformed JSON, ``ctx``.
    ``body`` optionally keeps the request body the errors refer to (it is never sent back).
    """

    status_code = 422

    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        items = ErrorList(errors)
        super().__init__(None, items)
        self.errors = items
        # The request body the errors refer to, not a response body (see HTTPException).
        self.body = body

    def __str__(self) -> str:
        """Each error as ``loc.path: message``, joined by ``"; "`` (Django-Bolt's text)."""
        return "; ".join(_error_text(item) for item in self.errors)


def _error_text(item: Any) -> str:
    """Return ``"body.email: Invalid email"`` for an error item; other values as they print."""
    if not isinstance(item, dict) or "msg" not in item:
        return str(item)
    where = ".".join(str(part) for part in item.get("loc") or ())
    return f"{where}: {item['msg']}" if where else str(item["msg"])


class SerializerValidationError(RequestValidationError, ValueError):
    """A serializer's validators rejected its values: every error found, 422 when it reaches a
    response.

    ``relative`` keeps the items with ``loc`` relative to the serializer (``["email"]``);
    ``errors`` puts them under ``"body"``. A ``ValueError`` as well, so that msgspec, parsing a
    body whose nested serializer raised it, wraps it in its ``ValidationError`` with the path to
    that serializer (:func:`body_errors` joins the two).
    """

    def __init__(self, relative: Sequence[dict[str, Any]]) -> None:
        self.relative = [dict(item) for item in relative]
        super().__init__([{**item, "loc": ["body", *item["loc"]]} for item in self.relative])


class ResponseValidationError(ValidationException):
    """The handler returned something that does not match its declared response type."""

    status_code: ClassVar[int] = 500

    def __init__(
        self, message: str | Sequence[Any], handler: str = "handler", *, body: Any = None
    ) -> None:
        # A message (and the handler's name), or Django-Bolt's list of error items.
        if isinstance(message, str):
            items = ErrorList([{"loc": ["response"], "msg": message, "type": "validation_error"}])
        else:
            items = ErrorList(message)
            message = "; ".join(str(item.get("msg", item)) for item in items if item) or (
                "invalid response"
            )
        super().__init__(f"{handler}: {message}")
        self.message = message
        self.handler = handler
        self.errors = items
        self.body = body


# --- validation error items (422) ---------------------------------------------------------

_AT: Final = re.compile(r"\A(?P<msg>.*?)(?: - at `\$(?P<path>.*)`)?\Z", re.S)
_MISSING: Final = re.compile(r"\AObject missing required field `(?P<field>.+)`\Z", re.S)
_PATH_TOKEN: Final = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def split_validation(message: str) -> tuple[str, list[str | int], str | None]:
    """msgspec message → (message, JSON path as a list, missing field name or None)."""
    match = _AT.match(message)
    msg, path = (match["msg"], match["path"] or "") if match else (message, "")
    loc: list[str | int] = [key if key else int(index) for key, index in _PATH_TOKEN.findall(path)]
    missing = _MISSING.match(msg)
    return msg, loc, missing["field"] if missing else None


def body_error(exc: msgspec.MsgspecError | RecursionError, body: bytes) -> dict[str, Any]:
    """Return the 422 item for a body that is not valid JSON or not of the declared shape."""
    if isinstance(exc, RecursionError):
        # Where the decoder gave up depends on the stack it ran on: no position is reported.
        return {"loc": ["body"], "msg": _TOO_DEEP, "type": "json_invalid"}
    if isinstance(exc, msgspec.ValidationError):
        msg, loc, missing = split_validation(str(exc))
        if missing is not None:
            return {"loc": ["body", *loc, missing], "msg": msg, "type": "missing_field"}
        return {"loc": ["body", *loc], "msg": msg, "type": "validation_error"}
    text = str(exc)
    offset_match = re.search(r"\(byte (\d+)\)", text)
    if offset_match is None:
        # No position to point at (a truncated document): the body as a whole, as 0.13 says it.
        return {"loc": ["body"], "msg": text, "type": "json_invalid", "input": _excerpt(body, 100)}
    offset = int(offset_match[1])
    line = body.count(b"\n", 0, offset) + 1
    start = body.rfind(b"\n", 0, offset) + 1
    column = offset - start + 1
    end = body.find(b"\n", offset)
    source_line = _excerpt(body[start : len(body) if end < 0 else end], 200)
    return {
        "loc": ["body", line, column],
        # 0.13's wording: the position, the decoder's message, and the line with a caret under it.
        "msg": f"Invalid JSON at line {line}, column {column}: {text}\n"
        f"  {source_line}\n  {' ' * (column - 1)}^",
        "type": "json_invalid",
        "input": _excerpt(body, 200),
        # byte_position and error are the names Django-Bolt gives the same facts.
        "ctx": {
            "line": line,
            "column": column,
            "position": offset,
            "byte_position": offset,
            "error": text,
        },
    }


def _excerpt(body: bytes, limit: int) -> str:
    """Return the start of ``body`` as text, as a 422 item's ``input`` shows it."""
    return body[:limit].decode("utf-8", errors="replace")


def body_errors(exc: msgspec.MsgspecError | RecursionError, body: bytes) -> list[dict[str, Any]]:
    """Return the 422 items for a body msgspec could not decode into the declared type.

    One item, except when a serializer's validators raised (``SerializerValidationError``):
    then each of their errors, under the path msgspec reports.
    """
    cause = exc.__cause__
    if isinstance(exc, msgspec.ValidationError) and isinstance(cause, SerializerValidationError):
        at = _AT.match(str(exc))
        path = at["path"] if at is not None and at["path"] else ""
        prefix: list[str | int] = [
            key if key else int(index) for key, index in _PATH_TOKEN.findall(path)
        ]
        return [{**item, "loc": ["body", *prefix, *item["loc"]]} for item in cause.relative]
    return [body_error(exc, body)]


def _http_exception_response(exc: HTTPException) -> WireResponse:
    payload: Any
    if exc.body is not None and not isinstance(exc, RequestValidationError):
        payload = exc.body
    else:
        payload = {"detail": exc.detail}
        if exc.extra is not None:
            payload["extra"] = exc.extra
    extra = encode_headers(exc.headers) if exc.headers else None
    return json_response(exc.status_code, payload, extra)


def is_client_error(exc: BaseException) -> bool:
    """Whether ``exc`` answers a client (a 4xx it asked for), not a server fault.

    Such an exception is not reported as a server error: no ``got_request_exception`` (Django
    sends none for ``Http404``, ``PermissionDenied`` or ``SuspiciousOperation`` either) and the
    test client does not re-raise it.
    """
    if isinstance(exc, ResponseValidationError):
        return False
    return isinstance(
        exc,
        HTTPException
        | Http404
        | PermissionDenied
        | SuspiciousOperation
        | DjangoBadRequest
        | MultiPartParserError
        | FileNotFoundError
        | ValidationException
        | msgspec.ValidationError,
    )


def _message_or(exc: BaseException, default: str) -> str:
    """Return the exception's own message when it was given one, else ``default``."""
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    return message or default


def _suspicious_response(exc: SuspiciousOperation, debug: bool) -> WireResponse:
    """Answer a ``SuspiciousOperation`` (``DisallowedHost``, ``SuspiciousFileOperation``,
    ``RequestDataTooBig``...) with a 400, and log it where Django logs it.

    Django reports each of these on the logger ``django.security.<class name>`` at error level,
    with the exception's text as the message; monitoring set up for Django sees ours there too.
    The body never repeats that text (it may name a host or a path) unless ``debug``.
    """
    security_logger = logging.getLogger(f"django.security.{type(exc).__name__}")
    security_logger.error(str(exc), exc_info=exc, extra={"status_code": 400})
    payload: dict[str, Any] = {"detail": "Bad Request"}
    if debug:
        payload["type"] = type(exc).__name__
        payload["message"] = str(exc)
    return json_response(400, payload)


def _django_exception_response(exc: BaseException, debug: bool) -> WireResponse | None:
    """Django's own exceptions, answered as a Django view would answer them, in JSON.

    ``get_object_or_404`` raises ``Http404``, ``PermissionDenied`` means 403 and a
    ``SuspiciousOperation`` 400 in any Django code a handler calls. A ``FileNotFoundError`` is a
    404 (``{"detail": "Not Found"}``, never the path). A database that cannot be reached
    (``OperationalError`` or ``InterfaceError``: connection refused, terminated, restarting) is
    the service being unavailable for now, not a bug in the handler: 503, traceback logged.
    """
    if isinstance(exc, Http404):
        return json_response(404, {"detail": _message_or(exc, "Not Found")})
    if isinstance(exc, PermissionDenied):
        return json_response(403, {"detail": _message_or(exc, "Permission denied")})
    if isinstance(exc, SuspiciousOperation):
        return _suspicious_response(exc, debug)
    if isinstance(exc, DjangoBadRequest | MultiPartParserError):
        # Django answers both 400 (a body it cannot parse, a request a view calls bad).
        return json_response(400, {"detail": "Bad Request"})
    if isinstance(exc, FileNotFoundError):
        return json_response(404, {"detail": "Not Found"})
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("Database unavailable", exc_info=exc)
        return json_response(503, {"detail": "Service Unavailable"})
    return None


def _validation_item(item: Any) -> Any:
    if isinstance(item, msgspec.ValidationError):
        return body_error(item, b"")
    if isinstance(item, dict):
        return item
    return {"loc": ["body"], "msg": str(item), "type": "validation_error"}


def _validation_response(exc: BaseException) -> WireResponse | None:
    """Answer with a 422 a validation error raised in Python outside request binding: a
    ``msgspec.ValidationError`` (``msgspec.convert`` in a handler) or a ``ValidationException``
    that is neither the request's nor the response's, as the usual ``loc``/``msg``/``type``
    items."""
    if isinstance(exc, msgspec.ValidationError):
        return json_response(422, {"detail": [body_error(exc, b"")]})
    if isinstance(exc, ValidationException) and not isinstance(
        exc, HTTPException | ResponseValidationError
    ):
        return json_response(422, {"detail": [_validation_item(item) for item in exc.errors]})
    return None


def response_for_exception(exc: BaseException, debug: bool) -> WireResponse:
    """Turn an exception no user handler took into a response; log what the client cannot see."""
    mapped = _django_exception_response(exc, debug)
    if mapped is None:
        mapped = _validation_response(exc)
    if mapped is not None:
        return mapped
    if isinstance(exc, HTTPException):
        try:
            return _http_exception_response(exc)
        except ValueError:
            # The exception carried a header that cannot be sent: that is a server bug.
            logger.exception("HTTPException with invalid headers")
            return json_response(500, {"detail": "Internal Server Error"})
    if isinstance(exc, ResponseValidationError):
        logger.error("Response validation error in %s: %s", exc.handler, exc.message)
        payload: dict[str, Any] = {"detail": "Response validation error"}
        if debug:
            payload["errors"] = exc.message
            payload["handler"] = exc.handler
        return json_response(500, payload)
    logger.error("Unhandled exception", exc_info=exc)
    if debug:
        return json_response(
            500,
            {
                "detail": "Internal Server Error",
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exception(exc),
            },
        )
    return json_response(500, {"detail": "Internal Server Error"})
