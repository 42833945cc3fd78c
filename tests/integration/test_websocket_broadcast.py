"""WebSocket broadcast through Redis pub/sub across worker processes (runbolt --processes 2):
a message sent by a client of one process reaches a client of the other."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import websockets

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = [pytest.mark.integration, pytest.mark.redis]


async def _clients_on_two_processes(url: str) -> tuple[Any, Any]:
    """Connect until two clients are served by different processes (SO_REUSEPORT spreads them)."""
    by_pid: dict[int, Any] = {}
    spare = []
    for _ in range(60):
        ws = await websockets.connect(url)
        pid = json.loads(await ws.recv())["pid"]
        if pid in by_pid:
            spare.append(ws)
        else:
            by_pid[pid] = ws
        if len(by_pid) == 2:
            break
    for ws in spare:
        await ws.close()
    assert len(by_pid) == 2, "every connection landed on one process"
    first, second = by_pid.values()
    return first, second


def test_a_message_reaches_a_client_of_the_other_process(
    run_bolt: Callable[..., BoltProcess], redis_url: str
) -> None:
    bolt = run_bolt(
        "--processes",
        "2",
        env={
            "DJANGO_SETTINGS_MODULE": "testproject.settings_broadcast",
            "BOLT_TEST_REDIS_URL": redis_url,
        },
    )
    room = uuid.uuid4().hex  # Redis channels are shared by everything using that server

    async def main() -> tuple[str, str]:
        url = f"ws://{bolt.host}:{bolt.port}/ws/chat/{room}"
        first, second = await _clients_on_two_processes(url)
        try:
            await first.send("hello")
            got_second = await asyncio.wait_for(second.recv(), 10)
            got_first = await asyncio.wait_for(first.recv(), 10)
        finally:
            await first.close()
            await second.close()
        return got_first, got_second

    got_first, got_second = asyncio.run(main())
    assert got_second.endswith(": hello")
    assert got_first == got_second  # the sender's own process hears it through Redis too
