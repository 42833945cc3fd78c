"""Rate limits shared through Redis hold across worker processes (runbolt --processes 2)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import http_get
from tests.middleware.conftest import redis_prefix

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = [pytest.mark.integration, pytest.mark.redis]
__all__ = ("redis_prefix",)

# testproject/api_ratelimit.py
RPS = 5
BURST = 10
HAMMER_S = 2.0
THREADS = 6


def test_two_processes_share_one_bucket(
    run_bolt: Callable[..., BoltProcess], redis_url: str, redis_prefix: str
) -> None:
    bolt = run_bolt(
        "--processes",
        "2",
        env={
            "DJANGO_SETTINGS_MODULE": "testproject.settings_ratelimit",
            "BOLT_TEST_REDIS_URL": redis_url,
            "BOLT_TEST_REDIS_PREFIX": redis_prefix,
        },
    )
    lock = threading.Lock()
    admitted_by: dict[int, int] = {}
    limited: list[dict[str, str]] = []
    other: list[int] = []
    deadline = time.monotonic() + HAMMER_S

    def hammer() -> None:
        while time.monotonic() < deadline:
            # A fresh connection each time: the kernel spreads them over both processes.
            response = http_get(bolt.host, bolt.port, "/limited")
            with lock:
                if response.status == 200:
                    pid = response.json()["pid"]
                    admitted_by[pid] = admitted_by.get(pid, 0) + 1
                elif response.status == 429:
                    limited.append(response.headers)
                else:
                    other.append(response.status)

    started = time.monotonic()
    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HAMMER_S + 30)
    elapsed = time.monotonic() - started

    assert other == [], bolt.describe()
    admitted = sum(admitted_by.values())
    assert len(admitted_by) == 2, f"both workers should have answered: {admitted_by}"
    # One shared bucket: the burst plus what refilled while the test ran. Per-process buckets
    # would have let up to twice that through.
    assert BURST <= admitted <= RPS * elapsed + BURST, (admitted, elapsed, admitted_by)
    assert limited, "the hammering never hit the limit"
    assert all(h["x-ratelimit-limit"] == str(RPS) for h in limited)
    assert all(int(h["retry-after"]) >= 1 for h in limited)
