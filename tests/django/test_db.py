"""The ORM in API handlers on SQLite and PostgreSQL, and Django's connection rules around them.

Async handlers use the async ORM (its queries run in the ORM pool); ``def`` handlers use the sync
ORM in the sync pool. ``CONN_MAX_AGE``, ``CONN_HEALTH_CHECKS`` and
``ATOMIC_REQUESTS`` are observed from outside: backend pids, ``pg_stat_activity``, rows left.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
from asgiref.sync import sync_to_async

from django_bolt import BoltAPI
from django_bolt.testing import TestClient
from tests.django.conftest import (
    on_async_orm_thread,
    pg_backends,
    terminate_backends,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.django_db(transaction=True)),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def alias(request: pytest.FixtureRequest) -> str:
    """The connection alias of the backend under test."""
    if request.param == "sqlite":
        request.getfixturevalue("one_pool_thread")
        return "default"
    return str(request.getfixturevalue("pg"))


def _backend_pid(alias: str) -> int:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _orm_api(alias: str) -> BoltAPI:
    from django.contrib.auth.models import Group

    groups = Group.objects.using(alias)
    api = BoltAPI()

    @api.post("/async/groups")
    async def async_create(name: str) -> dict[str, Any]:
        group = await groups.acreate(name=name)
        return {"id": group.pk, "count": await groups.acount()}

    @api.get("/async/groups/{name}")
    async def async_get(name: str) -> dict[str, Any]:
        group = await groups.aget(name=name)
        return {"id": group.pk, "name": group.name}

    @api.get("/async/groups")
    async def async_list() -> list[str]:
        return [g.name async for g in groups.order_by("name")]

    @api.post("/sync/groups")
    def sync_create(name: str) -> dict[str, Any]:
        group = groups.create(name=name)
        return {"id": group.pk, "count": groups.count()}

    @api.get("/sync/groups")
    def sync_list() -> list[str]:
        return list(groups.order_by("name").values_list("name", flat=True))

    @api.get("/sync/groups/{name}")
    def sync_get(name: str) -> dict[str, Any]:
        group = groups.get(name=name)
        return {"id": group.pk, "name": group.name}

    return api


def test_async_and_sync_orm(alias: str) -> None:
    with TestClient(_orm_api(alias)) as client:
        first = client.post("/async/groups", params={"name": "b"}).json()
        assert first["count"] == 1
        second = client.post("/sync/groups", params={"name": "a"}).json()
        assert second["count"] == 2
        assert client.get("/async/groups").json() == ["a", "b"]
        assert client.get("/sync/groups").json() == ["a", "b"]
        assert client.get("/async/groups/a").json() == {"id": second["id"], "name": "a"}
        assert client.get("/sync/groups/b").json() == {"id": first["id"], "name": "b"}


# --- ATOMIC_REQUESTS -----------------------------------------------------------------------------


@pytest.fixture
def atomic_alias(alias: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from django.db import connections

    monkeypatch.setitem(connections.settings[alias], "ATOMIC_REQUESTS", True)
    return alias


def _atomic_api(alias: str) -> BoltAPI:
    from django.contrib.auth.models import Group
    from django.db import transaction

    groups = Group.objects.using(alias)
    api = BoltAPI()

    @api.post("/atomic")
    def atomic(name: str) -> dict[str, bool]:
        groups.create(name=name)
        in_block = transaction.get_connection(alias).in_atomic_block
        if name.startswith("fail"):
            raise RuntimeError("after the write")
        return {"in_block": in_block}

    @api.post("/non-atomic")
    @transaction.non_atomic_requests(using=alias)
    def non_atomic(name: str) -> dict[str, bool]:
        groups.create(name=name)
        in_block = transaction.get_connection(alias).in_atomic_block
        if name.startswith("fail"):
            raise RuntimeError("after the write")
        return {"in_block": in_block}

    @api.get("/count")
    def count() -> int:
        return groups.count()

    return api


def test_atomic_requests_roll_back_a_failing_def_handler(atomic_alias: str) -> None:
    with TestClient(_atomic_api(atomic_alias), raise_server_exceptions=False) as client:
        assert client.post("/atomic", params={"name": "ok"}).json() == {"in_block": True}
        failed = client.post("/atomic", params={"name": "fail"})
        assert failed.status_code == 500
        assert failed.json() == {"detail": "Internal Server Error"}
        assert client.get("/count").json() == 1
        # non_atomic_requests opts out: no transaction, so the failed request's row stays.
        assert client.post("/non-atomic", params={"name": "free"}).json() == {"in_block": False}
        assert client.post("/non-atomic", params={"name": "fail-free"}).status_code == 500
        assert client.get("/count").json() == 3


def test_without_atomic_requests_nothing_is_wrapped(alias: str) -> None:
    with TestClient(_atomic_api(alias), raise_server_exceptions=False) as client:
        assert client.post("/atomic", params={"name": "ok"}).json() == {"in_block": False}
        assert client.post("/atomic", params={"name": "fail"}).status_code == 500
        assert client.get("/count").json() == 2


# --- connections (PostgreSQL: SQLite in memory is never closed by Django) ------------------------
# The pool threads' own connections are under test: the clients lend them none of the test's
# (share_db_connection=False).


def _pid_api(alias: str) -> BoltAPI:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.get("/sync/pid")
    def sync_pid() -> int:
        return _backend_pid(alias)

    @api.get("/async/pid")
    async def async_pid() -> int:
        await Group.objects.using(alias).acount()
        # The same thread (and so connection) the async ORM just used.
        pid: int = await sync_to_async(_backend_pid)(alias)
        return pid

    @api.get("/nothing")
    async def nothing() -> int:
        return 0

    return api


def _async_thread_connected(alias: str) -> bool:
    from django.db import connections

    # The ORM pool's one thread: the connection its last request left there.
    return bool(on_async_orm_thread(lambda: connections[alias].connection is not None))


@pytest.mark.postgres
@pytest.mark.parametrize("pg_settings", [{"CONN_MAX_AGE": 0}, {}], ids=["zero", "unset"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_by_default_a_thread_keeps_its_connection_between_requests(
    pg: str, postgres_dsn: str, kind: str, pg_settings: dict[str, Any]
) -> None:
    # Neither a positive CONN_MAX_AGE nor CONN_HEALTH_CHECKS: no reconnect per request.
    from django.db import connections

    name = connections.settings[pg]["NAME"]
    with TestClient(_pid_api(pg), share_db_connection=False) as client:
        pids = {client.get(f"/{kind}/pid").json() for _ in range(3)}
        assert len(pids) == 1
        if kind == "async":
            assert _async_thread_connected(pg)
        assert pids <= pg_backends(postgres_dsn, name)


@pytest.mark.postgres
@pytest.mark.parametrize("pg_settings", [{"CONN_MAX_AGE": 0}])
def test_a_connection_left_outside_autocommit_is_not_reused(
    pg: str, pg_settings: dict[str, Any]
) -> None:
    from django.db import connections

    api = _pid_api(pg)

    @api.get("/leave-open")
    def leave_open() -> int:
        connections[pg].set_autocommit(False)
        return _backend_pid(pg)

    with TestClient(api, share_db_connection=False) as client:
        first = client.get("/leave-open").json()
        # Dropped after the call (a transaction left open would leak into the next request).
        assert client.get("/sync/pid").json() != first


@pytest.mark.postgres
@pytest.mark.parametrize("pg_settings", [{"CONN_MAX_AGE": 60}, {"CONN_MAX_AGE": None}])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_persistent_connections_are_reused(
    pg: str, postgres_dsn: str, kind: str, pg_settings: dict[str, Any]
) -> None:
    from django.db import connections

    name = connections.settings[pg]["NAME"]
    with TestClient(_pid_api(pg), share_db_connection=False) as client:
        pids = {client.get(f"/{kind}/pid").json() for _ in range(3)}
        assert len(pids) == 1
        if kind == "async":
            assert _async_thread_connected(pg)
        assert pids <= pg_backends(postgres_dsn, name)


@pytest.mark.postgres
@pytest.mark.parametrize("pg_settings", [{"CONN_MAX_AGE": 2}])
def test_a_connection_that_aged_while_idle_is_not_reused(
    pg: str, pg_settings: dict[str, Any]
) -> None:
    import time

    with TestClient(_pid_api(pg), share_db_connection=False) as client:
        first = client.get("/sync/pid").json()
        assert client.get("/sync/pid").json() == first
        # Past CONN_MAX_AGE with no request in between: closed before the next handler runs,
        # not after it has used the stale connection once more.
        time.sleep(2.2)
        assert client.get("/sync/pid").json() != first


@pytest.mark.postgres
@pytest.mark.parametrize("pg_settings", [{"CONN_MAX_AGE": None, "CONN_HEALTH_CHECKS": True}])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_health_checks_reconnect_after_the_backend_is_terminated(
    pg: str, postgres_dsn: str, kind: str, pg_settings: dict[str, Any]
) -> None:
    from django.db import connections

    name = connections.settings[pg]["NAME"]
    with TestClient(_pid_api(pg), share_db_connection=False) as client:
        before = client.get(f"/{kind}/pid").json()
        assert terminate_backends(postgres_dsn, name) >= 1
        # The health check pings the dead connection first and reconnects: no failed request.
        after = client.get(f"/{kind}/pid")
        assert after.status_code == 200
        assert after.json() != before


@pytest.mark.postgres
@pytest.mark.parametrize(
    "pg_settings", [{"CONN_MAX_AGE": None}, {"CONN_MAX_AGE": 0}], ids=["persistent", "default"]
)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_without_health_checks_one_request_fails_cleanly_then_it_recovers(
    pg: str, postgres_dsn: str, kind: str, pg_settings: dict[str, Any]
) -> None:
    from django.db import connections

    name = connections.settings[pg]["NAME"]
    with TestClient(
        _pid_api(pg), raise_server_exceptions=False, share_db_connection=False
    ) as client:
        before = client.get(f"/{kind}/pid").json()
        assert terminate_backends(postgres_dsn, name) >= 1
        failed = client.get(f"/{kind}/pid")
        assert failed.status_code == 503
        assert failed.json() == {"detail": "Service Unavailable"}
        # The broken connection was dropped after the failed request: the next one reconnects.
        after = client.get(f"/{kind}/pid")
        assert after.status_code == 200
        assert after.json() != before


# --- BOLT_EMIT_SIGNALS -----------------------------------------------------------------------


@pytest.fixture
def signal_log() -> Iterator[list[tuple[str, str]]]:
    from django.core.signals import request_finished, request_started

    log: list[tuple[str, str]] = []

    def started(**kwargs: Any) -> None:
        log.append(("started", threading.current_thread().name))

    def finished(**kwargs: Any) -> None:
        log.append(("finished", threading.current_thread().name))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        yield log
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)


# Django's own receivers (close_old_connections) touch the connections: the database is needed.
pytestmark_signals = pytest.mark.django_db(transaction=True)


def _signal_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/sync")
    def sync_handler() -> str:
        return threading.current_thread().name

    @api.get("/async")
    async def async_handler() -> str:
        return "async"

    return api


@pytestmark_signals
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_signals_off_by_default(signal_log: list[tuple[str, str]], kind: str) -> None:
    with TestClient(_signal_api()) as client:
        assert client.get(f"/{kind}").status_code == 200
    assert signal_log == []


@pytestmark_signals
def test_signals_on_for_def_handlers_run_on_the_handlers_thread(
    signal_log: list[tuple[str, str]], settings: Any
) -> None:
    settings.BOLT_EMIT_SIGNALS = True
    with TestClient(_signal_api()) as client:
        thread = client.get("/sync").text
    assert signal_log == [("started", thread), ("finished", thread)]


@pytestmark_signals
def test_signals_on_for_async_handlers(signal_log: list[tuple[str, str]], settings: Any) -> None:
    settings.BOLT_EMIT_SIGNALS = True
    with TestClient(_signal_api()) as client:
        assert client.get("/async").text == "async"
        assert client.get("/async").text == "async"
    assert [event for event, _ in signal_log] == ["started", "finished"] * 2


@pytestmark_signals
def test_signals_on_for_a_def_handler_that_could_run_inline(
    signal_log: list[tuple[str, str]], settings: Any
) -> None:
    # A handler that provably touches nothing would run on the loop; with the signals on it
    # runs in the pool, where Django's receivers act on that thread's connections.
    settings.BOLT_EMIT_SIGNALS = True
    api = BoltAPI()

    @api.get("/plain")
    def plain() -> dict[str, str]:
        return {"plain": "yes"}

    @api.get("/forced", inline=True)
    def forced() -> dict[str, str]:
        return {"forced": "yes"}

    with TestClient(api) as client:
        assert client.get("/plain").json() == {"plain": "yes"}
        assert [event for event, _ in signal_log] == ["started", "finished"]
        assert signal_log[0][1] != threading.current_thread().name
        # Declared inline: it stays on the loop and sends no signal.
        assert client.get("/forced").json() == {"forced": "yes"}
    assert len(signal_log) == 2
