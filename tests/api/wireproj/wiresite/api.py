"""Found by discovery as ``<project>.api``: the endpoints the wire tests speak to over TCP."""

from __future__ import annotations

from pathlib import Path

import msgspec

from django_bolt import BoltAPI, FileResponse, Request, StreamingResponse
from django_bolt.responses import EventSourceResponse, ServerSentEvent

api = BoltAPI()
DATA_FILE = Path(__file__).with_name("data.txt")


class Item(msgspec.Struct):
    name: str
    price: float


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/items/{item_id}")
async def get_item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"id": item_id, "q": q}


@api.post("/items")
async def create_item(item: Item) -> Item:
    return item


@api.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks():
        for i in range(3):
            yield f"chunk{i};"

    return StreamingResponse(chunks())


@api.get("/events")
async def events() -> EventSourceResponse:
    async def gen():
        yield ServerSentEvent(event="tick", data={"n": 1})

    return EventSourceResponse(gen())


@api.get("/file")
async def file() -> FileResponse:
    return FileResponse(DATA_FILE)


@api.post("/upload")
async def upload(request: Request) -> dict[str, object]:
    return {"size": len(request.body), "spooled": request.body_file is not None}


@api.get("/peer")
async def peer(request: Request) -> dict[str, object]:
    client = request.client
    return {"client": client[0] if client else None, "scheme": request.scheme}
