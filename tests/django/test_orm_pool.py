"""The ORM pool (``DJANGO_BOLT_ORM_THREADS``): where the database work of async handlers runs.

Observed from outside the framework: an ``execute_wrapper`` on every connection notes the
thread that ran each query, PostgreSQL's ``pg_backend_pid()`` names the connection a thread
used, and rows left in the table show what a transaction committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt._conf.environ import orm_pool_size
from django_bolt._django.db import run_orm
from django_bolt.auth import JWTAuthentication
from django_bolt.concurrency import orm_pool_size as current_orm_pool_size, reset_orm_pool
from django_bolt.middleware import DjangoMiddleware
from django_bolt.testing import AsyncTestClient, TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "orm-pool-tests-secret-at-least-32-bytes!!"


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.django_db(transaction=True)),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def alias(request: pytest.FixtureRequest) -> str:
    """The connection alias of the backend under test (pools of one thread each)."""
    if request.param == "sqlite":
        request.getfixturevalue("one_pool_thread")
        return "default"
    return str(request.getfixturevalue("pg"))


class QueryLog:
    """The thread that ran each query, on every connection opened while it is installed."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        with self.lock:
            self.threads.append(threading.current_thread().name)
        return execute(sql, params, many, context)

    def take(self) -> set[str]:
        with self.lock:
            seen, self.threads = set(self.threads), []
        return seen


@pytest.fixture
def query_log() -> Iterator[QueryLog]:
    from django.db import connections
    from django.db.backends.signals import connection_created

    log = QueryLog()

    def on_created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if log not in connection.execute_wrappers:
            connection.execute_wrappers.append(log)

    # New threads for this test: their connections open (and get the wrapper) from now on.
    reset_orm_pool()
    connection_created.connect(on_created, dispatch_uid="test_orm_pool.query_log")
    try:
        yield log
    finally:
        connection_created.disconnect(dispatch_uid="test_orm_pool.query_log")
        for conn in connections.all(initialized_only=True):
            if log in conn.execute_wrappers:
                conn.execute_wrappers.remove(log)


# The tests below look at the threads and connections of the pools themselves: their clients
# lend them none of the test's (share_db_connection=False).


def _orm_only(threads: set[str]) -> bool:
    return bool(threads) and all(name.startswith("bolt-orm") for name in threads)


def test_async_database_work_runs_in_the_orm_pool(alias: str, query_log: QueryLog) -> None:
    from django.contrib.auth.models import Group

    groups = Group.objects.using(alias)
    api = BoltAPI()

    @api.post("/create")
    async def create(name: str) -> int:
        return (await groups.acreate(name=name)).pk

    @api.get("/aget")
    async def aget(name: str) -> dict[str, str]:
        return {"name": (await groups.aget(name=name)).name}

    @api.get("/acount")
    async def acount() -> int:
        return await groups.acount()

    @api.get("/iterate")
    async def iterate() -> list[str]:
        return [g.name async for g in groups.order_by("name")]

    @api.get("/queryset")
    async def queryset():  # a QuerySet returned as it is, read by the framework
        return groups.order_by("name").values("name")

    @api.get("/sync-to-async")
    async def own_call() -> int:
        # A user's own thread-sensitive call goes where Django's async ORM API goes.
        return await sync_to_async(groups.count)()

    with TestClient(api, share_db_connection=False) as client:
        client.post("/create", params={"name": "b"})
        client.post("/create", params={"name": "a"})
        assert _orm_only(query_log.take())
        assert client.get("/aget", params={"name": "a"}).json() == {"name": "a"}
        assert _orm_only(query_log.take())
        assert client.get("/acount").json() == 2
        assert _orm_only(query_log.take())
        assert client.get("/iterate").json() == ["a", "b"]
        assert _orm_only(query_log.take())
        assert client.get("/queryset").json() == [{"name": "a"}, {"name": "b"}]
        assert _orm_only(query_log.take())
        assert client.get("/sync-to-async").json() == 2
        assert _orm_only(query_log.take())


@pytest.mark.django_db(transaction=True)
def test_auser_loads_the_user_in_the_orm_pool(one_pool_thread: None, query_log: QueryLog) -> None:
    from django.contrib.auth.models import User

    ann = User.objects.create_user("ann")
    query_log.take()  # the test thread's own queries
    api = BoltAPI()

    @api.get("/me", auth=[JWTAuthentication(secret=SECRET)])
    async def me(request: Any) -> dict[str, str]:
        return {"username": (await request.auser()).username}

    token = jwt.encode({"sub": str(ann.pk), "exp": time.time() + 60}, SECRET, algorithm="HS256")
    with TestClient(api, share_db_connection=False) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).json() == {
            "username": "ann"
        }
    assert _orm_only(query_log.take())


@pytest.mark.django_db(transaction=True)
def test_def_handlers_keep_the_sync_pool(one_pool_thread: None, query_log: QueryLog) -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.get("/count")
    def count() -> int:
        return Group.objects.count()

    with TestClient(api, share_db_connection=False) as client:
        assert client.get("/count").json() == 0
    threads = query_log.take()
    assert threads
    assert all(name.startswith("bolt-sync") for name in threads)


class _MarkThread:
    """A Django middleware (sync only) noting the thread its request phase ran on."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        request.bolt_hook_thread = threading.current_thread().name
        return self.get_response(request)


@pytest.mark.django_db(transaction=True)
def test_routes_with_django_middleware_keep_their_work_on_one_thread(
    one_pool_thread: None, query_log: QueryLog
) -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI(middleware=[DjangoMiddleware(_MarkThread)])

    @api.get("/with-middleware")
    async def with_middleware(request: Any) -> dict[str, Any]:
        count = await Group.objects.acount()
        return {"count": count, "hook": request.state.django_request.bolt_hook_thread}

    with TestClient(api, share_db_connection=False) as client:
        answer = client.get("/with-middleware").json()
    # The middleware's hook and the handler's query on the same thread, not the ORM pool.
    assert answer["count"] == 0
    assert query_log.take() == {answer["hook"]}
    assert answer["hook"].startswith("bolt-django")


# --- the pool's size ---------------------------------------------------------------------------


def test_default_size_and_validation() -> None:
    sqlite = {"ENGINE": "django.db.backends.sqlite3"}
    postgres = {"ENGINE": "django.db.backends.postgresql"}
    assert orm_pool_size({"default": sqlite}, {}) == 1
    assert orm_pool_size({"default": sqlite, "other": sqlite}, {}) == 1
    assert orm_pool_size({"default": sqlite, "pg": postgres}, {}) == 4
    assert orm_pool_size({"default": postgres}, {"DJANGO_BOLT_ORM_THREADS": " "}) == 4
    assert orm_pool_size({"default": sqlite}, {"DJANGO_BOLT_ORM_THREADS": "8"}) == 8
    for bad in ("0", "-2", "four", "2.5"):
        with pytest.raises(
            ImproperlyConfigured,
            match=f"DJANGO_BOLT_ORM_THREADS must be an int of 1 or more, got '{bad}'",
        ):
            orm_pool_size({"default": sqlite}, {"DJANGO_BOLT_ORM_THREADS": bad})


def test_a_bad_value_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_BOLT_ORM_THREADS", "0")
    api = BoltAPI()

    @api.get("/")
    async def index() -> int:
        return 1

    # Start-up runs when the client is entered.
    with (
        pytest.raises(ImproperlyConfigured, match=r"DJANGO_BOLT_ORM_THREADS.*'0'"),
        TestClient(api),
    ):
        pass


@pytest.mark.django_db(transaction=True)
def test_start_up_sizes_the_pool_from_the_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    api = BoltAPI()

    @api.get("/")
    async def index() -> int:
        return 1

    monkeypatch.delenv("DJANGO_BOLT_ORM_THREADS", raising=False)
    with TestClient(api) as client:
        client.get("/")
        assert current_orm_pool_size() == 1  # the test settings have SQLite only
    monkeypatch.setenv("DJANGO_BOLT_ORM_THREADS", "3")
    with TestClient(api) as client:
        client.get("/")
        assert current_orm_pool_size() == 3


def _sleeping_api(alias: str, seen: dict[str, Any]) -> BoltAPI:
    from django.db import connections

    lock = threading.Lock()

    def sleep_and_name() -> tuple[str, int]:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.15), pg_backend_pid()")
                pid = int(cursor.fetchone()[1])
            return threading.current_thread().name, pid
        finally:
            with lock:
                seen["now"] -= 1

    api = BoltAPI()

    @api.get("/sleep")
    async def sleep() -> list[Any]:
        name, pid = await sync_to_async(sleep_and_name)()
        return [name, pid]

    return api


@pytest.mark.postgres
@pytest.mark.parametrize("threads", [1, 3])
def test_the_pool_size_bounds_the_queries_in_flight(
    pg: str, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setenv("DJANGO_BOLT_ORM_THREADS", str(threads))
    seen = {"now": 0, "most": 0}

    async def main() -> list[list[Any]]:
        async with AsyncTestClient(_sleeping_api(pg, seen)) as client:
            answers = await asyncio.gather(*(client.get("/sleep") for _ in range(8)))
        return [answer.json() for answer in answers]

    answers = asyncio.run(main())
    assert seen["most"] == threads
    names = {name for name, _ in answers}
    assert len(names) == threads
    assert all(name.startswith("bolt-orm") for name in names)
    # One connection per thread, never shared: each backend served exactly one thread.
    pids_by_thread: dict[str, set[int]] = {}
    for name, pid in answers:
        pids_by_thread.setdefault(name, set()).add(pid)
    assert all(len(pids) == 1 for pids in pids_by_thread.values())
    assert len({pid for pids in pids_by_thread.values() for pid in pids}) == threads


# --- transactions in sync code in the pool ----------------------------------------------------


def _transaction_api(alias: str) -> BoltAPI:
    from django.contrib.auth.models import Group
    from django.db import transaction

    groups = Group.objects.using(alias)

    def create_all_or_none(names: list[str], fail: bool) -> None:
        with transaction.atomic(using=alias):
            for name in names:
                groups.create(name=name)
            if fail:
                raise ValueError("roll back")

    api = BoltAPI()

    @api.post("/async/batch")
    async def async_batch(fail: bool = False) -> list[str]:
        with contextlib.suppress(ValueError):
            await sync_to_async(create_all_or_none)(["x", "y"], fail)
        return [g.name async for g in groups.order_by("name")]

    @api.post("/sync/batch")
    def sync_batch(fail: bool = False) -> list[str]:
        with contextlib.suppress(ValueError):
            create_all_or_none(["p", "q"], fail)
        return list(groups.order_by("name").values_list("name", flat=True))

    @api.get("/async/in-transaction")
    async def in_transaction() -> bool:
        # Nothing left open between calls: the pool thread's connection is back in autocommit.
        return await sync_to_async(lambda: transaction.get_autocommit(using=alias))()

    return api


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_atomic_blocks_in_the_pool_commit_or_roll_back_whole(alias: str, kind: str) -> None:
    with TestClient(_transaction_api(alias)) as client:
        assert client.post(f"/{kind}/batch", params={"fail": "true"}).json() == []
        committed = client.post(f"/{kind}/batch").json()
        assert committed == (["x", "y"] if kind == "async" else ["p", "q"])
        assert client.get("/async/in-transaction").json() is True


# --- no deadlock when a pool thread waits for the loop ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_work_for_a_waiting_orm_thread_runs_on_that_thread(one_pool_thread: None) -> None:
    """The ORM pool has one thread; a call on it waits (``async_to_sync``) for a coroutine that
    needs database work done: that work runs on the waiting thread, not queued behind it."""
    from django.contrib.auth.models import Group

    def thread_name() -> str:
        return threading.current_thread().name

    async def inner() -> tuple[str, int]:
        name = await run_orm(thread_name, {})
        return name, await Group.objects.acount()

    def outer() -> tuple[str, str, int]:
        name, count = async_to_sync(inner)()
        return threading.current_thread().name, name, count

    api = BoltAPI()

    @api.get("/nested")
    async def nested() -> list[Any]:
        return list(await asyncio.wait_for(sync_to_async(outer)(), 10))

    with TestClient(api) as client:
        waiting, ran_on, count = client.get("/nested").json()
    assert waiting.startswith("bolt-orm")
    assert ran_on == waiting
    assert count == 0
