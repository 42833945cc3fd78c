"""Fixtures for the framework tests: every test builds a tiny API and drives it in process."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from django_bolt.concurrency import reset_orm_pool, reset_sync_pool
from django_bolt.testing import bolt_client_factory

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("bolt_client_factory", "fresh_sync_pool_after_db_tests")


@pytest.fixture(autouse=True)
def fresh_sync_pool_after_db_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """A pool thread (sync or ORM) keeps its in-memory SQLite connection (Django never closes
    those), and a later test without database access would trip over it: give such tests new
    threads."""
    yield
    if request.node.get_closest_marker("django_db"):
        reset_sync_pool()
        reset_orm_pool()
