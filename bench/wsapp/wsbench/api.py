"""The echo route, written as Django-Bolt 0.13's documentation writes it: both servers run it."""

from django_bolt import BoltAPI, WebSocket

api = BoltAPI()


@api.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for message in websocket.iter_text():
        await websocket.send_text(message)
