"""Liveness and readiness endpoints: ``/health`` and ``/ready``, with Django-Bolt 0.13's names.

``register_health_checks(api)`` adds two routes. ``GET /health`` answers ``{"status": "ok"}``
while the process can answer at all. ``GET /ready`` runs the readiness checks concurrently, each
bounded by ``BOLT_HEALTH_CHECK_TIMEOUT`` seconds, and answers 200 with
``{"status": "healthy", "checks": {name: {"healthy": bool, "message": str}}}``, or 503 with
``"unhealthy"`` when one of them fails, raises or times out. The checks are the database (every
alias in ``DATABASES``, on a fresh connection), Redis (each Redis cache in ``CACHES``, which
covers a Redis rate-limit backend) and those added with :func:`add_health_check`; an added
check with a built-in one's name replaces it.

Once the worker starts draining (SIGTERM, a reload, a recycle), ``/ready`` answers 503 with
``{"status": "draining", "checks": {}}`` at once, without running the checks, so a load balancer
stops sending before the worker closes its connections.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from django.conf import settings
from django.db import DatabaseError, connections

from django_bolt.conf import framework_config
from django_bolt.responses import JSON
from django_bolt.server.contract import is_draining

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "HealthCheck",
    "add_health_check",
    "check_database",
    "check_redis",
    "health_handler",
    "ready_handler",
    "register_health_checks",
)

logger: Final = logging.getLogger("django_bolt.health")

CheckResult = tuple[bool, str]

# Checks that block (the database probe, sync checks) run here, never in the pool of def
# handlers: a database that hangs ties up at most these threads, and every probe meanwhile
# times out instead of queueing behind handlers.
_CHECK_THREADS: Final = 4


def _new_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_CHECK_THREADS, thread_name_prefix="django-bolt-health")


_EXECUTOR = _new_executor()


def _renew_executor_after_fork() -> None:
    # Threads do not survive fork(): a pool that had started some would queue checks forever.
    global _EXECUTOR
    _EXECUTOR = _new_executor()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_executor_after_fork)
_REDIS_BACKENDS: Final = frozenset(
    {"django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache"}
)
_NO_STORE: Final = {"cache-control": "no-store"}


def _check_name(check: Callable[..., Any]) -> str:
    return str(getattr(check, "__name__", None) or type(check).__name__)


class HealthCheck:
    """A list of readiness checks and the code that runs them together.

    A check is a callable taking no argument that returns ``(healthy, message)``; an ``async
    def`` runs on the event loop, a plain function in a small thread pool of its own. Each runs
    for at most ``timeout`` seconds (``None``: ``BOLT_HEALTH_CHECK_TIMEOUT``); one that raises
    is unhealthy with the exception's message, one that times out is unhealthy.
    """

    def __init__(self, timeout: float | None = None) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be more than 0 seconds, not {timeout!r}")
        self.timeout = timeout
        self._checks: list[Callable[[], Any]] = []

    @property
    def checks(self) -> list[Callable[[], Any]]:
        """Return the checks added so far, in order (a copy)."""
        return list(self._checks)

    def add_check(self, check_func: Callable[[], Any]) -> None:
        """Add ``check_func``; its ``__name__`` names it in the results."""
        if not callable(check_func):
            raise TypeError(f"a health check must be callable, not {check_func!r}")
        self._checks.append(check_func)

    async def run_checks(self, extra: tuple[Callable[[], Any], ...] = ()) -> dict[str, Any]:
        """Run ``extra`` and the added checks concurrently; return the aggregate status.

        A later check with the same name as an earlier one replaces it (an added
        ``check_database`` replaces the built-in one given in ``extra``).
        """
        by_name = {_check_name(check): check for check in (*extra, *self._checks)}
        timeout = self.timeout if self.timeout is not None else _configured_timeout()
        outcomes = await asyncio.gather(*(_run_one(check, timeout) for check in by_name.values()))
        checks = {
            name: {"healthy": healthy, "message": message}
            for name, (healthy, message) in zip(by_name, outcomes, strict=True)
        }
        healthy = all(outcome[0] for outcome in outcomes)
        return {"status": "healthy" if healthy else "unhealthy", "checks": checks}


def _configured_timeout() -> float:
    timeout: float = framework_config().bolt_health_check_timeout
    return timeout


async def _call(check: Callable[[], Any]) -> Any:
    if inspect.iscoroutinefunction(check):
        result = await check()
    else:
        result = await asyncio.get_running_loop().run_in_executor(_EXECUTOR, check)
    if inspect.isawaitable(result):  # a callable object whose __call__ is async, say
        result = await result
    return result


async def _run_one(check: Callable[[], Any], seconds: float) -> CheckResult:
    """One check's ``(healthy, message)``; never raises."""
    try:
        result = await asyncio.wait_for(_call(check), seconds)
    except TimeoutError:
        return False, f"Timed out after {seconds:g} s"
    except Exception as exc:
        return False, str(exc) or type(exc).__name__
    if (
        not isinstance(result, tuple)
        or len(result) != 2
        or not isinstance(result[0], bool)
        or not isinstance(result[1], str)
    ):
        return False, f"{_check_name(check)} returned {result!r}, not (bool, str)"
    return result


# --- the built-in checks ------------------------------------------------------------------------


def _probe_databases() -> None:
    """Open a fresh connection to each database and close it (raises on the first failure).

    A fresh one: ``ensure_connection()`` on a thread's open connection does nothing, so it would
    not notice a database that went away; and the threads' own connections stay untouched.
    """
    for alias in connections:
        probe = connections.create_connection(alias)
        try:
            probe.ensure_connection()
            if not probe.is_usable():
                raise DatabaseError(f"the connection to {alias!r} is not usable")
        except Exception as exc:
            raise _ProbeFailed(alias, exc) from exc
        finally:
            probe.close()


class _ProbeFailed(Exception):
    def __init__(self, alias: str, exc: Exception) -> None:
        super().__init__(alias, exc)
        self.alias = alias
        self.error = exc


async def check_database() -> CheckResult:
    """Check that every database in ``DATABASES`` accepts a new connection.

    The message names the database and the kind of error only (the driver's text, with host
    names and user names, goes to the ``django_bolt.health`` log): ``/ready`` is public.
    """
    try:
        await asyncio.get_running_loop().run_in_executor(_EXECUTOR, _probe_databases)
    except _ProbeFailed as failed:
        logger.warning("health: database %r unavailable: %s", failed.alias, failed.error)
        return False, f"Database error: {type(failed.error).__name__} ({failed.alias})"
    return True, "Database OK"


def redis_locations() -> list[tuple[str, str, dict[str, Any]]]:
    """Return ``(cache alias, url, options)`` for each server of each Redis cache in ``CACHES``."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for alias, cache in (getattr(settings, "CACHES", None) or {}).items():
        if not isinstance(cache, dict) or cache.get("BACKEND") not in _REDIS_BACKENDS:
            continue
        location = cache.get("LOCATION") or "redis://localhost:6379"
        urls = location.replace(";", ",").split(",") if isinstance(location, str) else location
        options = {
            key: value
            for key, value in (cache.get("OPTIONS") or {}).items()
            if key in ("db", "username", "password")
        }
        found.extend((alias, url.strip(), options) for url in urls if url.strip())
    return found


async def _ping(url: str, options: dict[str, Any], seconds: float) -> None:
    # Lazily: redis-py is needed only by a project with a Redis cache (which has it).
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(
        url, socket_connect_timeout=seconds, socket_timeout=seconds, **options
    )
    try:
        await client.ping()
    finally:
        await client.aclose()


async def check_redis() -> CheckResult:
    """Check that each Redis server of the Redis caches in ``CACHES`` answers PING."""
    timeout = _configured_timeout()
    for alias, url, options in redis_locations():
        try:
            await _ping(url, options, timeout)
        except Exception as exc:
            logger.warning("health: Redis of cache %r unavailable: %s", alias, exc)
            return False, f"Redis error: {type(exc).__name__} (cache {alias!r})"
    return True, "Redis OK"


def builtin_checks() -> tuple[Callable[[], Any], ...]:
    """Return the checks ``/ready`` runs before the added ones, for this project's settings."""
    if redis_locations():
        return (check_database, check_redis)
    return (check_database,)


# --- the endpoints ------------------------------------------------------------------------------

_health_check: Final = HealthCheck()


def add_health_check(check_func: Callable[[], Any]) -> None:
    """Add a check to the ones every ``/ready`` runs (Django-Bolt 0.13's global registry)."""
    _health_check.add_check(check_func)


async def health_handler() -> dict[str, str]:
    """Answer the liveness probe: the process is up and its event loop answers."""
    return {"status": "ok"}


async def ready_handler() -> JSON:
    """Answer the readiness probe: 200 when every check passes, 503 otherwise or when draining."""
    if is_draining():
        return JSON({"status": "draining", "checks": {}}, 503, dict(_NO_STORE))
    results = await _health_check.run_checks(builtin_checks())
    status = 200 if results["status"] == "healthy" else 503
    return JSON(results, status, dict(_NO_STORE))


def register_health_checks(api: Any) -> None:
    """Add ``GET /health`` and ``GET /ready`` to ``api`` (a ``BoltAPI`` or ``Router``)."""
    api.get("/health")(health_handler)
    api.get("/ready")(ready_handler)
