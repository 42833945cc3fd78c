"""A worker forked from a parent that had already used the thread pools still gets its work done."""

from __future__ import annotations

import asyncio
import os
import warnings

import pytest
from asgiref.sync import SyncToAsync

from django_bolt.concurrency import run_in_pool

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def _seven() -> int:
    return 7


def _child_can_use_both_pools() -> bool:
    async def pool_call() -> int:
        return int(await asyncio.wait_for(run_in_pool(_seven, {}), 10))

    shared = SyncToAsync.single_thread_executor.submit(int, "5").result(timeout=10)
    return shared == 5 and asyncio.run(pool_call()) == 7


def test_thread_pools_work_in_a_forked_child() -> None:
    # Both executors start their threads here, in the "parent".
    assert SyncToAsync.single_thread_executor.submit(int, "1").result(timeout=10) == 1
    assert _child_can_use_both_pools()
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a multi-threaded process: that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            code = 0 if _child_can_use_both_pools() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
