"""Pre-encoded pieces of HTTP/1.1 responses, built once at import.

Status lines for every code from 100 to 599 and the server's own error responses are constant
bytes, so the per-request path only looks them up.
"""

from __future__ import annotations

import enum
import http
from email.utils import formatdate
from typing import TYPE_CHECKING, Final

from django_bolt.server.native import mypyc_attr

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Awaitable, Callable, Iterable

    from django_bolt.server.contract import SpooledBody

__all__ = (
    "ERROR_DETAILS",
    "METHODS",
    "NO_BODY_STATUSES",
    "REASON_PHRASES",
    "STATUS_LINES",
    "UNSET",
    "RawRequest",
    "Unset",
    "WireResponse",
    "declared_length",
    "error_response",
    "find_header",
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

    __slots__ = ("background", "body", "raw_headers", "status_code", "stream", "wire_head")

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
        # The status line and checked fields, joined: kept by the server for an answer it
        # writes again and again (a miss answer, contract.py); None until then.
        self.wire_head: bytes | None = None


class Unset(enum.Enum):
    """The type of :data:`UNSET`: "not given", where None is a meaningful value."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET


def find_header(raw_headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """Return the value of the first field called ``name`` (given in lower case), or None."""
    size = len(name)
    for key, value in raw_headers:
        # Names of another length cannot match: most are skipped without a lower().
        if len(key) == size and key.lower() == name:
            return value
    return None


# The request the server hands to its application (re-exported by contract.py), subclassed by the
# framework's Request. Declared here, compiled, so that constructing one and reading its fields
# are C operations for the compiled server and framework code.
@mypyc_attr(allow_interpreted_subclasses=True)
class RawRequest:
    """One parsed HTTP request, as plain values; the framework adds lazy views in a subclass.

    ``target`` is the raw request-target (path and query, still percent-encoded).
    ``raw_headers`` keeps the header names and values exactly as received, in order, as bytes;
    fields whose name holds an underscore have already been dropped (they would collide with
    dashed names in Django's ``META``).
    ``client`` and ``scheme`` are already resolved through the trusted-proxy rules.
    ``origin`` is the value of the first ``Origin`` field, or None: the server notes it while
    parsing (it looks up every field name anyway), so CORS never scans the headers again; a
    request built without it finds the field in ``raw_headers``.

    A body above the server's spool threshold arrives as ``body_file`` (a :class:`SpooledBody`,
    with ``body`` passed as ``None``) instead of bytes; ``body`` still gives the bytes on demand.
    Whoever builds the request closes ``body_file`` once the response is done.
    """

    __slots__ = (
        "_body",
        "body_file",
        "client",
        "http_version",
        "method",
        "origin",
        "raw_headers",
        "scheme",
        "server",
        "target",
    )

    def __init__(
        self,
        method: str,
        target: bytes,
        raw_headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        client: tuple[str, int] | None,
        scheme: str,
        server: tuple[str, int] | None,
        http_version: str,
        body_file: SpooledBody | None = None,
        origin: bytes | Unset | None = UNSET,
    ) -> None:
        self.method = method
        self.target = target
        self.raw_headers = raw_headers
        self._body = body
        self.body_file = body_file
        self.client = client
        self.scheme = scheme
        self.server = server
        self.http_version = http_version
        self.origin = find_header(raw_headers, b"origin") if origin is UNSET else origin

    @property
    def body(self) -> bytes:
        """The whole body as bytes.

        A spooled body (``body_file``) is read into memory on first access and kept: for a
        large upload prefer ``body_file``'s chunks (or the framework's ``request.stream()``).
        """
        body = self._body
        if body is None:
            body_file = self.body_file
            body = self._body = b"" if body_file is None else body_file.read_all()
        return body
