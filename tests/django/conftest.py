"""Fixtures for the Django integration tests: a PostgreSQL database of their own, pools of one.

``pg`` creates a uniquely named database on the local PostgreSQL, registers it as the
connection alias ``"pg"`` (settings given by the test through ``pg_settings``) with the tables of
``contenttypes`` and ``auth``, and drops it afterwards. ``one_pool_thread`` makes every call of
each pool (the sync pool of ``def`` handlers, the ORM pool of async ones) run on one thread, so a
test can observe that thread's connection from one request to the next; at teardown the
connections of every thread that served are closed on their own thread.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from django_bolt.concurrency import (
    configure_orm_pool,
    configure_sync_pool,
    orm_pool_size,
    reset_orm_pool,
    reset_sync_pool,
    run_in_orm_pool,
    run_in_pool,
)
from tests.api.conftest import fresh_sync_pool_after_db_tests

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = (
    "close_everywhere",
    "fresh_sync_pool_after_db_tests",
    "on_async_orm_thread",
    "one_pool_thread",
    "pg",
)

PG_ALIAS = "pg"


def on_async_orm_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in the ORM pool (where async handlers query; one thread under
    ``one_pool_thread``) and wait."""
    import asyncio

    async def in_pool() -> Any:
        return await asyncio.wait_for(run_in_orm_pool(fn, {}), 30)

    return asyncio.run(in_pool())


def _close_and_forget(alias: str | None) -> None:
    from django.db import connections

    connections.close_all()
    if alias is not None:
        # The wrapper object stays in this thread's storage otherwise, still pointing at the
        # dropped database, and the next test's alias of the same name would reuse it.
        with contextlib.suppress(AttributeError):
            del connections[alias]


def close_everywhere(forget: str | None = None) -> None:
    """Close the connections of the test thread, every ORM pool thread and the sync pool."""
    import asyncio
    import threading

    _close_and_forget(forget)
    # One call per ORM thread: each waits until all have started, so no thread takes two.
    size = orm_pool_size()
    everyone = threading.Barrier(size, timeout=30)

    def close_on_one_thread() -> None:
        everyone.wait()
        _close_and_forget(forget)

    async def in_pools() -> None:
        await asyncio.gather(*(run_in_orm_pool(close_on_one_thread, {}) for _ in range(size)))
        await run_in_pool(_close_and_forget, {"alias": forget})

    asyncio.run(in_pools())


@pytest.fixture
def one_pool_thread(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The setting and the variable, since an API's start-up sizes the pools from them.
    settings.BOLT_SYNC_POOL_SIZE = 1
    monkeypatch.setenv("DJANGO_BOLT_ORM_THREADS", "1")
    reset_sync_pool()
    reset_orm_pool()
    configure_sync_pool(1)
    configure_orm_pool(1)
    try:
        yield
    finally:
        close_everywhere()
        reset_sync_pool()
        reset_orm_pool()
        configure_sync_pool(40)


@pytest.fixture
def pg_settings() -> dict[str, Any]:
    """Overridden by tests that need other connection settings for the ``pg`` alias."""
    return {}


@pytest.fixture
def pg(
    postgres_dsn: str,
    pg_settings: dict[str, Any],
    django_db_blocker: Any,
    one_pool_thread: None,
) -> Iterator[str]:
    """A fresh PostgreSQL database as the ``pg`` alias, with the auth tables; its alias."""
    import psycopg
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    name = f"bolt_django_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    user = os.environ.get("PGUSER", "postgres")
    database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": user,
        "HOST": "127.0.0.1",
        "PORT": "5432",
        **pg_settings,
    }
    configured = connections.configure_settings(
        {"default": connections.settings["default"], PG_ALIAS: database}
    )
    connections.settings[PG_ALIAS] = configured[PG_ALIAS]
    try:
        with django_db_blocker.unblock():
            with connections[PG_ALIAS].schema_editor() as editor:
                for model in (ContentType, Permission, Group):
                    editor.create_model(model)
            connections[PG_ALIAS].close()
            try:
                yield PG_ALIAS
            finally:
                close_everywhere(forget=PG_ALIAS)
    finally:
        del connections.settings[PG_ALIAS]
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_backends(postgres_dsn: str, database: str) -> set[int]:
    """Backend pids of the connections currently open to ``database``."""
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return {int(row[0]) for row in rows}


def backends_after_close(postgres_dsn: str, database: str, timeout: float = 5.0) -> set[int]:
    """:func:`pg_backends` once the closed ones are gone: a backend leaves ``pg_stat_activity``
    a moment after its client hung up (the server process exits on its own schedule), so an
    empty set is waited for, up to ``timeout``; whatever is left then is returned."""
    deadline = time.monotonic() + timeout
    while True:
        pids = pg_backends(postgres_dsn, database)
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.02)


def terminate_backends(postgres_dsn: str, database: str) -> int:
    """``pg_terminate_backend`` every connection to ``database``; how many there were."""
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)
