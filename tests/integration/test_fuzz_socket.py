"""Fuzzing a real ``runbolt`` worker over a real socket, with tests/server/test_fuzz.py's exchanges.

One worker serves tests/fuzz/app.py (settings ``tests.fuzz.django_settings``). Each example
opens a connection, sends its requests and the probe ``GET /hello`` behind them (whole, one
byte per send for the first bytes, or in pieces a moment apart), and reads until every request
h11 frames in those bytes is answered; bytes that end inside a message are followed by a
half-close (``SHUT_WR``), and the worker must then answer what it framed and close. The
answers must keep the invariants of tests/fuzz/oracle.py, and nothing may be logged at ERROR.
After the run, the worker is the same process (same pid) and answers a plain request promptly.

Fewer examples than in-process (each costs a connection); ``BOLT_FUZZ_EXAMPLES=N`` runs a tenth
of N, at least the suite's count (tests/fuzz/budget.py):

    BOLT_FUZZ_EXAMPLES=20000 python -m pytest tests/integration/test_fuzz_socket.py -q
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest
from hypothesis import given

from tests.fuzz.budget import check, fuzz
from tests.fuzz.oracle import Verdict, frame_requests, parse_responses
from tests.fuzz.strategies import PROBE, PROBE_BODY, Exchange, exchanges

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

ROOT: Final = Path(__file__).resolve().parents[2]
SOCKET_EXAMPLES: Final = 40
# How long a connection may take to answer (or to close after the client's half-close).
ANSWER_TIMEOUT_S: Final = 5.0
# The plain request after the run must be answered within this.
PROMPT_S: Final = 1.0
# Bytes sent one send() at a time when an example is fed "bytewise".
BYTEWISE_SENDS: Final = 256
# Lines of the worker's log (tests/fuzz/django_settings.py) that fail an example.
ERROR_MARKS: Final = ("ERROR ", "CRITICAL ", "Traceback")


@pytest.fixture
def fuzz_server(run_bolt: Callable[..., BoltProcess]) -> BoltProcess:
    path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    env: dict[str, str | None] = {
        "DJANGO_SETTINGS_MODULE": "tests.fuzz.django_settings",
        "PYTHONPATH": path,
    }
    return run_bolt("--no-access-log", "--processes", "1", env=env)


def send(sock: socket.socket, case: Exchange, sent: bytes) -> None:
    """Send ``sent`` as ``case.feeding`` says; a server that already closed ends it early."""
    if case.feeding == "bytewise":
        pieces = [sent[i : i + 1] for i in range(min(len(sent), BYTEWISE_SENDS))]
        pieces.append(sent[BYTEWISE_SENDS:])
    elif case.feeding == "split":
        ends = list(itertools.accumulate(len(piece) for piece in case.pieces))
        pieces = [sent[a:b] for a, b in zip([0, *ends], ends, strict=False)]
        pieces.append(sent[ends[-1] :])  # the probe, when the pieces did not include it
    else:
        pieces = [sent]
    try:
        for piece in pieces:
            if piece:
                sock.sendall(piece)
                if case.feeding == "split":
                    time.sleep(0.002)  # so that each piece is a read of its own
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server refused and closed: what it answered is read below


def read_answers(sock: socket.socket, sent: bytes, until_eof: bool) -> tuple[bytes, bool]:
    """What the server writes: until it closes, or (``until_eof`` false) until every request
    h11 frames in ``sent`` is answered. Returns the bytes and whether the server closed."""
    framing = frame_requests(sent)
    methods = [request.method for request in framing.requests]
    output = bytearray()
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    sock.settimeout(0.05)
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return bytes(output), True
        if not data:
            return bytes(output), True
        output += data
        if not until_eof:
            answered = parse_responses(bytes(output), methods, closed=False).answers
            if len(answered) >= len(framing.requests):
                if not answered or not answered[-1].closes:
                    return bytes(output), False
                until_eof = True  # the last answer says the server closes: see that it does
    return bytes(output), False


def socket_exchange(server: BoltProcess, case: Exchange) -> Verdict:
    sent = case.data + PROBE
    until_eof = frame_requests(sent).end != "clean"
    log_start = len(server.stderr)
    with socket.create_connection((server.host, server.port), timeout=ANSWER_TIMEOUT_S) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        send(sock, case, sent)
        if until_eof:
            # The bytes end inside a message: say so, and the server must close.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        output, closed = read_answers(sock, sent, until_eof)
    time.sleep(0.02)  # the worker's log lines reach us through a pipe and a reader thread
    new_log = server.stderr[log_start:]
    verdict = Verdict(
        sent=sent,
        output=output,
        closed=closed,
        probe_body=PROBE_BODY,
        feeding=f"{case.feeding} over a socket",
        error_logs=[line for line in new_log.splitlines() if line.startswith(ERROR_MARKS)],
    )
    if until_eof and not closed:
        verdict.error_logs.append(
            f"the worker did not close within {ANSWER_TIMEOUT_S} s of the client's half-close"
        )
    return verdict


def worker_pid(server: BoltProcess) -> int:
    started = time.monotonic()
    response = server.get("/pid", timeout=ANSWER_TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert response.status == 200, response.body
    assert elapsed < PROMPT_S, f"GET /pid took {elapsed:.2f} s"
    pid: int = response.json()["pid"]
    return pid


def test_fuzz_over_a_socket(fuzz_server: BoltProcess) -> None:
    before = worker_pid(fuzz_server)

    @fuzz(SOCKET_EXAMPLES, long_share=0.1)
    @given(case=exchanges())
    def one_exchange(case: Exchange) -> None:
        check(socket_exchange(fuzz_server, case))

    one_exchange()
    assert worker_pid(fuzz_server) == before, "the worker was replaced during the run"
    assert fuzz_server.proc.poll() is None, fuzz_server.describe()
