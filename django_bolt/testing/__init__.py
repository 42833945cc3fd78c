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

A client compiles its API against the settings in force when it is made; entering it runs
start-up (and leaving it, shutdown); while it is open, handlers use the test's own database
connections (``share_db_connection``), so they see the rows of a ``TestCase``.

    from django_bolt.testing import TestClient

    with TestClient(api) as client:
        assert client.get("/hello").json() == {"message": "world"}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_bolt._django.dbshare import SharedTestConnectionError
from django_bolt.testing.client import AsyncTestClient, BoltTestClientWarning, TestClient
from django_bolt.testing.websocket import (
    ConnectionClosed,
    HandshakeRejected,
    WebSocketTestClient,
    WebSocketTestSession,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from django_bolt.server.contract import Application

__all__ = (
    "AsyncTestClient",
    "BoltTestClientWarning",
    "ConnectionClosed",
    "HandshakeRejected",
    "SharedTestConnectionError",
    "TestClient",
    "WebSocketTestClient",
    "WebSocketTestSession",
    "bolt_client_factory",
)


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pass
else:

    @pytest.fixture
    def bolt_client_factory() -> Iterator[Callable[..., TestClient]]:
        """``client = bolt_client_factory(api)``: an open TestClient, closed after the test.

        Each client is entered when it is made (start-up runs, the test's database connections
        are lent) and left after the test. Make the fixture available with
        ``from django_bolt.testing import bolt_client_factory`` in a ``conftest.py``.
        """
        clients: list[TestClient] = []

        def make(app: Application, **kwargs: Any) -> TestClient:
            client = TestClient(app, **kwargs)
            client.__enter__()
            clients.append(client)
            return client

        yield make
        for client in reversed(clients):
            client.__exit__(None, None, None)
