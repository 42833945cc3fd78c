"""Fixtures for the test clients' own tests: new pool threads after database tests, and the
``pg`` alias of the Django tests (a PostgreSQL database of their own)."""

from __future__ import annotations

from tests.api.conftest import fresh_sync_pool_after_db_tests
from tests.django.conftest import one_pool_thread, pg, pg_settings

__all__ = ("fresh_sync_pool_after_db_tests", "one_pool_thread", "pg", "pg_settings")
