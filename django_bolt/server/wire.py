"""Pre-encoded pieces of HTTP/1.1 responses, built once at import.

Status lines for every code from 100 to 599 and the server's own error responses are constant
bytes, so the per-request path only looks them up.
"""

from __future__ import annotations

import http
from email.utils import formatdate
from typing import TYPE_CHECKING, Final

from django_bolt.server.native import mypyc_attr

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Awaitable, Callable, Iterable

__all__ = (
    "ERROR_DETAILS",
    "METHODS",
    "NO_BODY_STATUSES",
    "REASON_PHRASES",
    "STATUS_LINES",
    "WireResponse",
    "declared_length",
    "error_response",
    "format_date",
    "format_date_header",
    "status_line",
)


def _build_reason_phrases() -> dict[int, str]:
    phrases = {status.value: status.phrase for status in http.HTTPStatus}
    # Python 3.13 adopted RFC 9110's wording for these; the 3.12 wording (what Django-Bolt, which
    # runs on 3.12+, sends) is kept so answers do not change with the interpreter.
    phrases.update(
        {
            413: "Request Entity Too Large",
            414: "Request-URI Too Long",
            416: "Requested Range Not Satisfiable",
            422: "Unprocessable Entity",
        }
    )
    return phrases


REASON_PHRASES: Final[dict[int, str]] = _build_reason_phrases()


def _build_status_lines() -> dict[int, bytes]:
    return {
        code: b"HTTP/1.1 %d %s\r\n" % (code, REASON_PHRASES.get(code, "").encode("latin-1"))
        for code in range(100, 600)
    }


STATUS_LINES: Final[dict[int, bytes]] = _build_status_lines()


def status_line(code: int) -> bytes:
    """Return the status line for ``code``; codes outside 100-599 are a framework bug, answered as
    500."""
    line = STATUS_LINES.get(code)
    return line if line is not None else STATUS_LINES[500]


# Request methods as str, so the hot path never decodes the method bytes. CONNECT is left out on
# purpose: the protocol refuses it where methods outside this table are decoded.
METHODS: Final[dict[bytes, str]] = {
    m.encode(): m
    for m in (
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
        "TRACE",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "SEARCH",
        "REPORT",
        "QUERY",
    )
}

# Statuses whose responses never carry a body (1xx too), whatever the application returned.
NO_BODY_STATUSES: Final = frozenset({204, 304})


def declared_length(headers: list[tuple[bytes, bytes]]) -> int:
    """Return the content-length a streamed response declares, or -1."""
    for name, value in headers:
        if name == b"content-length":
            return int(value)
    return -1


ERROR_DETAILS: Final[dict[int, str]] = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Request body too large",
    414: "Request line too long",
    431: "Request header fields too large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    501: "Transfer coding not implemented",
    505: "HTTP version not supported",
}


def error_response(
    code: int,
    date_header: bytes,
    detail: str | None = None,
    extra: bytes = b"",
    head: bool = False,
    formatted: tuple[bytes, bytes] | None = None,
) -> bytes:
    """Return a complete ``Connection: close`` response with a JSON ``{"detail": ...}`` body.

    ``extra`` holds further header lines, each ending in CRLF (CORS headers, for one).
    ``formatted`` is the application's (content type, body) for the error instead, already
    checked (:func:`~django_bolt.server.contract.error_body`). With ``head`` (the answer to a
    HEAD request) the body is left out and its length kept, as RFC 9110 section 9.3.2 asks.
    """
    if formatted is None:
        text = detail if detail is not None else ERROR_DETAILS.get(code, "Error")
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        content_type, body = (
            b"application/json",
            b'{"detail":"%s"}' % escaped.encode("utf-8", "replace"),
        )
    else:
        content_type, body = formatted
    return b"".join(
        (
            status_line(code),
            b"content-type: %s\r\ncontent-length: %d\r\n" % (content_type, len(body)),
            date_header,
            extra,
            b"connection: close\r\n\r\n",
            b"" if head else body,
        )
    )


def format_date(timestamp: float) -> bytes:
    """Return the Date field's value, an IMF-fixdate (RFC 9110 section 5.6.7), for ``timestamp``."""
    return formatdate(timestamp, usegmt=True).encode("ascii")


def format_date_header(timestamp: float) -> bytes:
    """``date: <IMF-fixdate>\\r\\n`` for ``timestamp``."""
    return b"date: %s\r\n" % format_date(timestamp)


# The framework's response (re-exported by django_bolt._http.wire, and subclassed there by its own
# responses). Declared here so that the compiled server reads its fields as loads, where an
# object it knows only as ResponseLike costs a generic attribute lookup each (8 per answer).
@mypyc_attr(allow_interpreted_subclasses=True)
class WireResponse:
    """What ``dispatch`` hands to the server (``contract.ResponseLike``)."""

    __slots__ = ("background", "body", "raw_headers", "status_code", "stream")

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes,
        stream: AsyncIterable[bytes] | Iterable[bytes] | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.body = body
        self.stream = stream
        self.background = background
