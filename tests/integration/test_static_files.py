"""Production static files through the real runbolt: collectstatic, then STATIC_ROOT on our port."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.integration.conftest import PROJECT_DIR, bolt_env

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


def raw_status(host: str, port: int, target: bytes) -> bytes:
    """The status line for a target sent byte for byte (httpx would remove the dot segments)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0]


def test_collected_static_files_are_served(
    tmp_path: Path, run_bolt: Callable[..., BoltProcess]
) -> None:
    static_root = tmp_path / "static"
    (tmp_path / "secret.txt").write_text("secret")
    env = {"BOLT_TEST_STATIC_ROOT": str(static_root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=PROJECT_DIR,
        env=bolt_env(env),
        check=True,
        capture_output=True,
        timeout=120,
    )
    expected = (static_root / "admin" / "css" / "base.css").read_bytes()
    bolt = run_bolt(env=env)
    base = f"http://{bolt.host}:{bolt.port}"
    with httpx.Client(base_url=base, timeout=10) as client:
        first = client.get("/static/admin/css/base.css", headers={"accept-encoding": "identity"})
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/css")
        assert first.headers["content-length"] == str(len(expected))
        assert first.content == expected
        etag = first.headers["etag"]
        again = client.get("/static/admin/css/base.css", headers={"if-none-match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        part = client.get("/static/admin/css/base.css", headers={"range": "bytes=0-9"})
        assert part.status_code == 206
        assert part.content == expected[:10]
        missing = client.get("/static/admin/css/nope.css")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "Not Found"}
        # The project's settings leave DEBUG off: the API still answers next to the files.
        assert client.get("/hello").status_code == 200
    # A dot segment is 0.13's 400; a directory names no file (404).
    for target, status in (
        (b"/static/../secret.txt", b"400"),
        (b"/static/%2e%2e/secret.txt", b"400"),
        (b"/static/admin/", b"404"),
    ):
        assert raw_status(bolt.host, bolt.port, target).split(b" ")[1] == status, target
