"""Fixtures for the class-based view tests: the database under test (SQLite, then a fresh
PostgreSQL database, each with 45 groups) and the SQL that reaches it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import fresh_sync_pool_after_db_tests
from tests.django.conftest import one_pool_thread, pg, pg_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = (
    "alias",
    "fresh_sync_pool_after_db_tests",
    "one_pool_thread",
    "pg",
    "pg_settings",
    "queries",
)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.django_db(transaction=True)),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def alias(request: pytest.FixtureRequest) -> str:
    """The connection alias of the backend under test, with 45 groups g01..g45."""
    from django.contrib.auth.models import Group

    if request.param == "sqlite":
        request.getfixturevalue("one_pool_thread")
        name = "default"
    else:
        from django.contrib.auth.models import User
        from django.db import connections

        name = str(request.getfixturevalue("pg"))
        # Deleting a group clears its users' memberships: those tables must exist.
        with connections[name].schema_editor() as editor:
            editor.create_model(User)
    Group.objects.using(name).bulk_create(Group(name=f"g{i:02d}") for i in range(1, 46))
    return name


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement run from now on, on any thread."""
    from django.db.backends import utils

    seen: list[str] = []
    original = utils.CursorWrapper._execute

    def recording(self: Any, sql: str, *args: Any) -> Any:
        seen.append(sql)
        return original(self, sql, *args)

    monkeypatch.setattr(utils.CursorWrapper, "_execute", recording)
    yield seen
