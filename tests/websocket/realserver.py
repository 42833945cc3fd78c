"""Our server on a real socket, for the WebSocket tests that use a real client.

``Server(api, **config)`` serves ``api`` with the real ``HttpProtocol`` on a free loopback port
inside the running event loop; ``run(coro)`` runs a test's coroutine on a fresh event loop of the
kind the server uses, with a 20 s bound.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from django_bolt.server.config import ServerConfig
from django_bolt.server.loops import new_event_loop
from django_bolt.server.protocol import HttpProtocol
from django_bolt.server.state import ServerState
from django_bolt.server.websocket import ServerWebSocket

if TYPE_CHECKING:
    from django_bolt import BoltAPI

__all__ = ("Server", "run")


class Server:
    """``async with Server(api) as server``: ``server.url(path)``, ``server.log``, and the rest."""

    def __init__(self, api: BoltAPI, **options: Any) -> None:
        options.setdefault("keep_alive_s", 0.4)  # a sweep every 0.1 s
        self.config = ServerConfig(**options)
        self.api = api
        # (method, target, status) of each access-log line the server wrote.
        self.log: list[tuple[Any, ...]] = []

    def _access(self, request: Any, status: int, nbytes: int, started: float) -> None:
        self.log.append((request.method, request.target, status))

    async def __aenter__(self) -> Server:
        await self.api.startup()
        self.state = ServerState(self.api, self.config, self._access)
        self.server = await asyncio.get_running_loop().create_server(
            lambda: HttpProtocol(self.state), "127.0.0.1", 0
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.state.force_close()
        self.server.close()
        await self.server.wait_closed()
        await self.api.shutdown()

    def url(self, path: str) -> str:
        """Return the ws:// URL of ``path`` on this server."""
        return f"ws://127.0.0.1:{self.port}{path}"

    def sockets(self) -> list[ServerWebSocket]:
        """Return the open WebSockets the server holds."""
        return [c for c in self.state.connections if isinstance(c, ServerWebSocket)]


def run(coro: Any) -> Any:
    """Run ``coro`` to its end on a new event loop (at most 20 s)."""
    loop = new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 20))
    finally:
        loop.close()
