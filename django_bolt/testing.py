"""In-process test clients: httpx clients whose transport calls the same ``dispatch`` as the server.

The transport builds the request object exactly as the server does (``app.request_class`` with
the same positional arguments) and applies the server's own rules to the response: no body for
HEAD/1xx/204/304, ``content-length`` for buffered bodies, ``background`` run after the last byte.
So a test sees what a client on the network would see, without a socket. A body above the
server's ``body_spool_threshold`` is spooled to a temporary file exactly as the server spools it
(and closed after the response), so handlers meet the same file-backed body.

    from django_bolt.testing import TestClient

    with TestClient(api) as client:
        assert client.get("/hello").json() == {"message": "world"}
"""

from __future__ import annotations

import asyncio
import os
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

from django_bolt.server.contract import SpooledBody

if TYPE_CHECKING:
    from django_bolt.conf import ServerConfig
    from django_bolt.server.contract import Application, RawRequest, ResponseLike

__all__ = ("AsyncTestClient", "BoltTestClientWarning", "TestClient", "bolt_client_factory")

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
    return method == "HEAD" or status < 200 or status in (204, 304)


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


def _build_request(
    app: Application, request: httpx.Request, body: bytes, config: ServerConfig | None = None
) -> Any:
    if config is None:
        config = _server_config()
    spooled: SpooledBody | None = None
    if len(body) > config.body_spool_threshold:
        spooled = SpooledBody.from_bytes(body, config.body_spool_dir or None)
    url = request.url
    # The server drops header names with "_" (they would collide with "-" in Django's META).
    headers = [(k, v) for k, v in request.headers.raw if b"_" not in k]
    port = url.port or (443 if url.scheme == "https" else 80)
    return app.request_class(
        request.method,
        url.raw_path,
        headers,
        None if spooled is not None else body,
        _TEST_CLIENT_ADDR,
        url.scheme,
        (url.host, port),
        "1.1",
        spooled,
    )


def _head(
    response: ResponseLike, method: str, body_length: int | None
) -> list[tuple[bytes, bytes]]:
    headers = list(response.raw_headers)
    if body_length is not None and not (
        response.status_code < 200 or response.status_code in (204, 304)
    ):
        headers.append((b"content-length", str(body_length).encode()))
    elif (
        response.stream is not None
        and not _no_body(method, response.status_code)
        and not any(name == b"content-length" for name, _ in headers)
    ):
        headers.append((b"transfer-encoding", b"chunked"))
    return headers


def _to_httpx(
    method: str,
    response: ResponseLike,
    make_stream: Callable[[bool], httpx.SyncByteStream | httpx.AsyncByteStream],
) -> httpx.Response:
    """What the server would send, as an httpx response (the body dropped where it would be)."""
    skip = _no_body(method, response.status_code)
    if response.stream is not None:
        headers = _head(response, method, None)
        return httpx.Response(response.status_code, headers=headers, stream=make_stream(skip))
    headers = _head(response, method, len(response.body))
    content = b"" if skip else response.body
    return httpx.Response(response.status_code, headers=headers, content=content)


class _SyncStream(httpx.SyncByteStream):
    def __init__(
        self, runner: asyncio.Runner, request: RawRequest, response: ResponseLike, skip_body: bool
    ) -> None:
        self._runner = runner
        self._request = request
        self._response = response
        self._skip_body = skip_body

    def __iter__(self) -> Iterator[bytes]:
        stream = self._response.stream
        if isinstance(stream, AsyncIterable):
            iterator = aiter(stream)
            while True:
                try:
                    chunk: bytes = self._runner.run(_next_chunk(iterator))
                except StopAsyncIteration:
                    break
                if not self._skip_body:
                    yield chunk
        elif stream is not None:
            for chunk in stream:
                if not self._skip_body:
                    yield chunk

    def close(self) -> None:
        background = self._response.background
        try:
            if background is not None:
                self._response.background = None
                self._runner.run(_wait(background()))
        finally:
            _release(self._request)


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, request: RawRequest, response: ResponseLike, skip_body: bool) -> None:
        self._request = request
        self._response = response
        self._skip_body = skip_body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._response.stream
        if isinstance(stream, AsyncIterable):
            async for chunk in stream:
                if not self._skip_body:
                    yield chunk
        elif isinstance(stream, Iterable):
            for chunk in stream:
                if not self._skip_body:
                    yield chunk

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
        self.config = _server_config()

    def _ensure_started(self) -> asyncio.Runner:
        if self._runner is None:
            self._runner = asyncio.Runner()
            self._runner.run(self.app.startup())
        return self._runner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        runner = self._ensure_started()
        body = request.read()
        bolt_request = _build_request(self.app, request, body, self.config)
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
            request.method,
            response,
            lambda skip: _SyncStream(runner, bolt_request, response, skip),
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
        self.config = _server_config()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.started:
            self.started = True
            await self.app.startup()
        body = await request.aread()
        bolt_request = _build_request(self.app, request, body, self.config)
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
            request.method, response, lambda skip: _AsyncStream(bolt_request, response, skip)
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
