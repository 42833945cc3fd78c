"""Response classes: what a handler may return to choose its status, headers and body.

User-facing classes keep plain Python values (``headers`` is a dict you may still change); they
are encoded to a :class:`~django_bolt._http.wire.WireResponse` once, after the handler returns.
Header names and values are validated at that point, so a bad header is a 500 from the framework
rather than a split response on the wire.
"""

from __future__ import annotations

import collections.abc
import mimetypes
import os
import types
import typing
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, Self
from urllib.parse import quote

from django_bolt._http.files import open_file_response
from django_bolt._http.sse import ServerSentEvent, encode_event
from django_bolt._http.streams import encoded_stream, event_stream
from django_bolt._http.wire import (
    WireResponse,
    encode_headers,
    encode_json,
)
from django_bolt.cookies import Cookie, SameSitePolicy, make_delete_cookie

if typing.TYPE_CHECKING:
    from datetime import datetime

__all__ = (
    "HTML",
    "JSON",
    "Cookie",
    "EventSourceResponse",
    "File",
    "FileResponse",
    "PlainText",
    "Redirect",
    "Response",
    "ResponseHeaders",
    "ServerSentEvent",
    "StreamingResponse",
    "format_sse_event",
    "make_delete_cookie",
    "stream_item_type",
)


class _NoContent:
    """The default of ``Response(content=...)``: ``{}`` for JSON, an empty body otherwise."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no content>"


_NO_CONTENT: Final = _NoContent()


class ResponseHeaders(dict[str, str]):
    """A response's header dict; a name or value that could split the response (a CR, LF or NUL,
    a name that is not a token) raises ``ValueError`` where the handler sets it, so the
    traceback points at the culprit rather than at the framework encoding the response."""

    # The pairs as bytes, made by the check itself; None after a change (rebuilt when needed).
    __slots__ = ("_encoded",)

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        if headers:
            if type(headers) is not dict:
                headers = dict(headers)  # pairs or another mapping: one value per name, as dict
            self._encoded: list[tuple[bytes, bytes]] | None = encode_headers(headers)
            super().__init__(headers)
        else:
            self._encoded = []
            super().__init__()

    def __setitem__(self, name: str, value: str) -> None:
        encode_headers({name: value})
        self._encoded = None
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._encoded = None
        super().__delitem__(name)

    def pop(self, name: str, *default: Any) -> Any:
        self._encoded = None
        return super().pop(name, *default)

    def popitem(self) -> tuple[str, str]:
        self._encoded = None
        return super().popitem()

    def clear(self) -> None:
        self._encoded = None
        super().clear()

    def setdefault(self, name: str, value: str = "") -> str:
        if name not in self:
            self[name] = value
        return self[name]

    def update(self, *others: Any, **more: str) -> None:
        for name, value in dict(*others, **more).items():
            self[name] = value

    def __ior__(self, other: Any) -> Self:  # type: ignore[misc,override]
        self.update(other)
        return self

    def encoded(self) -> list[tuple[bytes, bytes]]:
        """Return the pairs as bytes (a new list); each was checked when it was set."""
        encoded = self._encoded
        if encoded is None:
            encoded = self._encoded = [
                (str(name).lower().encode("latin-1"), str(value).encode("latin-1"))
                for name, value in self.items()
            ]
        return list(encoded)


class Response:
    """A response with explicit content, status, headers and media type.

    ``content`` may be bytes, str, or anything msgspec can encode as JSON. Left out, it is ``{}``
    when the media type is JSON (as in Django-Bolt) and an empty body otherwise.
    """

    __slots__ = ("_cookies", "background", "content", "headers", "media_type", "status_code")

    media_type_default: ClassVar[str] = "application/json"

    def __init__(
        self,
        content: Any = _NO_CONTENT,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.media_type = media_type or self.media_type_default
        if content is _NO_CONTENT:
            content = {} if self.media_type == "application/json" else b""
        self.content = content
        self.status_code = status_code
        self.headers: dict[str, str] = ResponseHeaders(headers)
        self.background = background
        self._cookies: list[str] = []

    def render(self) -> bytes:
        content = self.content
        if isinstance(content, bytes):
            return content
        if isinstance(content, str):
            return content.encode()
        return encode_json(content)

    def set_cookie(
        self,
        key: str | Cookie | None = None,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: SameSitePolicy = "lax",
        *,
        name: str | None = None,
    ) -> Self:
        """Add a ``Set-Cookie`` header; returns the response, so calls can be chained.

        The cookie is named by ``key`` (Django's spelling) or ``name`` (Django-Bolt's), or given
        whole as a :class:`~django_bolt.cookies.Cookie`. ``samesite`` is case-insensitive;
        ``None`` or ``False`` leaves it out. The value is quoted as Django quotes it; a cookie
        that cannot be sent safely (see :mod:`django_bolt.cookies`) is left out with a warning.
        """
        if not isinstance(key, Cookie):
            cookie_name = key if key is not None else name
            if cookie_name is None:
                raise TypeError("set_cookie() needs the cookie's name (key=... or name=...)")
            key = Cookie(
                cookie_name, value, max_age, expires, path, domain, secure, httponly, samesite
            )
        line = key.header_value_or_warn()
        if line is not None:
            self._cookies.append(line)
        return self

    def delete_cookie(
        self,
        key: str | None = None,
        path: str = "/",
        domain: str | None = None,
        *,
        name: str | None = None,
    ) -> Self:
        """Expire a cookie in the browser (named by ``key`` or ``name``)."""
        cookie_name = key if key is not None else name
        if cookie_name is None:
            raise TypeError("delete_cookie() needs the cookie's name (key=... or name=...)")
        return self.set_cookie(make_delete_cookie(cookie_name, path, domain))

    def _head(self) -> list[tuple[bytes, bytes]]:
        headers = self.headers
        if not headers:
            raw = []
        elif type(headers) is ResponseHeaders:
            raw = headers.encoded()
        else:  # a plain dict assigned to ``response.headers``: checked now
            raw = encode_headers(headers)
        if not any(name == b"content-type" for name, _ in raw) and self.media_type:
            raw.insert(0, (b"content-type", _content_type(self.media_type)))
        raw.extend((b"set-cookie", c.encode("latin-1")) for c in self._cookies)
        return raw

    def to_wire(self) -> WireResponse:
        """Encode for the server; called once, after the handler returned."""
        return WireResponse(self.status_code, self._head(), self.render(), None, self.background)


def _content_type(media_type: str) -> bytes:
    if media_type.startswith("text/") and "charset" not in media_type:
        media_type += "; charset=utf-8"
    return media_type.encode("latin-1")


class JSON(Response):
    """``data`` encoded as JSON by msgspec."""

    __slots__ = ()

    def __init__(
        self,
        data: Any,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(data, status_code, headers, "application/json", background)

    def render(self) -> bytes:
        return encode_json(self.content)


class PlainText(Response):
    """Text, ``text/plain; charset=utf-8`` by default."""

    __slots__ = ()
    media_type_default = "text/plain"

    def __init__(
        self,
        content: Any = _NO_CONTENT,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
        *,
        text: str | None = None,
    ) -> None:
        # ``text=`` is Django-Bolt's name for the content.
        super().__init__(
            content if text is None else text, status_code, headers, media_type, background
        )


class HTML(Response):
    """HTML, ``text/html; charset=utf-8`` by default."""

    __slots__ = ()
    media_type_default = "text/html"

    def __init__(
        self,
        content: Any = _NO_CONTENT,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
        *,
        html: str | None = None,
    ) -> None:
        # ``html=`` is Django-Bolt's name for the content.
        super().__init__(
            content if html is None else html, status_code, headers, media_type, background
        )


class Redirect(Response):
    """A redirect; 307 by default so the method and body are kept."""

    __slots__ = ()

    def __init__(
        self, url: str, status_code: int = 307, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(b"", status_code, headers, "")
        self.headers["location"] = url


class FileResponse(Response):
    """A file from disk, with ETag/Last-Modified, conditional GET (304) and Range (206).

    The path is resolved (symlinks and ``..`` included) and, when ``BOLT_ALLOWED_FILE_PATHS`` is
    set, must lie inside one of those directories (403 otherwise); a missing file is a 404.
    ``filename`` adds ``Content-Disposition: attachment``. The file may also be given as
    ``path=`` (Django-Bolt's keyword).
    """

    __slots__ = ("file_path", "filename")

    def __init__(
        self,
        file_path: str | os.PathLike[str] | None = None,
        filename: str | None = None,
        media_type: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        if file_path is None:
            if path is None:
                raise TypeError("FileResponse() needs the file's path")
            file_path = path
        if media_type is None:
            guessed, _ = mimetypes.guess_type(filename or os.fspath(file_path))
            media_type = guessed or "application/octet-stream"
        super().__init__(b"", status_code, headers, media_type, background)
        self.file_path = file_path
        self.filename = filename
        if filename is not None:
            # The quoted fallback keeps printable ASCII only (a name taken from an upload may
            # hold anything); filename* carries the full name percent-encoded (RFC 6266).
            ascii_name = filename.encode("ascii", "ignore").decode().translate(_NOT_IN_QUOTED)
            self.headers.setdefault(
                "content-disposition",
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            )

    def to_wire(self) -> WireResponse:
        wire = open_file_response(self.file_path, self.status_code, self._head())
        wire.background = self.background
        return wire


# Dropped from a quoted-string filename: controls, the quote and the backslash (RFC 9110 5.6.4).
_NOT_IN_QUOTED: Final = dict.fromkeys([*range(0x20), 0x7F, ord('"'), ord("\\")])


StreamContent = (
    AsyncIterable[bytes | str]
    | Iterable[bytes | str]
    | Callable[[], AsyncIterable[bytes | str] | Iterable[bytes | str]]
)


class StreamingResponse(Response):
    """A body produced chunk by chunk by a (sync or async) generator or iterable.

    The server pulls the next chunk only after the previous one has drained to the client, so a
    slow reader does not make it buffer without bound. ``str`` chunks are UTF-8 encoded.
    """

    __slots__ = ("ping_interval",)
    media_type_default = "application/octet-stream"  # 0.13's default

    def __init__(
        self,
        content: StreamContent,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)
        if self.media_type == "text/event-stream":
            # SSE must reach the client as produced: no caches, no proxy buffering.
            self.headers.setdefault("cache-control", "no-cache")
            self.headers.setdefault("x-accel-buffering", "no")
        # Seconds of producer silence before a ": ping" comment (text/event-stream only).
        self.ping_interval: float | None = 15.0

    def to_wire(self) -> WireResponse:
        source = self.content
        if callable(source):
            source = source()
        stream: AsyncIterable[bytes] | Iterable[bytes]
        if self.media_type == "text/event-stream":
            stream = event_stream(source, self.ping_interval, chunk_bytes)
        elif isinstance(source, AsyncIterable) or (
            isinstance(source, Iterable) and not isinstance(source, bytes | str)
        ):
            stream = encoded_stream(source, chunk_bytes)
        else:
            raise TypeError("StreamingResponse needs an iterable or async iterable of bytes/str")
        return WireResponse(self.status_code, self._head(), b"", stream, self.background)


class EventSourceResponse(StreamingResponse):
    """Server-Sent Events from a (sync or async) iterable of events.

    Each item is a :class:`ServerSentEvent` (``data``, ``event``, ``id``, ``retry``,
    ``comment``), preformatted bytes, or anything else as the ``data`` of an event: a ``str`` as
    it is, a dict, Struct or list as JSON.
    A ``: ping`` comment goes out whenever the producer is quiet for ``ping_interval`` seconds.
    """

    __slots__ = ()

    def __init__(
        self,
        content: StreamContent | AsyncIterable[Any] | Iterable[Any],
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        ping_interval: float | None = 15.0,
        background: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(content, status_code, headers, "text/event-stream", background)
        self.ping_interval = ping_interval

    def to_wire(self) -> WireResponse:
        source = self.content() if callable(self.content) else self.content
        stream = event_stream(source, self.ping_interval)
        return WireResponse(self.status_code, self._head(), b"", stream, self.background)


File = FileResponse
"""Django-Bolt's short name for :class:`FileResponse`."""


def format_sse_event(
    *,
    data_str: str | None = None,
    data_bytes: bytes | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One Server-Sent Event in wire format, for producers that yield preformatted bytes."""
    data = data_str if data_bytes is None else data_bytes.decode()
    return encode_event(
        ServerSentEvent(raw_data=data, event=event, id=id, retry=retry, comment=comment)
    )


def chunk_bytes(chunk: object) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode()
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"stream chunks must be bytes or str, not {type(chunk).__name__}")


# Return annotations that declare a stream of items rather than one value (Django-Bolt's rule).
_STREAM_ORIGINS: Final = frozenset(
    {
        collections.abc.AsyncIterable,
        collections.abc.AsyncIterator,
        collections.abc.AsyncGenerator,
        collections.abc.Iterable,
        collections.abc.Iterator,
        collections.abc.Generator,
    }
)


def stream_item_type(tp: Any) -> tuple[bool, Any]:
    """(whether ``tp`` declares a stream, the item type or None)."""
    if tp in _STREAM_ORIGINS:
        return True, None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                found, item = stream_item_type(arg)
                if found:
                    return True, item
        return False, None
    if origin in _STREAM_ORIGINS:
        args = typing.get_args(tp)
        return True, args[0] if args else None
    return False, None
