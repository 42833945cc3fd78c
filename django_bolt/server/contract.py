"""What the server and the framework agree on, and nothing more.

The server parses bytes into a :class:`RawRequest` (or the subclass the application names in
``request_class``), calls ``application.dispatch(request)`` once, and writes whatever
:class:`ResponseLike` the returned coroutine produces. The in-process test client calls the same
``dispatch`` with a request it builds itself, so both paths run identical framework code.

The server never imports the framework; the framework never touches a socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable

__all__ = ("Application", "RawRequest", "ResponseLike")


class RawRequest:
    """One parsed HTTP request, as plain values; the framework adds lazy views in a subclass.

    ``target`` is the raw request-target (path and query, still percent-encoded).
    ``raw_headers`` keeps the header names and values exactly as received, in order, as bytes;
    fields whose name holds an underscore have already been dropped (they would collide with
    dashed names in Django's ``META``).
    ``client`` and ``scheme`` are already resolved through the trusted-proxy rules.
    """

    __slots__ = (
        "body",
        "client",
        "http_version",
        "method",
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
        body: bytes,
        client: tuple[str, int] | None,
        scheme: str,
        server: tuple[str, int] | None,
        http_version: str,
    ) -> None:
        self.method = method
        self.target = target
        self.raw_headers = raw_headers
        self.body = body
        self.client = client
        self.scheme = scheme
        self.server = server
        self.http_version = http_version


class ResponseLike(Protocol):
    """The shape of what ``dispatch`` returns.

    ``raw_headers`` are lower-case names and values as bytes, free of CR and LF; the server
    adds ``content-length`` (buffered bodies) or ``transfer-encoding``, ``date``, ``connection``
    and (if configured) ``server``, and never sends a body for HEAD, 1xx, 204 or 304.

    With ``stream`` set, ``body`` is ignored and the chunks are sent as they come (chunked
    encoding on HTTP/1.1, close-delimited on HTTP/1.0), waiting for the client to drain the
    socket before pulling the next chunk. A stream whose length is known (a file) may declare
    it with a ``content-length`` header: it is then sent without chunking, and a stream that
    yields more or fewer bytes has its connection aborted, since the head promised them.

    ``background`` runs after the last byte is handed to the transport (dependency teardown,
    for example).
    """

    status_code: int
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes
    stream: AsyncIterable[bytes] | Iterable[bytes] | None
    background: Callable[[], Awaitable[None]] | None


class Application(Protocol):
    """What a worker serves: the framework's ``BoltAPI`` tree, or a bare test app."""

    request_class: type[RawRequest]

    def dispatch(self, request: Any) -> Coroutine[Any, Any, ResponseLike]:
        """Answer one request. Must not raise: errors become responses."""
        ...

    async def startup(self) -> None:
        """Run once per event loop before it accepts connections."""
        ...

    async def shutdown(self) -> None:
        """Run once per event loop after it stopped serving."""
        ...
