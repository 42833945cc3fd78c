"""In-process test clients: httpx clients whose transport calls the same ``dispatch`` as the server.

The transport builds the request exactly as the server does (``app.request_class`` with the same
positional arguments) and applies the server's own rules around ``dispatch``, read from the same
server settings a worker would run with:

- the refusals the server answers itself, with the same bytes: 400 (missing or repeated Host),
  413 (a body over ``max_upload_size``, decided from Content-Length before reading, or as a
  chunked body arrives), 414, 431 and 501, each with ``Connection: close``; the 413 carries the
  headers the app's ``error_headers`` hook adds (CORS);
- a body above ``body_spool_threshold`` spooled to a temporary file as it arrives (and closed
  after the response), so handlers meet the same file-backed body;
- the client address and scheme resolved through the trusted-proxy rules (X-Forwarded-*), the
  client being 127.0.0.1;
- the response head: ``date``, ``server`` (if configured), ``connection: close`` when the
  connection would end, ``content-length`` for buffered bodies, chunked framing for streams;
  no body for HEAD/1xx/204/304 (a HEAD's stream is never pulled); a stream that breaks its
  declared Content-Length raises ``httpx.RemoteProtocolError``, as the cut connection would;
  ``background`` run after the last byte.

So a test sees what a client on the network would see, without a socket.

    from django_bolt.testing import TestClient

    with TestClient(api) as client:
        assert client.get("/hello").json() == {"message": "world"}
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import warnings
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, Final

import httpx

from django_bolt.conf import TrustedProxies
from django_bolt.server.contract import SpooledBody, error_header_lines
from django_bolt.server.proxy import FORWARDING_HEADERS, resolve_forwarded
from django_bolt.server.wire import (
    NO_BODY_STATUSES,
    declared_length,
    error_response,
    format_date,
    format_date_header,
)

if TYPE_CHECKING:
    from django_bolt.conf import ServerConfig
    from django_bolt.server.contract import Application, RawRequest, ResponseLike

__all__ = ("AsyncTestClient", "BoltTestClientWarning", "TestClient", "bolt_client_factory")

# A local client: loopback is a trusted proxy by default, so X-Forwarded-* headers sent by a
# test are believed exactly as the server believes them from a proxy on the same machine.
_TEST_CLIENT_ADDR: Final = ("127.0.0.1", 50000)


class BoltTestClientWarning(UserWarning):
    """A test client option was given that this framework's clients do not apply."""


def _check_ported_options(
    cors_allowed_origins: list[str] | None,
    read_django_settings: bool,
    static_files_config: dict[str, Any] | None,
) -> None:
    """Django-Bolt's client options that have no effect here: say so rather than pretend.

    ``use_http_layer`` and ``share_db_connection`` need no check: requests always go through
    the server's own dispatch, and handlers use the test's database connection as they would
    a worker's.
    """
    ignored = []
    if cors_allowed_origins is not None:
        ignored.append("cors_allowed_origins (configure CORS on the API or in settings)")
    if not read_django_settings:
        ignored.append("read_django_settings=False (settings are always read)")
    if static_files_config is not None:
        ignored.append("static_files_config (static files follow Django's settings)")
    if ignored:
        warnings.warn(
            "TestClient ignores: " + "; ".join(ignored), BoltTestClientWarning, stacklevel=3
        )


async def _next_chunk(iterator: AsyncIterator[bytes]) -> bytes:
    return await anext(iterator)


async def _wait(awaitable: Awaitable[None]) -> None:
    await awaitable


def _no_body(method: str, status: int) -> bool:
    return method == "HEAD" or status < 200 or status in NO_BODY_STATUSES


def _server_config() -> ServerConfig:
    """The server options a real worker would run with (defaults without Django settings)."""
    from django.conf import settings

    from django_bolt.conf import ServerConfig, load_server_config

    if not settings.configured:
        return ServerConfig()
    return load_server_config({}, os.environ, settings)


def _release(request: RawRequest) -> None:
    if request.body_file is not None:
        request.body_file.close()


class _Head:
    """A request's method, target and header fields as the server's parser would hand them on."""

    __slots__ = ("content_length", "headers", "keep_alive", "method", "target")

    def __init__(self, request: httpx.Request, config: ServerConfig) -> None:
        self.method = request.method
        self.target = request.url.raw_path
        # The server drops header names with "_" (they would collide with "-" in Django's META).
        self.headers = [(k, v) for k, v in request.headers.raw if b"_" not in k]
        self.content_length = -1
        # What httptools' should_keep_alive() says for HTTP/1.1, and the server's own switch.
        self.keep_alive = config.keep_alive_s > 0 and not any(
            name.lower() == b"connection"
            and b"close" in (token.strip().lower() for token in value.split(b","))
            for name, value in self.headers
        )

    def refusal(self, config: ServerConfig) -> int:
        """The status the server refuses this head with, or 0.

        The same checks as ``HttpProtocol.on_url``, ``on_header`` and ``on_headers_complete``,
        in the same order (tests/api/test_testclient_wire.py holds the two side by side).
        """
        if len(self.target) > config.max_request_line_bytes:
            return 414
        size = 0
        has_host = False
        for count, (name, value) in enumerate(self.headers, 1):
            size += len(name) + len(value) + 4
            if count > config.max_header_count:
                return 431
            lower = name.lower()
            if lower == b"host":
                if has_host:
                    return 400  # RFC 9112 section 3.2
                has_host = True
            elif lower == b"content-length":
                try:
                    self.content_length = int(value)
                except ValueError:
                    return 400  # llhttp's verdict on a malformed length
            elif lower == b"transfer-encoding" and value.strip().lower() != b"chunked":
                return 501
        if size > config.max_header_bytes:
            return 431
        if not has_host:
            return 400
        if self.content_length > config.max_upload_size:
            return 413
        return 0


class _Body:
    """Collects a request body piece by piece as ``HttpProtocol.on_body`` does: in memory up to
    the spool threshold, then in a :class:`SpooledBody`; refused past the upload limit."""

    __slots__ = ("directory", "limit", "parts", "size", "spool", "threshold")

    def __init__(self, config: ServerConfig, content_length: int) -> None:
        self.limit = config.max_upload_size
        self.threshold = config.body_spool_threshold
        self.directory = config.body_spool_dir or None
        self.parts: list[bytes] = []
        self.size = 0
        # A length announced above the threshold goes to the file from the first byte.
        self.spool = SpooledBody(self.directory) if content_length > self.threshold else None

    def feed(self, piece: bytes) -> bool:
        """Keep ``piece``; False once the body is over the limit (the spool is then freed)."""
        self.size += len(piece)
        if self.size > self.limit:
            self.drop()
            return False
        spool = self.spool
        if spool is not None:
            spool.write(piece)
        elif self.size > self.threshold:
            self.spool = spool = SpooledBody(self.directory)
            for part in self.parts:
                spool.write(part)
            self.parts = []
            spool.write(piece)
        elif piece:
            self.parts.append(piece)
        return True

    def drop(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


class _ServerRules:
    """What a worker applies around ``dispatch``, derived once from the server config."""

    __slots__ = ("config", "peer_trusted", "server_header", "trusted")

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.trusted = TrustedProxies.parse(config.forwarded_allow_ips)
        self.peer_trusted = _TEST_CLIENT_ADDR[0] in self.trusted
        server = config.server_header
        self.server_header = server.encode("latin-1") if server else b""

    def head(self, request: httpx.Request) -> _Head:
        return _Head(request, self.config)

    def body(self, head: _Head) -> _Body:
        return _Body(self.config, head.content_length)

    def refuse(self, app: Application, head: _Head, status: int) -> httpx.Response:
        """The server's own error answer, built by the server's own code, as an httpx response."""
        # Only a 413 comes once the head is complete: the app may add headers (CORS) to it.
        extra = (
            error_header_lines(app, status, head.method, head.target, list(head.headers))
            if status == 413
            else b""
        )
        raw = error_response(status, format_date_header(time.time()), extra=extra)
        head_bytes, _, body = raw.partition(b"\r\n\r\n")
        status_line, *lines = head_bytes.split(b"\r\n")
        fields = [(name, value) for name, _, value in (line.partition(b": ") for line in lines)]
        return httpx.Response(int(status_line.split(b" ", 2)[1]), headers=fields, content=body)

    def build_request(
        self, app: Application, request: httpx.Request, head: _Head, body: _Body
    ) -> Any:
        url = request.url
        client: tuple[str, int] | None = _TEST_CLIENT_ADDR
        scheme = url.scheme
        if self.peer_trusted:
            forwarded = [
                (name.lower(), value)
                for name, value in head.headers
                if name.lower() in FORWARDING_HEADERS
            ]
            if forwarded:
                client, scheme = resolve_forwarded(forwarded, client, scheme, self.trusted)
        port = url.port or (443 if url.scheme == "https" else 80)
        spool = body.spool
        parts = body.parts
        return app.request_class(
            head.method,
            head.target,
            head.headers,
            None if spool is not None else (parts[0] if len(parts) == 1 else b"".join(parts)),
            client,
            scheme,
            (url.host, port),
            "1.1",
            spool,
        )

    def fields(self, keep_alive: bool) -> list[tuple[bytes, bytes]]:
        """The fields the server adds after the app's own: date, server, connection."""
        added = [(b"date", format_date(time.time()))]
        if self.server_header:
            added.append((b"server", self.server_header))
        if not keep_alive:
            added.append((b"connection", b"close"))
        return added


def _build_request(
    app: Application, request: httpx.Request, body: bytes, config: ServerConfig | None = None
) -> Any:
    """What ``dispatch`` would get for ``request`` carrying ``body`` (to drive it by hand)."""
    rules = _ServerRules(config if config is not None else _server_config())
    head = rules.head(request)
    collected = rules.body(head)
    collected.feed(body)
    return rules.build_request(app, request, head, collected)


def _to_httpx(
    head: _Head,
    response: ResponseLike,
    added: list[tuple[bytes, bytes]],
    make_stream: Callable[[bool, int], httpx.SyncByteStream | httpx.AsyncByteStream],
) -> httpx.Response:
    """What the server would send, as an httpx response (the body dropped where it would be)."""
    status = response.status_code
    skip = _no_body(head.method, status)
    headers = [*response.raw_headers, *added]
    if response.stream is not None:
        declared = declared_length(response.raw_headers)
        if declared < 0 and not skip:
            headers.append((b"transfer-encoding", b"chunked"))
        return httpx.Response(status, headers=headers, stream=make_stream(skip, declared))
    if not (status < 200 or status in NO_BODY_STATUSES):
        headers.append((b"content-length", b"%d" % len(response.body)))
    content = b"" if skip else response.body
    return httpx.Response(status, headers=headers, content=content)


class _LengthCheck:
    """A stream that declared its length must yield exactly that: the server cuts the
    connection otherwise, which a client on the network sees as a broken message."""

    __slots__ = ("declared", "sent")

    def __init__(self, declared: int) -> None:
        self.declared = declared
        self.sent = 0

    def add(self, chunk: bytes) -> None:
        self.sent += len(chunk)
        if 0 <= self.declared < self.sent:
            raise httpx.RemoteProtocolError(
                f"stream longer than its content-length {self.declared}: "
                "the server aborts the connection"
            )

    def end(self) -> None:
        if self.declared >= 0 and self.sent != self.declared:
            raise httpx.RemoteProtocolError(
                f"stream ended at {self.sent} of its content-length {self.declared}: "
                "the server aborts the connection"
            )


class _SyncStream(httpx.SyncByteStream):
    def __init__(
        self,
        runner: asyncio.Runner,
        request: RawRequest,
        response: ResponseLike,
        skip_body: bool,
        declared: int,
    ) -> None:
        self._runner = runner
        self._request = request
        self._response = response
        self._skip_body = skip_body
        self._check = _LengthCheck(declared)

    def __iter__(self) -> Iterator[bytes]:
        stream = self._response.stream
        if self._skip_body or stream is None:
            return  # the server never pulls a stream it sends no body for
        check = self._check
        if isinstance(stream, AsyncIterable):
            iterator = aiter(stream)
            while True:
                try:
                    chunk: bytes = self._runner.run(_next_chunk(iterator))
                except StopAsyncIteration:
                    break
                if chunk:
                    check.add(chunk)
                    yield chunk
        else:
            for chunk in stream:
                if chunk:
                    check.add(chunk)
                    yield chunk
        check.end()

    def close(self) -> None:
        background = self._response.background
        try:
            if background is not None:
                self._response.background = None
                self._runner.run(_wait(background()))
        finally:
            _release(self._request)


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(
        self, request: RawRequest, response: ResponseLike, skip_body: bool, declared: int
    ) -> None:
        self._request = request
        self._response = response
        self._skip_body = skip_body
        self._check = _LengthCheck(declared)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._response.stream
        if self._skip_body or stream is None:
            return
        check = self._check
        if isinstance(stream, AsyncIterable):
            async for chunk in stream:
                if chunk:
                    check.add(chunk)
                    yield chunk
        elif isinstance(stream, Iterable):
            for chunk in stream:
                if chunk:
                    check.add(chunk)
                    yield chunk
        check.end()

    async def aclose(self) -> None:
        background = self._response.background
        try:
            if background is not None:
                self._response.background = None
                await background()
        finally:
            _release(self._request)


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


class _BoltTransport(httpx.BaseTransport):
    """Runs the app on a private event loop owned by the client."""

    def __init__(self, app: Application, raise_server_exceptions: bool) -> None:
        self.app = app
        self._runner: asyncio.Runner | None = None
        self.errors = _ServerErrors(app, raise_server_exceptions)
        self.rules = _ServerRules(_server_config())

    def _ensure_started(self) -> asyncio.Runner:
        if self._runner is None:
            self._runner = asyncio.Runner()
            self._runner.run(self.app.startup())
        return self._runner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        runner = self._ensure_started()
        rules = self.rules
        head = rules.head(request)
        refusal = head.refusal(rules.config)
        if refusal:
            return rules.refuse(self.app, head, refusal)
        body = rules.body(head)
        # Pulled piece by piece, so a streamed upload is spooled (or refused) as it arrives.
        stream = request.stream
        if not isinstance(stream, Iterable):  # pragma: no cover - httpx gives a sync client one
            raise TypeError("TestClient needs a synchronous request body")
        for piece in stream:
            if not body.feed(piece):
                return rules.refuse(self.app, head, 413)
        bolt_request = rules.build_request(self.app, request, head, body)
        try:
            response = runner.run(self.app.dispatch(bolt_request))
            self.errors.raise_caught()
            if response.stream is None and response.background is not None:
                runner.run(_wait(response.background()))
        except BaseException:
            _release(bolt_request)
            raise
        if response.stream is None:
            _release(bolt_request)
        return _to_httpx(
            head,
            response,
            rules.fields(head.keep_alive),
            lambda skip, declared: _SyncStream(runner, bolt_request, response, skip, declared),
        )

    def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                runner.run(self.app.shutdown())
            finally:
                runner.close()


class _AsyncBoltTransport(httpx.AsyncBaseTransport):
    """Runs the app on the caller's event loop."""

    def __init__(self, app: Application, raise_server_exceptions: bool) -> None:
        self.app = app
        self.started = False
        self.errors = _ServerErrors(app, raise_server_exceptions)
        self.rules = _ServerRules(_server_config())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.started:
            self.started = True
            await self.app.startup()
        rules = self.rules
        head = rules.head(request)
        refusal = head.refusal(rules.config)
        if refusal:
            return rules.refuse(self.app, head, refusal)
        body = rules.body(head)
        stream = request.stream
        if not isinstance(stream, AsyncIterable):  # pragma: no cover - httpx gives one
            raise TypeError("AsyncTestClient needs an asynchronous request body")
        async for piece in stream:
            if not body.feed(piece):
                return rules.refuse(self.app, head, 413)
        bolt_request = rules.build_request(self.app, request, head, body)
        try:
            response = await self.app.dispatch(bolt_request)
            self.errors.raise_caught()
            if response.stream is None and response.background is not None:
                await response.background()
        except BaseException:
            _release(bolt_request)
            raise
        if response.stream is None:
            _release(bolt_request)
        return _to_httpx(
            head,
            response,
            rules.fields(head.keep_alive),
            lambda skip, declared: _AsyncStream(bolt_request, response, skip, declared),
        )

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
        self.app = app
        transport = _BoltTransport(app, raise_server_exceptions)
        super().__init__(transport=transport, base_url=base_url, **kwargs)


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
    response.iter_content = functools.partial(_chunks, response)  # type: ignore[method-assign]
    response.iter_lines = functools.partial(_lines, response)  # type: ignore[method-assign]
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
        self.app = app
        transport = _AsyncBoltTransport(app, raise_server_exceptions)
        super().__init__(transport=transport, base_url=base_url, **kwargs)

    async def query(self, url: httpx.URL | str, **kwargs: Any) -> httpx.Response:
        """A QUERY request (httpx has no shortcut for it)."""
        return await self.request("QUERY", url, **kwargs)


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
