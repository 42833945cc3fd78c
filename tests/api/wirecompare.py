"""One request's answer as bytes on the wire and as an httpx response, in one comparable shape.

An answer is ``(status, header fields in order, body)``, with the Date value masked (the two
may be a second apart) and a chunked body decoded; a compressed body stays compressed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import httpx

__all__ = ("DATE", "Answer", "client_answer", "parse_wire", "wire_bytes")

DATE: Final = b"<date>"

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def wire_bytes(request: httpx.Request, pieces: list[bytes] | None) -> bytes:
    """``request`` as a client on the network writes it (chunked when ``pieces`` are given)."""
    head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), request.url.raw_path)]
    head += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
    if pieces is None:
        body = request.read()
    else:
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    return b"".join(head) + b"\r\n" + body


def parse_wire(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    fields = [(name, value) for name, _, value in (line.partition(b": ") for line in lines)]
    if (b"transfer-encoding", b"chunked") in fields:
        decoded = bytearray()
        while True:
            size_line, _, body = body.partition(b"\r\n")
            size = int(size_line, 16)
            if not size:
                break
            decoded += body[:size]
            body = body[size + 2 :]
        body = bytes(decoded)
    return int(status_line.split(b" ")[1]), _undated(fields), body


def _undated(fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, DATE if name == b"date" else value) for name, value in fields]


def client_answer(response: httpx.Response) -> Answer:
    """The answer with its body as sent, still content-encoded (httpx would decode it): the
    request must have been sent with ``stream=True``."""
    try:
        # A buffered body was read (and decoded) on arrival: its stream keeps the raw bytes.
        source = response.stream if response.is_stream_consumed else response.iter_raw()
        body = b"".join(source)
    finally:
        response.close()
    return response.status_code, _undated(list(response.headers.raw)), body
