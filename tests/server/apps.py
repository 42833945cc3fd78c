"""Bare applications that speak the server contract directly, with no framework behind them."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django_bolt.server.contract import RawRequest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable


@dataclass
class SimpleResponse:
    status_code: int = 200
    raw_headers: list[tuple[bytes, bytes]] = field(
        default_factory=lambda: [(b"content-type", b"application/json")]
    )
    body: bytes = b""
    stream: Iterable[bytes] | AsyncIterator[bytes] | None = None
    background: Callable[[], Awaitable[None]] | None = None


class EchoApp:
    """Answers every request with a JSON echo of what the server handed over.

    ``/sleep?<seconds>`` suspends first (exercising the Task path); ``/stream?<n>`` streams n
    chunks; ``/bigstream?<n>`` streams n 64 KiB blocks (A, B, C, ...); ``/big?<n>`` answers n
    bytes at once; ``/boom`` raises inside dispatch; ``/status?<code>`` answers that status.
    """

    request_class = RawRequest

    def __init__(self) -> None:
        self.started = 0
        self.stopped = 0
        self.cancelled = 0
        self.seen: list[RawRequest] = []

    async def startup(self) -> None:
        self.started += 1

    async def shutdown(self) -> None:
        self.stopped += 1

    async def dispatch(self, request: RawRequest) -> SimpleResponse:
        self.seen.append(request)
        path, _, query = request.target.partition(b"?")
        if path == b"/sleep":
            try:
                await asyncio.sleep(float(query or b"0"))
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        elif path == b"/task":
            # What a handler sees of asyncio's task machinery before its first suspension.
            has_task = asyncio.current_task() is not None
            try:
                async with asyncio.timeout(5):
                    timeout = "ok"
            except RuntimeError as exc:
                timeout = str(exc)
            body = json.dumps({"has_task": has_task, "timeout": timeout}).encode()
            return SimpleResponse(body=body)
        elif path == b"/boom":
            if query:
                await asyncio.sleep(float(query))  # fail after suspending, on the Task path
            raise RuntimeError("application bug")
        elif path == b"/status":
            return SimpleResponse(status_code=int(query), body=b"x")
        elif path == b"/stream":
            count = int(query or b"3")

            async def chunks() -> AsyncIterator[bytes]:
                for i in range(count):
                    await asyncio.sleep(0)
                    yield b"chunk%d;" % i

            return SimpleResponse(raw_headers=[(b"content-type", b"text/plain")], stream=chunks())
        elif path == b"/bigstream":
            count = int(query or b"16")

            async def blocks() -> AsyncIterator[bytes]:
                for i in range(count):
                    yield bytes([65 + i % 26]) * 65536

            return SimpleResponse(raw_headers=[(b"content-type", b"text/plain")], stream=blocks())
        elif path == b"/sized":
            # /sized?<bytes sent>,<content-length declared>
            sent, declared = (int(x) for x in query.split(b","))

            async def body() -> AsyncIterator[bytes]:
                for start in range(0, sent, 1000):
                    await asyncio.sleep(0)
                    yield b"s" * min(1000, sent - start)

            headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % declared)]
            return SimpleResponse(raw_headers=headers, stream=body())
        elif path == b"/big":
            return SimpleResponse(body=b"x" * int(query))
        payload = {
            "method": request.method,
            "target": request.target.decode("latin-1"),
            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.raw_headers],
            "body": request.body.decode("latin-1"),
            "client": list(request.client) if request.client else None,
            "scheme": request.scheme,
            "http_version": request.http_version,
        }
        return SimpleResponse(body=json.dumps(payload).encode())
