"""The framework through the real runbolt over TCP: what the TestClient shows, the network shows."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

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
