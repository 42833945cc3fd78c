"""A client runs the API's start-up when it is entered and its shutdown when it is left, before
and after any request (Django-Bolt 0.13's lifespan page); a start-up that fails fails the
``with``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import Group

from django_bolt import BoltAPI
from django_bolt.testing import AsyncTestClient, TestClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def _api(log: list[str]) -> BoltAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: BoltAPI) -> AsyncIterator[None]:
        log.append("start")
        app.state_cache = {"ready": True}  # type: ignore[attr-defined]
        try:
            yield
        finally:
            log.append("stop")

    api = BoltAPI(lifespan=lifespan)

    @api.get("/status")
    async def status() -> dict[str, Any]:
        return api.state_cache  # type: ignore[attr-defined,no-any-return]

    return api


def test_start_up_runs_on_enter_and_shutdown_on_exit() -> None:
    log: list[str] = []
    api = _api(log)
    with TestClient(api) as client:
        assert log == ["start"]  # before any request
        assert client.get("/status").json() == {"ready": True}
    assert log == ["start", "stop"]


def test_each_block_runs_both_even_without_a_request() -> None:
    log: list[str] = []
    api = _api(log)
    with TestClient(api):
        pass
    with TestClient(api):
        pass
    assert log == ["start", "stop", "start", "stop"]


def test_the_async_client_runs_them_on_enter_and_exit() -> None:
    log: list[str] = []
    api = _api(log)

    async def main() -> None:
        async with AsyncTestClient(api) as client:
            assert log == ["start"]
            assert (await client.get("/status")).json() == {"ready": True}
        assert log == ["start", "stop"]
        async with AsyncTestClient(api):
            pass

    asyncio.run(main())
    assert log == ["start", "stop", "start", "stop"]


def _failing_api(log: list[str]) -> BoltAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: BoltAPI) -> AsyncIterator[None]:
        raise RuntimeError("no cache today")
        yield  # pragma: no cover - an async generator that never gets here

    api = BoltAPI(lifespan=lifespan, on_shutdown=[lambda: log.append("stop")])

    @api.get("/x")
    async def x() -> int:
        return 1

    return api


def test_a_start_up_that_fails_fails_the_with() -> None:
    log: list[str] = []
    entered = False
    with pytest.raises(RuntimeError, match="no cache today"), TestClient(_failing_api(log)):
        entered = True
    assert not entered
    assert log == []  # nothing started, nothing to shut down


def test_a_start_up_that_fails_fails_the_async_with() -> None:
    entered = False

    async def main() -> None:
        nonlocal entered
        async with AsyncTestClient(_failing_api([])):
            entered = True

    with pytest.raises(RuntimeError, match="no cache today"):
        asyncio.run(main())
    assert not entered


@pytest.mark.django_db
def test_start_up_reads_the_tests_rows() -> None:
    # A cache warmed at start-up sees what the test made before entering the client.
    Group.objects.create(name="warm")

    @contextlib.asynccontextmanager
    async def lifespan(app: BoltAPI) -> AsyncIterator[None]:
        app.names = [group.name async for group in Group.objects.all()]  # type: ignore[attr-defined]
        yield

    api = BoltAPI(lifespan=lifespan)
    with TestClient(api):
        assert api.names == ["warm"]  # type: ignore[attr-defined]
