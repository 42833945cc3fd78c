"""The fastest a Python server can answer the body benchmarks here: a ceiling, not a framework.

One uvloop event loop, httptools parsing, responses written with one ``transport.write``; no
routing table, no request object, no middleware, no logging. It does only the work no
framework can skip: ``/echo`` decodes the posted order into the same nested msgspec Structs
(validating it) and encodes it back; ``/document`` encodes the 10 KB document; ``/json-async``
answers hello world (so do the paths of the unannotated hellos), and any other path gets a
404. ``bench/run.py --servers ceiling`` runs it pinned like the other servers, so the ratios
can be read against what is possible at all on this machine.

With ``--hold`` (``bench/run.py --servers ceiling-held``) every answer waits for the end of the
loop's turn, and each turn's answers are written together: what our server does while its turns
are large (server/outbox.py). Under many connections that is faster than writing each answer at
once, so the held ceiling is the one to compare a holding server with.

    python bench/ceiling_server.py --port 8000 [--hold]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import httptools
import msgspec
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent / "app"))

from benchproject.orders import Order
from benchproject.payloads import DOCUMENT

DECODE = msgspec.json.Decoder(Order).decode
ENCODE = msgspec.json.Encoder().encode
HELLO = b'{"message":"Hello, World!"}'


def _response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


NOT_FOUND = _response(b"404 Not Found", b'{"detail":"Not Found"}')
HELLO_PATHS = frozenset({b"/json-async", b"/plain/json-async", b"/plain/json-sync"})
INVALID = _response(b"422 Unprocessable Entity", b'{"detail":"invalid"}')


class HeldWrites:
    """One loop's answers of the current turn, written together by one callback at its end."""

    __slots__ = ("loop", "waiting")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: list[tuple[Any, bytes]] = []

    def write(self, transport: Any, data: bytes) -> None:
        if not self.waiting:
            self.loop.call_soon(self.flush)
        self.waiting.append((transport, data))

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        for transport, data in waiting:
            if not transport.is_closing():
                transport.write(data)


class CeilingProtocol(asyncio.Protocol):
    __slots__ = ("body", "held", "parser", "transport", "url")

    def __init__(self, held: HeldWrites | None = None) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.url = b""
        self.body: list[bytes] = []
        self.held = held

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        url = self.url
        if url in HELLO_PATHS:
            out = _response(b"200 OK", HELLO)
        elif url == b"/document":
            out = _response(b"200 OK", ENCODE(DOCUMENT))
        elif url == b"/echo":
            try:
                out = _response(b"200 OK", ENCODE(DECODE(b"".join(self.body))))
            except msgspec.ValidationError:
                out = INVALID
        else:
            out = NOT_FOUND
        self.body = []
        if self.held is None:
            self.transport.write(out)
        else:
            self.held.write(self.transport, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--hold", action="store_true", help="write each turn's answers together")
    args = parser.parse_args()
    uvloop.install()
    loop = asyncio.new_event_loop()
    held = HeldWrites(loop) if args.hold else None
    server = loop.run_until_complete(
        loop.create_server(lambda: CeilingProtocol(held), args.host, args.port, backlog=2048)
    )
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
