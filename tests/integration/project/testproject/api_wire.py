"""Routes through which tests/integration/test_wire_security.py attacks the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from django_bolt import BoltAPI, Request, Response, StreamingResponse

api = BoltAPI()


@api.get("/hello")
async def hello():
    return {"hello": "world"}  # what run_bolt waits for


@api.get("/ping")
async def ping():
    return {"pong": True}


@api.post("/echo")
async def echo(request: Request):
    body = request.body
    return {
        "size": len(body),
        "body": body[:300].decode("latin-1"),
        "client": request.client[0] if request.client else None,
        "authorization": request.headers.get("authorization"),
    }


@api.get("/framing")
async def framing():
    # A handler (or an upstream it relays) that sets the framing fields itself.
    return Response(
        b"hello",
        headers={
            "Content-Length": "999",
            "Transfer-Encoding": "chunked",
            "Connection": "keep-alive",
        },
        media_type="text/plain",
    )


@api.get("/big")
async def big():
    return Response(b"x" * 200_000, media_type="application/octet-stream")


@api.get("/events")
async def events(mark: str):
    async def ticks():
        try:
            while True:
                yield "data: tick\n\n"
                await asyncio.sleep(30)
        finally:
            # Written when the stream is closed: the test waits for it after hanging up.
            Path(mark).write_text("closed")

    return StreamingResponse(ticks(), media_type="text/event-stream")
