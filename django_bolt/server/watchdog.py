"""Notice an event loop that stopped running, and say what blocks it.

A handler that blocks its event loop (``time.sleep``, a blocking query or HTTP call, heavy CPU
work in an ``async def``) stalls every connection of that loop, and the worker keeps receiving
new ones: its ``SO_REUSEPORT`` socket has a queue of its own, which the kernel keeps filling.
Nothing fails, the worker only becomes slow, so the cause is hard to find afterwards.

Each loop stamps a :class:`Heartbeat` from a timer (every quarter of the threshold). One daemon
thread per worker process, the :class:`Watchdog`, reads the stamps: a loop whose stamp is older
than the threshold is stalled, and the watchdog logs, once per stall, the stack of the loop's
thread (``sys._current_frames()``), which names the blocking function; when the loop stamps
again, it logs how long it was stalled. The watchdog only observes: it never interrupts the
loop. :meth:`Watchdog.check` is one step of its loop, so tests drive it with their own clock.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Mapping
    from types import FrameType

__all__ = ("Heartbeat", "Watchdog")

logger = logging.getLogger("django_bolt.server")

# Beats (and checks) per threshold: a stall is seen at most a quarter of the threshold late.
_BEATS_PER_THRESHOLD: Final = 4


class Heartbeat:
    """The last time one event loop ran its timers, stamped from that loop's own thread."""

    __slots__ = (
        "_clock",
        "_handle",
        "_interval_s",
        "_loop",
        "last",
        "name",
        "stalled_since",
        "thread_id",
    )

    def __init__(self, name: str, thread_id: int, clock: Callable[[], float], interval_s: float):
        self.name = name
        self.thread_id = thread_id
        self._clock = clock
        self._interval_s = interval_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        # Read by the watchdog thread: one float attribute, replaced whole on each beat.
        self.last = clock()
        # Watchdog's state: the stamp the loop stalled after, None while it runs.
        self.stalled_since: float | None = None

    def beat(self) -> None:
        """Stamp the heartbeat now (the loop's timer calls this)."""
        self.last = self._clock()

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Beat from a timer on ``loop``, until :meth:`cancel`."""
        self._loop = loop
        self._tick()

    def _tick(self) -> None:
        self.beat()
        loop = self._loop
        if loop is not None:
            self._handle = loop.call_later(self._interval_s, self._tick)

    def cancel(self) -> None:
        self._loop = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class Watchdog:
    """Watch the event loops of one worker process from a thread of its own.

    ``clock`` and ``frames`` are injectable so tests can step :meth:`check` by hand.
    """

    def __init__(
        self,
        threshold_s: float,
        *,
        worker: str = "",
        clock: Callable[[], float] = time.monotonic,
        frames: Callable[[], Mapping[int, FrameType]] = sys._current_frames,
    ) -> None:
        if threshold_s <= 0:
            raise ValueError("the stall threshold must be positive (0 means: no watchdog)")
        self.threshold_s = threshold_s
        self.interval_s = threshold_s / _BEATS_PER_THRESHOLD
        self.worker = worker or f"worker {os.getpid()}"
        self._clock = clock
        self._frames = frames
        self._lock = threading.Lock()
        self._heartbeats: list[Heartbeat] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the loops' side -----------------------------------------------------------------------
    def register(self, name: str, thread_id: int) -> Heartbeat:
        """Return a heartbeat for the loop running on thread ``thread_id`` (stamped by the
        caller)."""
        heartbeat = Heartbeat(name, thread_id, self._clock, self.interval_s)
        with self._lock:
            self._heartbeats.append(heartbeat)
        return heartbeat

    def watch(self, loop: asyncio.AbstractEventLoop, name: str) -> Heartbeat:
        """Watch ``loop``, which runs on the calling thread, until :meth:`forget`."""
        heartbeat = self.register(name, threading.get_ident())
        heartbeat.run_on(loop)
        return heartbeat

    def forget(self, heartbeat: Heartbeat) -> None:
        """Stop watching (before the loop stops: a loop that no longer runs is not stalled)."""
        heartbeat.cancel()
        with self._lock:
            if heartbeat in self._heartbeats:
                self._heartbeats.remove(heartbeat)

    # --- the watchdog's side -------------------------------------------------------------------
    def check(self) -> None:
        """Look at every heartbeat once; log each stall once, and each recovery."""
        with self._lock:
            heartbeats = list(self._heartbeats)
        now = self._clock()
        for heartbeat in heartbeats:
            last = heartbeat.last
            stalled_since = heartbeat.stalled_since
            if stalled_since is not None:
                if last == stalled_since:
                    continue  # still stalled: already reported
                heartbeat.stalled_since = None
                # The loop was silent between two stamps; all but one interval of it was the
                # stall (how much exactly depends on where in the interval it began).
                logger.warning(
                    "%s, %s: the event loop runs again after being blocked for about %.1f s",
                    self.worker,
                    heartbeat.name,
                    last - stalled_since,
                )
            if now - last > self.threshold_s:
                heartbeat.stalled_since = last
                logger.warning(
                    "%s, %s: the event loop has been blocked for %.1f s (threshold %g s); "
                    "its connections wait, and new ones queue on its socket. What it runs "
                    "(most recent call last):\n%s",
                    self.worker,
                    heartbeat.name,
                    now - last,
                    self.threshold_s,
                    self._stack(heartbeat.thread_id),
                )

    def _stack(self, thread_id: int) -> str:
        frame = self._frames().get(thread_id)
        if frame is None:
            return "  (the thread has no Python frame)"
        return "".join(traceback.format_stack(frame)).rstrip("\n")

    def start(self) -> None:
        """Check every quarter of the threshold from a daemon thread, until :meth:`stop`."""
        self._thread = threading.Thread(target=self._run, name="django-bolt-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            self.check()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 1.0)
