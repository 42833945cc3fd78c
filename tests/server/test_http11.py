"""The HTTP/1.1 rules of server/http11.py, one function at a time, on bytes."""

from __future__ import annotations

import random

import httptools
import pytest

from django_bolt.server.http11 import (
    FIELD_CLOSE,
    FIELD_CONTENT_LENGTH,
    FIELD_DROP,
    FIELD_FORWARDING,
    FIELD_HOST,
    FIELD_OK,
    FIELD_TRANSFER_ENCODING,
    ChunkSizeGuard,
    InvalidResponseField,
    check_response_field,
    field_kind,
    find_body_start,
    is_valid_host,
    options_asterisk_response,
    parse_declared_length,
    parse_target,
    starts_request_line,
)

# --- request-target ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "path", "authority"),
    [
        pytest.param(b"GET", b"/a?b=c", b"/a?b=c", None, id="origin-form"),
        pytest.param(b"GET", b"http://h.example/p?q", b"/p?q", b"h.example", id="absolute"),
        pytest.param(b"GET", b"HTTPS://h.example:8443/", b"/", b"h.example:8443", id="https"),
        pytest.param(b"GET", b"http://h.example", b"/", b"h.example", id="empty-path"),
        pytest.param(b"GET", b"http://h.example?q=1", b"/?q=1", b"h.example", id="query-only"),
        pytest.param(b"GET", b"http://[::1]:80/x", b"/x", b"[::1]:80", id="ipv6"),
    ],
)
def test_acceptable_targets(method: bytes, url: bytes, path: bytes, authority: bytes) -> None:
    target = parse_target(method, url)
    assert target is not None
    assert (target.path, target.authority, target.asterisk) == (path, authority, False)


def test_asterisk_is_for_options_only() -> None:
    target = parse_target(b"OPTIONS", b"*")
    assert target is not None and target.asterisk
    assert parse_target(b"GET", b"*") is None


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(b"/a#frag", id="fragment"),
        pytest.param(b"http://user@h.example/", id="userinfo"),
        pytest.param(b"http://good.example@evil.example/", id="userinfo-host-confusion"),
        pytest.param(b"ftp://h.example/", id="other-scheme"),
        pytest.param(b"http:///p", id="no-authority"),
        pytest.param(b"http://a,b/p", id="list-host"),
        pytest.param(b"http://h.example:99999/", id="port-out-of-range"),
        pytest.param(b"h.example:443", id="authority-form"),
        pytest.param(b"a/b", id="relative"),
    ],
)
def test_refused_targets(url: bytes) -> None:
    assert parse_target(b"GET", url) is None


# --- Host -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [b"example.com", b"EXAMPLE.com:8080", b"127.0.0.1", b"[::1]", b"[::1]:8000", b"a-b.c", b""],
)
def test_valid_hosts(host: bytes) -> None:
    assert is_valid_host(host)


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(b"evil@good", id="userinfo"),
        pytest.param(b"good#@evil", id="fragment"),
        pytest.param(b"a b", id="space"),
        pytest.param(b"a, b", id="list"),
        pytest.param(b"good:65536", id="port-too-large"),
        pytest.param(b"good:", id="empty-port"),
        pytest.param(b"good:80:80", id="two-ports"),
        pytest.param(b"under_score", id="underscore"),
        pytest.param(b"h/x", id="slash"),
        pytest.param(b"h\\x", id="backslash"),
        pytest.param(b"[::1", id="open-bracket"),
    ],
)
def test_invalid_hosts(host: bytes) -> None:
    assert not is_valid_host(host)


# --- request line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "request_line"),
    [
        (b"GET", True),
        (b"GET /a", True),
        (b"GET http://h:80/a", True),
        (b"X-A:", False),
        (b"X-A: b", False),
        (b"", True),
    ],
)
def test_a_line_with_two_spaces_is_judged_by_what_comes_first(
    prefix: bytes, request_line: bool
) -> None:
    assert starts_request_line(prefix) is request_line


# --- response fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "verdict"),
    [
        (b"content-type", b"application/json", FIELD_OK),
        (b"X-Custom", b"a\tb c", FIELD_OK),
        (b"set-cookie", b'a="x\\073y"; Path=/', FIELD_OK),
        (b"content-length", b"12", FIELD_DROP),
        (b"Transfer-Encoding", b"chunked", FIELD_DROP),
        (b"connection", b"keep-alive", FIELD_DROP),
        (b"connection", b"Upgrade, Close", FIELD_CLOSE),
        (b"keep-alive", b"timeout=5", FIELD_DROP),
        (b"upgrade", b"websocket", FIELD_DROP),
    ],
)
def test_response_fields(name: bytes, value: bytes, verdict: int) -> None:
    assert check_response_field(name, value) == verdict


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param(b"x-a", b"1\r\nSet-Cookie: evil=1", id="crlf-in-value"),
        pytest.param(b"x-a", b"1\nx", id="lf-in-value"),
        pytest.param(b"x-a", b"1\rx", id="cr-in-value"),
        pytest.param(b"x-a", b"1\x00x", id="nul-in-value"),
        pytest.param(b"x-a", b"1\x7fx", id="del-in-value"),
        pytest.param(b"x-a", b" leading", id="leading-space"),
        pytest.param(b"x-a", b"trailing ", id="trailing-space"),
        pytest.param(b"x a", b"1", id="space-in-name"),
        pytest.param(b"x-a:", b"1", id="colon-in-name"),
        pytest.param(b"", b"1", id="empty-name"),
        pytest.param(b"x-a\r\n", b"1", id="crlf-in-name"),
    ],
)
def test_fields_that_would_split_the_response_are_refused(name: bytes, value: bytes) -> None:
    with pytest.raises(InvalidResponseField):
        check_response_field(name, value)


def test_fields_must_be_bytes() -> None:
    with pytest.raises(InvalidResponseField):
        check_response_field(b"x-a", "text")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [b"-1", b"1 2", b"0x10", b"", b"1" * 19])
def test_a_declared_length_must_be_digits(value: bytes) -> None:
    with pytest.raises(InvalidResponseField):
        parse_declared_length(value)


def test_options_asterisk_answer() -> None:
    answer = options_asterisk_response(b"date: D\r\n")
    assert answer.startswith(b"HTTP/1.1 204 No Content\r\nallow: GET, HEAD, POST")
    assert answer.endswith(b"date: D\r\nconnection: close\r\n\r\n")


# --- chunked bodies ---------------------------------------------------------------------------


def test_the_guard_refuses_a_chunk_announcing_more_than_the_limit_before_its_data() -> None:
    guard = ChunkSizeGuard(limit=1000)
    assert guard.feed(b"3e8\r\n") == 0  # exactly the limit
    guard = ChunkSizeGuard(limit=1000)
    assert guard.feed(b"3e9\r\n") == 413


def test_the_guard_adds_chunks_up() -> None:
    guard = ChunkSizeGuard(limit=10)
    assert guard.feed(b"6\r\nabcdef\r\n") == 0
    assert guard.feed(b"5;x=y\r\n") == 413


def test_the_guard_bounds_a_size_line_across_pieces() -> None:
    guard = ChunkSizeGuard(limit=10, max_line_bytes=16)
    assert guard.feed(b"3;ext=") == 0
    assert guard.feed(b"aaaaaaaa") == 0
    assert guard.feed(b"aaaaaaaa") == 400


def test_the_guard_stops_at_the_last_chunk() -> None:
    guard = ChunkSizeGuard(limit=10)
    assert guard.feed(b"2\r\nab\r\n0\r\nX-Big: 999999999\r\n\r\n") == 0
    assert guard.done
    assert guard.stop == len(b"2\r\nab\r\n0\r\n")


def test_find_body_start_skips_complete_messages() -> None:
    data = (
        b"\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n\r\n\r\n"
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\r\n\r\n0\r\nT: 1\r\n\r\n"
        b"POST /d HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nBODY"
    )
    assert data[find_body_start(data, 0, 3) :] == b"BODY"
    assert data[find_body_start(data, 0, 0) : find_body_start(data, 0, 0) + 7] == b"POST /b"


class _Events:
    """llhttp's view of a chunked body: the data of each chunk, as sizes."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.current = 0

    def on_chunk_header(self) -> None:
        self.current = 0

    def on_body(self, body: bytes) -> None:
        self.current += len(body)

    def on_chunk_complete(self) -> None:
        self.sizes.append(self.current)


@pytest.mark.parametrize("seed", range(40), ids=lambda seed: f"seed={seed}")
def test_the_guard_reads_the_sizes_llhttp_reads(seed: int) -> None:
    """Random chunked bodies, fed in random pieces: the guard announces what llhttp delivers."""
    rng = random.Random(seed)
    sizes = [rng.choice((1, 2, 15, 16, 255, 4096, rng.randrange(1, 70000))) for _ in range(6)]
    body = b""
    for size in sizes:
        extension = b";n=v" * rng.randrange(3) + (b';q="a b"' if rng.random() < 0.3 else b"")
        body += b"%x%s\r\n%s\r\n" % (size, extension, bytes([65 + size % 26]) * size)
    body += b"0\r\n" + (b"T: 1\r\n" if rng.random() < 0.5 else b"") + b"\r\n"
    head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    events = _Events()
    parser = httptools.HttpRequestParser(events)
    parser.feed_data(head)
    guard = ChunkSizeGuard(limit=sum(sizes))
    cuts = sorted(rng.sample(range(1, len(body)), k=min(8, len(body) - 1)))
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        piece = body[start:end]
        parser.feed_data(piece)
        assert guard.feed(piece) == 0
    assert guard.done
    assert events.sizes[:-1] == sizes  # llhttp reports the last, empty chunk too
    assert guard.announced == sum(sizes)
    tight = ChunkSizeGuard(limit=sum(sizes) - 1)
    assert tight.feed(body) == 413


# --- request fields the reader looks at ------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "kind"),
    [
        ((b"host", b"Host", b"HOST", b"hOsT"), FIELD_HOST),
        (
            (b"content-length", b"Content-Length", b"CONTENT-LENGTH", b"content-Length"),
            FIELD_CONTENT_LENGTH,
        ),
        (
            (b"transfer-encoding", b"Transfer-Encoding", b"TRANSFER-encoding"),
            FIELD_TRANSFER_ENCODING,
        ),
        ((b"x-forwarded-for", b"X-Forwarded-For", b"X-FORWARDED-FOR"), FIELD_FORWARDING),
        ((b"user-agent", b"User-Agent", b"USER-AGENT", b"x-token", b"X-Hosts", b"hosts"), 0),
    ],
)
def test_a_field_name_means_the_same_however_it_is_spelt(
    spellings: tuple[bytes, ...], kind: int
) -> None:
    # The usual spellings are found as they come, any other after lower-casing: same answer.
    assert [field_kind(name) for name in spellings] == [kind] * len(spellings)
