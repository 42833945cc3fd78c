"""Shared fixtures. Service-backed tests skip when the service is absent, except under CI.

``BOLT_REQUIRE_SERVICES=1`` (set by ``dev.py test`` when ``CI=true``) turns every "service
absent -> skip" into a failure, so a CI machine that lost PostgreSQL, Redis or nginx cannot pass
by skipping the tests that needed them.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Final

import pytest

__all__ = (
    "REQUIRE_SERVICES_ENV",
    "find_program",
    "postgres_dsn",
    "redis_url",
    "require_service",
    "services_required",
    "skip_or_fail",
)

REQUIRE_SERVICES_ENV: Final = "BOLT_REQUIRE_SERVICES"
POSTGRES_ADDRESS: Final = ("127.0.0.1", 5432)
REDIS_ADDRESS: Final = ("127.0.0.1", 6379)


def services_required() -> bool:
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; fail instead when services are required (CI)."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1: a missing service is a failure)")
    pytest.skip(reason)


def _reachable(address: tuple[str, int], timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout_s):
            return True
    except OSError:
        return False


def require_service(name: str, address: tuple[str, int]) -> None:
    """Skip (or fail under CI) unless something accepts TCP connections at ``address``."""
    if not _reachable(address):
        host, port = address
        skip_or_fail(f"{name} is not reachable on {host}:{port}")


def find_program(name: str, hint: str) -> str:
    """Path of a program beside this Python (the venv), on PATH or in sbin; else skip/fail."""
    beside_python = str(Path(sys.executable).parent / name)
    for candidate in (beside_python, shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    skip_or_fail(f"{name} is not installed ({hint})")
    raise AssertionError("unreachable")  # pragma: no cover - skip_or_fail raises


@pytest.fixture
def postgres_dsn() -> str:
    """DSN of the local PostgreSQL (trust auth, database ``test``)."""
    require_service("PostgreSQL", POSTGRES_ADDRESS)
    host, port = POSTGRES_ADDRESS
    user = os.environ.get("PGUSER", "postgres")
    return f"postgresql://{user}@{host}:{port}/test"


@pytest.fixture
def redis_url() -> str:
    """URL of the local Redis (database 15, so tests never touch the default one)."""
    require_service("Redis", REDIS_ADDRESS)
    host, port = REDIS_ADDRESS
    return f"redis://{host}:{port}/15"
