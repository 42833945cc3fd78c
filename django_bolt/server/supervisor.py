"""The parent process: forks the workers, watches them, recycles them and handles signals.

The parent never serves. It keeps every slot's listening sockets open for its whole life, so a
slot's socket (and the connections the kernel queued on it) outlives any one worker: replacing
a worker is spawn-first (the new one accepts on the same sockets before the old one drains) and
never resets a queue. A slot abandoned for good has its sockets closed, so the kernel stops
routing connections to it.

Two ways to start a worker, chosen by the caller (``preloaded``):

- a fresh interpreter (``python -m django_bolt.server.handover``, forked and at once exec'd) that
  inherits only its slot's listening sockets and its pipe and calls the loader the caller named
  (``runbolt``'s sets Django up and imports the project from disk). Always, when the parent
  imported no project (server/launch.py: ``runbolt`` execs into a small supervisor interpreter);
- a fork of a parent that imported the project (``--preload``, server/preload.py): it shares the
  parent's pages and starts at once, but runs the code the parent imported, so a code reload
  cannot fork: on ``SIGHUP`` each replacement is a fresh interpreter, and once a fresh worker
  serves, recycling and respawns start fresh interpreters too (a fork would bring the old code
  back).

The parent never runs project code after the start; the other design, the parent re-executing
itself and handing its sockets to its new image on ``SIGHUP``, would put the whole service in the
hands of the new code and would have to hand the running workers over too. A reload stays
spawn-first, one slot at a time; a new worker that fails to import or start (a ``SyntaxError`` in
the deployed code) exits before it listens, the old worker keeps serving, and the rest of the
round is abandoned.

The loop is split from the process plumbing so tests can step it: :class:`Supervisor` only
talks to a :class:`ProcessTable` (spawn, signal, reap, read messages) and a clock. Signal
handlers only record the signal; ``step()`` dispatches it to ``handle_sigterm`` and friends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import sys
import time
import traceback
from collections import deque
from typing import TYPE_CHECKING, Any, Final, Protocol

from django_bolt.server.lifeline import (
    EXIT_STARTUP_FAILED,
    MSG_READY,
    MSG_RECYCLE,
    describe_exit,
    stop_when_parent_dies,
)
from django_bolt.server.rlimits import raise_open_file_limit

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from types import FrameType

    from django_bolt.server.metrics import SupervisorMetrics

__all__ = (
    "CRASH_LOOP_S",
    "EXIT_INTERRUPTED",
    "READY_LINE",
    "SUPERVISOR_SIGNALS",
    "ForkProcessTable",
    "ProcessTable",
    "Supervisor",
    "WorkerInfo",
    "describe_exit",
    "supervise",
)

# The signals the parent handles (blocked until it does, across runbolt's exec).
SUPERVISOR_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)
# The parent's log line once every worker listens (tests and operators wait for it).
READY_LINE: Final = "Ready"
# A respawned worker that dies again within this many seconds of its start is a crash loop.
CRASH_LOOP_S: Final = 5.0
# Exit status after a second SIGINT (the shell convention for "killed by SIGINT").
EXIT_INTERRUPTED: Final = 128 + signal.SIGINT
# How long the parent keeps reaping after SIGKILLing stragglers before it gives up on them.
_REAP_GRACE_S: Final = 5.0
_MAX_WAIT_S: Final = 0.5


class ProcessTable(Protocol):
    """What the supervisor needs from the operating system (a fake one in the tests)."""

    def spawn(self, slot: int, fresh: bool) -> int:
        """Start a worker for ``slot``; return its pid.

        ``fresh``: in a new interpreter that imports the project anew, instead of a fork of
        the parent (which runs the code the parent imported at start).
        """
        ...

    def send(self, pid: int, sig: int) -> None: ...

    def wait(self, timeout: float) -> list[tuple[int, bytes]]:
        """Wait up to ``timeout`` s for worker messages or a wake-up; return ``(pid, byte)``."""
        ...

    def reap(self) -> list[tuple[int, int]]:
        """Return exited workers as ``(pid, returncode)``, ``returncode`` as in ``subprocess``."""
        ...

    def abandon_slot(self, slot: int) -> None:
        """Close the slot's sockets: nobody will serve it again."""
        ...


# Plain classes, not dataclasses: the supervisor interpreter does not import ``dataclasses``
# (with ``inspect`` behind it, a megabyte of a parent that should stay small).
class WorkerInfo:
    """What the parent knows about one worker."""

    __slots__ = (
        "crash_respawn",
        "fresh",
        "kill_at",
        "killed",
        "pid",
        "ready",
        "retiring",
        "slot",
        "started",
    )

    def __init__(
        self,
        pid: int,
        slot: int,
        started: float,
        *,
        crash_respawn: bool = False,
        fresh: bool = False,
    ) -> None:
        self.pid = pid
        self.slot = slot
        self.started = started
        self.crash_respawn = crash_respawn
        # Started as a fresh interpreter (it runs the code that was on disk at its start).
        self.fresh = fresh
        self.ready = False
        self.retiring = False
        self.kill_at: float | None = None
        self.killed = False

    def __repr__(self) -> str:
        return f"WorkerInfo(pid={self.pid}, slot={self.slot}, ready={self.ready})"


class _Slot:
    __slots__ = ("abandoned", "current", "incoming", "index", "live")

    def __init__(self, index: int) -> None:
        self.index = index
        self.current: WorkerInfo | None = None
        # The replacement being started (spawn-first); it becomes current once ready.
        self.incoming: WorkerInfo | None = None
        self.abandoned = False
        self.live: list[WorkerInfo] = []


class Supervisor:
    """The parent's state machine. ``run()`` drives it; tests call ``step()``."""

    def __init__(
        self,
        table: ProcessTable,
        slots: int,
        *,
        kill_timeout_s: float,
        respawn: bool,
        start_timeout_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] | None = None,
        metrics: SupervisorMetrics | None = None,
        preloaded: bool = True,
    ) -> None:
        """``preloaded``: the parent imported the project, and workers are forks of it until
        the first reload; otherwise every worker is a fresh interpreter."""
        self.table = table
        # Metrics on: restarts counted, and a dead worker's live gauges dropped from scrapes.
        self.metrics = metrics
        self._worker_exited: Callable[[int], None] = (
            metrics.exited if metrics is not None else _ignore_exit
        )
        self.kill_timeout_s = kill_timeout_s
        # A replacement that never reports ready (a deployed module that blocks at import, say)
        # would hold its slot's reload round forever: past this it is killed (0: no limit).
        self.start_timeout_s = start_timeout_s
        self.respawn = respawn
        self.clock = clock
        self.log = log or _log_stderr
        self.slots = [_Slot(i) for i in range(slots)]
        self.workers: dict[int, WorkerInfo] = {}
        self.pending_signals: deque[int] = deque()
        self.starting = True
        self.shutting_down = False
        self.exit_code: int | None = None
        self._shutdown_code = 0
        self._shutdown_deadline = 0.0
        # Set once a fresh worker serves: a fork would bring back the code the parent imported
        # at start, so from then on every new worker is a fresh interpreter too. (Set from the
        # start when the parent imported no project: there is nothing to fork.)
        self.fresh_code = not preloaded
        # A reload (SIGHUP) replaces the slots in _rolling one at a time, _rolling_slot now.
        self._reloading = False
        self._rolling: deque[int] = deque()
        self._rolling_slot: int | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        for slot in self.slots:
            slot.current = self._spawn(slot)

    def step(self, timeout: float = 0.0) -> int | None:
        """Handle recorded signals, worker messages, exits and deadlines once."""
        while self.pending_signals:
            self.handle_signal(self.pending_signals.popleft())
        if self.exit_code is not None:
            return self.exit_code
        for pid, message in self.table.wait(timeout):
            self._on_message(pid, message)
        self.handle_sigchld()
        self._check_deadlines()
        return self.exit_code

    def next_timeout(self) -> float:
        return 0.05 if self.shutting_down else _MAX_WAIT_S

    def run(self) -> int:
        """Start the workers and supervise them until the server stops; return the exit code."""
        previous = {sig: signal.signal(sig, self._record_signal) for sig in SUPERVISOR_SIGNALS}
        # runbolt blocks them across its exec into the supervisor interpreter (server/launch.py):
        # one sent meanwhile is handled now, instead of killing a parent that had no handler.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SUPERVISOR_SIGNALS)
        try:
            self.start()
            while self.step(self.next_timeout()) is None:
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_code if self.exit_code is not None else 1

    def _record_signal(self, signum: int, frame: FrameType | None) -> None:
        self.pending_signals.append(signum)

    # --- signals -------------------------------------------------------------------------------
    def handle_signal(self, signum: int) -> None:
        handler = {
            signal.SIGTERM: self.handle_sigterm,
            signal.SIGINT: self.handle_sigint,
            signal.SIGHUP: self.handle_sighup,
            signal.SIGCHLD: self.handle_sigchld,
        }.get(signal.Signals(signum))
        if handler is not None:
            handler()

    def handle_sigterm(self) -> None:
        if not self.shutting_down:
            self.log("Received SIGTERM: stopping (draining in-flight requests).")
            self.begin_shutdown(0)

    def handle_sigint(self) -> None:
        if self.shutting_down:
            self.log("Received a second SIGINT: exiting now.")
            self.force_exit(EXIT_INTERRUPTED)
        else:
            self.log("Received SIGINT: stopping (press CONTROL-C again to exit at once).")
            self.begin_shutdown(0)

    def handle_sighup(self) -> None:
        if self.shutting_down:
            return
        self.log(
            "Received SIGHUP: reloading the code: each worker is replaced, one at a time, by a "
            "new interpreter that imports the project anew."
        )
        self._reloading = True
        for slot in self.slots:
            if not slot.abandoned and slot.index not in self._rolling:
                self._rolling.append(slot.index)
        if self._rolling_slot is None:
            self._roll_next()

    def handle_sigchld(self) -> None:
        for pid, returncode in self.table.reap():
            self._on_exit(pid, returncode)

    # --- decisions -----------------------------------------------------------------------------
    def begin_shutdown(self, code: int) -> None:
        """Tell every worker to drain; exit with ``code`` once they are gone."""
        if self.shutting_down:
            self._shutdown_code = self._shutdown_code or code
            return
        self.shutting_down = True
        self._shutdown_code = code
        now = self.clock()
        self._shutdown_deadline = now + self.kill_timeout_s
        for info in list(self.workers.values()):
            self._retire(info, now)
        self._maybe_finish()

    def force_exit(self, code: int) -> None:
        for info in list(self.workers.values()):
            self._kill(info)
        self.exit_code = code

    def _spawn(
        self,
        slot: _Slot,
        *,
        crash_respawn: bool = False,
        fresh: bool | None = None,
        restart: str = "",
    ) -> WorkerInfo:
        if restart and self.metrics is not None:
            self.metrics.restarted(restart)
        fresh = self.fresh_code if fresh is None else fresh
        pid = self.table.spawn(slot.index, fresh)
        info = WorkerInfo(pid, slot.index, self.clock(), crash_respawn=crash_respawn, fresh=fresh)
        self.workers[pid] = info
        slot.live.append(info)
        return info

    def _retire(self, info: WorkerInfo, now: float) -> None:
        if info.retiring:
            return
        info.retiring = True
        info.kill_at = now + self.kill_timeout_s
        self._send(info.pid, signal.SIGTERM)

    def _kill(self, info: WorkerInfo) -> None:
        if not info.killed:
            info.killed = True
            self._send(info.pid, signal.SIGKILL)

    def _send(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.table.send(pid, sig)

    def _roll_next(self) -> None:
        self._rolling_slot = None
        while self._rolling and not self.shutting_down:
            slot = self.slots[self._rolling.popleft()]
            if slot.abandoned or (slot.current is None and slot.incoming is None):
                continue
            self._rolling_slot = slot.index
            if slot.incoming is None:
                slot.incoming = self._spawn(slot, fresh=True, restart="reload")
            elif not slot.incoming.fresh:
                # A replacement forked for recycling or a respawn is already on its way, with
                # the old code: once it serves, the slot is replaced again.
                self._rolling.appendleft(slot.index)
            return
        if self._reloading and not self.shutting_down:
            self._reloading = False
            self.log("Reload complete: new workers serve every slot (the old ones drain).")

    def _abandon_reload(self) -> None:
        self._reloading = False
        self._rolling.clear()
        self._rolling_slot = None
        self.log(
            "Error: reload abandoned: the running workers keep serving the code they imported. "
            "Fix the error above and send SIGHUP again."
        )

    def _on_message(self, pid: int, message: bytes) -> None:
        info = self.workers.get(pid)
        if info is None:
            return
        slot = self.slots[info.slot]
        if message == MSG_READY:
            info.ready = True
            if slot.incoming is info:
                old, slot.current, slot.incoming = slot.current, info, None
                if info.fresh:
                    self.fresh_code = True
                if old is not None:
                    self._retire(old, self.clock())
                if self._rolling_slot == slot.index:
                    self._roll_next()
            if self.shutting_down:
                self._retire(info, self.clock())
            elif self.starting and all(
                s.abandoned or (s.current is not None and s.current.ready) for s in self.slots
            ):
                self.starting = False
                self.log(f"{READY_LINE}: {len(self.workers)} worker process(es) serving.")
        elif (
            message == MSG_RECYCLE
            and not self.shutting_down
            and slot.current is info
            and slot.incoming is None
        ):
            self.log(f"Recycling worker {pid} (spawning its replacement first).")
            slot.incoming = self._spawn(slot, restart="recycle")

    def _on_exit(self, pid: int, returncode: int) -> None:
        info = self.workers.pop(pid, None)
        if info is None:
            return
        self._worker_exited(pid)
        slot = self.slots[info.slot]
        slot.live.remove(info)
        replacing = slot.incoming is info
        if slot.current is info:
            slot.current = None
        if replacing:
            slot.incoming = None
        if self.shutting_down:
            self._maybe_finish()
            return
        if info.retiring:
            if info.killed:
                self.log(f"Worker {pid} did not drain in time and was killed.")
            return
        what = describe_exit(returncode)
        if replacing and not info.ready and slot.current is not None:
            self._replacement_failed(info, slot, slot.current, returncode)
            return
        now = self.clock()
        if info.crash_respawn and now - info.started < CRASH_LOOP_S:
            self.log(
                f"Error: worker {pid} died again {now - info.started:.1f} s after being "
                f"respawned ({what}): crash loop; stopping."
            )
            self.begin_shutdown(1)
            return
        if not info.ready:
            reason = "failed to start" if returncode == EXIT_STARTUP_FAILED else "died at start-up"
            self.log(f"Error: worker {pid} {reason} ({what}); stopping.")
            self.begin_shutdown(1)
            return
        if self.respawn:
            self.log(f"Worker {pid} died ({what}); respawning it.")
            if slot.incoming is None:
                slot.incoming = self._spawn(slot, crash_respawn=True, restart="crash")
            return
        if slot.incoming is not None:
            self.log(f"Worker {pid} died ({what}); its replacement takes over.")
            return
        slot.abandoned = True
        self.table.abandon_slot(slot.index)
        alive = sum(1 for s in self.slots if not s.abandoned)
        self.log(f"Worker {pid} died ({what}); not respawning. {alive} worker(s) left.")
        if alive == 0:
            self.log("Error: no worker left; exiting.")
            self.begin_shutdown(1)
        elif self._rolling_slot == slot.index:
            self._roll_next()

    def _replacement_failed(
        self, info: WorkerInfo, slot: _Slot, current: WorkerInfo, returncode: int
    ) -> None:
        """Keep the old worker serving: its replacement died before it listened."""
        reason = "failed to start" if returncode == EXIT_STARTUP_FAILED else "died at start-up"
        self.log(
            f"Error: new worker {info.pid} {reason} ({describe_exit(returncode)}); "
            f"worker {current.pid} keeps serving."
        )
        if self._rolling_slot != slot.index:
            return  # a recycling replacement: the old worker serves until the next reload
        if info.fresh:
            self._abandon_reload()
        else:
            # The forked replacement the reload was waiting for failed: start the fresh one.
            self._rolling.appendleft(slot.index)
            self._roll_next()

    def _check_deadlines(self) -> None:
        now = self.clock()
        for info in list(self.workers.values()):
            if info.kill_at is not None and now >= info.kill_at:
                self._kill(info)
        if self.start_timeout_s > 0:
            for slot in self.slots:
                incoming = slot.incoming
                if (
                    incoming is not None
                    and not incoming.ready
                    and not incoming.killed
                    and slot.current is not None
                    and now - incoming.started >= self.start_timeout_s
                ):
                    # Its exit then takes the path of any replacement that failed to start.
                    self.log(
                        f"Error: new worker {incoming.pid} did not start listening within "
                        f"{self.start_timeout_s:g} s; killing it."
                    )
                    self._kill(incoming)
        if self.shutting_down and now >= self._shutdown_deadline + _REAP_GRACE_S:
            self.log("Error: some workers could not be reaped; exiting anyway.")
            self.exit_code = self._shutdown_code or 1

    def _maybe_finish(self) -> None:
        # An exit already decided (a second SIGINT's) keeps its status: the workers it killed
        # may be reaped in the same step, which would otherwise read as a finished drain.
        if self.shutting_down and not self.workers and self.exit_code is None:
            self.exit_code = self._shutdown_code


def _ignore_exit(pid: int) -> None:
    """Nothing to forget about an exited worker (metrics off)."""


def _log_stderr(message: str) -> None:
    sys.stderr.write(f"[django-bolt {os.getpid()}] {message}\n")
    sys.stderr.flush()


class ForkProcessTable:
    """Workers as forked children; each one reports on a pipe and inherits its slot's sockets."""

    def __init__(
        self,
        sockets: list[list[socket.socket]],
        target: Callable[[int, int, int], int],
        fresh_target: Callable[[int, int, int], int],
    ) -> None:
        """``target(slot, notify_fd, parent_pid)`` runs in the child and returns its exit code;
        ``fresh_target`` (same arguments) replaces the child with a fresh interpreter."""
        self._sockets = sockets
        self._target = target
        self._fresh_target = fresh_target
        # poll() keeps no kernel state shared across fork(), unlike epoll.
        self._selector = selectors.PollSelector()
        self._pipes: dict[int, int] = {}  # read fd -> pid
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        self._selector.register(self._wakeup_r, selectors.EVENT_READ)
        self._previous_wakeup = signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)

    def spawn(self, slot: int, fresh: bool) -> int:
        read_fd, write_fd = os.pipe()
        parent_pid = os.getpid()
        # Anything still buffered would be written a second time by the child.
        sys.stdout.flush()
        sys.stderr.flush()
        # Blocked across the fork: a signal meant for the new worker (a SIGTERM sent the moment
        # it was spawned) would otherwise run the parent's handler copied into the child, be
        # recorded there and lost with the exec of a fresh interpreter. The child unblocks once
        # its own dispositions are set, and the signal then acts as it should.
        signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISOR_SIGNALS)
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, SUPERVISOR_SIGNALS)
        if pid == 0:  # pragma: no cover - runs in the child, observed by the integration tests
            code = 1
            try:
                os.close(read_fd)
                self._enter_child(slot, parent_pid)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, SUPERVISOR_SIGNALS)
                target = self._fresh_target if fresh else self._target
                code = target(slot, write_fd, parent_pid)
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    # Handlers that write from a thread (queued ones) write what they hold.
                    logging.shutdown()
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self._pipes[read_fd] = pid
        self._selector.register(read_fd, selectors.EVENT_READ)
        return pid

    def _enter_child(self, slot: int, parent_pid: int) -> None:  # pragma: no cover - child side
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        # SIGHUP and SIGINT are the parent's to interpret (a terminal sends them to the group).
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # Keep only this slot's sockets: another slot's socket held open here would keep the
        # kernel routing connections to it after the parent abandoned it.
        for index, group in enumerate(self._sockets):
            if index != slot:
                for sock in group:
                    sock.close()
        for fd in (*self._pipes, self._wakeup_r, self._wakeup_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        # Last: SIGTERM has its default action again, so an orphan dies before serving. Set
        # here, not only by the worker: it survives the exec of a fresh interpreter, which
        # imports the project for seconds before its Worker runs.
        stop_when_parent_dies(parent_pid)

    def send(self, pid: int, sig: int) -> None:
        os.kill(pid, sig)

    def wait(self, timeout: float) -> list[tuple[int, bytes]]:
        messages: list[tuple[int, bytes]] = []
        for key, _ in self._selector.select(timeout):
            fd = int(key.fd)
            if fd == self._wakeup_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(fd, 4096)
                continue
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            pid = self._pipes[fd]
            if not data:  # the worker exited; reap() will tell why
                self._selector.unregister(fd)
                os.close(fd)
                del self._pipes[fd]
                continue
            messages.extend((pid, data[i : i + 1]) for i in range(len(data)))
        return messages

    def reap(self) -> list[tuple[int, int]]:
        exited: list[tuple[int, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            exited.append((pid, os.waitstatus_to_exitcode(status)))
        return exited

    def abandon_slot(self, slot: int) -> None:
        for sock in self._sockets[slot]:
            sock.close()

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous_wakeup)
        for fd in list(self._pipes):
            os.close(fd)
        self._pipes.clear()
        self._selector.close()
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)


def supervise(
    sockets: list[list[socket.socket]],
    target: Callable[[int, int, int], int],
    fresh_target: Callable[[int, int, int], int],
    config: dict[str, Any],
    *,
    metrics: SupervisorMetrics | None = None,
    preloaded: bool,
) -> int:
    """Start one worker per socket group, supervise them until the server stops; return the
    exit code.

    ``sockets[p][t]`` is the listening socket of thread ``t`` in process slot ``p``; ``target``
    and ``fresh_target`` are :class:`ForkProcessTable`'s; ``config`` holds the server options'
    fields (``fresh.config_fields()``), of which this reads the supervision ones; ``preloaded``
    as for :class:`Supervisor`. Callers: server/preload.py (``--preload``) and server/launch.py.
    """
    # Before the first fork: the workers inherit it.
    raise_open_file_limit()
    table = ForkProcessTable(sockets, target, fresh_target)
    try:
        supervisor = Supervisor(
            table,
            len(sockets),
            kill_timeout_s=float(config["workers_kill_timeout_s"]),
            respawn=bool(config["respawn_failed_workers"]),
            start_timeout_s=float(config["worker_start_timeout_s"]),
            metrics=metrics,
            preloaded=preloaded,
        )
        return supervisor.run()
    finally:
        table.close()
