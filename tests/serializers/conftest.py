"""Fixtures for the serializer tests: the test models' tables on SQLite and on PostgreSQL.

``db_alias`` is parametrized: SQLite in memory (the test database, transactional tests) and a
fresh PostgreSQL database of its own (``tests/django/conftest.py``'s ``pg``). The tables of
``tests/serializers/models.py`` are created on the alias for the test and dropped after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from django_bolt.concurrency import run_in_pool
from tests.django.conftest import on_async_orm_thread, one_pool_thread, pg, pg_settings
from tests.serializers.models import MODELS

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("db_alias", "one_pool_thread", "pg", "pg_settings", "query_counter")


def _create_tables(alias: str) -> None:
    from django.db import connections

    with connections[alias].schema_editor() as editor:
        for model in MODELS:
            editor.create_model(model)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.django_db(transaction=True)),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_alias(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[str]:
    """The connection alias of the backend under test, with the test models' tables."""
    if request.param == "sqlite":
        request.getfixturevalue("one_pool_thread")
        alias = "default"
        yield alias  # the test database has the app's tables
        return
    alias = str(request.getfixturevalue("pg"))
    with django_db_blocker.unblock():
        _create_tables(alias)
    yield alias


class QueryCounter:
    """Counts the queries of every thread on one alias (an ``execute_wrapper`` per connection)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _on_every_thread(fn: Any) -> None:
    """Run ``fn`` on the test thread, the async ORM's thread and the (one) pool thread."""
    import asyncio

    fn()
    on_async_orm_thread(fn)

    async def in_pool() -> None:
        await run_in_pool(fn, {})

    asyncio.run(in_pool())


@pytest.fixture
def query_counter(db_alias: str) -> Iterator[QueryCounter]:
    """Counts every query on ``db_alias`` from now on, on every thread that may run one."""
    from django.db import connections

    counter = QueryCounter()

    def attach() -> None:
        connections[db_alias].execute_wrappers.append(counter)

    def detach() -> None:
        wrappers = connections[db_alias].execute_wrappers
        if counter in wrappers:
            wrappers.remove(counter)

    _on_every_thread(attach)
    try:
        yield counter
    finally:
        _on_every_thread(detach)
