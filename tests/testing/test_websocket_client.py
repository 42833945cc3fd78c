"""WebSocketTestClient takes Django-Bolt's arguments and raises its ConnectionClosed."""

from __future__ import annotations

import asyncio

import pytest

from django_bolt import BoltAPI, WebSocket
from django_bolt.testing import ConnectionClosed, WebSocketTestClient
from django_bolt.websocket import WebSocketDisconnect


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.websocket("/ws/who")
    async def who(websocket: WebSocket, room: str = "none") -> None:
        await websocket.accept()
        await websocket.send_json({"tenant": websocket.headers.get("x-tenant"), "room": room})
        await websocket.close(4000, "done")

    return api


def test_headers_then_the_query_string_positionally() -> None:
    async def main() -> dict[str, str]:
        async with WebSocketTestClient(_api(), "/ws/who", {"X-Tenant": "acme"}, "room=lobby") as ws:
            return await ws.receive_json()

    assert asyncio.run(main()) == {"tenant": "acme", "room": "lobby"}


def test_the_server_closing_raises_connection_closed() -> None:
    async def main() -> None:
        async with WebSocketTestClient(_api(), "/ws/who", query_string="?room=x") as ws:
            assert (await ws.receive_json())["room"] == "x"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.receive_text()
            assert isinstance(closed.value, WebSocketDisconnect)
            assert closed.value.code == 4000

    asyncio.run(main())
