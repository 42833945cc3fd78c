"""What every test client shares: the app compiled for it, the server state, the event loop.

A client compiles its API when it is made, against the settings in force then (an
``override_settings`` around its creation, its ``cors_allowed_origins``), and with nothing kept
from an earlier client of the same API. The server options come from the settings as a worker
reads them.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx
from django.conf import settings
from django.test import override_settings

from django_bolt._django.dbshare import serving
from django_bolt.conf import ServerConfig, load_server_config
from django_bolt.server.memory import ConnectionClosed, MemoryConnection, ResponseHead
from django_bolt.server.state import ServerState

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from django_bolt.server.contract import Application

__all__ = ("PrivateLoop", "Server", "cut", "request_head")

_T = TypeVar("_T")

# A local client: loopback is a trusted proxy by default, so X-Forwarded-* headers sent by a
# test are believed exactly as the server believes them from a proxy on the same machine.
_TEST_CLIENT_ADDR: Final = ("127.0.0.1", 50000)


def _cors_settings(origins: list[str]) -> dict[str, Any]:
    """Return the settings ``TestClient(cors_allowed_origins=...)`` stands for: these origins,
    or every origin for a ``"*"`` entry (Django-Bolt 0.13's meaning)."""
    if "*" in origins:
        return {"CORS_ALLOWED_ORIGINS": [], "CORS_ALLOW_ALL_ORIGINS": True}
    return {"CORS_ALLOWED_ORIGINS": list(origins), "CORS_ALLOW_ALL_ORIGINS": False}


def _compile_for_client(app: Application, cors_allowed_origins: list[str] | None) -> None:
    """Compile ``app`` now, against the settings in force (with the client's CORS origins).

    An API keeps what it compiled until it compiles again: each client doing so when it is made
    means an earlier client's settings never reach a later one. (Two clients of one API open at
    the same time share the table of the newer one.)
    """
    compile_app = getattr(app, "compile", None)
    if compile_app is None:
        if cors_allowed_origins is not None:
            raise TypeError("cors_allowed_origins needs a BoltAPI (an app with compile())")
        return
    if cors_allowed_origins is None:
        compile_app()
        return
    with override_settings(**_cors_settings(cors_allowed_origins)):
        compile_app()


def _server_config() -> ServerConfig:
    """Return the server options a real worker would run with (defaults without Django settings)."""
    if not settings.configured:
        return ServerConfig()
    return load_server_config({}, os.environ, settings)


def request_head(request: httpx.Request) -> bytes:
    """Return the request line and header section, as a client writes them."""
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
    lines.append(b"\r\n")
    return b"".join(lines)


def cut(error: ConnectionClosed) -> httpx.RemoteProtocolError:
    """Return what httpx raises for a connection the server cut."""
    return httpx.RemoteProtocolError(str(error))


class ServerErrors:
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


class Server:
    """What every transport shares: the app, the server state a worker would have, the wire."""

    def __init__(
        self,
        app: Application,
        raise_server_exceptions: bool,
        cors_allowed_origins: list[str] | None = None,
    ) -> None:
        _compile_for_client(app, cors_allowed_origins)
        self.app = app
        self.errors = ServerErrors(app, raise_server_exceptions)
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


class PrivateLoop:
    """The event loop a synchronous client serves its app on, in the test's own thread.

    While it runs, the test's thread waits, so the database connections a client lends are the
    handlers' to use (``_django.dbshare``).
    """

    __slots__ = ("_runner",)

    def __init__(self) -> None:
        self._runner: asyncio.Runner | None = None

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` to its end on this loop (made on first use)."""
        runner = self._runner
        if runner is None:
            runner = self._runner = asyncio.Runner()
        with serving():
            return runner.run(coro)

    def close(self) -> None:
        """Close the loop (its remaining tasks are cancelled); a later ``run`` makes a new one."""
        runner, self._runner = self._runner, None
        if runner is not None:
            with serving():
                runner.close()
