"""One worker process: N threads, each running its own event loop on its own listening socket.

The main thread does no serving. It starts the loop threads, tells the parent when every one of
them listens, flushes the access log, watches the recycling limits and waits for SIGTERM. A worker
that reaches a recycling limit does not exit by itself: it asks the parent, which first starts
its replacement on the same sockets and only then tells this one to drain (spawn-first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import signal
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Final

from django_bolt.server.contract import set_draining
from django_bolt.server.lifeline import (
    EXIT_STARTUP_FAILED,
    MSG_READY,
    MSG_RECYCLE,
    orphan_drain_s,
    orphaned,
    stop_when_parent_dies,
)
from django_bolt.server.loops import new_event_loop
from django_bolt.server.protocol import HttpProtocol, ServerState, as_protocol
from django_bolt.server.watchdog import Watchdog

if TYPE_CHECKING:
    import socket
    from types import FrameType

    from django_bolt.server.accesslog import AccessLog
    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import Application

__all__ = (
    "EXIT_STARTUP_FAILED",
    "MSG_READY",
    "MSG_RECYCLE",
    "Worker",
    "drain_window",
    "resident_mib",
)

logger = logging.getLogger("django_bolt.server")

_POLL_S: Final = 0.1
# Time a just-accepted connection gets to send its request once the worker stops.
_FRESH_GRACE_S: Final = 0.25
# A bound on the connections a stopping worker takes from its queue (the backlog is finite).
_BACKLOG_TAKE_MAX: Final = 65536
_CHECK_EVERY_S: Final = 1.0
# Past its drain, how long the main thread waits for a loop thread to finish shutting down.
_JOIN_SLACK_S: Final = 2.0
_PAGE_SIZE: Final = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def drain_window(kill_timeout_s: float) -> float:
    """How long a worker drains before aborting connections itself.

    A little shorter than the parent's kill timeout, so that the worker closes its connections,
    runs ``shutdown()`` and exits on its own instead of being SIGKILLed mid-way.
    """
    return max(0.0, kill_timeout_s - min(1.0, kill_timeout_s * 0.1))


def resident_mib() -> float:
    """Return this process's resident set size in MiB (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE / (1024 * 1024)
    except (OSError, IndexError, ValueError):
        try:
            # Lazily: psutil is optional, needed only where /proc is missing (macOS, BSD).
            import psutil
        except ImportError:
            return 0.0
        return float(psutil.Process().memory_info().rss) / (1024 * 1024)


class _LoopThread:
    """One thread, one event loop, one listening socket."""

    __slots__ = (
        "_asked",
        "_asked_lock",
        "_drain_until",
        "_stop",
        "error",
        "index",
        "loop",
        "ready",
        "sock",
        "state",
        "thread",
        "worker",
    )

    def __init__(self, worker: Worker, index: int, sock: socket.socket) -> None:
        self.worker = worker
        self.index = index
        self.sock = sock
        self.loop: asyncio.AbstractEventLoop | None = None
        self.state: ServerState | None = None
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        # When the drain ends, in the loop's clock: set (and only ever brought forward) on the
        # loop's thread by request_stop().
        self._drain_until = math.inf
        # A stop asked for before the loop could take it (its thread not yet running, or its
        # stop event not yet made): (drain_s, when asked, in time.monotonic()); _serve applies it.
        self._asked: tuple[float, float] | None = None
        self._asked_lock = threading.Lock()
        self.thread = threading.Thread(
            target=self._run, name=f"django-bolt-loop-{index}", daemon=True
        )

    def _run(self) -> None:
        loop = new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(loop))
        except BaseException as exc:
            self.error = exc
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        worker = self.worker
        app, config = worker.app, worker.config
        with self._asked_lock:
            self._stop = stop = asyncio.Event()
            asked = self._asked
        if asked is not None:
            drain_s, at = asked
            self._stop_within(loop, max(0.0, drain_s - (time.monotonic() - at)))
        await app.startup()
        watchdog = worker.watchdog
        heartbeat = None if watchdog is None else watchdog.watch(loop, self.thread.name)
        try:
            log = worker.access_log
            state = ServerState(app, config, None if log is None else log.record)
            # A second descriptor for the same socket: server.close() closes the first one.
            drain_sock = self.sock.dup()
            server = await loop.create_server(
                lambda: as_protocol(HttpProtocol(state)), sock=self.sock, backlog=config.backlog
            )
            self.state = state
            self.ready.set()
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    state.tick()
            # Stop accepting; the socket stays open in the parent, so connections queued on it
            # are left for the worker that shares or replaces this slot.
            server.close()
            # From now on each connection closes after answering what it has received (the
            # last answer carries Connection: close). A connection accepted a moment ago may not
            # have delivered its first request yet: begin_shutdown() would take it for idle and
            # close it unanswered, so give such requests a short grace first.
            state.stop_keep_alive()
            await asyncio.sleep(max(0.0, min(_FRESH_GRACE_S, self._drain_until - loop.time())))
            state.begin_shutdown()
            # Taken after begin_shutdown(): these are answered once, then closed.
            await self._serve_backlog(loop, state, drain_sock)
            # Polling keeps the protocol free of a drain callback on its hot path (and sees a
            # deadline that request_stop() brings forward meanwhile).
            while state.connections and loop.time() < self._drain_until:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            if state.connections:
                state.force_close()
                await asyncio.sleep(0)
            state.tick()  # with metrics on, this loop's last counts are written now
        finally:
            if watchdog is not None and heartbeat is not None:
                watchdog.forget(heartbeat)
            await app.shutdown()

    @staticmethod
    async def _serve_backlog(
        loop: asyncio.AbstractEventLoop, state: ServerState, sock: socket.socket
    ) -> None:
        """Take the connections already queued on the socket and answer them (then close).

        When the whole server stops, nobody else will accept them, and closing the socket would
        reset them although their requests were sent before the signal. (When only this worker
        is recycled, answering a few of them here is harmless.)
        """
        try:
            for _ in range(_BACKLOG_TAKE_MAX):
                try:
                    conn, _ = sock.accept()
                except OSError:  # BlockingIOError: the queue is empty
                    break
                conn.setblocking(False)
                await loop.connect_accepted_socket(
                    lambda: as_protocol(HttpProtocol(state)), sock=conn
                )
        finally:
            sock.close()

    def request_stop(self, drain_s: float) -> None:
        """Stop accepting, and drain for at most ``drain_s`` seconds from now.

        Called again while the loop drains, it can only shorten the drain (an orphan's).
        """
        with self._asked_lock:
            loop, stop = self.loop, self._stop
            if loop is None or stop is None:
                # Too early for the loop: _serve() applies it (the shortest drain asked wins).
                asked, now = self._asked, time.monotonic()
                if asked is None or now + drain_s < asked[1] + asked[0]:
                    self._asked = (drain_s, now)
                return
        if loop.is_closed():
            return
        # RuntimeError: the loop closed between the check and the call.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._stop_within, loop, drain_s)

    def _stop_within(self, loop: asyncio.AbstractEventLoop, drain_s: float) -> None:
        # On the loop's thread: the deadline is in the loop's own clock.
        self._drain_until = min(self._drain_until, loop.time() + drain_s)
        if self._stop is not None:
            self._stop.set()


class Worker:
    """Serve ``app`` on ``sockets`` (one thread per socket) until told to stop."""

    def __init__(
        self,
        app: Application,
        config: ServerConfig,
        sockets: list[socket.socket],
        *,
        notify_fd: int | None = None,
        access_log: AccessLog | None = None,
        parent_pid: int | None = None,
        stop_on_sigint: bool = False,
    ) -> None:
        self.app = app
        self.config = config
        # The level of the log's logger decides, once, what it keeps (or that there is none):
        # a worker is made after its Django, and so its LOGGING, is set up.
        self.access_log = None if access_log is None else access_log.at_logger_level()
        self._sockets = sockets
        self._notify_fd = notify_fd
        self._parent_pid = parent_pid
        self._stop_on_sigint = stop_on_sigint
        self._stopping = False
        self._lingered_s = 0.0
        self._threads: list[_LoopThread] = []
        threshold = config.loop_stall_threshold_s
        self.watchdog = Watchdog(threshold) if threshold > 0 else None

    # --- signals -------------------------------------------------------------------------------
    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only record it: the main loop acts within one poll interval. Readiness turns 503 now,
        # before the loops stop keep-alive, so a balancer probing it stops sending first.
        set_draining()
        self._stopping = True

    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        if self._stop_on_sigint:
            signal.signal(signal.SIGINT, self._on_stop_signal)
        else:
            # Ctrl-C reaches the whole process group; the parent decides what it means.
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _notify(self, message: bytes) -> None:
        if self._notify_fd is None:
            return
        # OSError: the parent is gone; the orphan check stops us.
        with contextlib.suppress(OSError):
            os.write(self._notify_fd, message)

    # --- main thread ---------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until SIGTERM; return the process exit status."""
        if self._parent_pid is not None:
            # Before the SIGTERM handler: an orphan at this point dies before it serves.
            stop_when_parent_dies(self._parent_pid)
        self._install_signals()
        self.start()
        if not self._wait_ready():
            self.stop()
            return 0 if self._stopping else EXIT_STARTUP_FAILED
        self._notify(MSG_READY)
        code = self._serve_until_stopped()
        self._linger()
        self.stop()
        if self.access_log is not None:
            self.access_log.flush()
        return code

    def start(self) -> None:
        """Start serving from background threads and return at once; :meth:`stop` ends it.

        :meth:`run` calls this, then waits for SIGTERM. Called alone, it leaves the calling
        thread and the signal handlers to the caller (the ``--dev`` watcher serves its error
        page this way).
        """
        self._threads = [_LoopThread(self, i, s) for i, s in enumerate(self._sockets)]
        for t in self._threads:
            t.thread.start()
        if self.watchdog is not None:
            self.watchdog.start()

    def _wait_ready(self) -> bool:
        while not self._stopping:
            if any(t.error is not None or not t.thread.is_alive() for t in self._threads):
                return all(t.ready.is_set() for t in self._threads)
            if all(t.ready.is_set() for t in self._threads):
                return True
            time.sleep(0.01)
        return False

    def _serve_until_stopped(self) -> int:
        config = self.config
        limit = 0
        if config.max_requests > 0:
            limit = config.max_requests + random.randint(0, max(0, config.max_requests_jitter))  # noqa: S311 - spread, not secrecy
        started = time.monotonic()
        next_check = started + _CHECK_EVERY_S
        asked = False
        access_log = self.access_log
        while not self._stopping:
            if access_log is not None:
                access_log.wake.wait(_POLL_S)
                access_log.flush(force=False)
            else:
                time.sleep(_POLL_S)
            if any(not t.thread.is_alive() for t in self._threads):
                logger.error("an event loop thread stopped unexpectedly; exiting")
                return 1
            now = time.monotonic()
            # The request count is cheap to read: checked every poll, so the limit is close.
            if not asked and limit and self._served() >= limit:
                logger.info("worker %d asks to be recycled: served %d requests", os.getpid(), limit)
                self._notify(MSG_RECYCLE)
                asked = True
            if now < next_check:
                continue
            next_check = now + _CHECK_EVERY_S
            if orphaned(self._parent_pid):
                break
            if not asked:
                reason = self._recycle_reason(limit, now - started)
                if reason:
                    logger.info("worker %d asks to be recycled: %s", os.getpid(), reason)
                    self._notify(MSG_RECYCLE)
                    asked = True
        return 0

    def _linger(self) -> None:
        """Serve on for ``--drain-delay`` seconds, readiness already 503, before draining.

        Connections are still accepted and answered: a load balancer that probes readiness
        takes this worker out of its pool meanwhile, so no request of its is refused later.
        """
        delay = self.config.drain_delay_s
        # Not under --dev: nothing balances its traffic, and every reload would wait.
        if delay <= 0 or self.config.dev or orphaned(self._parent_pid):
            return
        set_draining()
        logger.info("worker %d: serving %g s more before draining", os.getpid(), delay)
        deadline = time.monotonic() + delay
        access_log = self.access_log
        # The parent may turn out to be gone only now (see stop()): an orphan stops lingering.
        while (left := deadline - time.monotonic()) > 0 and not orphaned(self._parent_pid):
            if access_log is not None:
                access_log.wake.wait(min(_POLL_S, left))
                access_log.flush()
            else:
                time.sleep(min(_POLL_S, left))
        self._lingered_s = delay - max(0.0, left)

    def _served(self) -> int:
        return sum(t.state.total_requests for t in self._threads if t.state is not None)

    def _recycle_reason(self, request_limit: int, age_s: float) -> str:
        config = self.config
        if request_limit and self._served() >= request_limit:
            return f"served {self._served()} requests (limit {request_limit})"
        if config.workers_lifetime_s > 0 and age_s >= config.workers_lifetime_s:
            return f"lived {age_s:.0f} s (limit {config.workers_lifetime_s:g} s)"
        if config.max_rss_mib > 0:
            rss = resident_mib()
            if rss > config.max_rss_mib:
                return f"resident memory {rss:.0f} MiB (limit {config.max_rss_mib} MiB)"
        return ""

    def stop(self) -> None:
        """Drain and stop the loop threads (and the watchdog); return once they are done."""
        set_draining()
        # The parent's kill timer started with its SIGTERM: a linger came out of that time.
        drain_s = drain_window(self.config.workers_kill_timeout_s - self._lingered_s)
        orphan = orphaned(self._parent_pid)
        if orphan:
            # Whether it was the parent-death signal or the poll that stopped us.
            drain_s = self._orphan_drain(drain_s)
        deadline = self._request_stop(drain_s)
        for t in self._threads:
            while t.thread.is_alive() and (left := deadline - time.monotonic()) > 0:
                t.thread.join(min(left, _CHECK_EVERY_S))
                # Still watched while draining: the parent-death signal may come before the
                # kernel re-parents us (see lifeline.py), and a parent may die after its SIGTERM.
                if not orphan and orphaned(self._parent_pid):
                    orphan = True
                    deadline = min(deadline, self._request_stop(self._orphan_drain(drain_s)))
        if self.watchdog is not None:
            self.watchdog.stop()

    def _request_stop(self, drain_s: float) -> float:
        """Have every loop drain for at most ``drain_s`` s; return when to stop joining them.

        Past the drain a loop thread aborts its connections itself; the bound only avoids
        waiting forever on a thread that never got as far as creating its loop (the parent, if
        alive, SIGKILLs us after its kill timeout anyway).
        """
        for t in self._threads:
            t.request_stop(drain_s)
        return time.monotonic() + drain_s + _JOIN_SLACK_S

    def _orphan_drain(self, drain_s: float) -> float:
        drain_s = orphan_drain_s(drain_s)
        logger.warning(
            "parent process %d is gone: draining for at most %g s, then exiting",
            self._parent_pid,
            drain_s,
        )
        return drain_s
