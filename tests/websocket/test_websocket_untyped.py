"""A WebSocket handler whose connection argument has no annotation (``websocket`` or ``ws``)."""

from __future__ import annotations

import asyncio

from django_bolt import BoltAPI
from django_bolt.testing import TestClient, WebSocketTestClient


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.websocket("/ws/untyped")
    async def untyped(websocket):  # type: ignore[no-untyped-def]
        await websocket.accept()
        await websocket.send_text("untyped")
        await websocket.close()

    @api.websocket("/ws/short/{room}")
    async def short(ws, room: str):  # type: ignore[no-untyped-def]
        await ws.accept()
        await ws.send_text(room)
        await ws.close()

    @api.get("/http")
    async def http(ws: str = "none") -> dict[str, str]:
        # On an HTTP route the name means nothing special: a query parameter.
        return {"ws": ws}

    return api


def test_an_unannotated_websocket_argument_is_the_connection() -> None:
    api = _api()

    async def main() -> list[str]:
        texts = []
        for path in ("/ws/untyped", "/ws/short/lobby"):
            async with WebSocketTestClient(api, path) as ws:
                texts.append(await ws.receive_text())
        return texts

    assert asyncio.run(main()) == ["untyped", "lobby"]


def test_the_names_are_plain_parameters_on_http_routes() -> None:
    with TestClient(_api()) as client:
        assert client.get("/http", params={"ws": "x"}).json() == {"ws": "x"}
