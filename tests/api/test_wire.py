"""The framework through the real runbolt over TCP: what the TestClient shows, the network shows."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest

from django_bolt.testing import TestClient
from tests.api.wirecompare import client_answer, parse_wire, wire_bytes
from tests.api.wireproj.wiresite import settings as wire_settings
from tests.api.wireproj.wiresite.api import api as wire_api
from tests.integration.conftest import run_bolt

__all__ = ("run_bolt",)  # the fixture, imported so this module can use it

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).parent / "wireproj"


@pytest.fixture
def server(run_bolt):
    return run_bolt(cwd=PROJECT)


def request(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_params_and_json(server):
    status, headers, body = request(server, "GET", "/items/7?q=x")
    assert (status, headers["content-type"], json.loads(body)) == (
        200,
        "application/json",
        {"id": 7, "q": "x"},
    )


def test_validation_error_shape(server):
    status, _, body = request(server, "POST", "/items", b'{"name": "a", "price": "x"}')
    assert status == 422
    assert json.loads(body) == {
        "detail": [
            {
                "loc": ["body", "price"],
                "msg": "Expected `float`, got `str`",
                "type": "validation_error",
            }
        ]
    }


def test_404_405_options_head_308(server):
    assert request(server, "GET", "/nope")[0] == 404
    status, headers, _ = request(server, "DELETE", "/hello")
    assert (status, headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    status, headers, body = request(server, "OPTIONS", "/hello")
    assert (status, headers["allow"], body) == (204, "GET, HEAD, OPTIONS", b"")
    status, headers, body = request(server, "HEAD", "/hello")
    assert (status, headers["content-length"], body) == (200, "17", b"")
    status, headers, _ = request(server, "GET", "/hello/?a=1")
    assert (status, headers["location"]) == (308, "/hello?a=1")


def test_streaming_and_sse(server):
    status, headers, body = request(server, "GET", "/stream")
    assert (status, headers["transfer-encoding"], body) == (
        200,
        "chunked",
        b"chunk0;chunk1;chunk2;",
    )
    status, headers, body = request(server, "GET", "/events")
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert body == b'event: tick\ndata: {"n":1}\n\n'


def test_file_range_and_etag(server):
    status, headers, body = request(server, "GET", "/file", headers={"Range": "bytes=2-4"})
    assert (status, headers["content-range"], body) == (206, "bytes 2-4/20", b"234")
    status, _, body = request(server, "GET", "/file", headers={"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")


# --- the same request through the TestClient and through runbolt's socket ---------------------

APP = "https://app.example.com"


@pytest.fixture
def client(settings):
    """A TestClient for the project's API, under the project's own server and CORS settings."""
    for name in ("BOLT_MAX_UPLOAD_SIZE", "BOLT_BODY_SPOOL_THRESHOLD", "CORS_ALLOWED_ORIGINS"):
        setattr(settings, name, getattr(wire_settings, name))
    wire_api.compile()  # the CORS policies are read from the settings here
    with TestClient(wire_api) as client:
        yield client


def exchange(server, data: bytes) -> bytes:
    """Write ``data`` in one go and read until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(data)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


@pytest.mark.parametrize(
    ("method", "path", "pieces", "kwargs", "status"),
    [
        pytest.param(
            "POST",
            "/upload",
            None,
            {"content": b"z" * 5000, "headers": {"Origin": APP}},
            413,
            id="413-content-length",
        ),
        pytest.param(
            "POST",
            "/upload",
            [b"x" * 3000, b"y" * 3000],
            {"headers": {"Origin": APP}},
            413,
            id="413-chunked",
        ),
        pytest.param(
            "POST",
            "/upload",
            [b"x" * 1500],
            {"headers": {"Origin": APP, "Connection": "close"}},
            200,
            id="spooled",
        ),
        pytest.param(
            "POST",
            "/upload",
            None,
            {"content": b"x" * 500, "headers": {"Connection": "close"}},
            200,
            id="in-memory",
        ),
        pytest.param(
            "GET",
            "/peer",
            None,
            {"headers": {"X-Forwarded-For": "203.0.113.9", "Connection": "close"}},
            200,
            id="forwarded",
        ),
        pytest.param(
            "GET", "/stream", None, {"headers": {"Connection": "close"}}, 200, id="chunked-answer"
        ),
    ],
)
def test_the_network_and_the_test_client_answer_alike(
    server, client, method, path, pieces, kwargs, status
):
    if pieces is not None:
        kwargs["content"] = iter(pieces)
    request = client.build_request(method, path, **kwargs)
    data = wire_bytes(request, pieces)
    if status == 413 and pieces is None:
        # Only the head is written: the server answers before reading a body it refuses.
        data = data[: data.index(b"\r\n\r\n") + 4]
    network = parse_wire(exchange(server, data))
    assert network == client_answer(client.send(request, stream=True))
    assert network[0] == status
