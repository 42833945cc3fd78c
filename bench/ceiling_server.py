"""The fastest a Python server can answer the body benchmarks here: a ceiling, not a framework.

One uvloop event loop, httptools parsing, responses written with one ``transport.write``; no
routing table, no request object, no middleware, no logging. It does only the work no
framework can skip: ``/echo`` decodes the posted order into the same nested msgspec Structs
(validating it) and encodes it back; ``/document`` encodes the 10 KB document; ``/json-async``
answers hello world. ``bench/run.py --servers ceiling`` runs it pinned like the other servers,
so the body endpoints' ratios can be read against what is possible at all on this machine.

    python bench/ceiling_server.py --port 8000
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
INVALID = _response(b"422 Unprocessable Entity", b'{"detail":"invalid"}')


class CeilingProtocol(asyncio.Protocol):
    __slots__ = ("body", "parser", "transport", "url")

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: Any = None
        self.url = b""
        self.body: list[bytes] = []

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
        if url == b"/json-async":
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
        self.transport.write(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvloop.install()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(CeilingProtocol, args.host, args.port, backlog=2048)
    )
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
