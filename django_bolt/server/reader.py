"""The reading half of an HTTP/1.1 connection (RFC 9112): bytes in, requests out.

:class:`RequestReader` feeds what arrives to httptools (llhttp), which validates the framing, and
adds what llhttp leaves to the server, with the rules themselves in
:mod:`django_bolt.server.http11`: the limits on the request line, headers and body; the Host
and request-target rules; the supported transfer codings and versions; trailers kept out of the
headers; a request whose Upgrade is not performed keeping its body; the size lines of chunked
bodies watched as they arrive; and pacing, so that a client pipelining requests (and not
reading the answers) cannot make one read queue thousands of them. Each complete request goes
to ``_run`` (or waits behind the one in progress); the writing half,
:class:`~django_bolt.server.protocol.HttpProtocol`, answers it.

Request life: on_message_begin -> on_url* -> on_header* -> on_headers_complete -> on_body* ->
on_message_complete, which builds the request (pipelined ones are answered in order).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Final

import httptools

from django_bolt.server.contract import SpooledBody, error_header_lines
from django_bolt.server.http11 import (
    FIELD_CONNECTION as _CONNECTION,
    FIELD_CONTENT_LENGTH as _CONTENT_LENGTH,
    FIELD_EXPECT as _EXPECT,
    FIELD_HOST as _HOST,
    FIELD_ORIGIN as _ORIGIN,
    FIELD_TRANSFER_ENCODING as _TRANSFER_ENCODING,
    FIELD_UPGRADE as _UPGRADE,
    NO_CONNECT as _NO_CONNECT,
    VALID_HOSTS as _VALID_HOSTS,
    ChunkSizeGuard,
    Reject as _Reject,
    field_kind,
    find_body_start,
    is_valid_host,
    other_method,
    parse_target,
    request_line_spaced,
    starts_request_line,
    trailers_end,
)
from django_bolt.server.proxy import resolve_forwarded
from django_bolt.server.relay import BodyRelay
from django_bolt.server.wire import METHODS, WireResponse

if TYPE_CHECKING:
    from django_bolt.server.contract import RawRequest
    from django_bolt.server.outbox import Outbox
    from django_bolt.server.state import ServerState

__all__ = (
    "CLOSE",
    "CONTINUE",
    "KEEP_ALIVE_10",
    "MAX_PIPELINED",
    "OPTIONS_ASTERISK",
    "RequestReader",
)

logger = logging.getLogger("django_bolt.server")

# Stop reading from a client that pipelines more than this many requests ahead of its answers.
MAX_PIPELINED: Final = 16
# A read larger than this is parsed in pieces of this size, so that the pipelining bound above
# holds within one read too: a 256 KiB read of tiny requests would otherwise queue thousands.
_PACE_BYTES: Final = 4 * 1024
CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
KEEP_ALIVE_10: Final = b"connection: keep-alive\r\n"
CLOSE: Final = b"connection: close\r\n"
_TWO_SPACES: Final = b"  "
# The versions a request line may end with, as get_http_version() would name them.
_TAIL_11: Final = b" HTTP/1.1"
_VERSION_TAILS: Final[dict[bytes, str]] = {_TAIL_11: "1.1", b" HTTP/1.0": "1.0"}
# "_" as an int: CPython's ``bytes in bytes`` first tries the needle as an integer and pays for
# a TypeError on every call (0.25 us, most of a header's cost); an int needle is a memchr.
_UNDERSCORE: Final = ord("_")
_SLASH: Final = ord("/")
_HASH: Final = ord("#")
_QUERY: Final = ord("?")
_CHUNK_LINE_TOO_LONG: Final = "Chunk size line too long"
_ONE_SPACE: Final = "Request line parts must be separated by single spaces"
# The server's own answer to ``OPTIONS *`` goes through the error path (it closes, like one).
OPTIONS_ASTERISK: Final = 204
# Where the next message begins in the current read, when the read did not start there.
_ENTRY_UNKNOWN: Final = -1
_ENTRY_IN_HEAD: Final = -2
_ENTRY_IN_CHUNKED: Final = -3
# What on_message_complete does instead of dispatching (RequestReader.deferred, a bit set).
_BODY_FOLLOWS: Final = 1
_ASTERISK: Final = 2


class RequestReader:
    """The parsing state of one client connection, and the callbacks httptools calls."""

    __slots__ = (
        "_peer",
        "body_bytes",
        "body_parts",
        "body_started",
        "chunk_guard",
        "client",
        "closing",
        "connection_field",
        "content_length",
        "deferred",
        "entry_guard",
        "entry_messages",
        "entry_position",
        "error_detail",
        "error_extra",
        "error_head",
        "expect_continue",
        "forwarded",
        "has_host",
        "head_last",
        "head_started",
        "head_tail",
        "header_bytes",
        "header_size",
        "headers",
        "held",
        "host_seen",
        "http_version",
        "idle_since",
        "in_body",
        "in_head",
        "keep_alive",
        "loop",
        "message_count",
        "method",
        "origin",
        "parser",
        "pipeline",
        "read_data",
        "read_paused",
        "relay",
        "request_started",
        "responding",
        "scheme",
        "server",
        "spool",
        "state",
        "transport",
        "trusted_peer",
        "upgrade",
        "url",
        "write_paused",
    )

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.loop = asyncio.get_running_loop() if state.loop is None else state.loop
        self.parser = httptools.HttpRequestParser(self)
        self.relay: BodyRelay | None = None
        self.transport: Outbox | None = None
        self._peer: tuple[str, int] | None = None
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.scheme = "http"
        self.pipeline: deque[tuple[RawRequest | int, bool]] = deque()
        self.responding = False
        self.read_paused = False
        self.write_paused = False
        self.keep_alive = True
        self.closing = False
        self.in_head = False
        # Between a request's head and the end of its body.
        self.in_body = False
        self.head_started = 0.0
        self.body_started = 0.0
        self.idle_since = 0.0
        self.request_started = 0.0
        self.trusted_peer = False
        self.host_seen: bytes | None = None
        # An Upgrade field in the head being read, and what on_message_complete does instead of
        # dispatching (_BODY_FOLLOWS, _ASTERISK): both cleared where acted on, not per message.
        self.upgrade = False
        self.deferred = 0
        # Bytes read but not parsed yet, while the queue of pipelined requests is full.
        self.held = b""
        # Messages begun on this connection, and where the current read stood when it arrived:
        # what the chunk guard needs to find a body's first byte in a read (see _watch_chunks).
        self.message_count = 0
        self.entry_messages = 0
        self.entry_position = 0
        self.entry_guard: ChunkSizeGuard | None = None
        # The unfinished last line of a head split across reads, and its last bytes read.
        self.head_tail = b""
        self.head_last = b""
        self.http_version = "1.1"
        # The bytes of a read taken by the common path (see data_received), and the method of
        # the request whose head is complete.
        self.read_data = b""
        self.method = b""
        # Header lines the application adds to the one server-made error still to be sent, and
        # its detail when the status alone would mislead.
        self.error_extra = b""
        self.error_detail: str | None = None
        self.error_head = False
        self._reset_message()

    def _reset_message(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.header_size = 0
        # A tuple until a body arrives (on_body makes the list): most requests have none.
        self.body_parts: list[bytes] | tuple[()] = ()
        self.body_bytes = 0
        self.spool: SpooledBody | None = None
        self.content_length = -1
        self.expect_continue = False
        self.has_host = False
        self.connection_field = False  # a Connection (or Proxy-Connection) field: _keeps_alive
        self.chunk_guard: ChunkSizeGuard | None = None
        self.origin: bytes | None = None
        self.forwarded: list[tuple[bytes, bytes]] | None = None

    # --- reading -------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # the last response is decided (an error, or close): nothing more is read
        # The common read: whole requests, arriving between messages, small, on the plain
        # parser. It is fed as it is, and the request line of each request in it is checked
        # when its head is complete (on_headers_complete); anything else takes the careful path.
        # (Scanning every read for two spaces cost 1,100 to 3,800 instructions, whichever way.)
        if (
            self.in_head
            or self.in_body
            or self.held
            or self.relay is not None
            or len(data) > _PACE_BYTES
        ):
            self._read_carefully(data)
            return
        self.entry_messages = self.message_count
        self.read_data = data  # and entry_position is 0: _body_start() knows
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            failure: Exception = error
        else:
            if self.chunk_guard is not None or self.in_head:
                self._after_read(data)
            return
        # Handled outside the except block: feeding on from there (after an Upgrade) would
        # chain every later parser error to this one, hiding the callback's own exception.
        self._parser_error(failure, data)

    def _read_carefully(self, data: bytes) -> None:
        """Handle a read that is not the common case: see data_received()."""
        self.read_data = b""
        head_end = -1
        if self.held:
            self.held += data  # a read already on its way when reading paused
            return
        # Where this read starts, for the chunk guard.
        self.entry_messages = self.message_count
        if self.in_body:
            guard = self.entry_guard = self.chunk_guard
            if guard is None:
                left = self.content_length - self.body_bytes
                self.entry_position = left if left >= 0 else _ENTRY_UNKNOWN
            else:
                synced = guard.synced and not guard.done
                self.entry_position = _ENTRY_IN_CHUNKED if synced else _ENTRY_UNKNOWN
        elif self.in_head:
            self.entry_position = _ENTRY_IN_HEAD
            if (
                data[:1] == b" "
                and self.head_tail[-1:] == b" "
                and starts_request_line(self.head_tail[:-1])
            ):
                # Two spaces in a request line, one on each side of a read boundary.
                self._reject(400, _ONE_SPACE, malformed=True)
                return
        else:
            self.entry_position = 0
            # A read that starts with a whole head without a pair in it: the body behind that
            # head is not searched for one (a 10 KB JSON body's spaces made that 11 % of a POST).
            if self.relay is None:
                head_end = data.find(b"\r\n\r\n")
        if head_end >= 0 and data.find(_TWO_SPACES, 0, head_end) < 0:
            fed = self._feed_head_first(data, head_end + 4)
        else:
            fed = self._feed_checked(data)
        if fed < len(data):
            data = data[:fed]
        if self.relay is not None and not self.in_head and not self.in_body:
            self.relay = None  # between messages: back to a parser without the relay
            self.parser = httptools.HttpRequestParser(self)
        self._after_read(data)

    def _after_read(self, data: bytes) -> None:
        """Keep what a read leaves for later: a chunked body to watch, a head to bound."""
        if self.closing:
            return
        if self.chunk_guard is not None:
            self._watch_chunks(data)
        if self.in_head and not self.closing:
            if self.read_data:
                # A head the next read finishes: its request line is checked now if complete.
                index = self.message_count - self.entry_messages - 1
                if request_line_spaced(data, index):
                    self._reject(400, _ONE_SPACE, malformed=True)
                    return
            self._note_partial_head(data)

    def _note_partial_head(self, data: bytes) -> None:
        """Bound a head that goes on in the next read; keep its unfinished last line."""
        newline = data.rfind(b"\n")
        config = self.state.config
        limit = config.max_header_bytes + config.max_request_line_bytes
        self.head_tail = data[newline + 1 :] if newline >= 0 else self.head_tail + data
        self.head_last = (self.head_last + data)[-3:]
        if len(self.head_tail) > limit:
            self.head_tail = self.head_tail[-limit:]
        # Counted as the bytes arrive: a header that never ends must not grow without bound.
        # A read in which the head began may also hold the previous request and its body,
        # so it only marks the start; the bound is then the limits plus one read.
        if not self.header_bytes:
            self.header_bytes = 1
            return
        self.header_bytes += len(data)
        if self.header_bytes > limit:
            self._reject(431 if self.url else 414)

    def _feed(self, data: bytes | memoryview) -> bool:
        """Hand ``data`` to the parser; False once nothing more should be fed."""
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            failure: Exception = error
        else:
            return not self.closing
        return self._parser_error(failure, data)  # outside the except block: see above

    def _parser_error(self, error: Exception, data: bytes | memoryview) -> bool:
        """Handle what feeding ``data`` raised: a protocol switch, a refusal or malformed input.

        Returns whether feeding may go on (after an Upgrade the server does not perform).
        """
        if isinstance(error, httptools.HttpParserUpgrade):
            offset = int(error.args[0]) if error.args else len(data)
            self._after_upgrade_request()
            if offset < len(data) and not self.closing:
                return self._feed(data[offset:])
            return not self.closing
        if self.closing:  # set by a callback: a message after the last one, or a refusal
            return False
        if isinstance(error, httptools.HttpParserCallbackError):
            cause = error.__context__
            if isinstance(cause, _Reject):
                if cause.head_complete:
                    self.error_extra = self._error_headers(cause.status)
                self.error_detail = cause.detail
                self._reject(cause.status, malformed=cause.malformed)
            else:
                logger.error("parser callback failed", exc_info=cause)
                self._reject(500)
            return False
        if "HTTP version" in str(error):
            # A well-formed request line with a version llhttp does not speak (1.2, 2.0, ...).
            self._reject(505)
        else:
            self._reject(400, malformed=True)
        return False

    def _feed_paced(self, data: bytes) -> int:
        """Feed ``data`` in pieces while requests queue up; return how many bytes were fed.

        What is not fed waits in ``held`` (reading paused) until the queue has room again.
        """
        size = len(data)
        if size <= _PACE_BYTES:
            self._feed(data)
            return size
        view = memoryview(data)
        start = 0
        while start < size:
            if self.pipeline and (self.write_paused or len(self.pipeline) >= MAX_PIPELINED):
                self.held = data[start:]
                self._pause_reading()
                return start
            end = start + _PACE_BYTES
            if self.in_body and self.content_length > 0:
                # The rest of a body of known length holds no request to queue.
                end = max(end, start + self.content_length - self.body_bytes)
            if not self._feed(view[start:end]):
                return size
            start = end
        return size

    def _feed_checked(self, data: bytes) -> int:
        """Feed ``data``, refusing a request line with two spaces in a row in it."""
        if data.find(_TWO_SPACES) >= 0:
            return self._feed_lines(data)
        return self._feed_paced(data)

    def _feed_head_first(self, data: bytes, cut: int) -> int:
        """Feed a read that begins with a whole head (``data[:cut]``, no pair in it).

        What follows the head is fed as it is while it lies inside the body that head
        declared; anything else goes through the usual search. Returns the bytes fed.
        """
        fed = self._feed_paced(data[:cut])
        if fed < cut:
            if self.held:
                self.held += data[cut:]
            return fed
        rest = data[cut:]
        if self.closing or not rest:
            return len(data)
        if self.in_body and self.content_length - self.body_bytes >= len(rest):
            return cut + self._feed_paced(rest)
        return cut + self._feed_checked(rest)

    def _feed_lines(self, data: bytes) -> int:
        """Feed ``data``, which holds two spaces in a row, refusing a request line with them.

        Before each pair the parser is fed up to the line that holds it (or to the end of a
        body that ends first), so its state says what the line is: inside a body it is data,
        inside a head a header line (unless it continues a request line from the previous
        read), and between messages a request line."""
        start = search = 0
        while (found := data.find(_TWO_SPACES, search)) >= 0:
            search = found + 2
            while True:
                if self.in_body and self.content_length >= 0:
                    remaining = self.content_length - self.body_bytes
                    if remaining > found - start:
                        break  # the pair is in the body
                    upto = start + remaining  # the body ends first: feed it
                else:
                    newline = data.rfind(b"\n", start, found)
                    upto = newline + 1 if newline >= 0 else start
                if upto == start:
                    break
                fed = self._feed_paced(data[start:upto])
                if self.closing:
                    return len(data)
                if self.held:
                    self.held += data[upto:]
                    return start + fed
                start = upto
            if self.in_body:
                continue
            if self.in_head:
                continued = start == 0 and data.rfind(b"\n", 0, found) < 0
                if not continued or not starts_request_line(self.head_tail + data[:found]):
                    continue
            # RFC 9112 section 3: one SP between the request line's parts.
            self._reject(400, _ONE_SPACE, malformed=True)
            return len(data)
        fed = self._feed_paced(data[start:])
        return start + fed

    def _after_upgrade_request(self) -> None:
        """llhttp stopped after a request that asked to switch protocols; none is switched.

        A request without a body was answered as plain HTTP already. One with a body keeps it:
        the bytes that follow go through a relay parser set up for that body's framing.
        """
        if not self.deferred & _BODY_FOLLOWS:
            self.parser = httptools.HttpRequestParser(self)
            return
        self.deferred &= ~_BODY_FOLLOWS
        old = self.parser
        framing = (
            b"content-length: %d\r\n" % self.content_length
            if self.content_length >= 0
            else b"transfer-encoding: chunked\r\n"
        )
        if not old.should_keep_alive():
            framing += CLOSE
        elif self.http_version == "1.0":
            framing += KEEP_ALIVE_10
        # Any method that may have a body will do: the request keeps its own (self.method).
        head = b"POST / HTTP/%s\r\n%s\r\n" % (self.http_version.encode("ascii"), framing)
        self.relay = relay = BodyRelay(self)
        self.parser = httptools.HttpRequestParser(relay)
        try:
            self.parser.feed_data(head)
        except httptools.HttpParserError:  # pragma: no cover - the head is ours
            logger.exception("the relay's head was refused")
            self._reject(500)

    def _watch_chunks(self, data: bytes) -> None:
        """Follow the size lines of the chunked body in progress (see ``ChunkSizeGuard``)."""
        guard = self.chunk_guard
        if guard is None or guard.done or not self.in_body:
            return
        if guard.synced:
            verdict = guard.feed(data)
        else:
            start = self._body_start(data, guard)
            if start < 0:
                # Where the body began is unknown: the body limit still applies (on_body).
                guard.done = True
                return
            verdict = guard.feed(data, start)
        if verdict:
            if verdict == 413:
                self.error_extra = self._error_headers(413)
            if verdict == 400:
                self._reject(400, _CHUNK_LINE_TOO_LONG, malformed=True)
            else:
                self._reject(verdict)

    def _body_start(self, data: bytes, guard: ChunkSizeGuard) -> int:
        """Where, in this read, the body ``guard`` follows begins, or -1 when unknown."""
        begun_here = guard.message - self.entry_messages
        if begun_here <= 0:
            # Its head began in an earlier read and ends in this one.
            tail = self.head_last
            found = (tail + data).find(b"\r\n\r\n")
            return found + 4 - len(tail) if found >= 0 else -1
        position = 0 if self.read_data else self.entry_position
        if position == _ENTRY_IN_CHUNKED and self.entry_guard is not None:
            # The read began in an earlier chunked body, which ended in it.
            previous = self.entry_guard
            previous.feed(data)
            position = trailers_end(data, previous.stop) if previous.done else -1
        if position < 0:
            return -1
        return find_body_start(data, position, begun_here - 1)

    # --- parser callbacks ----------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.closing:
            # Behind the connection's last request in one read: not processed (RFC 9112 9.6).
            raise _Reject(0)
        self._reset_message()
        self.message_count += 1
        self.in_head = True
        self.head_started = self.state.now
        if self.state.access_log is not None:
            self.request_started = perf_counter()

    def on_url(self, url: bytes) -> None:
        # Most targets come in one piece, kept as is (joining it to b"" cost 280 instructions).
        self.url = url = self.url + url if len(self.url) else url
        if len(url) > self.state.max_request_line_bytes:
            raise _Reject(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.in_body:
            self._on_trailer(name, value)
            return
        if _UNDERSCORE in name:
            # Django's META maps both "X-A" and "X_A" to HTTP_X_A: drop the ambiguous spelling.
            return
        headers = self.headers
        headers.append((name, value))
        # Name, value, ": " and CRLF, as on the wire.
        self.header_size += len(name) + len(value) + 4
        if len(headers) > self.state.max_header_count:
            raise _Reject(431)
        kind = field_kind(name)
        if not kind:
            return
        if kind == _HOST:
            if self.has_host:
                # RFC 9112 section 3.2: more than one Host is a 400 ...
                raise _Reject(400, detail="More than one Host header")
            # ... and so is an invalid one, whatever ALLOWED_HOSTS says. A client sends the
            # same Host on every request of a connection: checked once per connection.
            if value != self.host_seen:
                if value not in _VALID_HOSTS and not is_valid_host(value):
                    raise _Reject(400, detail="Invalid Host header")
                self.host_seen = value
            self.has_host = True
        elif kind == _CONTENT_LENGTH:
            # llhttp has already rejected malformed and duplicate values.
            self.content_length = int(value)
        else:
            self._on_special_field(kind, name, value)

    def _on_special_field(self, kind: int, name: bytes, value: bytes) -> None:
        """Note a field of the head the server acts on other than Host and Content-Length."""
        if kind == _TRANSFER_ENCODING:
            if value.strip().lower() != b"chunked":
                raise _Reject(501, malformed=True)  # a body no one can frame
            guard = ChunkSizeGuard(self.state.max_upload_size)
            guard.message = self.message_count
            self.chunk_guard = guard
        elif kind == _EXPECT:
            self.expect_continue = value.strip().lower() == b"100-continue"
        elif kind == _ORIGIN:
            if self.origin is None:
                self.origin = value
        elif kind == _UPGRADE:
            self.upgrade = True
        elif kind == _CONNECTION:
            self.connection_field = True
        elif self.trusted_peer:
            # Believed from a trusted proxy only; the list is made when the first one comes.
            if self.forwarded is None:
                self.forwarded = []
            self.forwarded.append((name.lower(), value))

    def _on_trailer(self, name: bytes, value: bytes) -> None:
        """Count a field of a chunked body's trailer against the limits, then drop it.

        Trailers come after the head was judged: merged, they would let a client change what
        was decided (who it is, behind a proxy, or its credentials). RFC 9110 section 6.5.1
        forbids merging a field not known to be allowed there, and none is known here."""
        self.header_size += len(name) + len(value) + 4
        if self.header_size > self.state.max_header_bytes:
            raise _Reject(431)
        self.connection_field |= field_kind(name) == _CONNECTION  # llhttp reads it here too

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.in_body = True
        # From here until the body is complete the keep-alive clock measures silence, not the
        # idle time before the request (which could cut an upload that started late).
        state = self.state
        self.idle_since = self.body_started = state.now
        if self.header_size > state.max_header_bytes:
            raise _Reject(431)
        self.method = method = self.parser.get_method()
        url = self.url
        data = self.read_data
        # A read taken by the common path: its request lines are checked here. The bytes after
        # the target must be " HTTP/1.1" (or 1.0) exactly where one space after the method and
        # one after the target put them; any other spacing moves them (RFC 9112 section 3;
        # llhttp accepts runs of spaces). The same slice names the version, where httptools'
        # get_http_version() formats a new string (2,700 instructions). The careful path
        # checked its lines as it fed them.
        if data and self.message_count - self.entry_messages == 1:
            tail = len(method) + len(url) + 1
            found = data[tail : tail + 9]
            # Compared first: cheaper than hashing the slice to look it up.
            version = "1.1" if found == _TAIL_11 else _VERSION_TAILS.get(found)
            version = version or self._request_line(data)
        else:
            version = self._request_line(data)
        self.http_version = version
        if version != "1.1":
            if version != "1.0":
                raise _Reject(505)
            if self.content_length < 0 and self.chunk_guard is not None:
                # RFC 9112 section 6.1: chunked is not HTTP/1.0 framing.
                raise _Reject(400, detail="Transfer-Encoding in an HTTP/1.0 request")
        elif not self.has_host:
            raise _Reject(400, detail="Missing Host header")
        if not url or url[0] != _SLASH or _HASH in url:
            self._resolve_target()
        if self.content_length > state.max_upload_size:
            # Decided before reading, and sent instead of 100 Continue.
            raise _Reject(413, head_complete=True)
        if (
            self.upgrade
            and (self.content_length > 0 or self.chunk_guard is not None)
            and self._upgrade_asked()
        ):
            # llhttp will stop here, taking what follows for another protocol; a body that
            # follows is this request's own (see _after_upgrade_request).
            if method == b"CONNECT":
                raise _Reject(501, detail=_NO_CONNECT)  # as in other_method()
            self.deferred |= _BODY_FOLLOWS
        if self.expect_continue:
            # Left set only while the 100 waits for this request's turn; an empty body (or
            # HTTP/1.0) never gets one, or it would be read as the answer to the next request.
            self.expect_continue = False
            if version == "1.1" and self.content_length != 0:
                if not self.responding and not self.pipeline and self.transport is not None:
                    self.transport.write(CONTINUE)
                else:
                    self.expect_continue = True  # sent when this request's turn comes
        if self.content_length > self.state.spool_threshold:
            self.spool = SpooledBody(self.state.spool_dir)

    def _request_line(self, data: bytes) -> str:
        """Return the version of a request line not at the start of a common read (or oddly spaced).

        Refuses one with two spaces in a row when the common path took the read.
        """
        if data:
            index = self.message_count - self.entry_messages - 1
            if request_line_spaced(data, index):
                raise _Reject(400, detail=_ONE_SPACE, malformed=True)
        version: str = self.parser.get_http_version()
        return version

    def _upgrade_asked(self) -> bool:
        """Tell whether this head's Upgrade field (noted by on_header) asked for a switch."""
        self.upgrade = False  # reset here rather than for every message
        return bool(self.parser.should_upgrade())

    def _resolve_target(self) -> None:
        """Resolve a request-target other than plain origin-form, or refuse it."""
        method = self.parser.get_method()
        if method == b"CONNECT":
            raise _Reject(501, detail=_NO_CONNECT)  # as in other_method(), for authority-form
        target = parse_target(method, self.url)
        if target is None:
            raise _Reject(400, detail="Invalid request target")
        if target.asterisk:
            # Answered by the server once the whole request is read (any body too).
            self.deferred = _ASTERISK
            return
        self.url = target.path
        authority = target.authority
        if authority is not None:
            # RFC 9112 section 3.2.2: the target's authority replaces the Host field.
            headers = [(n, v) for n, v in self.headers if n.lower() != b"host"]
            headers.append((b"host", authority))
            self.headers = headers
            self.host_seen = None  # the Host field checked is not the request's (_known_miss)

    def on_body(self, body: bytes) -> None:
        state = self.state
        self.idle_since = state.now  # a body that keeps arriving is not idle
        self.body_bytes += len(body)
        if self.body_bytes > state.max_upload_size:
            raise _Reject(413, head_complete=True)  # chunked bodies are known as they arrive
        spool = self.spool
        if spool is not None:
            spool.write(body)
        elif self.body_bytes > state.spool_threshold:
            # A chunked body just outgrew memory: what was kept so far moves to the file.
            self.spool = spool = SpooledBody(state.spool_dir)
            for part in self.body_parts:
                spool.write(part)
            self.body_parts = ()
            spool.write(body)
        elif self.body_parts:
            self.body_parts.append(body)
        else:
            self.body_parts = [body]

    def on_message_complete(self) -> None:
        if self.deferred:
            if not self.deferred & _BODY_FOLLOWS:  # the whole request is read: answer it
                self.deferred = 0
                raise _Reject(OPTIONS_ASTERISK)
            return  # llhttp's idea of the end; the body follows (see _after_upgrade_request)
        # The body is here: a 100 Continue still owed to it is no longer wanted (RFC 9110
        # section 10.1.1), and sent after its final response it would look like the next one's.
        self.expect_continue = False
        self.in_body = False
        spool = self.spool
        body: bytes | None
        if spool is None:
            parts = self.body_parts
            body = parts[0] if len(parts) == 1 else b"".join(parts)
        else:
            self.spool = None  # the request owns it now
            body = None
        answers = self.state.miss_answers
        if answers and spool is None and not body and self._known_miss(answers):
            return
        method = self.method
        client, scheme = self.client, self.scheme
        if self.forwarded:
            client, scheme = resolve_forwarded(
                self.forwarded, self._peer, scheme, self.state.trusted
            )
        # GET compared first: the lookup would hash the parser's new bytes (400 instructions).
        name = "GET" if method == b"GET" else METHODS.get(method) or other_method(method)
        request = self.state.request_factory(
            name,
            self.url,
            self.headers,
            body,
            client,
            scheme,
            self.server,
            self.http_version,
            spool,
            self.origin,
        )
        if self.upgrade and self._take_over(request):
            return  # a WebSocket handshake: the writing half decides what follows
        keep_alive = self._keeps_alive()
        if not keep_alive:
            self.closing = True
        if self.responding or self.pipeline or self.write_paused:
            # Behind the one being answered, or the client is not reading its answers.
            self.pipeline.append((request, keep_alive))
            if len(self.pipeline) >= MAX_PIPELINED:
                self._pause_reading()
        else:
            self._run(request, keep_alive)

    def _known_miss(self, answers: dict[tuple[bytes, bytes], WireResponse]) -> bool:
        """Answer a GET or HEAD for a Host and path the application found nothing serves.

        ``answers`` is the application's ``miss_answers`` (contract.py): written with no request
        object and no dispatch. Only a request answered in turn, whose Host (checked in
        on_header) the client sent itself (_resolve_target forgets ``host_seen`` for an
        absolute-form target's), and that offers no Upgrade. Returns whether it answered.
        """
        method = self.method
        host = self.host_seen
        if method != b"GET" and method != b"HEAD":
            return False
        if host is None or not self.has_host or self.upgrade:
            return False
        if self.responding or self.pipeline or self.write_paused:
            return False
        path = self.url  # cut only when there is a query: partition is a generic call
        answer = answers.get((host, path.partition(b"?")[0] if _QUERY in path else path))
        if answer is None:
            return False
        keep_alive = self._keeps_alive()
        if not keep_alive:
            self.closing = True
        self._answer_miss(answer, keep_alive, method == b"HEAD")
        return True

    def _keeps_alive(self) -> bool:
        """Tell whether the connection stays open after the request just read: llhttp's call,
        not asked (440 instructions) for an HTTP/1.1 request without a Connection field."""
        if self.http_version == "1.1" and not self.connection_field:
            return self.keep_alive
        return bool(self.parser.should_keep_alive()) and self.keep_alive

    # --- refusals and flow control ------------------------------------------------------------

    def _reject(self, status: int, detail: str | None = None, malformed: bool = False) -> None:
        """Answer a framing or limit error once, after any response still owed, then close.

        ``malformed`` says the bytes do not form a request at all (a syntax error, a head that
        never ended): its method is then nobody's to rely on, and the refusal keeps its body.
        Otherwise a refused HEAD request gets its answer without one (RFC 9110 section 9.3.2).
        """
        if detail is not None:
            self.error_detail = detail
        if (self.in_head or self.in_body) and not malformed:
            self.error_head = self.parser.get_method() == b"HEAD"
        self.closing = True
        self.in_head = False
        self.in_body = False
        self.held = b""
        self._pause_reading()
        self._drop_spool()
        if self.responding or self.pipeline:
            self.pipeline.append((status, False))
        else:
            self._send_error(status)

    def _drop_spool(self) -> None:
        """Free the body of a request that will never be dispatched."""
        spool = self.spool
        if spool is not None:
            self.spool = None
            spool.close()

    def _error_headers(self, status: int) -> bytes:
        """Return what the application adds to a server-made error (its ``error_headers``)."""
        method = self.parser.get_method().decode("latin-1")
        return error_header_lines(
            self.state.app, status, method, bytes(self.url), list(self.headers)
        )

    def _pause_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            if self.transport is not None:
                self.transport.pause_reading()

    def _resume_reading(self) -> None:
        self.read_paused = False
        if self.transport is not None and not self.write_paused:
            self.transport.resume_reading()

    # --- provided by the writing half --------------------------------------------------------

    def _run(self, request: RawRequest, keep_alive: bool) -> None:
        """Answer ``request`` (the writing half runs the application)."""
        raise NotImplementedError

    def _send_error(self, status: int) -> None:
        """Write the server's own answer ``status`` and close."""
        raise NotImplementedError

    def _take_over(self, request: RawRequest) -> bool:
        """Tell whether the writing half takes over a request offering an Upgrade (WebSocket)."""
        raise NotImplementedError

    def _answer_miss(self, response: WireResponse, keep_alive: bool, head_only: bool) -> None:
        """Write one of the application's ``miss_answers`` for the request just read."""
        raise NotImplementedError
