"""WebSockets served by runbolt: drained with 1012 on SIGTERM and SIGHUP, and behind nginx
configured with the deployment guide's WebSocket block."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import websockets

from tests.integration.test_nginx import SEED_LOCATION, nginx_factory, render_conf

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess
    from tests.integration.test_nginx import Nginx

pytestmark = pytest.mark.integration
__all__ = ("nginx_factory",)

ENV = {"DJANGO_SETTINGS_MODULE": "testproject.settings_websocket"}
DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def guide_websocket_location() -> str:
    """Return the WebSocket location block of docs/deployment.md, as written there."""
    text = DEPLOYMENT.read_text()
    found = re.search(r"```nginx\n(    location /ws/ \{.*?\n    \})\n```", text, re.S)
    assert found is not None, "docs/deployment.md lost its WebSocket block"
    return found[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_drain_closes_open_websockets_with_1012(
    run_bolt: Callable[..., BoltProcess], sig: int
) -> None:
    bolt = run_bolt("--workers-kill-timeout", "10", env=ENV)

    async def main() -> tuple[int | None, str]:
        async with websockets.connect(f"ws://{bolt.host}:{bolt.port}/ws/echo") as ws:
            await ws.recv()
            await ws.send("before")
            assert await ws.recv() == "before"
            bolt.send_signal(sig)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 15)
            return ws.close_code, ws.close_reason or ""

    code, reason = asyncio.run(main())
    assert code == 1012, bolt.describe()
    assert reason == "server restarting"


def test_a_worker_loads_the_websocket_library_at_its_first_handshake(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "1", env=ENV)
    (worker,) = bolt.worker_pids()
    # The library's C module: mapped once websockets is imported.
    library = os.path.join("websockets", "speedups")
    assert library not in Path(f"/proc/{worker}/maps").read_text()

    async def main() -> str:
        async with websockets.connect(f"ws://{bolt.host}:{bolt.port}/ws/echo") as ws:
            await ws.recv()
            await ws.send("first")
            return str(await ws.recv())

    assert asyncio.run(main()) == "first"
    assert library in Path(f"/proc/{worker}/maps").read_text()


def test_websocket_through_nginx(
    run_bolt: Callable[..., BoltProcess], nginx_factory: Callable[..., Nginx]
) -> None:
    bolt = run_bolt(env=ENV)
    nginx = nginx_factory(bolt.port)
    conf = render_conf(nginx.prefix, bolt.port, nginx.port)
    location = guide_websocket_location()
    nginx.conf.write_text(conf.replace(SEED_LOCATION, SEED_LOCATION + "\n\n" + location))
    result = nginx.test_config()
    assert result.returncode == 0, result.stderr
    nginx.start()

    async def main() -> dict[str, Any]:
        url = f"ws://127.0.0.1:{nginx.port}/ws/echo"
        async with websockets.connect(url, local_addr=("127.0.0.2", 0)) as ws:
            hello = json.loads(await ws.recv())
            for text in ("one", "two" * 1000):
                await ws.send(text)
                assert await ws.recv() == text
            return dict(hello)

    hello = asyncio.run(main())
    # The TCP peer is nginx; X-Forwarded-For (set by the block, believed from loopback) names
    # the real client.
    assert hello["client"] == "127.0.0.2"
