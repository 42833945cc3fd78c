"""Django's response objects as ours: the one conversion, for every place one reaches the wire.

A Django ``HttpResponse`` arrives from three places: Django's handler answering a request no
route matched (bridge.py), Django's middleware around a route (middleware/django.py), and a
handler that returns one (``HttpResponseRedirect``, ``@login_required``'s redirect, a
``FileResponse``; responses.py). Each sends it as it is: its status, its headers (every cookie
of ``response.cookies`` as a ``Set-Cookie`` line of its own) and its body, buffered or streamed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from django_bolt._http.streams import ClosingStream
from django_bolt._http.wire import WireResponse
from django_bolt.concurrency import run_in_pool

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Iterator

    from django.http import HttpResponseBase

__all__ = (
    "SERVER_OWNED",
    "django_headers",
    "release_resources",
    "stream_django",
    "wire_from_django",
)

# Hop-by-hop and framing fields are the server's business: it adds its own content-length or
# transfer-encoding, and a second one from Django would make the message ambiguous (RFC 9112
# section 6.3). A stream keeps the length Django declared (FileResponse knows its file's size):
# the server then sends it unchunked and checks the stream keeps that promise.
SERVER_OWNED: Final = frozenset({"connection", "content-length", "keep-alive", "transfer-encoding"})
_SERVER_OWNED_STREAMED: Final = SERVER_OWNED - {"content-length"}
# FileResponse reads 4 KiB at a time; each read is a trip to the pool, so read more per trip.
_FILE_BLOCK_SIZE: Final = 64 * 1024
_DONE: Final = object()


def django_headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """Return the response's header fields and cookies as our pairs (lower-case names)."""
    owned = _SERVER_OWNED_STREAMED if response.streaming else SERVER_OWNED
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.items()
        if name.lower() not in owned
    ]
    # strip(): SimpleCookie's output() starts with the space after its (empty) header name.
    headers.extend(
        (b"set-cookie", morsel.output(header="").strip().encode("latin-1"))
        for morsel in response.cookies.values()
    )
    return headers


def release_resources(response: HttpResponseBase) -> None:
    """Close what the response holds (its file, say), as ``close()`` does, minus the signal.

    ``HttpResponse.close()`` also sends ``request_finished``: right for a request Django served,
    but for an API request the framework sends that signal itself (``BOLT_EMIT_SIGNALS``).
    """
    closers = response._resource_closers
    while closers:
        try:
            closers.pop()()
        except Exception:  # noqa: S112 - as Django's close(): a failing closer is ignored
            continue
    response.closed = True


def _next_chunk(iterator: Iterator[bytes]) -> Any:
    return next(iterator, _DONE)


class _DjangoStream:
    """A streaming response's chunks, each pulled in the pool; ``close`` runs once, in the pool.

    Whether the stream ran to its end, was abandoned by the server (``aclose()``), or was never
    started (a HEAD request has no body), ``close`` runs: a ``FileResponse``'s file is closed.
    An async iterator is consumed on the loop, as Django's ASGI handler would; a sync one (a
    generator, a file) is read in the pool, never on the event loop.
    """

    __slots__ = ("_chunks", "_close", "_closed", "_response")

    def __init__(self, response: HttpResponseBase, close: Callable[[], None]) -> None:
        self._response = response
        self._close = close
        self._closed = False
        self._chunks: AsyncGenerator[bytes, None] = self._pull()

    def __aiter__(self) -> _DjangoStream:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def _pull(self) -> AsyncGenerator[bytes, None]:
        response = self._response
        try:
            if getattr(response, "is_async", False):
                async for chunk in response.streaming_content:
                    yield chunk
            else:
                iterator = iter(response)
                while True:
                    chunk = await run_in_pool(_next_chunk, {"iterator": iterator})
                    if chunk is _DONE:
                        break
                    yield chunk
        finally:
            await self._finish()

    async def _finish(self) -> None:
        if not self._closed:
            self._closed = True
            await run_in_pool(self._close, {})

    async def aclose(self) -> None:
        """Stop the stream and close the response (also when no chunk was ever pulled)."""
        try:
            await self._chunks.aclose()
        finally:
            await self._finish()


def stream_django(response: HttpResponseBase, close: Callable[[], None]) -> ClosingStream:
    """Return a streaming response's body for the server; ``close`` runs once it is done."""
    return ClosingStream(_DjangoStream(response, close))


def prepare_stream(response: HttpResponseBase) -> None:
    """Read a file response in larger blocks (fewer trips to the pool)."""
    if getattr(response, "block_size", 0) and response.block_size < _FILE_BLOCK_SIZE:
        response.block_size = _FILE_BLOCK_SIZE


def wire_from_django(response: HttpResponseBase) -> WireResponse:
    """Return a response a handler (or an exception handler) returned, to be sent as it is."""
    headers = django_headers(response)
    if response.streaming:
        prepare_stream(response)
        stream = stream_django(response, lambda: release_resources(response))
        return WireResponse(response.status_code, headers, b"", stream)
    body = response.content
    release_resources(response)
    return WireResponse(response.status_code, headers, body)
