"""Issue 12's defects against a real runbolt, over real sockets.

Each test speaks raw bytes to a worker (``--processes 1``) of the test project served with
``testproject.settings_wire`` (``ALLOWED_HOSTS = ["*"]``, routes in ``api_wire.py``) and reads
back what the server writes, the way an attacker's client would.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from typing import TYPE_CHECKING

import psutil
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

SETTINGS = {"DJANGO_SETTINGS_MODULE": "testproject.settings_wire"}
ADMIN = b"GET /admin/ HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.9.9.9\r\n\r\n"


@pytest.fixture
def bolt(run_bolt: Callable[..., BoltProcess]) -> BoltProcess:
    return run_bolt("--processes", "1", "--no-access-log", env=SETTINGS)


def connect(bolt: BoltProcess, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection((bolt.host, bolt.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, timeout: float = 3.0) -> bytes:
    """Everything the server sends until it closes, or until ``timeout`` of silence."""
    sock.settimeout(timeout)
    data = bytearray()
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return bytes(data)


def exchange(bolt: BoltProcess, raw: bytes, timeout: float = 2.0) -> bytes:
    with connect(bolt) as sock:
        sock.sendall(raw)
        return read_until_closed(sock, timeout)


def statuses(data: bytes) -> list[int]:
    return [int(line.split()[1]) for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def bodies(data: bytes) -> list[bytes]:
    """The Content-Length bodies, in order (enough for the JSON answers here)."""
    out = []
    while b"\r\n\r\n" in data:
        head, _, data = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b": ")
            if name.lower() == b"content-length":
                length = int(value)
        out.append(data[:length])
        data = data[length:]
    return out


# --- 1. smuggling ------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [b"websocket", b"h2c"])
def test_an_upgrade_that_is_not_performed_keeps_its_body(
    bolt: BoltProcess, protocol: bytes
) -> None:
    raw = (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: %s\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (protocol, len(ADMIN), ADMIN)
    )
    data = exchange(bolt, raw)
    assert statuses(data) == [200]  # one answer: the body is no second request
    answer = json.loads(bodies(data)[0])
    assert answer["size"] == len(ADMIN)
    assert answer["body"] == ADMIN.decode()


def test_connect_with_a_body_is_refused_and_closed(bolt: BoltProcess) -> None:
    raw = b"CONNECT internal:443 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s" % (
        len(ADMIN),
        ADMIN,
    )
    started = time.monotonic()
    data = exchange(bolt, raw, timeout=5.0)
    assert statuses(data) == [501]
    assert time.monotonic() - started < 4.0  # closed by the server, not by the read timeout


# --- 2 and 4. the wire carries one framing, the server's ----------------------------------


def test_framing_fields_set_by_a_handler_do_not_reach_the_wire(bolt: BoltProcess) -> None:
    data = exchange(bolt, b"GET /framing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    fields = [line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:]]
    assert fields.count(b"content-length") == 1
    assert b"transfer-encoding" not in fields
    assert b"content-length: 5" in head.lower()
    assert body == b"hello"


# --- 5. Host ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", [b"evil@good", b"good#@evil", b"a b", b"a, b", b"good:70000"], ids=repr
)
def test_an_invalid_host_is_400_even_with_allowed_hosts_star(
    bolt: BoltProcess, host: bytes
) -> None:
    data = exchange(bolt, b"GET /ping HTTP/1.1\r\nHost: %s\r\n\r\n" % host)
    assert statuses(data) == [400]
    assert bodies(data) == [b'{"detail":"Invalid Host header"}']


# --- 6. trailers ------------------------------------------------------------------------------


def test_trailers_neither_move_the_client_nor_log_in(bolt: BoltProcess) -> None:
    raw = (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-Forwarded-For: 6.6.6.6\r\nAuthorization: Bearer stolen\r\n\r\n"
    )
    answer = json.loads(bodies(exchange(bolt, raw))[0])
    # The peer (127.0.0.1) is a trusted proxy: a merged X-Forwarded-For would have been believed.
    assert answer == {"size": 3, "body": "abc", "client": "127.0.0.1", "authorization": None}


# --- 8. request-target forms and the request line ------------------------------------------


def test_absolute_form_and_options_asterisk(bolt: BoltProcess) -> None:
    data = exchange(bolt, b"GET http://t/ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert statuses(data) == [200]
    assert bodies(data) == [b'{"pong":true}']
    data = exchange(bolt, b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
    assert statuses(data) == [204]
    assert b"\r\nallow: GET, HEAD, POST" in data


@pytest.mark.parametrize(
    "raw",
    [
        b"GET  /ping HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /ping  HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET ftp://t/ping HTTP/1.1\r\nHost: t\r\n\r\n",
    ],
    ids=["space-before-target", "space-before-version", "asterisk", "ftp"],
)
def test_malformed_request_lines_are_400(bolt: BoltProcess, raw: bytes) -> None:
    assert statuses(exchange(bolt, raw)) == [400]


# --- 10. chunk sizes --------------------------------------------------------------------------


def test_a_huge_chunk_is_refused_before_its_data(bolt: BoltProcess) -> None:
    with connect(bolt) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"fffffffff\r\nonly-a-little"
        )
        data = read_until_closed(sock, timeout=3.0)
    assert statuses(data) == [413]


def test_an_endless_chunk_extension_is_refused(bolt: BoltProcess) -> None:
    with connect(bolt) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(10):
                sock.sendall(b"e" * 1024)
        data = read_until_closed(sock, timeout=3.0)
    assert statuses(data) == [400]


# --- 3. a client that pipelines and never reads -----------------------------------------------


def worker_rss_mib(bolt: BoltProcess) -> float:
    (pid,) = bolt.worker_pids()
    return float(psutil.Process(pid).memory_info().rss) / (1 << 20)


def test_pipelining_without_reading_holds_little_and_is_cut(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt(
        "--processes", "1", "--no-access-log", env={**SETTINGS, "BOLT_TEST_WRITE_TIMEOUT": "2"}
    )
    request = b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n"
    before = worker_rss_mib(bolt)
    with connect(bolt) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(request * (37_000 // len(request)))  # 37 KB of requests, 200 KB answers
        time.sleep(1.0)
        grown = worker_rss_mib(bolt) - before
        # Each answer is 200 KB: without a bound this would be more than 200 MiB.
        assert grown < 32, f"the worker grew by {grown:.1f} MiB"
        # The client never reads: after the write timeout the server hangs up. Looked at from
        # the worker's side, since reading here would let the server write on.
        client = sock.getsockname()
        (pid,) = bolt.worker_pids()

        def worker_holds_it() -> bool:
            return any(
                c.raddr and tuple(c.raddr) == client for c in psutil.Process(pid).net_connections()
            )

        assert worker_holds_it()
        bolt.wait_for(lambda: not worker_holds_it(), 10, "the worker to drop the connection")
    assert bolt.get("/ping").status == 200  # and the worker serves on


# --- slow bodies and too many connections ------------------------------------------------------


def test_a_body_sent_a_byte_at_a_time_is_cut(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt(
        "--processes",
        "1",
        env={**SETTINGS, "BOLT_TEST_BODY_READ_TIMEOUT": "2", "BOLT_TEST_BODY_MIN_RATE": "500"},
    )
    started = time.monotonic()
    with connect(bolt) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
        data = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while time.monotonic() - started < 10 and not data:
                sock.sendall(b"x")
                sock.settimeout(0.5)
                with contextlib.suppress(TimeoutError):
                    data = sock.recv(65536)
    assert statuses(data) == [408]
    assert time.monotonic() - started < 6


def test_connections_beyond_the_cap_get_503(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt(
        "--processes", "1", "--limit-concurrency", "4", "--keep-alive", "30", env=SETTINGS
    )
    idle = [connect(bolt) for _ in range(4)]
    try:
        time.sleep(0.3)
        data = exchange(bolt, b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        assert statuses(data) == [503]
        assert bodies(data) == [b'{"detail":"Too many connections"}']
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.3)
    assert bolt.get("/ping").status == 200


# --- 9. a stream notices a client that left --------------------------------------------------


def test_an_event_stream_stops_when_the_client_hangs_up(bolt: BoltProcess, tmp_path: Path) -> None:
    mark = tmp_path / "closed"
    with connect(bolt) as sock:
        sock.sendall(b"GET /events?mark=%s HTTP/1.1\r\nHost: t\r\n\r\n" % str(mark).encode())
        sock.settimeout(5)
        received = b""
        while b"data: tick" not in received:
            received += sock.recv(65536)
    # The generator now sleeps 30 s between events: the hang-up must end it, not a later write.
    deadline = time.monotonic() + 3
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.exists()
