"""/health and /ready (django_bolt.health): 0.13's names and JSON, real checks, draining."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections
from django.test import override_settings

from django_bolt import BoltAPI, health as health_module
from django_bolt.health import (
    HealthCheck,
    add_health_check,
    check_database,
    register_health_checks,
)
from django_bolt.server.contract import is_draining, set_draining
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch, django_db_blocker: Any) -> Iterator[None]:
    """Each test starts with no added check and a process that is not draining.

    The database check opens fresh connections of its own (no test database involved).
    """
    monkeypatch.setattr(health_module, "_health_check", HealthCheck())
    set_draining(False)
    with django_db_blocker.unblock():
        yield
    set_draining(False)


def health_api() -> BoltAPI:
    api = BoltAPI()
    register_health_checks(api)
    return api


def test_health_is_ok() -> None:
    with TestClient(health_api()) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_runs_the_database_check_by_default() -> None:
    with TestClient(health_api()) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "status": "healthy",
        "checks": {"check_database": {"healthy": True, "message": "Database OK"}},
    }


def test_added_checks_run_with_the_builtin_ones_and_a_failure_is_503() -> None:
    async def check_queue() -> tuple[bool, str]:
        return False, "queue is full"

    def check_disk() -> tuple[bool, str]:  # a plain function runs in a thread
        return True, "disk OK"

    add_health_check(check_queue)
    add_health_check(check_disk)
    with TestClient(health_api()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"] == {
        "check_database": {"healthy": True, "message": "Database OK"},
        "check_queue": {"healthy": False, "message": "queue is full"},
        "check_disk": {"healthy": True, "message": "disk OK"},
    }


def test_an_added_check_replaces_the_builtin_of_the_same_name() -> None:
    async def check_database() -> tuple[bool, str]:
        return True, "mine"

    add_health_check(check_database)
    with TestClient(health_api()) as client:
        body = client.get("/ready").json()
    assert body["checks"] == {"check_database": {"healthy": True, "message": "mine"}}


def test_health_check_class_reports_exceptions_and_bad_results() -> None:
    checks = HealthCheck()

    async def failing_check() -> tuple[bool, str]:
        raise RuntimeError("Something broke")

    async def wrong_shape() -> Any:
        return "fine"

    async def check_cache() -> tuple[bool, str]:
        return True, "Cache OK"

    for check in (failing_check, wrong_shape, check_cache):
        checks.add_check(check)
    results = asyncio.run(checks.run_checks())
    assert results["status"] == "unhealthy"
    assert results["checks"]["failing_check"] == {"healthy": False, "message": "Something broke"}
    assert results["checks"]["wrong_shape"]["healthy"] is False
    assert "not (bool, str)" in results["checks"]["wrong_shape"]["message"]
    assert results["checks"]["check_cache"] == {"healthy": True, "message": "Cache OK"}
    with pytest.raises(TypeError):
        checks.add_check("not callable")  # type: ignore[arg-type]


def test_checks_run_concurrently() -> None:
    # Each check waits for the other to have started: run one after the other, both time out.
    first, second = asyncio.Event(), asyncio.Event()

    async def check_a() -> tuple[bool, str]:
        first.set()
        await second.wait()
        return True, "a"

    async def check_b() -> tuple[bool, str]:
        second.set()
        await first.wait()
        return True, "b"

    checks = HealthCheck(timeout=30)
    checks.add_check(check_a)
    checks.add_check(check_b)
    results = asyncio.run(checks.run_checks())
    assert results["status"] == "healthy", results


def test_a_check_that_hangs_times_out_without_holding_the_others() -> None:
    async def check_hangs() -> tuple[bool, str]:
        await asyncio.sleep(3600)
        return True, "never"

    def check_blocks() -> tuple[bool, str]:
        time.sleep(2)
        return True, "late"

    async def check_fast() -> tuple[bool, str]:
        return True, "fast"

    checks = HealthCheck(timeout=0.2)
    for check in (check_hangs, check_blocks, check_fast):
        checks.add_check(check)
    results = asyncio.run(checks.run_checks())
    assert results["checks"]["check_hangs"] == {
        "healthy": False,
        "message": "Timed out after 0.2 s",
    }
    assert results["checks"]["check_blocks"]["healthy"] is False
    assert results["checks"]["check_fast"] == {"healthy": True, "message": "fast"}
    with pytest.raises(ValueError):
        HealthCheck(timeout=0)


def test_the_timeout_setting_applies_to_ready() -> None:
    async def check_slow() -> tuple[bool, str]:
        await asyncio.sleep(3600)
        return True, "never"

    add_health_check(check_slow)
    with override_settings(BOLT_HEALTH_CHECK_TIMEOUT=0.1), TestClient(health_api()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["check_slow"]["message"] == "Timed out after 0.1 s"


def test_ready_is_503_while_draining_without_running_checks() -> None:
    ran: list[str] = []

    async def check_counted() -> tuple[bool, str]:
        ran.append("x")
        return True, "ok"

    add_health_check(check_counted)
    with TestClient(health_api()) as client:
        assert client.get("/ready").status_code == 200
        set_draining()
        assert is_draining()
        response = client.get("/ready")
        # Liveness is unaffected: the process still answers.
        assert client.get("/health").status_code == 200
    assert response.status_code == 503
    assert response.json() == {"status": "draining", "checks": {}}
    assert ran == ["x"]


@pytest.mark.postgres
def test_a_database_that_refuses_connections_is_unhealthy_without_leaking_its_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = dict(connections.settings["default"])
    broken.update(
        ENGINE="django.db.backends.postgresql",
        NAME="test",
        HOST="127.0.0.1",
        PORT="1",
        USER="postgres",
        TEST={},
    )
    monkeypatch.setitem(connections.settings, "broken", broken)
    healthy, message = asyncio.run(check_database())
    assert healthy is False
    assert message == "Database error: OperationalError (broken)"
    with TestClient(health_api()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["check_database"]["healthy"] is False
    assert "127.0.0.1" not in response.text


@pytest.mark.redis
def test_a_redis_cache_adds_the_redis_check(redis_url: str) -> None:
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
    with override_settings(CACHES=caches), TestClient(health_api()) as client:
        body = client.get("/ready").json()
    assert body["checks"]["check_redis"] == {"healthy": True, "message": "Redis OK"}
    assert body["status"] == "healthy"


def test_an_unreachable_redis_cache_is_unhealthy() -> None:
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    with override_settings(CACHES=caches), TestClient(health_api()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["check_redis"] == {
        "healthy": False,
        "message": "Redis error: ConnectionError (cache 'limits')",
    }
