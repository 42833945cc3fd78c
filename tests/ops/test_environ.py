"""Django-Bolt 0.13's DJANGO_BOLT_* runtime variables."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt._conf.environ import env_int, sync_pool_size
from django_bolt.testing import AsyncTestClient, TestClient


def test_env_int_rules() -> None:
    assert env_int("X", 1, None, {}) is None
    assert env_int("X", 1, None, {"X": "  "}) is None
    assert env_int("X", 1, None, {"X": "8"}) == 8
    for bad in ("0", "-1", "eight", "1.5"):
        with pytest.raises(
            ImproperlyConfigured, match=f"X must be an int of 1 or more, got '{bad}'"
        ):
            env_int("X", 1, None, {"X": bad})
    with pytest.raises(ImproperlyConfigured, match="an int from 1 to 10"):
        env_int("X", 1, 10, {"X": "11"})
    assert sync_pool_size(40, {}) == 40
    assert sync_pool_size(40, {"DJANGO_BOLT_EXECUTOR_THREADS": "3"}) == 3


def test_executor_threads_bound_the_blocking_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_BOLT_EXECUTOR_THREADS", "2")
    api = BoltAPI()
    lock = threading.Lock()
    running = [0]
    most = [0]

    @api.get("/block", inline=False)
    def block() -> dict[str, bool]:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"ok": True}

    async def main() -> list[int]:
        async with AsyncTestClient(api) as client:
            answers = await asyncio.gather(*(client.get("/block") for _ in range(6)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(main()) == [200] * 6
    assert most[0] == 2


def test_a_bad_value_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_BOLT_EXECUTOR_THREADS", "0")
    api = BoltAPI()

    @api.get("/x")
    async def x() -> dict[str, int]:
        return {}

    with (
        pytest.raises(ImproperlyConfigured, match="DJANGO_BOLT_EXECUTOR_THREADS"),
        TestClient(api) as client,
    ):
        client.get("/x")
