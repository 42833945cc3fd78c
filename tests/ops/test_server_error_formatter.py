"""The server's own refusals (413, 414, 400, ...) written by the API's error_formatter.

The server asks the application for the body (``error_body``) and keeps the status, the
framing and the header check; a formatter that fails leaves the server's plain JSON answer.
Over a real socket and through the TestClient, which drives the same protocol.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from django_bolt import BoltAPI, Request
from django_bolt.error_handlers import BoltError, problem_details
from django_bolt.responses import JSON, Response
from django_bolt.server.config import ServerConfig
from django_bolt.server.loops import new_event_loop
from django_bolt.server.protocol import HttpProtocol, ServerState
from django_bolt.testing import TestClient


def make_api(formatter: Any) -> BoltAPI:
    api = BoltAPI(error_formatter=formatter)

    @api.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    return api


async def _exchange(api: BoltAPI, raw: bytes, **options: Any) -> bytes:
    """Serve ``api`` on a loopback socket, send ``raw``, return everything until the close."""
    await api.startup()
    state = ServerState(api, ServerConfig(**options), None)
    server = await asyncio.get_running_loop().create_server(
        lambda: HttpProtocol(state), "127.0.0.1", 0
    )
    try:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(raw)
        await writer.drain()
        data = await reader.read()  # the server closes after a refusal
        writer.close()
        return data
    finally:
        state.force_close()
        server.close()
        await server.wait_closed()
        await api.shutdown()


def over_socket(api: BoltAPI, raw: bytes, **options: Any) -> tuple[int, dict[bytes, bytes], bytes]:
    loop = new_event_loop()
    try:
        data = loop.run_until_complete(asyncio.wait_for(_exchange(api, raw, **options), 20))
    finally:
        loop.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    fields = dict(line.split(b": ", 1) for line in lines[1:])
    assert int(fields[b"content-length"]) == len(body)
    return int(lines[0].split()[1]), fields, body


UPLOAD = b"POST /upload?x=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n"


def test_a_413_over_a_socket_is_problem_details_naming_the_path() -> None:
    status, fields, body = over_socket(make_api(problem_details), UPLOAD, max_upload_size=1000)
    assert status == 413
    assert fields[b"content-type"] == b"application/problem+json"
    assert fields[b"connection"] == b"close"
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "Request body too large",
        "instance": "/upload",
    }


def test_a_malformed_request_line_reaches_the_formatter_without_a_request() -> None:
    seen: list[tuple[int, str, Any]] = []

    def formatter(error: BoltError, request: Any) -> Response:
        seen.append((error.status, error.kind, request))
        return JSON({"code": error.kind}, error.status)

    status, fields, body = over_socket(make_api(formatter), b"GET /\x01 HTTP/1.1\r\n\r\n")
    assert status == 400
    assert json.loads(body) == {"code": "bad_request"}
    assert fields[b"content-type"] == b"application/json"
    assert seen == [(400, "bad_request", None)]


def test_a_414_and_a_505_are_formatted_too() -> None:
    api = make_api(problem_details)
    status, _, body = over_socket(
        api, b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n", max_request_line_bytes=100
    )
    assert (status, json.loads(body)["status"]) == (414, 414)
    status, _, body = over_socket(make_api(problem_details), b"GET / HTTP/1.2\r\nHost: t\r\n\r\n")
    assert (status, json.loads(body)["title"]) == (505, "HTTP Version Not Supported")


def test_a_formatter_that_raises_leaves_the_plain_answer_and_is_logged(caplog) -> None:
    def broken(error: BoltError, request: Any) -> Response:
        raise RuntimeError("formatter bug")

    with caplog.at_level(logging.ERROR):
        status, fields, body = over_socket(make_api(broken), UPLOAD, max_upload_size=1000)
    assert status == 413
    assert fields[b"content-type"] == b"application/json"
    assert body == b'{"detail":"Request body too large"}'
    assert "error_formatter failed" in caplog.text


@pytest.mark.parametrize(
    "junk",
    [
        pytest.param(lambda e, r: {"not": "a response"}, id="not-a-response"),
        pytest.param(
            lambda e, r: Response(b"x", e.status, media_type="text/plain\r\nx-evil: 1"),
            id="header-injection",
        ),
    ],
)
def test_junk_from_the_formatter_never_reaches_the_wire(junk: Any) -> None:
    status, fields, body = over_socket(make_api(junk), UPLOAD, max_upload_size=1000)
    assert status == 413
    assert b"x-evil" not in fields
    assert body == b'{"detail":"Request body too large"}'


def test_a_hook_returning_junk_is_refused_by_the_server(caplog) -> None:
    api = make_api(None)
    api.error_body = lambda *args: ("text/plain", "str, not bytes")  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        status, _, body = over_socket(api, UPLOAD, max_upload_size=1000)
    assert (status, body) == (413, b'{"detail":"Request body too large"}')
    assert "error_body failed" in caplog.text


def test_without_a_formatter_the_server_answers_as_before() -> None:
    status, fields, body = over_socket(make_api(None), UPLOAD, max_upload_size=1000)
    assert (status, fields[b"content-type"], body) == (
        413,
        b"application/json",
        b'{"detail":"Request body too large"}',
    )


def test_the_test_client_sees_the_same_formatted_refusal(settings) -> None:
    settings.BOLT_MAX_UPLOAD_SIZE = 1000
    with TestClient(make_api(problem_details)) as client:
        response = client.post("/upload", content=b"x" * 5000)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/upload"
    assert response.json()["detail"] == "Request body too large"
