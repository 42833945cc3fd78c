"""The worker's main thread on a real socket: what it does once its parent is gone."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import TYPE_CHECKING

import pytest

from django_bolt.conf import ServerConfig
from django_bolt.server import lifeline, worker as worker_module
from django_bolt.server.contract import set_draining
from django_bolt.server.worker import Worker
from tests.server.apps import EchoApp

if TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER = "django_bolt.server"
PARENT_PID = 4242
# Well inside the drain an ordinary stop gives (the kill timeout below, less a second): a
# worker that does not notice its parent is gone answers it.
SLOW_REQUEST = b"GET /sleep?5 HTTP/1.1\r\nHost: test\r\n\r\n"
KILL_TIMEOUT_S = 10.0


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture(autouse=True)
def serving_again() -> Iterator[None]:
    """``Worker.stop()`` marks the whole process as draining; later tests need it serving."""
    yield
    set_draining(False)


def wait_until_dispatched(app: EchoApp) -> None:
    for _ in range(500):
        if app.seen:
            return
        time.sleep(0.01)
    pytest.fail("the request never reached the application")


def parent_gone_after_the_first_look(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Have the worker's orphan check say "present" once, then "gone"; return its looks."""
    looks: list[int | None] = []

    def gone_after_the_first_look(parent_pid: int | None) -> bool:
        looks.append(parent_pid)
        return len(looks) > 1

    monkeypatch.setattr(worker_module, "orphaned", gone_after_the_first_look)
    return looks


def test_a_parent_found_gone_while_draining_cuts_the_drain_short(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, listener: socket.socket
) -> None:
    # The race seen on a parent SIGKILLed whole: its death signal comes while getppid() still
    # names it (the kernel re-parents the worker to one of the parent's exiting threads
    # first), so the first look says "not an orphan", and every later one says "orphan".
    looks = parent_gone_after_the_first_look(monkeypatch)
    # An orphan's drain is then over at once: the slow request is cut, not answered.
    monkeypatch.setattr(lifeline, "ORPHAN_DRAIN_S", 0.0)
    app = EchoApp()
    config = ServerConfig(workers_kill_timeout_s=KILL_TIMEOUT_S, loop_stall_threshold_s=0.0)
    worker = Worker(app, config, [listener], parent_pid=PARENT_PID)
    worker.start()
    with socket.create_connection(listener.getsockname(), timeout=30) as client:
        client.sendall(SLOW_REQUEST)
        wait_until_dispatched(app)
        with caplog.at_level(logging.WARNING, LOGGER):
            worker.stop()
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            answer = client.recv(65536)
    assert answer == b""
    assert looks[:2] == [PARENT_PID, PARENT_PID]
    assert [r.getMessage() for r in caplog.records] == [
        f"parent process {PARENT_PID} is gone: draining for at most 0 s, then exiting"
    ]


def test_a_parent_found_gone_while_lingering_ends_the_linger(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    # The same race with --drain-delay: the linger (accepting new connections) began because
    # the first look said the parent was there.
    looks = parent_gone_after_the_first_look(monkeypatch)
    config = ServerConfig(
        workers_kill_timeout_s=KILL_TIMEOUT_S, drain_delay_s=5.0, loop_stall_threshold_s=0.0
    )
    worker = Worker(EchoApp(), config, [listener], parent_pid=PARENT_PID)
    worker.start()
    try:
        worker._linger()
    finally:
        worker.stop()
    assert looks[:2] == [PARENT_PID, PARENT_PID]
    # It stopped at the second look instead of serving out the whole delay as an orphan.
    assert worker._lingered_s < config.drain_delay_s


def test_a_stop_asked_before_the_loop_exists_is_kept(
    monkeypatch: pytest.MonkeyPatch, listener: socket.socket
) -> None:
    # SIGTERM during start-up: stop() runs while the loop thread is still making its loop
    # (held here for a moment). The request must not be lost, or stop() waits out the whole
    # drain window while the loop goes on to serve.
    made = worker_module.new_event_loop

    def slow_new_event_loop() -> object:
        time.sleep(0.5)
        return made()

    monkeypatch.setattr(worker_module, "new_event_loop", slow_new_event_loop)
    config = ServerConfig(workers_kill_timeout_s=KILL_TIMEOUT_S, loop_stall_threshold_s=0.0)
    worker = Worker(EchoApp(), config, [listener])
    worker.start()
    (loop_thread,) = worker._threads
    assert loop_thread.loop is None  # still inside slow_new_event_loop
    began = time.monotonic()
    worker.stop()
    took = time.monotonic() - began
    assert not loop_thread.thread.is_alive()
    # The loop stopped as soon as it ran (its half-second start, a short grace), far inside
    # the drain window of about KILL_TIMEOUT_S it would otherwise have waited out.
    assert took < KILL_TIMEOUT_S / 2
    # It never served: a connection made now is refused or left unanswered by any loop.
    assert loop_thread.state is None or loop_thread.state.total_requests == 0
