"""Hypothesis strategies for what a client can send: request heads, bodies, whole exchanges.

Mostly well-formed requests to the routes of tests/fuzz/app.py, each piece now and then
replaced by an odd one (a token with a control byte, a duplicate framing header, a chunk size
that lies, JSON nested a thousand deep, a multipart boundary that never ends), so that the
odd piece sits inside requests the server otherwise accepts, and pipelined requests follow it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from hypothesis import strategies as st

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = (
    "PROBE",
    "PROBE_BODY",
    "Exchange",
    "body_requests",
    "exchanges",
    "json_bodies",
    "multipart_bodies",
    "requests",
)

T = TypeVar("T")

# A request every connection that stays open must still answer: 200 {"hello":"world"}.
PROBE: Final = b"GET /hello HTTP/1.1\r\nHost: fuzz\r\n\r\n"
PROBE_BODY: Final = b'{"hello":"world"}'
# Replaced by the body's real length once the body is known.
AUTO: Final = b"\x00auto\x00"
# Feeding "bytewise" sends this many bytes one at a time, the rest in reads of this size.
BYTEWISE_MAX: Final = 4096


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of ``choices``, picked with the given weights (the first is also the simplest).

    A composite rather than ``sampled_from(...).flatmap``: hypothesis validates a flatmapped
    strategy on every draw, which cost more than running the example.
    """
    pool = tuple(index for index, (weight, _) in enumerate(choices) for _ in range(weight))
    strategies = tuple(strategy for _, strategy in choices)

    @st.composite
    def pick(draw: st.DrawFn) -> T:
        return draw(strategies[draw(st.sampled_from(pool))])

    return pick()


def one(draw: st.DrawFn, values: Sequence[T]) -> T:
    return values[draw(st.integers(0, len(values) - 1))]


def usual_in(draw: st.DrawFn, common: Sequence[T], odd: Sequence[T], odd_weight: int = 1) -> T:
    """Mostly one of ``common``, sometimes one of ``odd`` (drawn inside a composite)."""
    return one(draw, common if draw(st.integers(0, 3 + odd_weight)) < 4 else odd)


def usual(common: Sequence[T], odd: Sequence[T], odd_weight: int = 1) -> st.SearchStrategy[T]:
    """Mostly one of ``common``, sometimes one of ``odd``."""
    return weighted((4, st.sampled_from(common)), (odd_weight, st.sampled_from(odd)))


# --- request line ------------------------------------------------------------------------------

METHODS: Final = (b"GET", b"POST", b"HEAD", b"PUT", b"PATCH", b"DELETE", b"OPTIONS")
ODD_METHODS: Final = (
    b"CONNECT",
    b"TRACE",
    b"QUERY",
    b"PRI",
    b"PURGE",
    b"M-SEARCH",
    b"get",
    b"G\x00T",
    b"GE(T",
    b"GET\x7f",
    b"\xc3\x89T",
    b"!#$%&'*+-.^_`|~",
    b"X" * 64,
    b"",
)
PATHS: Final = (
    b"/hello",
    b"/echo",
    b"/echo?a=1&b=%20",
    b"/items/42",
    b"/items/42?q=bolt&limit=3",
    b"/items",
    b"/json",
    b"/upload",
    b"/pid",
    b"/nowhere",
    b"/",
)
ODD_PATHS: Final = (
    b"/items/-1",
    b"/items/abc",
    b"/items/99999999999999999999999",
    b"/items/42?limit=x&limit=2&q",
    b"/items/4%32",
    b"/echo%00",
    b"/echo/",
    b"/echo?%ZZ=%",
    b"/echo?q=%C3%28%FF",
    b"/%2e%2e/echo",
    b"/echo/../hello",
    b"//evil.example/echo",
    b"/\\evil.example",
    b"/..;/echo",
    b"/echo#frag",
    b"/caf\xc3\xa9",
    b"/\xff\xfe",
    b"/echo\x7f",
    b"/e cho",
    b"/e\tcho",
    b"/echo?" + b"q" * 9000,
    b"/" + b"a" * 9000,
)
ABSOLUTE: Final = (
    b"http://fuzz/echo",
    b"http://fuzz:8000/hello",
    b"https://fuzz/items/42?q=1",
    b"HTTP://FUZZ/echo",
    b"http://user@evil/echo",
    b"http://[::1]:8000/echo",
    b"http://fuzz",
    b"http://",
    b"http:/echo",
    b"ftp://fuzz/echo",
    b"javascript:alert(1)",
)
AUTHORITY: Final = (b"fuzz:80", b"fuzz:443", b"fuzz:99999", b"[::1]:443", b"fuzz")
VERSIONS: Final = (b"HTTP/1.1", b"HTTP/1.0")
ODD_VERSIONS: Final = (
    b"HTTP/0.9",
    b"HTTP/2.0",
    b"HTTP/1.2",
    b"HTTP/3.0",
    b"http/1.1",
    b"HTTP/1.10",
    b"HTTP/01.1",
    b"HTTP/1.1 ",
    b"HTTP/1",
    b"HTTX/1.1",
    b"",
)
SEPARATORS: Final = (b" ",)
ODD_SEPARATORS: Final = (b"  ", b"\t", b" \t", b"")
EOLS: Final = (b"\r\n",)
ODD_EOLS: Final = (b"\n", b"\r", b"\r\r\n", b"\n\r")

targets = weighted(
    (12, st.sampled_from(PATHS)),
    (4, st.sampled_from(ODD_PATHS)),
    (2, st.sampled_from(ABSOLUTE)),
    (1, st.sampled_from(AUTHORITY)),
    (1, st.just(b"*")),
    (1, st.binary(min_size=1, max_size=40).map(lambda raw: b"/" + raw)),
)

# --- header fields -----------------------------------------------------------------------------

HOSTS: Final = (b"fuzz", b"fuzz:8000", b"localhost")
ODD_HOSTS: Final = (
    b"",
    b"a b",
    b"evil@good",
    b"good#@evil",
    b"fuzz:99999",
    b"fuzz:",
    b"[::1]",
    b"fuzz, evil",
    b"\xc3\xa9.example",
    b"fuzz\x00",
    b"-" * 300,
)
CONTENT_LENGTHS: Final = (AUTO,)
ODD_CONTENT_LENGTHS: Final = (
    b"0",
    b"5",
    b"-1",
    b"+5",
    b" 5",
    b"5 ",
    b"0x5",
    b"1e3",
    b"5,5",
    b"5, 6",
    b"99999999999999999999",
    b"10485761",
    b"",
)
CODINGS: Final = (b"chunked",)
ODD_CODINGS: Final = (
    b"Chunked",
    b"gzip",
    b"gzip, chunked",
    b"chunked, gzip",
    b"chunked, chunked",
    b"identity",
    b" chunked",
    b"chunked\x00",
    b"\x0bchunked",
    b'"chunked"',
    b"",
)
CONNECTION: Final = (b"keep-alive", b"close", b"Upgrade", b"upgrade, keep-alive")
ODD_CONNECTION: Final = (b"close, upgrade", b"TE", b"Content-Length", b"Host", b"foo", b"")
UPGRADE: Final = (b"websocket", b"h2c")
ODD_UPGRADE: Final = (b"HTTP/2.0", b"foo", b"websocket, h2c", b"")
EXPECT: Final = (b"100-continue",)
ODD_EXPECT: Final = (b"100-Continue", b"200-ok", b"", b"100-continue, foo")
CONTENT_TYPES: Final = (
    b"application/json",
    b"multipart/form-data; boundary=XX",
    b"text/plain",
)
ODD_CONTENT_TYPES: Final = (
    b"application/json; charset=latin-1",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data",
    b'multipart/form-data; boundary="a b"',
    b"multipart/form-data; boundary=" + b"b" * 200,
    b"multipart/mixed; boundary=XX",
    b"application/json\x00",
    b";;;",
    b"",
)
ODD_NAMES: Final = (
    b"X_Forwarded_For",
    b"X A",
    b"X\x00A",
    b"\xc3\xa9",
    b"",
    b" Host",
    b"Host ",
    b"Content-Length ",
    b"Transfer-Encoding\t",
    b"X-" + b"n" * 300,
)
ODD_VALUES: Final = (
    b"a\x00b",
    b"a\rb",
    b"a\x7fb",
    b"\xff\xfe",
    b" padded ",
    b"a\r\n folded",
    b"a\r\n\tfolded",
    b"v" * 70000,
)

UPGRADE_REQUESTS: Final = (
    ((b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")),
    ((b"Connection", b"Upgrade, HTTP2-Settings"), (b"Upgrade", b"h2c"), (b"HTTP2-Settings", b"")),
    ((b"Connection", b"keep-alive, Upgrade"), (b"Upgrade", b"websocket")),
    ((b"Upgrade", b"websocket"),),
)

host_field = usual(HOSTS, ODD_HOSTS).map(lambda v: (b"Host", v))
length_field = usual(CONTENT_LENGTHS, ODD_CONTENT_LENGTHS).map(lambda v: (b"Content-Length", v))
coding_field = usual(CODINGS, ODD_CODINGS).map(lambda v: (b"Transfer-Encoding", v))
other_fields = st.one_of(
    usual(CONNECTION, ODD_CONNECTION).map(lambda v: (b"Connection", v)),
    usual(UPGRADE, ODD_UPGRADE).map(lambda v: (b"Upgrade", v)),
    usual(EXPECT, ODD_EXPECT).map(lambda v: (b"Expect", v)),
    usual(CONTENT_TYPES, ODD_CONTENT_TYPES).map(lambda v: (b"Content-Type", v)),
    st.sampled_from(
        (
            (b"Trailer", b"X-Forwarded-For"),
            (b"X-Forwarded-For", b"6.6.6.6"),
            (b"Forwarded", b"for=6.6.6.6;proto=https"),
            (b"Origin", b"https://app.example.com"),
            (b"Cookie", b"a=b; c"),
            (b"Accept-Encoding", b"gzip, br, zstd"),
            (b"Authorization", b"Bearer x.y.z"),
            (b"TE", b"trailers"),
        )
    ),
    st.tuples(st.sampled_from(ODD_NAMES), st.sampled_from((b"1", *ODD_VALUES))),
    st.tuples(st.just(b"X-Odd"), st.sampled_from(ODD_VALUES)),
    st.tuples(
        st.binary(min_size=1, max_size=12), st.binary(max_size=24)
    ),  # anything at all, colon and CRLF included
)


@st.composite
def header_fields(draw: st.DrawFn, body_kind: str) -> list[tuple[bytes, bytes]]:
    """Header fields for a request whose body is framed as ``body_kind``."""
    fields: list[tuple[bytes, bytes]] = []
    # Host: mostly one, sometimes none or two.
    fields += draw(
        weighted(
            (8, st.lists(host_field, min_size=1, max_size=1)), (1, st.lists(host_field, max_size=2))
        )
    )
    if body_kind == "length":
        fields.append((b"Content-Length", AUTO))
    elif body_kind == "chunked":
        fields.append((b"Transfer-Encoding", b"chunked"))
    # Now and then a second (or first) framing header beside the one the body needs.
    fields += draw(
        weighted(
            (4, st.just([])),
            (1, st.lists(st.one_of(length_field, coding_field), min_size=1, max_size=2)),
        )
    )
    # Asking for a protocol switch the server does not offer, with or without a body.
    fields += draw(weighted((4, st.just(())), (1, st.sampled_from(UPGRADE_REQUESTS))))
    fields += draw(st.lists(other_fields, max_size=4))
    return draw(st.permutations(fields))


# --- bodies ------------------------------------------------------------------------------------


def _nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _item(extra: bytes = b"{}", name: bytes = b'"widget"', price: bytes = b"9.5") -> bytes:
    return b'{"name":%s,"price":%s,"tags":[{"name":"t"}],"extra":%s}' % (name, price, extra)


JSON_SPECIALS: Final = (
    *(_nested(depth, kind) for depth in (64, 1000, 5000) for kind in ("array", "object")),
    _item(extra=_nested(1000, "object")),
    _item(extra=b'{"l":' + _nested(1000, "array") + b"}"),
    _item(price=b"1" * 5000),
    _item(price=b"1e999999"),
    _item(price=b"-0.0e-999999"),
    _item(price=b"18446744073709551616"),
    _item(price=b"NaN"),
    _item(name=b'"\xff\xfe"'),
    _item(name=b'"\\ud800"'),
    _item(name=b'"\xed\xa0\x80"'),
    _item(name=b'"a\x00b"'),
    _item(name=b"1"),
    b'{"name":"x","price":1,"quantity":1e400}',
    b'{"name":"x","price":1,"tags":' + b"[" * 10 + b"]" * 10 + b"}",
    b'{"name":"x","price":1,"name":"again"}',
    b'{"name":"x","price":1}' * 2,
    b'{"name":"x","price":1',
    b'"\\u0000"',
    b"\xef\xbb\xbf{}",
    b"",
    b"null",
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=8,
)
json_bodies = weighted(
    (3, st.sampled_from(JSON_SPECIALS)),
    (
        2,
        json_values.map(lambda value: json.dumps({"name": "n", "price": 1, "extra": value})).map(
            str.encode
        ),
    ),
    (1, json_values.map(lambda value: json.dumps(value).encode())),
    (1, st.binary(max_size=64)),
)


@dataclass(frozen=True, slots=True)
class Part:
    name: bytes
    data: bytes
    filename: bytes | None = None
    content_type: bytes | None = None


parts = st.builds(
    Part,
    name=usual((b"title", b"document"), (b"", b'ti"tle', b"doc\x00ument", b"\xff", b"x" * 300)),
    data=st.binary(max_size=64) | st.sampled_from((b"--XX", b"\r\n--XX--\r\n", b"x" * 70000)),
    filename=st.none() | usual((b"a.txt",), (b"", b"../../etc/passwd", b"a\x00b", b"\xff.bin")),
    content_type=st.none() | st.sampled_from((b"text/plain", b"application/octet-stream", b"")),
)


@st.composite
def multipart_bodies(draw: st.DrawFn, boundary: bytes = b"XX") -> bytes:
    """A multipart/form-data body with ``boundary``, mostly well-formed."""
    title = Part(b"title", b"hello")
    document = Part(b"document", b"file contents", b"a.txt", b"text/plain")
    chosen = usual_in(draw, [[title, document], [document, title]], [[], [title], [document]])
    chosen = chosen + draw(st.lists(parts, max_size=3))
    pieces = []
    for part in chosen:
        disposition = b'form-data; name="%s"' % part.name
        if part.filename is not None:
            disposition += b'; filename="%s"' % part.filename
        head = [b"Content-Disposition: " + disposition]
        if part.content_type is not None:
            head.append(b"Content-Type: " + part.content_type)
        head += draw(
            st.lists(st.sampled_from((b"X: " + b"h" * 20000, b"no colon", b":")), max_size=1)
        )
        pieces.append(b"--%s\r\n%s\r\n\r\n%s\r\n" % (boundary, b"\r\n".join(head), part.data))
    ending = draw(
        usual(
            (b"--%s--\r\n" % boundary,),
            (
                b"",
                b"--%s" % boundary,
                b"--%s--" % boundary,
                b"--" + boundary[:-1],
                b"--%s\r\n" % boundary,
            ),
        )
    )
    preamble = usual_in(draw, (b"",), (b"preamble\r\n", b"\r\n"))
    return preamble + b"".join(pieces) + ending


bodies = weighted(
    (3, json_bodies),
    (2, multipart_bodies()),
    (2, st.binary(max_size=80)),
    (1, st.just(PROBE)),  # a request inside a body: only a smuggler would see it as one
    (1, st.just(b"")),
)

# --- chunked coding ----------------------------------------------------------------------------

CHUNK_EXTENSIONS: Final = (b"",)
ODD_CHUNK_EXTENSIONS: Final = (b";a=b", b";a", b';a="q\\"x"', b";" + b"e" * 5000, b";\x00", b" ;a")


@st.composite
def chunked(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` in the chunked coding, now and then with a size that lies or a bad delimiter."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    out = []
    for piece in pieces:
        if not piece:
            continue
        size = draw(
            usual(
                (b"%x" % len(piece),),
                (
                    b"%X" % len(piece),
                    b"000%x" % len(piece),
                    b"%x" % (len(piece) + 1),
                    b"%x" % max(0, len(piece) - 1),
                    b"0x%x" % len(piece),
                    b"-%x" % len(piece),
                    b" %x" % len(piece),
                    b"ffffffffffffffff",
                    b"fffffffffffffffff0",
                    b"800000",
                ),
            )
        )
        extension = usual_in(draw, CHUNK_EXTENSIONS, ODD_CHUNK_EXTENSIONS)
        end = usual_in(draw, (b"\r\n",), (b"\n", b"", b"X", b"\r\r\n"))
        out.append(b"%s%s\r\n%s%s" % (size, extension, piece, end))
    last = usual_in(draw, (b"0",), (b"00000", b"0;ext=1", b""))
    trailers = draw(
        weighted(
            (6, st.just(b"")),
            (
                1,
                st.sampled_from(
                    (
                        b"X-Forwarded-For: 6.6.6.6\r\n",
                        b"Authorization: Bearer x\r\n",
                        b"Content-Length: 5\r\n",
                        b"Transfer-Encoding: chunked\r\n",
                        b"Host: evil\r\n",
                        b"no colon\r\n",
                        b"X: " + b"t" * 70000 + b"\r\n",
                    )
                ),
            ),
        )
    )
    final = usual_in(draw, (b"\r\n",), (b"", b"\n"))
    out.append(b"%s\r\n%s%s" % (last, trailers, final))
    return b"".join(out)


# --- whole requests ----------------------------------------------------------------------------


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request: a head (mostly well-formed) and a body framed as the head says."""
    body_kind = usual_in(draw, ("none", "length", "chunked"), ("raw",))
    method = usual_in(draw, METHODS, ODD_METHODS, odd_weight=1)
    target = draw(targets)
    version = usual_in(draw, VERSIONS, ODD_VERSIONS)
    sep1, sep2 = (
        usual_in(draw, SEPARATORS, ODD_SEPARATORS),
        usual_in(draw, SEPARATORS, ODD_SEPARATORS),
    )
    eol = draw(weighted((12, st.sampled_from(EOLS)), (1, st.sampled_from(ODD_EOLS))))
    fields = draw(header_fields(body_kind))
    body = draw(bodies) if body_kind != "none" else b""
    if body_kind == "chunked":
        body = draw(chunked(body))
    request_line = method + sep1 + target + (sep2 + version if version else b"")
    lines = [request_line, *(name + b": " + value for name, value in fields)]
    head = b"".join(line + eol for line in lines) + eol
    return head.replace(AUTO, b"%d" % len(body)) + body


BOUNDARIES: Final = (b"XX", b"----WebKitFormBoundary7MA4YWxkTrZu0gW")
ODD_BOUNDARIES: Final = (b"b" * 70, b"b" * 200, b"a b", b"-", b"\xff", b"XX;x")


@st.composite
def body_requests(draw: st.DrawFn) -> bytes:
    """A well-formed POST whose body is JSON or multipart, odd in content rather than framing."""
    if draw(st.booleans()):
        target = draw(st.sampled_from((b"/items", b"/json", b"/echo")))
        content_type = usual_in(draw, (b"application/json",), ODD_CONTENT_TYPES)
        body = draw(json_bodies)
    else:
        target = usual_in(draw, (b"/upload",), (b"/items", b"/json", b"/echo"))
        boundary = usual_in(draw, BOUNDARIES, ODD_BOUNDARIES)
        quoted = b'"%s"' % boundary if b" " in boundary or b";" in boundary else boundary
        content_type = draw(
            usual(
                (b"multipart/form-data; boundary=" + quoted,),
                (b"multipart/form-data", b"application/json", b"multipart/form-data; boundary=YY"),
            )
        )
        body = draw(multipart_bodies(boundary))
    head = b"POST %s HTTP/1.1\r\nHost: fuzz\r\nContent-Type: %s\r\n" % (target, content_type)
    if draw(st.booleans()):
        return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    coded = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + coded


@dataclass(frozen=True, slots=True)
class Exchange:
    """What the client sends and how the bytes arrive.

    ``pieces`` are the reads the server gets: the bytes whole, one byte each, or cut at random
    places. ``probe_behind`` puts :data:`PROBE` in the same bytes, pipelined behind the rest;
    otherwise the probe is sent only once the server has answered what came before.
    """

    data: bytes
    feeding: str
    pieces: tuple[bytes, ...]
    probe_behind: bool

    def __repr__(self) -> str:
        return (
            f"Exchange(feeding={self.feeding!r}, probe_behind={self.probe_behind},"
            f" data={self.data!r})"
        )

    @classmethod
    def fed(cls, data: bytes, feeding: str, probe_behind: bool = False) -> Exchange:
        """``data`` fed "whole" or "bytewise" (the probe follows it, or is pipelined behind)."""
        sent = data + PROBE if probe_behind else data
        if feeding == "whole":
            pieces: tuple[bytes, ...] = (sent,)
        elif feeding == "bytewise":
            # One byte per read up to BYTEWISE_MAX, then reads of that size (a 70 KB header one
            # byte at a time would cost a second and find nothing the first 4 KB do not).
            pieces = tuple(sent[i : i + 1] for i in range(min(len(sent), BYTEWISE_MAX)))
            pieces += tuple(
                sent[i : i + BYTEWISE_MAX] for i in range(BYTEWISE_MAX, len(sent), BYTEWISE_MAX)
            )
        else:
            raise ValueError(f"feeding {feeding!r} needs its cuts; use the constructor")
        return cls(data, feeding, pieces, probe_behind)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """What hypothesis prints for a falsifying example (its printer skips slotted
        dataclasses' fields)."""
        del cycle
        printer.text(repr(self))


@st.composite
def exchanges(draw: st.DrawFn, messages: st.SearchStrategy[bytes] | None = None) -> Exchange:
    """One to three requests (``messages``, or :func:`requests`), fed in one of three ways."""
    if messages is None:
        messages = requests()
    data = b"".join(draw(st.lists(messages, min_size=1, max_size=3)))
    probe_behind = draw(st.booleans())
    feeding = draw(st.sampled_from(("whole", "bytewise", "split")))
    if feeding != "split":
        return Exchange.fed(data, feeding, probe_behind)
    sent = data + PROBE if probe_behind else data
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(sent) - 1)), max_size=6))))
    pieces = tuple(sent[a:b] for a, b in zip([0, *cuts], [*cuts, len(sent)], strict=True))
    return Exchange(data, feeding, pieces, probe_behind)
