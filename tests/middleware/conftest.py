"""Fixtures for the middleware tests (the API tests' pool reset applies here too)."""

from __future__ import annotations

from tests.api.conftest import fresh_sync_pool_after_db_tests

__all__ = ("fresh_sync_pool_after_db_tests",)
