"""/ready turns 503 the moment a real runbolt worker starts draining (SIGTERM, SIGHUP).

A connection carries two pipelined requests: one that holds until its worker reports draining
(the handler itself reads the server's flag), then ``GET /ready``. The worker answers what a
connection already sent, so the second answer is the readiness of a draining worker.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.projects import Project
from tests.server.test_protocol import parse

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

EXTRA_API = """

import asyncio as _asyncio

from django_bolt.health import register_health_checks as _register_health_checks
from django_bolt.server.contract import is_draining as _is_draining

_register_health_checks(api)


@api.get("/hold-until-draining")
async def hold_until_draining(mark: str) -> dict[str, bool]:
    with open(mark, "w"):
        pass
    for _ in range(600):
        if _is_draining():
            break
        await _asyncio.sleep(0.05)
    return {"draining": _is_draining()}
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project", extra_api=EXTRA_API)


def read_until_closed(sock: socket.socket, timeout: float = 40.0) -> list[tuple[int, bytes]]:
    """Read until the draining worker closes the connection; (status, body) of each answer."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return [(int(line.split()[1]), body) for line, _headers, body in parse(data)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_ready_answers_503_once_the_worker_drains(
    run_bolt: Callable[..., BoltProcess], project: Project, tmp_path: Path, sig: int
) -> None:
    bolt = run_bolt("--processes", "1", "--skip-checks", cwd=project.root)
    assert bolt.get("/ready").status == 200
    mark = tmp_path / "held"
    with socket.create_connection((bolt.host, bolt.port), timeout=10) as sock:
        sock.sendall(
            f"GET /hold-until-draining?mark={mark} HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        bolt.wait_for(mark.exists, 10, "the held request to reach its handler")
        bolt.send_signal(sig)
        answers = read_until_closed(sock)
    assert [status for status, _ in answers] == [200, 503], answers
    assert answers[0][1] == b'{"draining":true}'
    assert answers[1][1] == b'{"status":"draining","checks":{}}'
    if sig == signal.SIGHUP:
        # The replacement is not draining: it answers ready.
        deadline = time.monotonic() + 30
        while bolt.get("/ready").status != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert bolt.get("/ready").status == 200
    else:
        assert bolt.wait(30) == 0


def test_drain_delay_keeps_accepting_while_ready_says_503(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt("--processes", "1", "--skip-checks", "--drain-delay", "5", cwd=project.root)
    bolt.send_signal(signal.SIGTERM)
    # Fresh connections are still accepted and served during the delay.
    bolt.wait_output("serving 5 s more before draining", 10)
    ready = bolt.get("/ready")
    assert ready.status == 503
    assert ready.json() == {"status": "draining", "checks": {}}
    assert bolt.get("/health").status == 200
    assert bolt.get("/hello").status == 200
    assert bolt.wait(30) == 0


def test_a_drain_delay_must_fit_in_the_kill_timeout(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt(
        "--drain-delay", "40", "--workers-kill-timeout", "30", cwd=project.root, ready=False
    )
    assert bolt.wait(30) != 0
    assert "drain_delay_s must be shorter than workers_kill_timeout_s" in bolt.stderr
