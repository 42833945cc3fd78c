"""A mounted ASGI application learns that its client left (http.disconnect): real runbolt."""

from __future__ import annotations

import socket
import struct
from typing import TYPE_CHECKING

import pytest

from tests.integration.projects import Project

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

EXTRA_API = """

from urllib.parse import parse_qs as _parse_qs


async def _watch_disconnect(scope, receive, send):
    if scope["type"] != "http":
        return
    query = _parse_qs(scope["query_string"].decode())
    mark = query["mark"][0]
    await receive()  # the (empty) body
    if query.get("start"):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
    with open(mark + ".started", "w"):
        pass
    message = await receive()
    # After the disconnect, send() does nothing (and raises nothing).
    await send({"type": "http.response.body", "body": b"late", "more_body": False})
    with open(mark, "w") as out:
        out.write(message["type"])


api.mount_asgi("/watch", _watch_disconnect)
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project", extra_api=EXTRA_API)


@pytest.mark.parametrize("start", ["", "1"], ids=["before-headers", "mid-body"])
def test_a_client_that_leaves_is_an_http_disconnect(
    run_bolt: Callable[..., BoltProcess], project: Project, tmp_path: Path, start: str
) -> None:
    bolt = run_bolt("--processes", "1", "--skip-checks", cwd=project.root)
    mark = tmp_path / "seen"
    started = tmp_path / "seen.started"
    with socket.create_connection((bolt.host, bolt.port), timeout=10) as sock:
        sock.sendall(f"GET /watch?mark={mark}&start={start} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        bolt.wait_for(started.exists, 10, "the application to wait for its client")
        if start:
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        else:
            # Before any answer, a plain close (FIN) may be a half-close by a client that still
            # reads (HTTP allows it): a client that is gone resets the connection.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    bolt.wait_for(lambda: mark.exists() and mark.read_text() != "", 10, "the disconnect")
    assert mark.read_text() == "http.disconnect"
    assert bolt.get("/hello").status == 200
    assert "Traceback" not in bolt.stderr
