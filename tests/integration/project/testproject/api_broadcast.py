"""A chat room over WebSocket broadcast, for the multi-process broadcast test."""

from __future__ import annotations

import asyncio
import os

from django_bolt import BoltAPI, WebSocket
from django_bolt.websocket.broadcast import Subscription, broadcast

api = BoltAPI()


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


async def forward(messages: Subscription, websocket: WebSocket) -> None:
    async for message in messages:
        await websocket.send_text(str(message))


@api.websocket("/ws/chat/{room}")
async def chat(websocket: WebSocket, room: str) -> None:
    await websocket.accept()
    async with broadcast.subscribe(f"chat:{room}") as messages:
        await websocket.send_json({"pid": os.getpid()})
        relay = asyncio.create_task(forward(messages, websocket))
        try:
            async for text in websocket.iter_text():
                await broadcast.publish(f"chat:{room}", f"{os.getpid()}: {text}")
        finally:
            relay.cancel()
