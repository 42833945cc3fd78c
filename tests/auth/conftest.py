"""The framework tests' fixtures: pool threads must not keep a closed test database."""

from __future__ import annotations

from tests.api.conftest import fresh_sync_pool_after_db_tests

__all__ = ("fresh_sync_pool_after_db_tests",)
