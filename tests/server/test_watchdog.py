"""The event-loop watchdog, stepped by hand with a fake clock, and once on a real blocked loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING

import pytest

from django_bolt.server.loops import new_event_loop
from django_bolt.server.watchdog import Watchdog

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django_bolt.server.watchdog import Heartbeat

LOGGER = "django_bolt.server"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wait_in_a_blocking_call(release: threading.Event) -> None:
    """Stands for a handler stuck in a blocking call; its name must appear in the stack."""
    release.wait(30)


@pytest.fixture
def stuck_thread() -> Iterator[int]:
    """The ident of a thread sitting in :func:`wait_in_a_blocking_call`."""
    release = threading.Event()
    thread = threading.Thread(target=wait_in_a_blocking_call, args=(release,), daemon=True)
    thread.start()
    assert thread.ident is not None
    yield thread.ident
    release.set()
    thread.join(5)


def stall_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "has been blocked" in r.getMessage()]


def recovery_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "runs again" in r.getMessage()]


def make(clock: FakeClock, thread_id: int) -> tuple[Watchdog, Heartbeat]:
    watchdog = Watchdog(1.0, worker="worker 7", clock=clock)
    return watchdog, watchdog.register("django-bolt-loop-0", thread_id)


def test_a_loop_that_keeps_beating_is_never_reported(
    caplog: pytest.LogCaptureFixture, stuck_thread: int
) -> None:
    clock = FakeClock()
    watchdog, heartbeat = make(clock, stuck_thread)
    with caplog.at_level(logging.WARNING, LOGGER):
        for _ in range(20):
            clock.now += watchdog.interval_s
            heartbeat.beat()
            watchdog.check()
    assert caplog.records == []


def test_a_stall_logs_the_stack_once_then_the_recovery(
    caplog: pytest.LogCaptureFixture, stuck_thread: int
) -> None:
    clock = FakeClock()
    watchdog, heartbeat = make(clock, stuck_thread)
    with caplog.at_level(logging.WARNING, LOGGER):
        clock.now += 1.0  # exactly the threshold: not yet a stall
        watchdog.check()
        assert stall_records(caplog) == []
        for _ in range(8):  # blocked for 3 s in all, checked every quarter second
            clock.now += 0.25
            watchdog.check()
        (stall,) = stall_records(caplog)
        assert stall.startswith("worker 7, django-bolt-loop-0: the event loop has been blocked")
        assert "for 1.2 s (threshold 1 s)" in stall
        assert "in wait_in_a_blocking_call\n" in stall
        assert "release.wait(30)" in stall
        heartbeat.beat()
        watchdog.check()
        (recovery,) = recovery_records(caplog)
        assert recovery.endswith("being blocked for about 3.0 s")
        clock.now += 0.25
        heartbeat.beat()
        watchdog.check()
    assert len(stall_records(caplog)) == 1
    assert len(recovery_records(caplog)) == 1


def test_each_stall_is_reported_once(caplog: pytest.LogCaptureFixture, stuck_thread: int) -> None:
    clock = FakeClock()
    watchdog, heartbeat = make(clock, stuck_thread)
    with caplog.at_level(logging.WARNING, LOGGER):
        for _ in range(2):
            clock.now += 2.0
            watchdog.check()
            watchdog.check()
            heartbeat.beat()
            watchdog.check()
    assert len(stall_records(caplog)) == 2
    assert len(recovery_records(caplog)) == 2


def test_a_forgotten_loop_is_not_watched(
    caplog: pytest.LogCaptureFixture, stuck_thread: int
) -> None:
    clock = FakeClock()
    watchdog, heartbeat = make(clock, stuck_thread)
    watchdog.forget(heartbeat)
    clock.now += 10
    with caplog.at_level(logging.WARNING, LOGGER):
        watchdog.check()
    assert caplog.records == []


def test_zero_is_no_watchdog() -> None:
    with pytest.raises(ValueError, match="0 means: no watchdog"):
        Watchdog(0)


def block_the_loop(seconds: float) -> None:
    time.sleep(seconds)


def test_a_real_loop_blocked_by_a_callback_is_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The heartbeat's timer on a real loop, and the watchdog's own thread."""
    watchdog = Watchdog(0.2, worker="worker 7")
    loop = new_event_loop()
    watched = threading.Event()
    done = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        heartbeat = watchdog.watch(loop, "django-bolt-loop-0")
        watched.set()
        try:
            loop.run_forever()
        finally:
            watchdog.forget(heartbeat)
            loop.close()
            done.set()

    thread = threading.Thread(target=serve, daemon=True)
    with caplog.at_level(logging.WARNING, LOGGER):
        thread.start()
        assert watched.wait(5)
        watchdog.start()
        try:
            time.sleep(0.5)  # beating: nothing to report
            assert stall_records(caplog) == []
            loop.call_soon_threadsafe(block_the_loop, 1.0)
            deadline = time.monotonic() + 10
            while not recovery_records(caplog) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            assert done.wait(5)
            watchdog.stop()
    (stall,) = stall_records(caplog)
    assert "in block_the_loop\n" in stall
    (recovery,) = recovery_records(caplog)
    assert "blocked for about" in recovery
