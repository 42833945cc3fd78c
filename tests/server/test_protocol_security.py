"""Issue 12's defects at the protocol, byte for byte: smuggling, splitting, framing, limits.

Each request is fed whole, one byte at a time and, where it matters, with a request pipelined
behind it, to ``HttpProtocol`` on a fake transport (tests/server/conftest.py's ``Driver``).
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.server.apps import EchoApp, SimpleResponse
from tests.server.test_protocol import WAYS, chunks_for, parse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from django_bolt.server.contract import RawRequest
    from tests.server.conftest import Driver

ADMIN = b"GET /admin HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n"
UPGRADE_CL = (
    b"POST /up HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(ADMIN), ADMIN)
)
UPGRADE_H2C_CL = UPGRADE_CL.replace(b"websocket", b"h2c")
UPGRADE_CHUNKED = (
    b"POST /up HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(ADMIN), ADMIN)
)
CONNECT = b"CONNECT evil.example:443 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (
    len(ADMIN),
    ADMIN,
)
CONNECT_ORIGIN_FORM = b"CONNECT /x HTTP/1.1\r\nHost: t\r\n\r\n" + ADMIN
TRAILERS = (
    b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n0\r\nX-Forwarded-For: 6.6.6.6\r\nAuthorization: Bearer stolen\r\n\r\n"
)
ABSOLUTE = b"GET http://api.example:8080/p?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n"
OPTIONS_ASTERISK = b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"
HUGE_CHUNK = b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\nab"
LONG_EXTENSION = (
    b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;" + b"e" * 5000
)


def answers(out: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """(status, fields, body) of each response written."""
    return [
        (int(line.split()[1]), dict(fields), body)
        for line, fields, body in parse(out)  # type: ignore[misc]
    ]


def echoed(body: bytes) -> dict[str, Any]:
    return json.loads(body)  # type: ignore[no-any-return]


# --- 1. no smuggling through an Upgrade the server does not perform -------------------------


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(UPGRADE_CL, id="websocket-content-length"),
        pytest.param(UPGRADE_H2C_CL, id="h2c-content-length"),
        pytest.param(UPGRADE_CHUNKED, id="websocket-chunked"),
    ],
)
def test_an_upgrade_request_keeps_its_body(
    make: Callable[..., Driver], request_bytes: bytes, way: str
) -> None:
    d = make()
    out = d.feed(*chunks_for(request_bytes, way))
    got = answers(out)
    # One answer for the request (and one for the request pipelined behind it): the body that
    # looks like a request is the first one's body, never a request of its own.
    assert [status for status, _, _ in got] == [200] * (2 if way == "pipelined" else 1)
    first = echoed(got[0][2])
    assert (first["target"], first["body"]) == ("/up", ADMIN.decode())
    assert [r.target for r in d.app.seen] == [b"/up"] + ([b"/second"] if way == "pipelined" else [])


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    "request_bytes",
    [pytest.param(CONNECT, id="authority-form"), pytest.param(CONNECT_ORIGIN_FORM, id="origin")],
)
def test_connect_is_refused_and_the_connection_closes(
    make: Callable[..., Driver], request_bytes: bytes, way: str
) -> None:
    d = make()
    out = d.feed(*chunks_for(request_bytes, way))
    assert answers(out) == [
        (
            501,
            answers(out)[0][1],
            b'{"detail":"CONNECT is not supported: this server is not a proxy"}',
        )
    ]
    assert d.transport.closed
    assert d.app.seen == []


# --- 6. trailers never become header fields ----------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_trailers_are_not_merged_into_the_headers(make: Callable[..., Driver], way: str) -> None:
    d = make()  # the peer (127.0.0.1) is a trusted proxy: a trailer X-Forwarded-For would count
    d.feed(*chunks_for(TRAILERS, way))
    request = d.app.seen[0]
    assert request.body == b"abc"
    names = [name.lower() for name, _ in request.raw_headers]
    assert b"authorization" not in names
    assert b"x-forwarded-for" not in names
    assert request.client == ("127.0.0.1", 50000)


def test_trailers_count_against_the_header_limit(make: Callable[..., Driver]) -> None:
    d = make(max_header_bytes=100)
    big = b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: %s\r\n\r\n"
    out = d.feed(big % (b"v" * 200))
    assert answers(out)[0][0] == 431
    assert d.app.seen == []


# --- 5. Host -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [b"evil@good", b"good#@evil", b"a b", b"a,b", b"good:65536", b"good:80:80", b"x_y.example"],
)
def test_an_invalid_host_is_a_400_before_the_application(
    make: Callable[..., Driver], host: bytes
) -> None:
    d = make()
    out = d.feed(b"GET /a HTTP/1.1\r\nHost: %s\r\n\r\n" % host)
    assert answers(out)[0][0] == 400
    assert answers(out)[0][2] == b'{"detail":"Invalid Host header"}'
    assert d.app.seen == []


# --- 8. request-target forms and the request line -----------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_absolute_form_is_served_with_the_targets_host(
    make: Callable[..., Driver], way: str
) -> None:
    d = make()
    d.feed(*chunks_for(ABSOLUTE, way))
    request = d.app.seen[0]
    assert request.target == b"/p?q=1"
    hosts = [value for name, value in request.raw_headers if name.lower() == b"host"]
    assert hosts == [b"api.example:8080"]


@pytest.mark.parametrize("way", WAYS)
def test_options_asterisk_is_answered_by_the_server(make: Callable[..., Driver], way: str) -> None:
    d = make()
    out = d.feed(*chunks_for(OPTIONS_ASTERISK, way))
    status, fields, body = answers(out)[0]
    assert (status, body) == (204, b"")
    assert fields[b"allow"].startswith(b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
    assert d.app.seen == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET * HTTP/1.1\r\nHost: t\r\n\r\n", id="asterisk-not-options"),
        pytest.param(b"GET http://u@h/ HTTP/1.1\r\nHost: t\r\n\r\n", id="userinfo"),
        pytest.param(b"GET ftp://h/ HTTP/1.1\r\nHost: t\r\n\r\n", id="ftp"),
        pytest.param(b"GET /a#top HTTP/1.1\r\nHost: t\r\n\r\n", id="fragment"),
    ],
)
def test_other_targets_are_400(make: Callable[..., Driver], request_bytes: bytes) -> None:
    d = make()
    out = d.feed(request_bytes)
    assert answers(out)[0][:1] == (400,)
    assert d.app.seen == []


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET  /a HTTP/1.1\r\nHost: t\r\n\r\n", id="before-target"),
        pytest.param(b"GET /a  HTTP/1.1\r\nHost: t\r\n\r\n", id="before-version"),
        pytest.param(b"GET   http://h/a HTTP/1.1\r\nHost: t\r\n\r\n", id="three"),
    ],
)
def test_the_request_line_takes_single_spaces(
    make: Callable[..., Driver], request_bytes: bytes, way: str
) -> None:
    d = make()
    out = d.feed(*chunks_for(request_bytes, way))
    assert answers(out) == [
        (
            400,
            answers(out)[0][1],
            b'{"detail":"Request line parts must be separated by single spaces"}',
        )
    ]
    assert d.app.seen == []


def test_a_spaced_request_line_behind_a_good_request_is_refused_after_its_answer(
    make: Callable[..., Driver],
) -> None:
    d = make()
    out = d.feed(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET  /admin HTTP/1.1\r\nHost: t\r\n\r\n")
    assert [status for status, _, _ in answers(out)] == [200, 400]
    assert [r.target for r in d.app.seen] == [b"/a"]


@pytest.mark.parametrize("way", WAYS)
def test_two_spaces_elsewhere_are_fine(make: Callable[..., Driver], way: str) -> None:
    d = make()
    request = b"POST /p HTTP/1.1\r\nHost: t\r\nX-A:  two  spaces\r\nContent-Length: 6\r\n\r\na  b  "
    out = d.feed(*chunks_for(request, way))
    assert answers(out)[0][0] == 200
    assert d.app.seen[0].body == b"a  b  "


# --- 10. chunk sizes and extensions ----------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_a_chunk_announcing_more_than_the_limit_is_413_before_its_data(
    make: Callable[..., Driver], way: str
) -> None:
    d = make(max_upload_size=1000)
    chunks = chunks_for(HUGE_CHUNK, way)
    if way == "pipelined":  # behind other requests in the same read, as the size line arrives
        chunks = (b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n" + POST_5 + HUGE_CHUNK,)
    out = d.feed(*chunks)
    statuses = [status for status, _, _ in answers(out)]
    assert statuses[-1] == 413
    assert d.transport.closed


POST_5 = b"POST /five HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"


def test_the_limit_counts_every_chunk_announced(make: Callable[..., Driver]) -> None:
    d = make(max_upload_size=10)
    out = d.feed(
        b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n",
        b"6\r\nab",
    )
    assert answers(out)[0][0] == 413


def test_a_chunked_body_after_a_chunked_body_in_one_read_is_watched(
    make: Callable[..., Driver],
) -> None:
    d = make(max_upload_size=1000)
    first = b"POST /one HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"
    rest = b"c\r\n0\r\n\r\n" + HUGE_CHUNK
    out = d.feed(first, rest)
    assert [status for status, _, _ in answers(out)] == [200, 413]


@pytest.mark.parametrize("way", WAYS)
def test_a_long_chunk_extension_is_400(make: Callable[..., Driver], way: str) -> None:
    d = make()
    out = d.feed(*chunks_for(LONG_EXTENSION, way))
    assert answers(out)[-1][:1] == (400,)
    if way != "pipelined":  # there llhttp refuses the request behind it as chunk data first
        assert answers(out)[-1][2] == b'{"detail":"Chunk size line too long"}'
    assert d.app.seen == []


@pytest.mark.parametrize("way", WAYS)
def test_chunk_extensions_within_bounds_are_served(make: Callable[..., Driver], way: str) -> None:
    d = make(max_upload_size=100)
    request = (
        b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;name=value;q="a b"\r\nhello\r\n0;end\r\n\r\n'
    )
    out = d.feed(*chunks_for(request, way))
    assert answers(out)[0][0] == 200
    assert d.app.seen[0].body == b"hello"


# --- 4. the server owns framing; 2. every field is checked ------------------------------------


class HeaderApp(EchoApp):
    """Answers with the header fields the test gives it."""

    def __init__(self, fields: list[tuple[bytes, bytes]], stream: bool = False) -> None:
        super().__init__()
        self.fields = fields
        self.stream = stream

    async def dispatch(self, request: RawRequest) -> SimpleResponse:
        self.seen.append(request)
        if not self.stream:
            return SimpleResponse(raw_headers=list(self.fields), body=b"hello")

        async def body() -> AsyncIterator[bytes]:
            yield b"hel"
            yield b"lo"

        return SimpleResponse(raw_headers=list(self.fields), stream=body())


FRAMING = [
    (b"content-type", b"text/plain"),
    (b"content-length", b"999"),
    (b"transfer-encoding", b"chunked"),
    (b"connection", b"keep-alive"),
    (b"keep-alive", b"timeout=99"),
]


def test_framing_fields_from_the_application_are_dropped(make: Callable[..., Driver]) -> None:
    d = make(app=HeaderApp(FRAMING))
    out = d.feed(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
    head = out.split(b"\r\n\r\n")[0].lower()
    assert head.count(b"content-length") == 1
    assert b"content-length: 5\r\n" in head + b"\r\n"
    assert b"transfer-encoding" not in head
    assert b"keep-alive" not in head
    assert out.endswith(b"\r\n\r\nhello")


def test_a_stream_keeps_the_length_it_declares_and_nothing_else(
    make: Callable[..., Driver],
) -> None:
    fields = [(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]
    d = make(app=HeaderApp(fields, stream=True))
    out = d.feed(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.lower().count(b"content-length: 5") == 1
    assert b"transfer-encoding" not in head.lower()
    assert body == b"hello"


def test_the_applications_connection_close_ends_the_connection(
    make: Callable[..., Driver],
) -> None:
    d = make(app=HeaderApp([(b"connection", b"close")]))
    out = d.feed(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
    assert out.count(b"connection: close") == 1
    assert d.transport.closed


@pytest.mark.parametrize(
    "field",
    [
        pytest.param((b"set-cookie", b"a=1\r\nX-Injected: 1"), id="crlf-in-cookie"),
        pytest.param((b"location", b"/x\r\n\r\n<html>"), id="body-in-location"),
        pytest.param((b"x-a", b"a\x00b"), id="nul"),
        pytest.param((b"x-a\r\nx-b", b"1"), id="crlf-in-name"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["buffered", "streamed"])
def test_a_field_that_would_split_the_response_gives_a_500(
    make: Callable[..., Driver],
    field: tuple[bytes, bytes],
    stream: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    d = make(app=HeaderApp([field], stream=stream))
    out = d.feed(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answers(out) == [(500, answers(out)[0][1], b'{"detail":"Internal Server Error"}')]
    assert b"injected" not in out.lower()
    assert b"<html>" not in out
    assert "not sent" in caplog.text


def test_a_field_whose_line_is_kept_is_sent_again_and_its_name_checked_anew(
    make: Callable[..., Driver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The lines of valid pairs are kept (http11.CHECKED_LINES): a pair sent before goes out
    the same, and the same name with a value never seen is checked as the first time."""
    good = (b"x-kept", b"one")
    app = HeaderApp([good])
    d = make(app=app)
    request = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
    first = d.feed(request)
    again = d.feed(request)
    for out in (first, again):
        assert answers(out)[0][0] == 200
        assert b"\r\nx-kept: one\r\n" in out
    # A pair equal to the kept one but built anew is found by its value.
    app.fields = [(b"x-" + b"kept", b"o" + b"ne")]
    assert b"\r\nx-kept: one\r\n" in d.feed(request)
    app.fields = [(b"x-kept", b"two\r\nx-injected: 1")]
    out = d.feed(request)
    assert answers(out)[-1][0] == 500
    assert b"injected" not in out.lower()
    assert "not sent" in caplog.text


def test_fields_given_as_lists_are_checked_and_sent_like_pairs(
    make: Callable[..., Driver],
) -> None:
    fields: list[Any] = [[b"x-list", b"1"], [b"content-length", b"999"]]
    d = make(app=HeaderApp(fields))
    request = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
    for _ in range(2):
        out = d.feed(request)
        head = out.split(b"\r\n\r\n")[0].lower()
        assert b"\r\nx-list: 1" in head
        assert head.count(b"content-length") == 1  # the application's framing field dropped
        assert out.endswith(b"\r\n\r\nhello")


# --- 3. bounded memory: pipelining without reading -------------------------------------------


def test_a_client_that_pipelines_and_never_reads_is_bounded(make: Callable[..., Driver]) -> None:
    d = make()
    requests = b"GET /big?100000 HTTP/1.1\r\nHost: t\r\n\r\n" * 2000  # 70 KB in one read
    dispatched: list[int] = []

    def stop_writing_after_two(data: Any) -> None:
        FakeWrite(d, data)
        if len(dispatched) < len(d.app.seen):
            dispatched.append(len(d.app.seen))
        if len(d.app.seen) >= 2 and not d.conn.write_paused:
            d.conn.pause_writing()  # what the transport says once its buffer is full

    d.replace_write(stop_writing_after_two)
    d.feed(requests)
    # Once writing paused nothing more runs, reading stopped, and what waits is bounded.
    assert len(d.app.seen) == 2
    assert not d.transport.reading
    assert len(d.conn.pipeline) <= 16 + 4096 // len(b"GET /big?100000 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert len(d.conn.held) > len(requests) // 2  # the rest waits unparsed, as bytes


def FakeWrite(d: Driver, data: Any) -> None:
    type(d.transport).write(d.transport, data)


def test_a_client_that_does_not_read_for_the_write_timeout_is_cut(
    make: Callable[..., Driver],
) -> None:
    d = make(write_timeout_s=5.0)
    d.conn.pause_writing()
    since = d.conn.write_paused_since
    d.conn.check_timeouts(since + 4.9)
    assert not d.transport.aborted
    d.conn.check_timeouts(since + 5.0)
    assert d.transport.aborted


def test_the_queue_resumes_when_the_client_reads_again(make: Callable[..., Driver]) -> None:
    d = make()
    d.conn.pause_writing()
    d.feed(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n" * 3)
    # Nothing is answered into a buffer the client does not drain: the requests wait.
    assert len(d.app.seen) == 0
    assert len(d.conn.pipeline) == 3
    d.run(d.conn.resume_writing)
    assert len(d.app.seen) == 3
    assert len(answers(d.out)) == 3


# --- slow bodies and too many connections --------------------------------------------------


def test_a_body_trickling_in_is_cut_by_the_minimum_rate(make: Callable[..., Driver]) -> None:
    d = make(body_read_timeout_s=10.0, body_min_rate=100, keep_alive_s=60.0)
    d.feed(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"x" * 200)
    started = d.conn.body_started
    # 200 bytes earned 2 more seconds: 12 s in all.
    d.conn.check_timeouts(started + 11.9)
    assert not d.transport.closed
    d.conn.check_timeouts(started + 12.0)
    assert answers(d.out)[0][0] == 408
    assert d.transport.closed


def test_a_body_that_keeps_its_rate_is_never_cut(make: Callable[..., Driver]) -> None:
    d = make(body_read_timeout_s=10.0, body_min_rate=100, keep_alive_s=60.0)
    d.feed(b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
    started = d.conn.body_started
    for second in range(1, 60):
        d.state.now = started + second
        d.conn.on_body(b"x" * 120)  # 120 bytes a second: above the minimum
        d.conn.check_timeouts(started + second)
    assert not d.transport.closed


def test_connections_beyond_the_limit_get_503(
    loop: asyncio.AbstractEventLoop, make: Callable[..., Driver]
) -> None:
    from tests.server.conftest import FakeTransport

    d = make(limit_concurrency=1)
    assert not d.transport.closed
    extra = FakeTransport(loop)

    async def connect() -> Any:
        from django_bolt.server.protocol import HttpProtocol

        conn = HttpProtocol(d.state)
        extra.protocol = conn
        conn.connection_made(extra)
        await asyncio.sleep(0)
        return conn

    loop.run_until_complete(connect())
    assert bytes(extra.written).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b'{"detail":"Too many connections"}' in extra.written
    assert extra.closed


# --- 9. streams stop when the client leaves --------------------------------------------------


class EndlessApp(EchoApp):
    """Streams until stopped, noting when its generator is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = asyncio.Event()

    async def dispatch(self, request: RawRequest) -> SimpleResponse:
        self.seen.append(request)
        closed = self.closed

        async def events() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield b"data: tick\n\n"
                    await asyncio.sleep(30)
            finally:
                closed.set()

        return SimpleResponse(
            raw_headers=[(b"content-type", b"text/event-stream")], stream=events()
        )


def test_a_stream_stops_when_the_client_half_closes(make: Callable[..., Driver]) -> None:
    app = EndlessApp()
    d = make(app=app)
    d.feed_nowait(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
    d.run(lambda: None)
    assert b"data: tick" in d.out
    assert not app.closed.is_set()
    keep_open = d.conn.eof_received()
    assert keep_open is False  # the transport closes: the client has gone
    d.transport.close()
    d.run(lambda: asyncio.wait_for(app.closed.wait(), 2))
    assert app.closed.is_set()


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(
            (b"GET  /a HTTP/1.1\r\nHost: t\r\n", b"\r\n"), id="head-ends-in-the-next-read"
        ),
        pytest.param(
            (b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET  /b HTTP/1.1\r\nHo", b"st: t\r\n\r\n"),
            id="pipelined-head-ends-later",
        ),
        pytest.param((b"\r\nGET /a  HTTP/1.1\r\nHost: t\r\n\r\n",), id="after-an-empty-line"),
        pytest.param(
            (
                b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab"
                b"GET  /b HTTP/1.1\r\nHost: t\r\n\r\n",
            ),
            id="behind-a-body",
        ),
    ],
)
def test_spaced_request_lines_are_found_wherever_the_read_splits(
    make: Callable[..., Driver], chunks: tuple[bytes, ...]
) -> None:
    d = make()
    out = d.feed(*chunks)
    assert (
        answers(out)[-1][2] == b'{"detail":"Request line parts must be separated by single spaces"}'
    )
    assert all(request.target != b"/b" for request in d.app.seen)


# Reads over the reader's pacing size (4 KiB) take its careful path, where a body of known
# length behind a whole head is fed without being searched for two spaces.
_BIG = b'{"k":  "' + b"a  b " * 1300 + b'"}'
_ONE_SPACE_BODY = b'{"detail":"Request line parts must be separated by single spaces"}'


def _post(body: bytes, extra: bytes = b"") -> bytes:
    return b"POST /p HTTP/1.1\r\nHost: t\r\n%sContent-Length: %d\r\n\r\n%s" % (
        extra,
        len(body),
        body,
    )


def _chunked(body: bytes) -> bytes:
    return (
        b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (
            len(body),
            body,
        )
    )


@pytest.mark.parametrize(
    ("chunks", "statuses"),
    [
        pytest.param((_post(_BIG),), [200], id="body-with-pairs"),
        pytest.param(
            (_post(_BIG) + b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n",), [200, 200], id="then-a-request"
        ),
        pytest.param(
            (_post(_BIG) + b"GET  /b HTTP/1.1\r\nHost: t\r\n\r\n",),
            [200, 400],
            id="then-a-spaced-one",
        ),
        pytest.param((_post(_BIG, b"X-Pad: a  b\r\n"),), [200], id="pair-in-a-header-value"),
        pytest.param(
            (b"GET  /b HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 5000 + b"\r\n\r\n",),
            [400],
            id="spaced-big-head",
        ),
        pytest.param(
            (_chunked(_BIG) + b"GET  /b HTTP/1.1\r\nHost: t\r\n\r\n",),
            [200, 400],
            id="chunked-then-spaced",
        ),
        pytest.param(
            (_post(_BIG)[:3000], _post(_BIG)[3000:] + b"GET  /b HTTP/1.1\r\nHost: t\r\n\r\n"),
            [200, 400],
            id="split-body-then-spaced",
        ),
        pytest.param(
            (_post(b"x" * 10) + _post(_BIG) + b"GET  /b HTTP/1.1\r\nHost: t\r\n\r\n",),
            [200, 200, 400],
            id="short-body-first",
        ),
    ],
)
def test_big_reads_keep_bodies_whole_and_still_find_spaced_request_lines(
    make: Callable[..., Driver], chunks: tuple[bytes, ...], statuses: list[int]
) -> None:
    d = make()
    out = d.feed(*chunks)
    got = answers(out)
    assert [status for status, _, _ in got] == statuses
    if statuses[-1] == 400:
        assert got[-1][2] == _ONE_SPACE_BODY
    assert all(request.target != b"/b" or 400 not in statuses for request in d.app.seen)
    if any(_BIG in chunk for chunk in chunks) or len(chunks) > 1:
        bodies = [request.body for request in d.app.seen if request.target in (b"/p", b"/c")]
        assert _BIG in bodies  # handed over whole


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(b"HEAD /a HTTP/1.2\r\nHost: t\r\n\r\n", 505, id="505"),
        pytest.param(b"HEAD /a HTTP/1.1\r\nHost: evil@good\r\n\r\n", 400, id="invalid-host"),
        pytest.param(b"HEAD /a HTTP/1.1\r\nHost: t\r\nContent-Length: 99\r\n\r\n", 413, id="413"),
    ],
)
def test_a_refused_head_request_gets_no_body(
    make: Callable[..., Driver], request_bytes: bytes, status: int
) -> None:
    d = make(max_upload_size=10)
    out = d.feed(request_bytes)
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status)
    assert b"content-length: " in head  # the length the answer would have
    assert body == b""


def test_a_refusal_of_bytes_that_are_no_request_keeps_its_body(make: Callable[..., Driver]) -> None:
    d = make()
    out = d.feed(b"HEAD  /a HTTP/1.1\r\nHost: t\r\n\r\n")  # is it a HEAD? nobody can say
    assert out.endswith(b'{"detail":"Request line parts must be separated by single spaces"}')


def test_options_asterisk_is_answered_once_its_body_is_read(make: Callable[..., Driver]) -> None:
    d = make()
    out = d.feed(b"OPTIONS * HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n")
    assert out == b""  # not before the request is complete
    out = d.feed(b"hello")
    assert answers(out)[0][0] == 204
    assert d.app.seen == []


def test_a_refusal_after_an_upgrade_body_is_the_refusal(
    make: Callable[..., Driver], caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzz tests: the parser error after the relayed body was chained to the
    Upgrade that started the relay, which hid the refusal and made it a 500."""
    d = make()
    out = d.feed(UPGRADE_CL + b"GET /next HTTP/1.1\r\nHost: a b\r\n\r\n")
    assert [status for status, _, _ in answers(out)] == [200, 400]
    assert answers(out)[1][2] == b'{"detail":"Invalid Host header"}'
    assert "parser callback failed" not in caplog.text


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        pytest.param(
            b"OPTIONS * HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            204,
            id="options-asterisk",
        ),
        pytest.param(
            b"CONNECT /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\nabc",
            501,
            id="connect",
        ),
    ],
)
def test_upgrade_with_a_body_on_requests_the_server_answers(
    make: Callable[..., Driver], request_bytes: bytes, status: int
) -> None:
    """Found by the fuzz tests: OPTIONS * was answered before its body, CONNECT raised."""
    d = make()
    head, _, rest = request_bytes.partition(b"\r\n\r\n")
    assert d.feed(head + b"\r\n\r\n") == b"" or status == 501
    out = d.feed(rest)
    assert answers(out)[0][0] == status
    assert d.app.seen == []
