"""``TestClient`` and ``AsyncTestClient``: httpx clients whose transport is the server itself.

Each request is written as HTTP/1.1 bytes into a real ``HttpProtocol`` on an in-memory
connection, and the response is read back from the bytes the protocol writes (see the package's
docstring). Start-up runs when a client is entered, shutdown when it closes.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

import httpx
from django.conf import settings

from django_bolt._django.dbshare import (
    lend_connections,
    open_transactions,
    return_connections,
)
from django_bolt.server.memory import ConnectionClosed, MemoryConnection, ResponseHead
from django_bolt.testing._server import PrivateLoop, Server, cut, request_head
from django_bolt.testing.websocket import Socket, WebSocketTestSession

if TYPE_CHECKING:
    from django_bolt.server.contract import Application

__all__ = ("AsyncTestClient", "BoltTestClientWarning", "TestClient")

_LAST_CHUNK: Final = b"0\r\n\r\n"


class BoltTestClientWarning(RuntimeWarning):
    """A test client was set up in a way that will not do what the test likely expects."""


def _check_ported_options(
    client: str,
    read_django_settings: bool,
    static_files_config: Any,
    use_http_layer: bool,
    lends: bool | None = None,
) -> None:
    """Django-Bolt's client options that have no effect here: say so rather than pretend.

    ``lends``: an ``AsyncTestClient`` asked to share the test's connections (it cannot).
    """
    ignored = []
    if not read_django_settings:
        ignored.append("read_django_settings=False (settings are always read)")
    if static_files_config is not None:
        ignored.append("static_files_config (static files follow Django's settings)")
    if not use_http_layer:
        ignored.append("use_http_layer=False (requests always go through the server's protocol)")
    if lends:
        ignored.append(
            "share_db_connection=True (its handlers run on the test's own event loop and keep "
            "their threads' connections: use committed rows, or TestClient)"
        )
    if ignored:
        warnings.warn(
            f"{client} ignores: " + "; ".join(ignored), BoltTestClientWarning, stacklevel=3
        )


def _warn_unshared_transaction() -> None:
    """``share_db_connection=False`` inside the test's open transaction: the handlers' own
    connections will not see its rows (and on SQLite its lock shows as an error)."""
    aliases = open_transactions() if settings.configured else []
    if aliases:
        warnings.warn(
            f"TestClient(share_db_connection=False) entered inside the test's transaction on "
            f"{', '.join(aliases)}: the handlers use connections of their own, which do not see "
            "the rows this test has not committed (SQLite reports its lock as 'database table "
            "is locked'). Use TransactionTestCase or django_db(transaction=True) for such a "
            "test, or share the connection (the default).",
            BoltTestClientWarning,
            stacklevel=4,
        )


def _is_chunked(request: httpx.Request) -> bool:
    return str(request.headers.get("transfer-encoding", "")).lower() == "chunked"


def _chunk(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


def _framed(request: httpx.Request) -> Iterator[bytes]:
    stream = request.stream
    if not isinstance(stream, Iterable):  # pragma: no cover - httpx gives a sync client one
        raise TypeError("TestClient needs a synchronous request body")
    if not _is_chunked(request):
        yield from stream
        return
    for piece in stream:
        if piece:
            yield _chunk(piece)
    yield _LAST_CHUNK


async def _aframed(request: httpx.Request) -> AsyncIterator[bytes]:
    stream = request.stream
    if not isinstance(stream, AsyncIterable):  # pragma: no cover - httpx gives one
        raise TypeError("AsyncTestClient needs an asynchronous request body")
    chunked = _is_chunked(request)
    async for piece in stream:
        if piece:
            yield _chunk(piece) if chunked else piece
    if chunked:
        yield _LAST_CHUNK


class _SyncStream(httpx.SyncByteStream):
    def __init__(self, loop: PrivateLoop, wire: MemoryConnection) -> None:
        self._loop = loop
        self._wire = wire

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._loop.run(self._wire.next_chunk())
            except ConnectionClosed as error:
                raise cut(error) from None
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._loop.run(self._wire.close())


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, wire: MemoryConnection) -> None:
        self._wire = wire

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await self._wire.next_chunk()
            except ConnectionClosed as error:
                raise cut(error) from None
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        await self._wire.close()


async def _exchange(
    wire: MemoryConnection, request: httpx.Request, body: Iterable[bytes] | AsyncIterable[bytes]
) -> ResponseHead:
    try:
        await wire.send(request_head(request), body, head_only=request.method == "HEAD")
        return await wire.response_head()
    except ConnectionClosed as error:
        await wire.close()
        raise cut(error) from None


async def _connect(server: Server, request: httpx.Request) -> MemoryConnection:
    return server.connect(request)


class _BoltTransport(httpx.BaseTransport):
    """Serves the app on a private event loop owned by the client, in the test's thread.

    httpx enters the transport when the client is entered: the loan of the test's database
    connections (``share_db_connection``) begins there, then start-up runs. A client used
    without ``with`` starts at its first request and borrows nothing.
    """

    def __init__(self, server: Server, share_db_connection: bool) -> None:
        self.server = server
        self.loop = PrivateLoop()
        self.share_db_connection = share_db_connection
        self._lending = False
        self._started = False

    def __enter__(self) -> _BoltTransport:
        if self.share_db_connection and settings.configured:
            lend_connections()
            self._lending = True
        elif not self.share_db_connection:
            _warn_unshared_transaction()
        try:
            self.start()
        except BaseException:
            # A failed start-up has nothing to shut down: the loop and the loan end here.
            self._release()
            raise
        return self

    def start(self) -> PrivateLoop:
        """Run start-up once (the first time the loop is needed) and return the loop."""
        if not self._started:
            self._started = True
            self.loop.run(self.server.app.startup())
        return self.loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        loop = self.start()
        server = self.server
        wire: MemoryConnection = loop.run(_connect(server, request))
        head = loop.run(_exchange(wire, request, _framed(request)))
        if server.errors.caught is not None:
            loop.run(wire.close())
            server.errors.raise_caught()
        return server.response(head, _SyncStream(loop, wire))

    def close(self) -> None:
        try:
            if self._started:
                self._started = False
                self.loop.run(self.server.app.shutdown())
        finally:
            self._release()

    def _release(self) -> None:
        self._started = False
        try:
            self.loop.close()
        finally:
            if self._lending:
                self._lending = False
                return_connections()


class _AsyncBoltTransport(httpx.AsyncBaseTransport):
    """Serves the app on the caller's event loop; start-up runs when the client is entered."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.started = False

    async def __aenter__(self) -> _AsyncBoltTransport:
        await self.start()
        return self

    async def start(self) -> None:
        """Run start-up once."""
        if not self.started:
            self.started = True
            await self.server.app.startup()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.start()
        server = self.server
        wire = server.connect(request)
        head = await _exchange(wire, request, _aframed(request))
        if server.errors.caught is not None:
            await wire.close()
            server.errors.raise_caught()
        return server.response(head, _AsyncStream(wire))

    async def aclose(self) -> None:
        if self.started:
            self.started = False
            await self.server.app.shutdown()


class TestClient(httpx.Client):
    """A synchronous httpx client for one app; use it as a context manager.

    Entering it runs start-up, leaving it runs shutdown. With ``raise_server_exceptions`` (the
    default) an exception the app would answer with a 500 is raised in the test instead; pass
    ``False`` to look at the 500 response. With ``share_db_connection`` (the default) the
    handlers use the test's own database connections while the client is open, so they see the
    rows of a ``TestCase`` or of pytest-django's ``django_db`` (``_django.dbshare``).
    ``cors_allowed_origins`` stands for ``CORS_ALLOWED_ORIGINS`` (``"*"``: every origin).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: Application,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        cors_allowed_origins: list[str] | None = None,
        read_django_settings: bool = True,
        use_http_layer: bool = True,
        static_files_config: dict[str, Any] | None = None,
        share_db_connection: bool = True,
        **kwargs: Any,
    ) -> None:
        _check_ported_options(
            "TestClient", read_django_settings, static_files_config, use_http_layer
        )
        self.app = app
        server = Server(app, raise_server_exceptions, cors_allowed_origins)
        transport = _BoltTransport(server, share_db_connection)
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    def websocket_connect(
        self,
        path: str,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Open a WebSocket to ``path`` (a context manager); a refused handshake raises
        ``HandshakeRejected`` when it is entered."""
        transport = self._transport
        if not isinstance(transport, _BoltTransport):  # pragma: no cover - set in __init__
            raise TypeError("websocket_connect() needs the client's own transport")
        socket = Socket(transport.server, str(self.base_url.join(path)), subprotocols, headers)
        return WebSocketTestSession(transport.start(), socket)


def _lines(response: httpx.Response, decode_unicode: bool = True) -> Iterator[str | bytes]:
    lines = response.content.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    for line in lines:
        yield line.decode() if decode_unicode else line


def _chunks(
    response: httpx.Response, chunk_size: int = 1024, decode_unicode: bool = False
) -> Iterator[str | bytes]:
    body = response.content
    for start in range(0, len(body), chunk_size):
        chunk = body[start : start + chunk_size]
        yield chunk.decode() if decode_unicode else chunk


def _with_iterators(response: httpx.Response) -> httpx.Response:
    """Django-Bolt's ``stream=True``: ``iter_content`` / ``iter_lines`` in the requests style.

    The body has been read whole by then (as in Django-Bolt); ``iter_lines`` yields str lines
    by default, ``iter_content(chunk_size, decode_unicode)`` byte chunks.
    """
    response.iter_content = functools.partial(_chunks, response)  # type: ignore[attr-defined]
    response.iter_lines = functools.partial(_lines, response)  # type: ignore[assignment]
    return response


def _verb(method: str) -> Callable[..., httpx.Response]:
    def send(
        self: httpx.Client, url: httpx.URL | str, *, stream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        response = self.request(method, url, **kwargs)
        return _with_iterators(response) if stream else response

    send.__name__ = send.__qualname__ = method.lower()
    send.__doc__ = f"A {method} request; ``stream=True`` adds ``iter_lines``/``iter_content``."
    return send


# httpx's verbs do not take Django-Bolt's ``stream=True``, and httpx has no QUERY shortcut.
for _method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "QUERY"):
    setattr(TestClient, _method.lower(), _verb(_method))


class AsyncTestClient(httpx.AsyncClient):
    """The async twin of :class:`TestClient`, running on the caller's event loop.

    It takes the same arguments. It never lends the test's database connections (code on an
    event loop cannot join the test's transaction; Django-Bolt's does not either): handlers
    that use the database need committed rows (``TransactionTestCase``,
    ``django_db(transaction=True)``), and ``share_db_connection=True`` warns that it has no
    effect.
    """

    __test__ = False

    def __init__(
        self,
        app: Application,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        cors_allowed_origins: list[str] | None = None,
        read_django_settings: bool = True,
        use_http_layer: bool = True,
        static_files_config: dict[str, Any] | None = None,
        share_db_connection: bool | None = None,
        **kwargs: Any,
    ) -> None:
        _check_ported_options(
            "AsyncTestClient",
            read_django_settings,
            static_files_config,
            use_http_layer,
            lends=share_db_connection,
        )
        self.app = app
        server = Server(app, raise_server_exceptions, cors_allowed_origins)
        super().__init__(transport=_AsyncBoltTransport(server), base_url=base_url, **kwargs)

    async def query(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        """Return a QUERY request (httpx has no shortcut for it)."""
        return await self.request("QUERY", url, **kwargs)
