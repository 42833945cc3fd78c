"""HTTP/1.1 rules the server applies beyond llhttp's framing, without any I/O.

llhttp (through httptools) splits the bytes into messages and refuses malformed syntax. What it
leaves to the server lives here, as plain functions and small classes over bytes, so that the
asyncio protocol and anything else that speaks HTTP/1.1 for us share one rulebook:

- which request-targets are acceptable (RFC 9112 section 3.2) and how an absolute-form target
  becomes the origin-form path the application sees;
- what a valid ``Host`` is (RFC 9112 section 3.2, with Django's stricter host grammar);
- that the request line separates its three parts with exactly one space (RFC 9112 section 3);
- the one check every response header field passes before it is written, and which fields
  belong to the server alone (framing: RFC 9112 sections 6 and 9.6);
- the size line of each chunk of a chunked request body, read as it arrives so that a chunk
  announcing more than the body limit is refused before its data (RFC 9112 section 7.1).

Nothing here allocates per request on the common path: the checks that run for every request
answer from small bounded caches and fall back to the full rule on a miss.
"""

from __future__ import annotations

import re
from typing import Final

from django_bolt.server.proxy import FORWARDING_HEADERS

__all__ = (
    "CHECKED_NAMES",
    "CHECKED_VALUES",
    "FIELD_CLOSE",
    "FIELD_CONNECTION",
    "FIELD_CONTENT_LENGTH",
    "FIELD_DROP",
    "FIELD_EXPECT",
    "FIELD_FORWARDING",
    "FIELD_HOST",
    "FIELD_OK",
    "FIELD_ORIGIN",
    "FIELD_TRANSFER_ENCODING",
    "FIELD_UPGRADE",
    "FRAMING_FIELDS",
    "MAX_CHUNK_LINE_BYTES",
    "NO_CONNECT",
    "VALID_HOSTS",
    "ChunkSizeGuard",
    "InvalidResponseField",
    "Reject",
    "Target",
    "check_response_field",
    "field_kind",
    "field_tokens",
    "field_values",
    "find_body_start",
    "is_valid_host",
    "offers_websocket",
    "options_asterisk_response",
    "other_method",
    "parse_declared_length",
    "parse_target",
    "remember_field",
    "request_line_spaced",
    "request_line_start",
    "starts_request_line",
    "trailers_end",
)

# --- request-target ---------------------------------------------------------------------------

_SLASH: Final = ord("/")
_HASH: Final = ord("#")
_SCHEMES: Final = (b"http", b"https")


class Target:
    """A request-target that is not plain origin-form, resolved.

    ``path`` is what the application receives as its target (origin-form: path and query).
    ``authority`` is the host of an absolute-form target, which replaces the Host field
    (RFC 9112 section 3.2.2). ``asterisk`` marks ``OPTIONS *``, answered by the server itself.
    """

    __slots__ = ("asterisk", "authority", "path")

    def __init__(self, path: bytes, authority: bytes | None = None, asterisk: bool = False) -> None:
        self.path = path
        self.authority = authority
        self.asterisk = asterisk


def parse_target(method: bytes, url: bytes) -> Target | None:
    """Return the resolved form of ``url``, or None when the target is not acceptable (a 400).

    Accepted: origin-form (``/path?query``), absolute-form with an ``http`` or ``https`` scheme
    and no userinfo (RFC 9110 section 4.2.4 calls userinfo an error), and ``*`` for OPTIONS.
    A fragment is never part of a request-target (RFC 9112 section 3.2). Authority-form belongs
    to CONNECT, which the server refuses before it gets here.
    """
    if _HASH in url:
        return None
    if url[:1] == b"/":
        return Target(url)
    if url == b"*":
        return Target(url, asterisk=True) if method == b"OPTIONS" else None
    scheme, sep, rest = url.partition(b"://")
    if not sep or scheme.lower() not in _SCHEMES:
        return None
    end = len(rest)
    for delimiter in (b"/", b"?"):
        found = rest.find(delimiter)
        if 0 <= found < end:
            end = found
    authority, path = rest[:end], rest[end:]
    if b"@" in authority or not authority or not is_valid_host(authority):
        return None
    if path[:1] != b"/":
        path = b"/" + path  # "http://h?q" means "/?q" (RFC 9112 section 3.2.1's empty path)
    return Target(path, authority=authority)


def starts_request_line(prefix: bytes) -> bool:
    """Whether a line that begins with ``prefix`` (and goes on with two spaces) is a request line.

    Used for RFC 9112 section 3's "exactly one SP between the parts", which llhttp does not
    enforce (it accepts runs of spaces; a lenient reading is how two servers in a chain come to
    disagree about a request). A header line always has its colon before any space, since a
    field name is a token; a request line has its first space before any colon.
    """
    space = prefix.find(b" ")
    colon = prefix.find(b":")
    return colon < 0 or 0 <= space < colon


# --- Host -------------------------------------------------------------------------------------

# Django's own grammar for the Host value (django.http.request.host_validation_re), stricter
# than RFC 3986's reg-name: no sub-delims, so "a,b", "evil@good" and "a b" are refused whatever
# ALLOWED_HOSTS says. The port is checked for range separately.
_HOST_RE: Final = re.compile(rb"(?:[a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]{1,5}))?")
# Clients send the same few Host values over and over: the valid ones seen are remembered, so
# the server's hot path is one set lookup (``value in VALID_HOSTS or is_valid_host(value)``).
VALID_HOSTS: Final[set[bytes]] = set()
_VALID_HOSTS_MAX: Final = 256


def is_valid_host(value: bytes) -> bool:
    """Whether ``value`` is an acceptable Host field value (empty counts: RFC 9112 allows it)."""
    if value in VALID_HOSTS:
        return True
    match = _HOST_RE.fullmatch(value.lower())
    if match is None:
        return value == b""
    port = match.group(1)
    if port is not None and int(port) > 65535:
        return False
    if len(VALID_HOSTS) >= _VALID_HOSTS_MAX:
        VALID_HOSTS.clear()  # a client cycling through names must not grow the set without bound
    VALID_HOSTS.add(value)
    return True


# --- response fields --------------------------------------------------------------------------

FIELD_OK: Final = 0
FIELD_DROP: Final = 1
# A Connection field whose options include "close": dropped, and the connection ends after this
# response (the application's way to ask for it).
FIELD_CLOSE: Final = 2

# Fields that frame the message or the connection: the server computes them (RFC 9112 sections
# 6.1, 6.2 and 9.6; Upgrade belongs to the server's own protocol switch). An application's copy
# would sit beside the server's and let a client read two different framings.
FRAMING_FIELDS: Final = frozenset(
    {b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"upgrade", b"te"}
)
# RFC 9110 section 5.6.2: a field name is a token.
_TOKEN_RE: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 section 5.5: a field value holds visible characters, spaces and tabs; every other
# control character (CR, LF and NUL above all) is refused, and so is leading or trailing space.
_BAD_VALUE_RE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]|^[ \t]|[ \t]$")


class Reject(Exception):
    """Raised inside a parser callback (server/reader.py): answer ``status`` and close.

    ``head_complete`` says the request's method, target and headers are all known (a 413 for a
    body too large), so the application may add headers to the answer (CORS, say).
    """

    def __init__(
        self,
        status: int,
        head_complete: bool = False,
        detail: str | None = None,
        malformed: bool = False,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.head_complete = head_complete
        self.detail = detail
        self.malformed = malformed


NO_CONNECT: Final = "CONNECT is not supported: this server is not a proxy"


def other_method(method: bytes) -> str:
    """Return a method outside the usual table; CONNECT is refused (the server is no tunnel).

    llhttp treats CONNECT as a protocol switch and leaves the bytes after its head unparsed;
    answered as a request, those bytes would be read as the next one. RFC 9110 section 9.3.6
    lets an origin server refuse it: 501, and the connection closes.
    """
    if method == b"CONNECT":
        raise Reject(501, detail=NO_CONNECT)
    return method.decode("latin-1")


class InvalidResponseField(ValueError):
    """A response header field that must not reach the wire (the response becomes a 500)."""


def check_response_field(name: object, value: object) -> int:
    """``FIELD_OK``, ``FIELD_DROP`` or ``FIELD_CLOSE`` for one field, or raise.

    Raises :class:`InvalidResponseField` for a name that is not a token or a value with a
    control character: written out, either would let the value start a header or a body of its
    own (response splitting).
    """
    if not isinstance(name, bytes) or not isinstance(value, bytes):
        raise InvalidResponseField(f"header fields must be bytes, not {name!r}: {value!r}")
    if _TOKEN_RE.fullmatch(name) is None:
        raise InvalidResponseField(f"invalid header name {name!r}")
    if _BAD_VALUE_RE.search(value) is not None:
        raise InvalidResponseField(f"invalid value for header {name.decode('latin-1')}: {value!r}")
    lower = name.lower()
    if lower not in FRAMING_FIELDS:
        return FIELD_OK
    if lower == b"connection" and b"close" in (
        option.strip().lower() for option in value.split(b",")
    ):
        return FIELD_CLOSE
    return FIELD_DROP


def parse_declared_length(value: bytes) -> int:
    """Return a Content-Length an application declared for a stream, or raise (RFC 9110 section
    8.6)."""
    if not value.isdigit() or len(value) > 18:
        raise InvalidResponseField(f"invalid content-length {value!r}")
    return int(value)


# Fields already found valid: the constant ones (content types, Vary, ...) come back with
# every response and are then two set lookups. Short values only, so per-response values
# (tokens, cookies) do not crowd them out; both sets stop growing at their bound.
CHECKED_NAMES: Final[set[bytes]] = set()
CHECKED_VALUES: Final[set[bytes]] = set()
_CHECKED_MAX: Final = 1024
_CHECKED_VALUE_MAX_BYTES: Final = 64


# Whole header lines of valid fields, by their (name, value) pair: a response made of the
# framework's constant pairs (CT_JSON, say) pays one dictionary lookup per field, the pair's
# identity deciding it. Short values only, and no more than the sets above hold.
CHECKED_LINES: Final[dict[tuple[bytes, bytes], bytes]] = {}


def field_line(field: tuple[bytes, bytes]) -> bytes:
    """Return the header line of ``field``, a pair found valid, kept for the next response."""
    name, value = field
    line = b"%s: %s\r\n" % (name, value)
    if len(value) <= _CHECKED_VALUE_MAX_BYTES and len(CHECKED_LINES) < _CHECKED_MAX:
        CHECKED_LINES[field] = line
    return line


def remember_field(name: bytes, value: bytes) -> None:
    """Note a field that passed :func:`check_response_field` with ``FIELD_OK``."""
    if len(CHECKED_NAMES) < _CHECKED_MAX:
        CHECKED_NAMES.add(name)
    if len(value) <= _CHECKED_VALUE_MAX_BYTES and len(CHECKED_VALUES) < _CHECKED_MAX:
        CHECKED_VALUES.add(value)


# What the server answers to "OPTIONS *" (RFC 9110 section 9.3.7: a question about the server,
# not a resource), with the methods any route may accept.
_ALLOWED_METHODS: Final = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, QUERY"


def options_asterisk_response(date_header: bytes) -> bytes:
    """Return the complete answer to ``OPTIONS *``: 204 with ``Allow``; the connection then
    closes."""
    return b"HTTP/1.1 204 No Content\r\nallow: %s\r\n%sconnection: close\r\n\r\n" % (
        _ALLOWED_METHODS,
        date_header,
    )


# --- chunked request bodies -------------------------------------------------------------------

_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_CRLF_CRLF: Final = b"\r\n\r\n"
_CONTENT_LENGTH_RE: Final = re.compile(rb"\ncontent-length:[ \t]*([0-9]+)")
# A chunk's size line with its extensions: nothing legitimate comes near it (llhttp reads an
# extension without bound and reports none of it).
MAX_CHUNK_LINE_BYTES: Final = 4 * 1024


class ChunkSizeGuard:
    """Reads the size lines of one chunked body as its bytes arrive, ahead of llhttp.

    llhttp decodes the body and stays the authority on its syntax, but it reports neither a
    chunk's size nor its extensions: a chunk announcing ten gigabytes would be read until the
    body limit is crossed, and an endless extension would be read at all. The guard follows the
    size lines (skipping the data each one announces) and answers, per piece of the body:

    - 0: nothing to object to;
    - 413: the chunks announce more than ``limit`` bytes in all;
    - 400: a size line (size and extensions) longer than ``max_line_bytes``.

    A line llhttp would refuse is left for llhttp to refuse. After the last chunk only the
    trailer section remains, bounded by the header limits, and the guard stops.
    """

    __slots__ = (
        "_line",
        "_skip",
        "announced",
        "done",
        "limit",
        "max_line_bytes",
        "message",
        "stop",
        "synced",
    )

    def __init__(self, limit: int, max_line_bytes: int = MAX_CHUNK_LINE_BYTES) -> None:
        self.limit = limit
        self.max_line_bytes = max_line_bytes
        # Whether the guard has seen the body from its first byte; until then it cannot know
        # where the size lines are (the server finds the start, see find_body_start()).
        self.synced = False
        self.announced = 0
        self._skip = 0  # data bytes (and their CRLF) to pass over before the next size line
        self._line = b""  # the part of a size line that arrived so far
        self.done = False
        # Which message of its connection the body belongs to (the server's count).
        self.message = 0
        # Where, in the last piece fed, the line of the last chunk ended (once done).
        self.stop = -1

    def feed(self, data: bytes, position: int = 0) -> int:
        """Follow ``data[position:]``, the next bytes of the body."""
        self.synced = True
        end = len(data)
        while position < end and not self.done:
            if self._skip:
                step = min(self._skip, end - position)
                self._skip -= step
                position += step
                continue
            newline = data.find(b"\n", position, position + self.max_line_bytes + 1)
            if newline < 0:
                self._line += data[position : position + self.max_line_bytes + 1]
                return 400 if len(self._line) > self.max_line_bytes else 0
            line = self._line + data[position:newline]
            self._line = b""
            position = newline + 1
            if len(line) > self.max_line_bytes:
                return 400
            size_text = line.split(b";", 1)[0].strip(b" \t\r")
            if not size_text or len(size_text) > 16 or not _HEX.issuperset(size_text):
                self.done = True  # llhttp refuses this line
                return 0
            size = int(size_text, 16)
            if size == 0:
                self.done = True  # the trailer section follows
                self.stop = position
                return 0
            self.announced += size
            if self.announced > self.limit:
                return 413
            self._skip = size + 2  # the data, then the CRLF that ends it
        return 0


def trailers_end(data: bytes, position: int) -> int:
    """Where the trailer section starting at ``position`` ends (after its blank line), or -1."""
    if data[position : position + 2] == b"\r\n":
        return position + 2
    found = data.find(_CRLF_CRLF, position)
    return -1 if found < 0 else found + 4


def _chunked_end(data: bytes, position: int) -> int:
    """Where a complete chunked body starting at ``position`` ends (after its trailers), or -1."""
    end = len(data)
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return -1
        size_text = data[position:newline].split(b";", 1)[0].strip(b" \t\r")
        position = newline + 1
        size = int(size_text, 16) if size_text and _HEX.issuperset(size_text) else -1
        if size < 0:
            return -1
        if size == 0:
            return trailers_end(data, position)
        position += size + 2
        if position > end:
            return -1


def request_line_start(data: bytes, skip_messages: int) -> int:
    """Where the request line of the message after ``skip_messages`` complete ones begins.

    ``data`` is a read that began between messages; -1 when the bytes do not show it.
    """
    position = _message_end(data, 0, skip_messages)
    if position < 0:
        return -1
    end = len(data)
    while position < end and data[position] in b"\r\n":
        position += 1  # RFC 9112 section 2.2: empty lines before a request line are ignored
    return position


def request_line_spaced(data: bytes, skip_messages: int) -> bool:
    """Whether the complete request line after ``skip_messages`` messages has two spaces in a row.

    llhttp accepts ``GET  / HTTP/1.1``; RFC 9112 section 3 allows one space between the parts.
    """
    start = request_line_start(data, skip_messages)
    if start < 0:
        return False
    end = data.find(b"\r\n", start)
    return end >= 0 and data.find(b"  ", start, end) >= 0


def _message_end(data: bytes, position: int, messages: int) -> int:
    """Where the ``messages`` complete messages starting at ``position`` end, or -1."""
    end = len(data)
    for _ in range(messages):
        while position < end and data[position] in b"\r\n":
            position += 1
        head_end = data.find(_CRLF_CRLF, position)
        if head_end < 0:
            return -1
        body = head_end + 4
        head = data[position:body].lower()
        if b"\ntransfer-encoding:" in head:
            position = _chunked_end(data, body)
            if position < 0:
                return -1
        else:
            match = _CONTENT_LENGTH_RE.search(head)
            position = body + (int(match.group(1)) if match else 0)
    return position


def find_body_start(data: bytes, position: int, skip_messages: int) -> int:
    """Return the offset where a body begins: that of the message after ``skip_messages`` others.

    ``position`` is where a message's head begins in ``data`` (a read from a connection). The
    messages skipped are complete ones that llhttp has already accepted from these bytes, so
    their framing is read back from their heads without judging it again. Returns -1 when the
    bytes do not show it (an inconsistency the caller treats as "unknown").
    """
    position = _message_end(data, position, skip_messages)
    if position < 0:
        return -1
    end = len(data)
    while position < end and data[position] in b"\r\n":
        position += 1  # RFC 9112 section 2.2: empty lines before a request line are ignored
    head_end = data.find(_CRLF_CRLF, position)
    return -1 if head_end < 0 else head_end + 4


# --- fields a switch of protocols reads ---------------------------------------------------------


def field_tokens(value: bytes | None) -> set[bytes]:
    """Return the comma-separated tokens of a field value, stripped and in lower case."""
    return {token.strip().lower() for token in value.split(b",")} if value else set()


def field_values(raw_headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """Return the values of every field called ``name`` (in lower case), in order."""
    return [value for key, value in raw_headers if len(key) == len(name) and key.lower() == name]


def offers_websocket(raw_headers: list[tuple[bytes, bytes]]) -> bool:
    """Tell whether the request's Upgrade field offers the WebSocket protocol.

    Here rather than in server/websocket.py: the protocol asks it of every request with an
    Upgrade, and importing that module loads the ``websockets`` library, which a worker
    serving no WebSocket never needs.
    """
    return any(
        b"websocket" in field_tokens(value) for value in field_values(raw_headers, b"upgrade")
    )


# --- request fields the server itself looks at -----------------------------------------------

# What the reader does with a request field (RequestReader.on_header); 0: it only stores it.
FIELD_HOST: Final = 1
FIELD_CONTENT_LENGTH: Final = 2
FIELD_TRANSFER_ENCODING: Final = 3
FIELD_EXPECT: Final = 4
FIELD_FORWARDING: Final = 5
FIELD_ORIGIN: Final = 6
FIELD_UPGRADE: Final = 7
# A field llhttp reads for the connection's fate (should_keep_alive), Proxy-Connection included.
FIELD_CONNECTION: Final = 8
_SPECIAL_FIELDS: Final[dict[bytes, int]] = {
    b"connection": FIELD_CONNECTION,
    b"proxy-connection": FIELD_CONNECTION,
    b"host": FIELD_HOST,
    b"content-length": FIELD_CONTENT_LENGTH,
    b"transfer-encoding": FIELD_TRANSFER_ENCODING,
    b"expect": FIELD_EXPECT,
    # Noted for CORS (RawRequest.origin), which would otherwise scan every header again.
    b"origin": FIELD_ORIGIN,
    b"upgrade": FIELD_UPGRADE,
    **dict.fromkeys(FORWARDING_HEADERS, FIELD_FORWARDING),
}
# Fields clients commonly send, in the two spellings they send them in (lower case, and each
# word capitalised), found as they come: lower-casing a name first is a copy and a method call,
# most of what a field costs the reader. Any other spelling is lower-cased and looked up.
_USUAL_FIELDS: Final = (
    *_SPECIAL_FIELDS,
    *b"user-agent accept accept-encoding accept-language connection cookie content-type".split(),
    *b"authorization referer cache-control pragma if-none-match if-modified-since".split(),
    *b"x-requested-with sec-fetch-site sec-fetch-mode sec-fetch-dest sec-fetch-user".split(),
    *b"upgrade-insecure-requests priority dnt te keep-alive".split(),
)
_FIELD_KINDS: Final[dict[bytes, int]] = {
    spelling: _SPECIAL_FIELDS.get(name, 0)
    for name in _USUAL_FIELDS
    for spelling in (name, b"-".join(word.capitalize() for word in name.split(b"-")))
}


def field_kind(name: bytes) -> int:
    """Return what the reader does with a request field called ``name`` (0: it only stores it)."""
    if name == b"Host":
        return FIELD_HOST  # in every request: compared before the lookup hashes the new bytes
    kind = _FIELD_KINDS.get(name)
    if kind is None:
        kind = _SPECIAL_FIELDS.get(name.lower(), 0)
    return kind
