"""Fixtures for the middleware tests (the API tests' pool reset applies here too)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from tests.api.conftest import fresh_sync_pool_after_db_tests

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("fresh_sync_pool_after_db_tests", "redis_prefix")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own in the local Redis; its keys are deleted afterwards."""
    import redis

    prefix = f"bolt-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()
