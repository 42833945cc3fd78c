"""``share_db_connection``: while a TestClient is open, its handlers use the test's connections.

Rows a test has not committed (pytest-django's ``django_db``, Django's ``TestCase``, an open
``transaction.atomic()``) are visible to ``def`` handlers in the sync pool, to async handlers'
ORM calls in the ORM pool and to QuerySets the framework reads there; a handler's writes land
in the test's transaction. One thread uses a lent connection at a time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.db import close_old_connections, connections, transaction
from django.test import TestCase

from django_bolt import BoltAPI, StreamingResponse
from django_bolt._django import db as db_rules, dbshare
from django_bolt.concurrency import run_in_orm_pool, run_in_pool, sync_to_thread
from django_bolt.middleware import DjangoMiddleware
from django_bolt.testing import (
    BoltTestClientWarning,
    SharedTestConnectionError,
    TestClient,
    bolt_client_factory,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ("bolt_client_factory",)


def _backend_pid(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _group_api(alias: str = "default") -> BoltAPI:
    groups = Group.objects.using(alias)
    api = BoltAPI()

    @api.get("/async/{name}")
    async def async_get(name: str) -> dict[str, Any]:
        group = await groups.aget(name=name)
        return {"id": group.pk, "count": await groups.acount()}

    @api.get("/sync/{name}")
    def sync_get(name: str) -> dict[str, Any]:
        group = groups.get(name=name)
        return {"id": group.pk, "count": groups.count()}

    @api.get("/queryset")
    async def queryset() -> Any:  # a QuerySet returned as it is, read in the ORM pool
        return groups.order_by("name").values("name")

    @api.post("/async")
    async def async_create(name: str) -> int:
        return (await groups.acreate(name=name)).pk

    @api.post("/sync")
    def sync_create(name: str) -> int:
        return groups.create(name=name).pk

    @api.post("/fails")
    def fails(name: str) -> None:
        with transaction.atomic(using=alias):
            groups.create(name=name)
            raise RuntimeError("rolled back to the handler's savepoint")

    @api.get("/stream")
    def stream() -> StreamingResponse:
        def names() -> Iterator[bytes]:  # each step in the pool, the cursor open across them
            for group in groups.order_by("name").iterator(chunk_size=1):
                yield f"{group.name}\n".encode()

        return StreamingResponse(names(), media_type="text/plain")

    return api


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_handlers_see_the_rows_the_test_has_not_committed(kind: str) -> None:
    group = Group.objects.create(name="uncommitted")
    with TestClient(_group_api()) as client:
        assert client.get(f"/{kind}/uncommitted").json() == {"id": group.pk, "count": 1}
        assert client.get("/queryset").json() == [{"name": "uncommitted"}]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["async", "sync"])
def test_what_a_handler_writes_is_in_the_tests_transaction(kind: str) -> None:
    Group.objects.create(name="the test's")
    with TestClient(_group_api()) as client:
        pk = client.post(f"/{kind}", params={"name": "made"}).json()
    assert Group.objects.get(pk=pk).name == "made"
    assert Group.objects.count() == 2
    assert connections["default"].in_atomic_block  # the test's, still open


@pytest.mark.django_db(transaction=True)
def test_rows_written_through_the_client_roll_back_with_the_tests_transaction() -> None:
    with transaction.atomic():
        Group.objects.create(name="test")
        with TestClient(_group_api()) as client:
            client.post("/sync", params={"name": "sync"})
            client.post("/async", params={"name": "async"})
            names = [row["name"] for row in client.get("/queryset").json()]
            assert names == ["async", "sync", "test"]
        transaction.set_rollback(True)
    assert not Group.objects.exists()


@pytest.mark.django_db
def test_a_failing_handler_rolls_back_its_own_savepoint_only() -> None:
    Group.objects.create(name="kept")
    with TestClient(_group_api(), raise_server_exceptions=False) as client:
        assert client.post("/fails", params={"name": "gone"}).status_code == 500
        assert client.get("/sync/kept").status_code == 200
    assert list(Group.objects.values_list("name", flat=True)) == ["kept"]


@pytest.mark.django_db
def test_a_stream_and_the_test_take_turns_on_the_connection() -> None:
    Group.objects.bulk_create(Group(name=name) for name in "abc")
    with TestClient(_group_api()) as client, client.stream("GET", "/stream") as response:
        names = []
        for line in response.iter_lines():
            names.append(line)
            # Between two steps of the handler's cursor, the test queries on the same connection.
            assert Group.objects.count() == 3
    assert names == ["a", "b", "c"]


@pytest.mark.django_db
def test_the_pool_calls_of_a_request_take_turns() -> None:
    spans: list[tuple[float, float]] = []

    def hold() -> None:
        start = time.monotonic()
        Group.objects.count()
        time.sleep(0.05)
        spans.append((start, time.monotonic()))

    api = BoltAPI()

    @api.get("/both")
    async def both() -> None:
        # One call in the sync pool and one in the ORM pool, at the same time.
        await asyncio.gather(sync_to_thread(hold), sync_to_async(hold)())

    with TestClient(api) as client:
        assert client.get("/both").status_code == 200
    (_, first_end), (second_start, _) = sorted(spans)
    assert first_end <= second_start


class TestRowsOfADjangoTestCase(TestCase):
    def test_handlers_see_them(self) -> None:
        group = Group.objects.create(name="in-a-testcase")
        with TestClient(_group_api()) as client:
            for kind in ("async", "sync"):
                answer = client.get(f"/{kind}/in-a-testcase").json()
                self.assertEqual(answer, {"id": group.pk, "count": 1})

    def test_assert_num_queries_counts_the_handlers(self) -> None:
        Group.objects.create(name="counted")
        with TestClient(_group_api()) as client:
            for kind in ("async", "sync"):
                with self.assertNumQueries(2):  # the get and the count
                    client.get(f"/{kind}/counted")


@pytest.mark.django_db
def test_nested_clients_lend_until_the_last_one_closes() -> None:
    Group.objects.create(name="g")
    with TestClient(_group_api()) as outer:
        with TestClient(_group_api()) as inner:
            assert inner.get("/sync/g").status_code == 200
        assert outer.get("/async/g").status_code == 200
    conn = connections["default"]
    # Given back whole: no thread sharing left, no borrower's guard on its methods.
    assert not conn.allow_thread_sharing
    assert "close" not in vars(conn)
    assert "close_if_unusable_or_obsolete" not in vars(conn)


@pytest.mark.django_db
def test_the_fixtures_clients_are_open_and_lend(
    bolt_client_factory: Callable[..., TestClient],
) -> None:
    started: list[str] = []
    api = _group_api()
    api.on_startup.append(lambda: started.append("started"))
    Group.objects.create(name="g")
    client = bolt_client_factory(api)
    assert started == ["started"]
    assert client.get("/async/g").status_code == 200


def _waiting_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/waits")
    async def waits() -> None:
        started, ready = threading.Event(), threading.Event()

        def wait_for_the_other() -> None:
            started.set()
            ready.wait(5)  # keeps the connection's turn while it waits

        first = asyncio.ensure_future(sync_to_thread(wait_for_the_other))
        await asyncio.to_thread(started.wait, 5)  # the loop's own executor: borrows nothing
        try:
            await sync_to_thread(ready.set)  # a second pool call: never gets the turn
        finally:
            ready.set()
            await first

    @api.get("/count")
    def count() -> int:
        return Group.objects.count()

    return api


@pytest.mark.django_db
def test_a_thread_that_cannot_have_its_turn_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dbshare, "TURN_TIMEOUT_S", 0.2)
    with TestClient(_waiting_api()) as client:
        with pytest.raises(SharedTestConnectionError, match="one thread at a time"):
            client.get("/waits")
        assert client.get("/count").json() == 0  # the turn came back


class _SyncOnlyMiddleware:
    """A Django middleware without async support: its thread waits for the handler's."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request.groups_before = Group.objects.count()
        return self.get_response(request)


@pytest.mark.django_db
def test_a_sync_only_django_middleware_gives_its_turn_to_the_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dbshare, "TURN_TIMEOUT_S", 2)
    Group.objects.create(name="g")
    api = BoltAPI(middleware=[DjangoMiddleware(_SyncOnlyMiddleware)])

    @api.get("/sync")
    def sync_count(request: Any) -> list[int]:
        return [request.state.django_request.groups_before, Group.objects.count()]

    @api.get("/async")
    async def async_count(request: Any) -> list[int]:
        return [request.state.django_request.groups_before, await Group.objects.acount()]

    with TestClient(api) as client:
        assert client.get("/sync").json() == [1, 1]
        assert client.get("/async").json() == [1, 1]


@pytest.mark.django_db
def test_one_threads_clients_lend_at_a_time() -> None:
    refused: list[BaseException] = []

    def other_test_thread() -> None:
        try:
            with TestClient(_group_api()):
                pass
        except SharedTestConnectionError as error:
            refused.append(error)

    with TestClient(_group_api()):
        thread = threading.Thread(target=other_test_thread)
        thread.start()
        thread.join()
    assert len(refused) == 1


@pytest.mark.django_db
def test_an_unshared_client_in_the_tests_transaction_warns_when_entered() -> None:
    client = TestClient(_group_api(), share_db_connection=False)  # made: no warning yet
    with (
        pytest.warns(BoltTestClientWarning, match="share_db_connection=False") as record,
        client,
    ):
        pass
    assert record[0].filename == __file__
    assert issubclass(BoltTestClientWarning, RuntimeWarning)


# --- PostgreSQL: the very connection, and nothing closes it ------------------------------------


def _pid_api(alias: str) -> BoltAPI:
    api = _group_api(alias)

    @api.get("/sync-pid")
    def sync_pid() -> int:
        return _backend_pid(alias)

    @api.get("/async-pid")
    async def async_pid() -> int:
        await Group.objects.using(alias).acount()
        pid: int = await sync_to_async(_backend_pid)(alias)
        return pid

    @api.post("/close")
    def close() -> None:
        close_old_connections()
        connections[alias].close()

    return api


@pytest.mark.postgres
def test_postgres_handlers_join_the_tests_open_transaction(pg: str) -> None:
    api = _pid_api(pg)
    with transaction.atomic(using=pg):
        group = Group.objects.using(pg).create(name="uncommitted")
        pid = _backend_pid(pg)
        with TestClient(api) as client:
            for kind in ("sync", "async"):
                assert client.get(f"/{kind}/uncommitted").json() == {"id": group.pk, "count": 1}
                assert client.get(f"/{kind}-pid").json() == pid
            # A handler closing "its" connection closes nothing of the test's.
            assert client.post("/close").status_code == 200
            assert client.get("/async/uncommitted").status_code == 200
        assert _backend_pid(pg) == pid
        transaction.set_rollback(True, using=pg)
    assert not Group.objects.using(pg).exists()


def _taken_up_by_a_pool(conn: Any) -> bool:
    """Whether a pool thread counts ``conn`` among its own connections (``_django.db``)."""

    def in_care() -> bool:
        return any(mine is conn for mine in db_rules._state.opened)

    async def ask_both() -> list[bool]:
        return list(await asyncio.gather(run_in_pool(in_care, {}), run_in_orm_pool(in_care, {})))

    return any(asyncio.run(ask_both()))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "pg_settings",
    [{"CONN_MAX_AGE": None, "CONN_HEALTH_CHECKS": True}, {"CONN_MAX_AGE": 0}],
    ids=["health-checks", "default"],
)
@pytest.mark.parametrize("opened_by", ["test", "handler"])
def test_postgres_pool_rules_leave_a_lent_connection_alone(
    pg: str, pg_settings: dict[str, Any], opened_by: str
) -> None:
    # Outside a transaction, where the pools' own rules would check, recycle or drop a
    # connection of theirs after a call; a lent one is never theirs, even opened by them.
    conn = connections[pg]
    if opened_by == "test":
        _backend_pid(pg)
    else:
        conn.close()
    with TestClient(_pid_api(pg)) as client:
        pids = {client.get(f"/{kind}-pid").json() for kind in ("sync", "async", "sync", "async")}
    assert len(pids) == 1
    assert _backend_pid(pg) in pids  # the test's connection, open still
    assert not _taken_up_by_a_pool(conn)
