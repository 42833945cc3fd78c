"""The pool that runs blocking calls: bounded, cancellation-aware, exceptions carried back."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest
from django.test import override_settings

from django_bolt import BoltAPI
from django_bolt.concurrency import SyncPool
from django_bolt.testing import AsyncTestClient

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def test_at_most_size_threads_run_def_handlers_at_once() -> None:
    api = BoltAPI()
    lock = threading.Lock()
    running = {"now": 0, "most": 0}
    names: set[str] = set()

    @api.get("/slow", inline=False)
    def slow() -> dict[str, str]:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            names.add(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running["now"] -= 1
        return {"thread": threading.current_thread().name}

    async def main() -> list[int]:
        async with AsyncTestClient(api) as client:
            responses = await asyncio.gather(*(client.get("/slow") for _ in range(8)))
        return [r.status_code for r in responses]

    with override_settings(BOLT_SYNC_POOL_SIZE=2):
        statuses = asyncio.run(main())
    assert statuses == [200] * 8
    assert running["most"] == 2
    assert len(names) == 2
    assert all(name.startswith("bolt-sync") for name in names)


def test_context_variables_and_exceptions_cross_into_the_pool() -> None:
    pool = SyncPool(2)

    def read() -> str:
        return REQUEST_ID.get()

    def fail() -> None:
        raise KeyError("from the pool")

    async def main() -> tuple[str, BaseException | None]:
        REQUEST_ID.set("abc")
        ctx = contextvars.copy_context()
        seen = await pool.submit(lambda: ctx.run(read))
        try:
            await pool.submit(fail)
        except KeyError as exc:
            return seen, exc
        return seen, None

    try:
        seen, error = asyncio.run(main())
    finally:
        pool.shutdown()
    assert seen == "abc"
    assert isinstance(error, KeyError)


def test_a_call_cancelled_before_it_starts_is_skipped() -> None:
    pool = SyncPool(1)
    gate = threading.Event()
    ran: list[str] = []

    async def main() -> None:
        first = pool.submit(lambda: (gate.wait(5), ran.append("first")))
        second = pool.submit(lambda: ran.append("second"))
        second.cancel()
        gate.set()
        await first
        # A third call runs after the skipped one: the thread is free again.
        await pool.submit(lambda: ran.append("third"))

    try:
        asyncio.run(main())
    finally:
        pool.shutdown()
    assert ran == ["first", "third"]


def test_shutdown_finishes_queued_calls_then_refuses_new_ones() -> None:
    pool = SyncPool(1)
    done: list[int] = []

    async def main() -> None:
        futures = [pool.submit(lambda n=n: (time.sleep(0.01), done.append(n))) for n in range(3)]
        await asyncio.gather(*futures)
        pool.shutdown(wait=True)
        with pytest.raises(RuntimeError, match="shut down"):
            pool.submit(lambda: None)

    asyncio.run(main())
    assert done == [0, 1, 2]


def test_a_closed_loop_does_not_break_the_thread() -> None:
    """A call finishing after its loop closed is dropped; the thread serves the next one."""
    pool = SyncPool(1)
    gate = threading.Event()

    async def leave_one_behind() -> None:
        pool.submit(lambda: gate.wait(5))

    asyncio.run(leave_one_behind())  # the loop closes while the call still runs
    gate.set()

    async def next_call() -> int:
        return int(await pool.submit(lambda: 7))

    try:
        assert asyncio.run(next_call()) == 7
    finally:
        pool.shutdown()
