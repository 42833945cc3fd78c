"""The TestClient is served by the server's own protocol: its refusals, limits and heads.

The client writes each request as bytes into ``HttpProtocol`` on an in-memory connection and
reads the response back from the bytes written, so these are the server's behaviours seen
through httpx: there is no second implementation to compare with.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any, Final

import httpx
import pytest

from django_bolt import BoltAPI, Request, Response, StreamingResponse
from django_bolt.conf import OPTIONS
from django_bolt.testing import AsyncTestClient, TestClient
from tests.api.wirecompare import Answer, client_answer
from tests.server.conftest import Driver, loop

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("loop",)  # the fixture, imported so this module can use it

APP: Final = "https://app.example.com"
# Settings names of the server options, from the table runbolt's flags come from.
SETTING: Final = {f.name: option.setting for f, option in OPTIONS if option.setting}


def make_api(pulled: list[str] | None = None) -> BoltAPI:
    api = BoltAPI()

    @api.get("/hello")
    async def hello():
        return {"hello": "world"}

    @api.post("/upload")
    async def upload(request: Request):
        body = request.body
        return {
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "spooled": request.body_file is not None,
        }

    @api.get("/stream")
    async def stream():
        async def chunks():
            if pulled is not None:
                pulled.append("stream")
            for i in range(3):
                yield f"chunk{i};"

        return StreamingResponse(chunks())

    @api.get("/nothing")
    async def nothing():
        return Response(b"", 204)

    @api.get("/peer")
    async def peer(request: Request):
        return {"client": request.client[0], "scheme": request.scheme}

    return api


def configure(settings: Any, **config: Any) -> dict[str, Any]:
    """Set server options as Django settings, where the TestClient reads them."""
    for name, value in config.items():
        setattr(settings, SETTING[name], value)
    return config


def answer(
    api: BoltAPI, method: str, url: str, pieces: list[bytes] | None = None, **kwargs: Any
) -> Answer:
    """``(status, header fields, body as sent)`` of one request through the TestClient."""
    with TestClient(api) as client:
        if pieces is not None:
            kwargs["content"] = iter(pieces)
        return client_answer(client.send(client.build_request(method, url, **kwargs), stream=True))


# --- the server's own refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "method", "url", "kwargs", "status"),
    [
        pytest.param(
            {"max_upload_size": 1000},
            "POST",
            "/upload",
            {"content": b"x" * 1001},
            413,
            id="413-content-length",
        ),
        pytest.param(
            {"max_upload_size": 1000},
            "POST",
            "/upload",
            {"content": b"x" * 1001, "headers": {"Origin": APP}},
            413,
            id="413-with-cors",
        ),
        pytest.param(
            {"max_upload_size": 1000},
            "POST",
            "/nowhere",
            {"content": b"x" * 1001, "headers": {"Origin": APP}},
            413,
            id="413-unknown-path-global-cors",
        ),
        pytest.param(
            {"max_request_line_bytes": 50},
            "GET",
            "/hello?q=" + "x" * 50,
            {},
            414,
            id="414-target",
        ),
        pytest.param(
            {"max_header_count": 8},
            "GET",
            "/hello",
            {"headers": {f"x-h{i}": "1" for i in range(5)}},
            431,
            id="431-count",
        ),
        pytest.param(
            {"max_header_bytes": 300},
            "GET",
            "/hello",
            {"headers": {"x-big": "y" * 300}},
            431,
            id="431-size",
        ),
        pytest.param(
            {},
            "GET",
            "/hello",
            {"headers": [("host", "a.example"), ("host", "a.example")]},
            400,
            id="400-two-hosts",
        ),
        pytest.param(
            {},
            "GET",
            "/hello",
            {"headers": {"transfer-encoding": "gzip"}},
            501,
            id="501-coding",
        ),
    ],
)
def test_refusals_are_the_servers(settings, config, method, url, kwargs, status):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    configure(settings, **config)
    client = answer(make_api(), method, url, **kwargs)
    assert client[0] == status
    assert client[2].startswith(b'{"detail":"')
    assert (b"connection", b"close") in client[1]
    if "headers" in kwargs and "Origin" in kwargs["headers"]:
        assert (b"access-control-allow-origin", APP.encode()) in client[1]


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    configure(settings, max_upload_size=1000)
    pieces = [b"x" * 600, b"y" * 600]
    client = answer(make_api(), "POST", "/upload", pieces, headers={"Origin": APP})
    assert client[0] == 413
    assert client[2] == b'{"detail":"Request body too large"}'
    assert (b"access-control-allow-origin", APP.encode()) in client[1]


def test_the_client_stops_pulling_a_streamed_body_past_the_limit(settings):
    configure(settings, max_upload_size=1000)
    pulled: list[int] = []

    def pieces() -> Iterator[bytes]:
        for i in range(10):
            pulled.append(i)
            yield b"x" * 400

    seen: list[int] = []
    api = make_api()

    @api.post("/count")
    async def count(request: Request):
        seen.append(len(request.body))
        return {}

    with TestClient(api) as client:
        response = client.post("/count", content=pieces())
    assert response.status_code == 413
    # The third piece crosses 1000 bytes: the rest is never read, the handler never runs.
    assert (pulled, seen) == ([0, 1, 2], [])


def test_a_body_at_the_limit_is_served(settings):
    configure(settings, max_upload_size=1000, body_spool_threshold=100)
    client = answer(make_api(), "POST", "/upload", [b"x" * 500, b"y" * 500])
    assert client[0] == 200
    assert b'"size":1000' in client[2]
    assert b'"spooled":true' in client[2]


@pytest.mark.parametrize(
    ("size", "spooled"), [(100, False), (101, True)], ids=["in-memory", "spooled"]
)
def test_a_body_is_spooled_where_the_server_spools_it(settings, size, spooled):
    configure(settings, body_spool_threshold=100)
    content = bytes(range(256)) * 4
    client = answer(make_api(), "POST", "/upload", content=content[:size])
    assert (b'"spooled":%s' % (b"true" if spooled else b"false")) in client[2]


def test_async_client_refuses_too(settings):
    configure(settings, max_upload_size=1000)

    async def pieces():
        for _ in range(3):
            yield b"x" * 600

    async def main() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with AsyncTestClient(make_api()) as client:
            return (
                await client.post("/upload", content=b"x" * 1001),
                await client.post("/upload", content=pieces()),
                await client.post("/upload", content=b"x" * 1000),
            )

    announced, streamed, fits = asyncio.run(main())
    assert (announced.status_code, streamed.status_code, fits.status_code) == (413, 413, 200)
    assert announced.json() == {"detail": "Request body too large"}
    assert announced.headers["connection"] == "close"


# --- the head the server writes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "method", "url", "kwargs"),
    [
        pytest.param({}, "GET", "/hello", {}, id="buffered"),
        pytest.param({}, "HEAD", "/hello", {}, id="head"),
        pytest.param({}, "GET", "/stream", {}, id="chunked"),
        pytest.param({}, "HEAD", "/stream", {}, id="head-of-stream"),
        pytest.param({}, "GET", "/nothing", {}, id="204"),
        pytest.param({}, "GET", "/hello", {"headers": {"Connection": "close"}}, id="close"),
        pytest.param({"keep_alive_s": 0}, "GET", "/hello", {}, id="keep-alive-off"),
        pytest.param({"server_header": "bolt"}, "GET", "/stream", {}, id="server-header"),
    ],
)
def test_response_heads_are_the_servers(settings, config, method, url, kwargs):
    configure(settings, **config)
    client = answer(make_api(), method, url, **kwargs)
    names = [name for name, _ in client[1]]
    assert names.count(b"date") == 1
    if method == "HEAD" or url == "/nothing":
        assert client[2] == b""
    if url == "/stream" and method == "GET":
        assert (b"transfer-encoding", b"chunked") in client[1]
    elif url == "/hello":
        assert (b"content-length", b"17") in client[1]
    assert b"date" in names
    if "server_header" in config:
        assert (b"server", b"bolt") in client[1]
    if config.get("keep_alive_s") == 0 or "headers" in kwargs:
        assert (b"connection", b"close") in client[1]


def test_a_head_request_never_pulls_the_stream():
    pulled: list[str] = []
    client = answer(make_api(pulled), "HEAD", "/stream")
    assert client[0] == 200
    assert pulled == []


@pytest.mark.parametrize(("declared", "sent"), [(5, 8), (20, 8)], ids=["longer", "shorter"])
def test_a_stream_that_breaks_its_length_cuts_the_answer(loop, declared, sent, caplog):
    # Uncompressed: an encoded stream drops the handler's Content-Length, and the server then
    # has no declared length to hold the stream to.
    api = BoltAPI(compression=None)

    @api.get("/file")
    async def file():
        return StreamingResponse(iter([b"x" * sent]), headers={"content-length": str(declared)})

    with TestClient(api) as client:
        driver = Driver(loop, app=api)
        driver.feed(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n")
        assert driver.transport.aborted
        with pytest.raises(httpx.RemoteProtocolError, match="cut the response short"):
            client.get("/file")
    assert "content-length" in caplog.text


# --- client address and scheme ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        pytest.param("127.0.0.1", b'{"client":"203.0.113.9","scheme":"https"}', id="trusted"),
        pytest.param("10.0.0.1", b'{"client":"127.0.0.1","scheme":"http"}', id="untrusted"),
    ],
)
def test_forwarded_headers_are_resolved_as_the_server_does(settings, trusted, expected):
    configure(settings, forwarded_allow_ips=trusted)
    headers = {"X-Forwarded-For": "203.0.113.9, 127.0.0.1", "X-Forwarded-Proto": "https"}
    client = answer(make_api(), "GET", "/peer", headers=headers)
    assert client[2] == expected
