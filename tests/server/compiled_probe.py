"""Feed a fixed corpus of requests to one HttpProtocol and print what it wrote, as JSON.

Run as a script by tests/server/test_compiled.py, once with the compiled request path and once
with ``DJANGO_BOLT_PURE_PYTHON=1``; the two outputs must be the same. The corpus covers the
common path, pipelining, split reads, bodies, streams, and the refusals (framing, limits,
malformed heads, smuggling attempts), each on a connection of its own.
"""

from __future__ import annotations

import json
import re
import sys

from django_bolt import _compiled
from django_bolt.server.loops import new_event_loop
from tests.server.conftest import Driver

H = b"Host: a\r\n"
CORPUS: list[list[bytes]] = [
    [b"GET /x?q=1 HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /a HTTP/1.1\r\n" + H + b"\r\nGET /b HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /split HT", b"TP/1.1\r\nHo", b"st: a\r\n\r\n"],
    [b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello"],
    [b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
    [b"GET /stream?3 HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /status?204 HTTP/1.1\r\n" + H + b"\r\n"],
    [b"HEAD /x HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /x HTTP/1.0\r\n\r\n"],
    [b"GET /boom HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /x HTTP/1.1\r\n\r\n"],  # no Host
    [b"GET /x HTTP/1.1\r\n" + H + H + b"\r\n"],  # two Hosts
    [b"GET  /x HTTP/1.1\r\n" + H + b"\r\n"],  # two spaces
    [b"GET /x HTTP/1.2\r\n" + H + b"\r\n"],
    [b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 99999999999\r\n\r\n"],
    [b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"],
    [b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n"],
    [b"GET /x HTTP/1.1\r\n" + H + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n"],
    [b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /x HTTP/1.1\r\n" + H + b"Bad Header: 1\r\n\r\n"],
    [b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n"],
    [b"CONNECT a:443 HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET http://b/abs HTTP/1.1\r\n" + H + b"\r\n"],
    [b"GET /x HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\nGET /y HTTP/1.1\r\n" + H + b"\r\n"],
    [b"\x16\x03\x01\x00\xa5\x01\x00\x00"],  # a TLS hello on the plain port
]
_DATE = re.compile(rb"date: [^\r]*\r\n", re.IGNORECASE)


def main() -> None:
    loop = new_event_loop()
    outputs = []
    for chunks in CORPUS:
        driver = Driver(loop)
        written = driver.feed(*chunks)
        outputs.append(
            {
                "written": _DATE.sub(b"date: -\r\n", written).decode("latin-1"),
                "closed": driver.transport.closed,
            }
        )
    loop.close()
    json.dump({"compiled": _compiled.status(), "outputs": outputs}, sys.stdout)


if __name__ == "__main__":
    main()
