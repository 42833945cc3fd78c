"""The parser callbacks that relay the body of a request whose Upgrade the server declined."""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ("BodyRelay", "ParserCallbacks")


class ParserCallbacks(Protocol):
    """What httptools calls on a connection's reading half (``reader.RequestReader``)."""

    def on_message_begin(self) -> None: ...

    def on_url(self, url: bytes) -> None: ...

    def on_header(self, name: bytes, value: bytes) -> None: ...

    def on_headers_complete(self) -> None: ...

    def on_body(self, body: bytes) -> None: ...

    def on_message_complete(self) -> None: ...


class BodyRelay:
    """Parser callbacks for the body of a request whose Upgrade the server did not perform.

    llhttp ends an upgrade request at its head and hands back the bytes after it unparsed, on
    the assumption that another protocol follows. The server switches protocols for nobody
    (RFC 9110 section 7.8 lets it ignore Upgrade), so those bytes are the request's own body,
    framed by its Content-Length or chunked coding: a fresh parser is fed a head with that
    framing, whose callbacks this relay swallows, and then the bytes themselves. The body goes
    to the connection, and so does everything after it (the next requests).
    """

    __slots__ = ("conn", "phase")

    _HEAD: Final = 0
    _BODY: Final = 1
    _AFTER: Final = 2

    def __init__(self, conn: ParserCallbacks) -> None:
        self.conn = conn
        self.phase = self._HEAD

    def on_message_begin(self) -> None:
        if self.phase == self._AFTER:
            self.conn.on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self.phase == self._AFTER:
            self.conn.on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.phase == self._AFTER:
            self.conn.on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.phase == self._AFTER:
            self.conn.on_headers_complete()
        else:
            self.phase = self._BODY

    def on_body(self, body: bytes) -> None:
        self.conn.on_body(body)

    def on_message_complete(self) -> None:
        self.phase = self._AFTER
        self.conn.on_message_complete()
