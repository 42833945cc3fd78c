"""WebSocket routes for the runbolt and nginx WebSocket tests."""

from __future__ import annotations

import os

from django_bolt import BoltAPI, WebSocket

api = BoltAPI()


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(
        {"pid": os.getpid(), "client": websocket.client[0] if websocket.client else None}
    )
    async for message in websocket.iter_text():
        await websocket.send_text(message)
