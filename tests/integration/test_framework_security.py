"""Issue 12, framework side, through a real ``runbolt`` and raw sockets.

Cookies that could split a response (defect 2), JSON nested too deeply (defect 7), the
trailing-slash redirect to another host, and sync streams that blocked the worker and were never
closed (defect 9). The routes live in the test project's api module under ``/security/``.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from tests.server.test_protocol import parse

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


def exchange(bolt: BoltProcess, head: bytes, body: bytes = b"") -> bytes:
    """One request on its own connection (closed by the server after the answer): every byte."""
    with socket.create_connection((bolt.host, bolt.port), timeout=10) as sock:
        sock.sendall(head + b"Host: test\r\nConnection: close\r\n\r\n" + body)
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    return b"".join(received)


def header_lines(raw: bytes) -> list[bytes]:
    return raw[: raw.index(b"\r\n\r\n")].split(b"\r\n")[1:]


def get(bolt: BoltProcess, target: str) -> bytes:
    return exchange(bolt, f"GET {target} HTTP/1.1\r\n".encode())


# --- defect 2: Set-Cookie ------------------------------------------------------------------------


def test_cookies_stay_one_quoted_header_line_or_are_dropped(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "1")
    value = "x; Domain=evil.example; Path=/admin"
    raw = get(bolt, f"/security/cookie?value={quote(value)}")
    assert raw.startswith(b"HTTP/1.1 200 ")
    cookies = [line for line in header_lines(raw) if line.lower().startswith(b"set-cookie:")]
    assert cookies == [
        b'set-cookie: probe="x\\073 Domain=evil.example\\073 Path=/admin"; Path=/; SameSite=Lax'
    ]
    # A value with CR/LF (a header line of its own, unquoted): dropped with a warning.
    value = "x\r\nSet-Cookie: admin=1; Domain=evil.example\r\n\r\n<script>"
    raw = get(bolt, f"/security/cookie?value={quote(value)}")
    assert raw.startswith(b"HTTP/1.1 200 ")
    lines = [line.lower() for line in header_lines(raw)]
    assert not any(line.startswith(b"set-cookie:") for line in lines)
    bolt.wait_output("'probe' not set: its value has a control character", timeout=5)
    # A path that cannot be sent: the response goes out without that cookie, with a warning.
    raw = get(bolt, f"/security/cookie?path={quote('/' + chr(13) + chr(10) + 'X-Injected: 1')}")
    assert raw.startswith(b"HTTP/1.1 200 ")
    lines = [line.lower() for line in header_lines(raw)]
    assert not any(line.startswith((b"set-cookie:", b"x-injected:")) for line in lines)
    bolt.wait_output("'probe' not set: its path", timeout=5)


# --- defect 7: JSON nested too deeply ------------------------------------------------------------


def test_deeply_nested_json_is_a_422_without_a_traceback(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "1")
    for path in ("/security/json-typed", "/security/json-request"):
        for depth in (1_000, 100_000):
            body = b"[" * depth + b"]" * depth
            head = (
                f"POST {path} HTTP/1.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
            ).encode()
            [(status_line, _, answer)] = parse(exchange(bolt, head, body))
            assert status_line.startswith(b"HTTP/1.1 422 "), (path, depth, answer)
            assert b'"type":"json_invalid"' in answer
    assert "Traceback" not in bolt.stderr


# --- the trailing-slash redirect -----------------------------------------------------------------


def test_no_redirect_to_a_location_browsers_read_as_another_host(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "1", env={"BOLT_TEST_ROOT_NAME_ROUTE": "1"})
    for target in ("/\\evil.example/", "/\\evil.example/?next=1"):
        raw = get(bolt, target)
        assert raw.startswith(b"HTTP/1.1 404 "), raw
        assert not any(line.lower().startswith(b"location:") for line in header_lines(raw))
    # The route one slash away is there, and an ordinary spelling still redirects.
    assert get(bolt, "/\\evil.example").startswith(b"HTTP/1.1 200 ")
    redirect = get(bolt, "/hello/?a=1&b=%2F")
    assert redirect.startswith(b"HTTP/1.1 308 ")
    assert b"location: /hello?a=1&b=%2F" in header_lines(redirect)


# --- defect 9: sync streams ----------------------------------------------------------------------


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before {marker!r}: {data!r}")
        data += chunk
    return data


def test_a_sync_stream_runs_in_the_pool_and_is_closed_when_the_client_leaves(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    bolt = run_bolt("--processes", "1", "--workers", "1")
    mark = tmp_path / "stream.log"
    stream = socket.create_connection((bolt.host, bolt.port), timeout=10)
    try:
        stream.sendall(
            f"GET /security/sync-stream?mark={quote(str(mark))}&pause=0.5 HTTP/1.1\r\n"
            "Host: test\r\n\r\n".encode()
        )
        read_until(stream, b"chunk 1\n")
        assert mark.read_text().startswith("started bolt-sync")
        # The generator sleeps 0.5 s between chunks: on the event loop, each of these requests
        # would wait for a sleep to end (about 2.5 s in all).
        started = time.monotonic()
        for _ in range(5):
            assert bolt.get("/hello", timeout=10).status == 200
        assert time.monotonic() - started < 1.0
    finally:
        stream.close()
    # The server closes an abandoned stream (aclose()): the generator's finally runs within a
    # couple of seconds of the client leaving.
    bolt.wait_for(lambda: "closed" in mark.read_text(), 3, "the generator to be closed")
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(10) == 0


def test_a_quiet_async_stream_is_closed_when_the_client_leaves(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    bolt = run_bolt("--processes", "1", "--workers", "1")
    mark = tmp_path / "stream.log"
    with socket.create_connection((bolt.host, bolt.port), timeout=10) as stream:
        stream.sendall(
            f"GET /security/async-stream?mark={quote(str(mark))}&pause=30 HTTP/1.1\r\n"
            "Host: test\r\n\r\n".encode()
        )
        read_until(stream, b"tick\n")
    # The next chunk is 30 s away: only the client's EOF can tell the server to stop now.
    bolt.wait_for(lambda: mark.exists() and "closed" in mark.read_text(), 3, "the close")
