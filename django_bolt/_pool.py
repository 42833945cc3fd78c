"""The threads that run blocking calls (``def`` handlers, the Django fall-through) for the loops.

``loop.run_in_executor`` with a ``ThreadPoolExecutor`` goes through a ``concurrent.futures``
Future, a work item, a chained asyncio Future and two sets of callbacks; on this workload that
hand-off costs about twice what the thread switch itself does (measured: 24 us against 13 us a
call on one core). Here a call is one tuple on a ``SimpleQueue``: a worker thread runs it and
answers the waiting asyncio Future with one ``call_soon_threadsafe``.

Semantics kept from the executor: at most ``size`` threads, started only when no thread is idle;
a call whose awaiting task was cancelled before a thread picked it up is skipped; exceptions
(``BaseException`` included) reach the awaiting task; ``shutdown`` lets queued calls finish.
Threads are daemons, so a process never hangs at exit on an idle pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("SyncPool",)

# Queued to stop one worker thread.
_STOP: Final[Any] = None


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _reject(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class SyncPool:
    """A bounded pool of threads answering asyncio Futures (see the module docstring)."""

    __slots__ = ("_closed", "_idle", "_jobs", "_lock", "_threads", "name_prefix", "size")

    def __init__(self, size: int, name_prefix: str = "bolt-sync") -> None:
        if size < 1:
            raise ValueError("a pool needs at least one thread")
        self.size = size
        self.name_prefix = name_prefix
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Released by a thread each time it is about to wait for work: a submit that can take
        # one knows a thread is free and starts none.
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run ``fn()`` in a pool thread; the returned Future belongs to the running loop."""
        if self._closed:
            raise RuntimeError("cannot schedule new calls after the pool was shut down")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((loop, future, fn))
        if not self._idle.acquire(blocking=False):
            self._grow()
        return future

    def _grow(self) -> None:
        with self._lock:
            if self._closed or len(self._threads) >= self.size:
                return
            thread = threading.Thread(
                target=self._work,
                name=f"{self.name_prefix}_{len(self._threads)}",
                daemon=True,
            )
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        jobs = self._jobs
        idle = self._idle
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            loop, future, fn = job
            del job
            # Read across threads: at worst a call cancelled this very moment still runs.
            if future.cancelled():
                idle.release()
                continue
            try:
                result = fn()
            except BaseException as error:  # the awaiting task decides what it means
                answer: tuple[Any, ...] = (_reject, future, error)
            else:
                answer = (_resolve, future, result)
            # A closed loop refuses the call: nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(*answer)
            del loop, future, fn, answer
            idle.release()

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking calls; threads finish what is queued, then end."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(_STOP)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
