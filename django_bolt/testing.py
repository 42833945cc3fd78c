"""In-process test clients: httpx clients served by the server's own protocol, without a socket.

Each request is written as HTTP/1.1 bytes into a real :class:`HttpProtocol` on an in-memory
connection (:mod:`django_bolt.server.memory`), with the server settings a worker would run with,
and the response is read back from the bytes the protocol writes. So every rule of the server
applies exactly as on the network, from the same code: the refusals it answers itself (400, 413,
414, 431, 501, ...), bodies spooled to a file above ``body_spool_threshold``, the client address
and scheme resolved through the trusted-proxy rules (the client is 127.0.0.1), the response head
(``date``, ``server``, framing), the check on every header field, HEAD and 204/304 without a
body. A stream is read as the test reads it; closing the response early is a client disconnect.
Background work after a response has finished when the request returns.

    from django_bolt.testing import TestClient

    with TestClient(api) as client:
        assert client.get("/hello").json() == {"message": "world"}
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

import httpx
from django.conf import settings
from django.test import override_settings

from django_bolt.conf import ServerConfig, load_server_config
from django_bolt.server.memory import (
    ConnectionClosed,
    MemoryConnection,
    MemoryWebSocket,
    ResponseHead,
)
from django_bolt.server.state import ServerState
from django_bolt.websocket import WebSocketDisconnect

if TYPE_CHECKING:
    from django_bolt.server.contract import Application

__all__ = (
    "AsyncTestClient",
    "BoltTestClientWarning",
    "HandshakeRejected",
    "TestClient",
    "WebSocketTestClient",
    "WebSocketTestSession",
    "bolt_client_factory",
)

# A local client: loopback is a trusted proxy by default, so X-Forwarded-* headers sent by a
# test are believed exactly as the server believes them from a proxy on the same machine.
_TEST_CLIENT_ADDR: Final = ("127.0.0.1", 50000)
_LAST_CHUNK: Final = b"0\r\n\r\n"


class BoltTestClientWarning(UserWarning):
    """A test client option was given that this framework's clients do not apply."""


def _check_ported_options(
    cors_allowed_origins: list[str] | None,
    read_django_settings: bool,
    static_files_config: dict[str, Any] | None,
) -> None:
    """Django-Bolt's client options that have no effect here: say so rather than pretend.

    ``use_http_layer`` and ``share_db_connection`` need no check: requests always go through
    the server's own protocol, and handlers use the test's database connection as they would
    a worker's.
    """
    ignored = []
    if not read_django_settings:
        ignored.append("read_django_settings=False (settings are always read)")
    if static_files_config is not None:
        ignored.append("static_files_config (static files follow Django's settings)")
    if ignored:
        warnings.warn(
            "TestClient ignores: " + "; ".join(ignored), BoltTestClientWarning, stacklevel=3
        )


def _apply_cors_origins(app: Application, origins: list[str] | None) -> None:
    """Compile ``app`` now with ``origins`` as ``CORS_ALLOWED_ORIGINS`` (Django-Bolt 0.13's
    ``TestClient(cors_allowed_origins=...)``); the rest of the CORS settings still apply.

    The API keeps that compiled table until its routes change, so the origins hold for every
    request of this client (and of others sharing the API, until it recompiles).
    """
    if origins is None:
        return
    compile_app = getattr(app, "compile", None)
    if compile_app is None:
        raise TypeError("cors_allowed_origins needs a BoltAPI (an app with compile())")
    with override_settings(CORS_ALLOWED_ORIGINS=list(origins)):
        compile_app()


def _server_config() -> ServerConfig:
    """Return the server options a real worker would run with (defaults without Django settings)."""
    if not settings.configured:
        return ServerConfig()
    return load_server_config({}, os.environ, settings)


def _request_head(request: httpx.Request) -> bytes:
    """Return the request line and header section, as a client writes them."""
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
    lines.append(b"\r\n")
    return b"".join(lines)


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


def _cut(error: ConnectionClosed) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(str(error))


class _ServerErrors:
    """Catches what the app would have answered with a 500, to raise it in the test instead."""

    def __init__(self, app: Application, enabled: bool) -> None:
        self.caught: BaseException | None = None
        if hasattr(app, "server_error_hook"):
            # The latest client decides: a hook left by an earlier client must not linger.
            app.server_error_hook = self.record if enabled else None

    def record(self, exc: BaseException) -> None:
        if self.caught is None:
            self.caught = exc

    def raise_caught(self) -> None:
        exc, self.caught = self.caught, None
        if exc is not None:
            raise exc


class _Server:
    """What both transports share: the app, the server state a worker would have, the wire."""

    def __init__(self, app: Application, raise_server_exceptions: bool) -> None:
        self.app = app
        self.errors = _ServerErrors(app, raise_server_exceptions)
        self.state = ServerState(app, _server_config())

    def connect(self, request: httpx.Request) -> MemoryConnection:
        """Return a new connection for ``request`` (call on the loop that serves it)."""
        self.state.tick()
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        return MemoryConnection(
            self.state, _TEST_CLIENT_ADDR, (url.host, port), tls=url.scheme == "https"
        )

    def response(
        self, head: ResponseHead, stream: httpx.SyncByteStream | httpx.AsyncByteStream
    ) -> httpx.Response:
        """Return the response as httpx hands it to the test: the body is read as the test reads."""
        return httpx.Response(head.status, headers=head.headers, stream=stream)


class _SyncStream(httpx.SyncByteStream):
    def __init__(self, runner: asyncio.Runner, wire: MemoryConnection) -> None:
        self._runner = runner
        self._wire = wire

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._runner.run(self._wire.next_chunk())
            except ConnectionClosed as error:
                raise _cut(error) from None
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._runner.run(self._wire.close())


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, wire: MemoryConnection) -> None:
        self._wire = wire

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await self._wire.next_chunk()
            except ConnectionClosed as error:
                raise _cut(error) from None
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        await self._wire.close()


async def _exchange(
    wire: MemoryConnection, request: httpx.Request, body: Iterable[bytes] | AsyncIterable[bytes]
) -> ResponseHead:
    try:
        await wire.send(_request_head(request), body, head_only=request.method == "HEAD")
        return await wire.response_head()
    except ConnectionClosed as error:
        await wire.close()
        raise _cut(error) from None


class _BoltTransport(httpx.BaseTransport):
    """Runs the app on a private event loop owned by the client."""

    def __init__(self, app: Application, raise_server_exceptions: bool) -> None:
        self.app = app
        self.server = _Server(app, raise_server_exceptions)
        self._runner: asyncio.Runner | None = None

    def _ensure_started(self) -> asyncio.Runner:
        if self._runner is None:
            self._runner = asyncio.Runner()
            self._runner.run(self.app.startup())
        return self._runner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        runner = self._ensure_started()
        server = self.server
        wire: MemoryConnection = runner.run(_connect(server, request))
        head = runner.run(_exchange(wire, request, _framed(request)))
        if server.errors.caught is not None:
            runner.run(wire.close())
            server.errors.raise_caught()
        return server.response(head, _SyncStream(runner, wire))

    def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                runner.run(self.app.shutdown())
            finally:
                runner.close()


async def _connect(server: _Server, request: httpx.Request) -> MemoryConnection:
    return server.connect(request)


class _AsyncBoltTransport(httpx.AsyncBaseTransport):
    """Runs the app on the caller's event loop."""

    def __init__(self, app: Application, raise_server_exceptions: bool) -> None:
        self.app = app
        self.server = _Server(app, raise_server_exceptions)
        self.started = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.started:
            self.started = True
            await self.app.startup()
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
            await self.app.shutdown()


class TestClient(httpx.Client):
    """A synchronous httpx client for one app; use it as a context manager.

    Start-up hooks run before the first request, shutdown hooks when the client closes. With
    ``raise_server_exceptions`` (the default) an exception the app would answer with a 500 is
    raised in the test instead; pass ``False`` to look at the 500 response.
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
        # The options between raise_server_exceptions and **kwargs are Django-Bolt's; they are
        # accepted so ported tests run (see _check_ported_options).
        _check_ported_options(cors_allowed_origins, read_django_settings, static_files_config)
        _apply_cors_origins(app, cors_allowed_origins)
        self.app = app
        transport = _BoltTransport(app, raise_server_exceptions)
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    def websocket_connect(
        self,
        path: str,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> WebSocketTestSession:
        """Open a WebSocket to ``path`` (a context manager); a refused handshake raises
        :class:`HandshakeRejected` when it is entered."""
        transport = self._transport
        if not isinstance(transport, _BoltTransport):  # pragma: no cover - set in __init__
            raise TypeError("websocket_connect() needs the client's own transport")
        socket = _Socket(transport.server, str(self.base_url.join(path)), subprotocols, headers)
        return WebSocketTestSession(transport._ensure_started(), socket)


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
    """The async twin of :class:`TestClient`, running on the caller's event loop."""

    __test__ = False

    def __init__(
        self,
        app: Application,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        cors_allowed_origins: list[str] | None = None,
        read_django_settings: bool = True,
        static_files_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        _check_ported_options(cors_allowed_origins, read_django_settings, static_files_config)
        _apply_cors_origins(app, cors_allowed_origins)
        self.app = app
        transport = _AsyncBoltTransport(app, raise_server_exceptions)
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    async def query(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        """Return a QUERY request (httpx has no shortcut for it)."""
        return await self.request("QUERY", url, **kwargs)


class HandshakeRejected(ValueError):
    """The server answered a WebSocket handshake with an HTTP status instead of 101.

    A ``ValueError``: Django-Bolt's client raises that for a parameter that does not convert
    (a 400 here), so tests written for it catch this too.
    """

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(f"WebSocket handshake rejected with {status_code}")
        self.status_code = status_code
        self.headers = httpx.Headers(headers)
        self.body = body

    def json(self) -> Any:
        """Return the refusal's JSON body."""
        return json.loads(self.body)


class _Socket:
    """One test WebSocket: the handshake, then messages, over the server's own protocol."""

    def __init__(
        self,
        server: _Server,
        url: str,
        subprotocols: list[str] | None,
        headers: dict[str, str] | None,
    ) -> None:
        fields = {
            "upgrade": "websocket",
            "connection": "Upgrade",
            "sec-websocket-key": base64.b64encode(os.urandom(16)).decode("ascii"),
            "sec-websocket-version": "13",
        }
        if subprotocols:
            fields["sec-websocket-protocol"] = ", ".join(subprotocols)
        fields.update(headers or {})
        self.server = server
        self.request = httpx.Request("GET", url, headers=fields)
        self.wire: MemoryWebSocket | None = None
        self.subprotocol: str | None = None
        self.headers = httpx.Headers()

    async def connect(self) -> None:
        connection = self.server.connect(self.request)
        self.wire = wire = MemoryWebSocket(connection)
        head = await wire.handshake(_request_head(self.request))
        errors = self.server.errors
        if head.status != 101:
            await connection.close()
            errors.raise_caught()
            raise HandshakeRejected(head.status, head.headers, wire.body)
        self.headers = httpx.Headers(head.headers)
        self.subprotocol = self.headers.get("sec-websocket-protocol")

    def _wire(self) -> MemoryWebSocket:
        if self.wire is None:
            raise RuntimeError("the WebSocket is not connected")
        return self.wire

    async def send(self, data: str | bytes) -> None:
        await self._wire().send(data)

    async def receive(self) -> str | bytes:
        wire = self._wire()
        message = await wire.receive()
        if message is None:
            raise WebSocketDisconnect(wire.close_code or 1006, wire.close_reason)
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.wire is not None:
            await self.wire.close(code, reason)


def _text(message: str | bytes) -> str:
    if not isinstance(message, str):
        raise TypeError("expected a text message, got a binary one")
    return message


def _bytes(message: str | bytes) -> bytes:
    if isinstance(message, str):
        raise TypeError("expected a binary message, got a text one")
    return message


class WebSocketTestSession:
    """A test WebSocket for :meth:`TestClient.websocket_connect`: blocking calls, as a test
    writes them."""

    __test__ = False

    def __init__(self, runner: asyncio.Runner, socket: _Socket) -> None:
        self._runner = runner
        self._socket = socket

    def __enter__(self) -> WebSocketTestSession:
        self._runner.run(self._socket.connect())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def accepted_subprotocol(self) -> str | None:
        """Return the subprotocol the server selected."""
        return self._socket.subprotocol

    @property
    def headers(self) -> httpx.Headers:
        """Return the 101 response's header fields."""
        return self._socket.headers

    def send_text(self, data: str) -> None:
        """Send a text message."""
        self._runner.run(self._socket.send(data))

    def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        self._runner.run(self._socket.send(data))

    def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON."""
        text = json.dumps(data, separators=(",", ":"))
        self._runner.run(self._socket.send(text if mode == "text" else text.encode()))

    def receive(self) -> str | bytes:
        """Return the next message; ``WebSocketDisconnect`` once the server closed."""
        message: str | bytes = self._runner.run(self._socket.receive())
        return message

    def receive_text(self) -> str:
        """Return the next message, which must be text."""
        return _text(self.receive())

    def receive_bytes(self) -> bytes:
        """Return the next message, which must be binary."""
        return _bytes(self.receive())

    def receive_json(self) -> Any:
        """Return the next message decoded as JSON."""
        return json.loads(self.receive())

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (after the server's answer)."""
        self._runner.run(self._socket.close(code, reason))


class WebSocketTestClient:
    """Django-Bolt's async WebSocket test client: ``async with WebSocketTestClient(api, path)``.

    It starts the API on the running loop, like :class:`AsyncTestClient`.
    """

    __test__ = False

    def __init__(
        self,
        app: Application,
        path: str,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
    ) -> None:
        self.app = app
        server = _Server(app, raise_server_exceptions)
        self._socket = _Socket(server, str(httpx.URL(base_url).join(path)), subprotocols, headers)
        self._started = False

    async def __aenter__(self) -> WebSocketTestClient:
        await self.app.startup()
        self._started = True
        try:
            await self._socket.connect()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._socket.close()
        finally:
            await self._stop()

    async def _stop(self) -> None:
        if self._started:
            self._started = False
            await self.app.shutdown()

    @property
    def accepted_subprotocol(self) -> str | None:
        """Return the subprotocol the server selected."""
        return self._socket.subprotocol

    async def send_text(self, data: str) -> None:
        """Send a text message."""
        await self._socket.send(data)

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary message."""
        await self._socket.send(data)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        """Send ``data`` as JSON."""
        text = json.dumps(data, separators=(",", ":"))
        await self._socket.send(text if mode == "text" else text.encode())

    async def receive(self) -> str | bytes:
        """Return the next message; ``WebSocketDisconnect`` once the server closed."""
        return await self._socket.receive()

    async def receive_text(self) -> str:
        """Return the next message, which must be text."""
        return _text(await self._socket.receive())

    async def receive_bytes(self) -> bytes:
        """Return the next message, which must be binary."""
        return _bytes(await self._socket.receive())

    async def receive_json(self) -> Any:
        """Return the next message decoded as JSON."""
        return json.loads(await self._socket.receive())

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (after the server's answer)."""
        await self._socket.close(code, reason)


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pass
else:

    @pytest.fixture
    def bolt_client_factory() -> Iterator[Callable[..., TestClient]]:
        """``client = bolt_client_factory(api)``: a TestClient closed after the test.

        Make it available with ``from django_bolt.testing import bolt_client_factory`` in a
        ``conftest.py``.
        """
        clients: list[TestClient] = []

        def make(app: Application, **kwargs: Any) -> TestClient:
            client = TestClient(app, **kwargs)
            clients.append(client)
            return client

        yield make
        for client in clients:
            client.close()
