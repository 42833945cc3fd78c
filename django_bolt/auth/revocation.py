"""Django-Bolt's revocation stores: revoked tokens, consumed refresh tokens, families, versions.

Every method is a coroutine (Django-Bolt's interface). ``revoke(jti, exp=...)`` keeps an entry
until the token's own ``exp`` (else ``default_ttl``). ``consume(jti, exp=...)`` is the atomic
check-and-set of refresh rotation: it answers True to exactly one caller. ``revoke_family`` ends
a rotation family (reuse detection); ``bump_user_version`` ends every refresh token a user holds.

- :class:`InMemoryRevocation`: this process only (tests, one process).
- :class:`DjangoCacheRevocation`: a Django cache; consuming and versions need an atomic
  ``add``/``incr`` (Redis, Memcached, or LocMem for one process): other caches are refused.
- :class:`DjangoORMRevocation`: a table with ``jti`` (unique) and ``expires_at``; the
  ``django_bolt.jwt_revocation`` app ships one (``bolt_jwt_revocation.RevokedToken``).
  No user versions (``NotImplementedError``), as in Django-Bolt.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any, Final, Protocol, runtime_checkable

from django.apps import apps
from django.core.cache import caches
from django.db import IntegrityError, transaction

from django_bolt.concurrency import run_in_pool
from django_bolt.exceptions import ConfigurationError

__all__ = (
    "DEFAULT_TTL_SECONDS",
    "DjangoCacheRevocation",
    "DjangoORMRevocation",
    "InMemoryRevocation",
    "RevocationStore",
    "create_revocation_handler",
)

DEFAULT_TTL_SECONDS: Final = 86400 * 7
_DEFAULT_TTL_SECONDS: Final = DEFAULT_TTL_SECONDS  # Django-Bolt's module-level name
_FAMILY: Final = "fam:"
# Cache backends whose add() and incr() are atomic across the processes sharing them.
_ATOMIC_CACHES: Final = ("redis", "memcache", "pymemcache", "pylibmc", "locmem")


@runtime_checkable
class RevocationStore(Protocol):
    """What ``JWTAuthentication(revocation_store=)`` and token rotation need of a store."""

    async def revoke(self, jti: str, *, exp: float | None = None) -> None: ...

    async def is_revoked(self, jti: str) -> bool: ...


def _ttl(exp: float | None, default_ttl: int) -> int:
    """Return the seconds an entry lives: until ``exp``, else ``default_ttl``."""
    if exp is None:
        return default_ttl
    return max(0, int(float(exp) - time.time()) + 1)


class InMemoryRevocation:
    """Revocations in this process's memory (development and tests)."""

    def __init__(self, default_ttl: int = DEFAULT_TTL_SECONDS) -> None:
        self.default_ttl = default_ttl
        self._until: dict[str, float] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def _alive(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= time.time():
            self._until.pop(key, None)
            return False
        return True

    def _set(self, key: str, exp: float | None) -> None:
        self._until[key] = time.time() + _ttl(exp, self.default_ttl)

    async def revoke(self, jti: str, *, exp: float | None = None) -> None:
        """Revoke the token ``jti`` until ``exp`` (or ``default_ttl``)."""
        with self._lock:
            self._set(jti, exp)

    async def is_revoked(self, jti: str) -> bool:
        """Return whether ``jti`` is revoked (or consumed)."""
        with self._lock:
            return self._alive(jti)

    async def consume(self, jti: str, *, exp: float | None = None) -> bool:
        """Mark ``jti`` used; True for the first caller only."""
        with self._lock:
            if self._alive(jti):
                return False
            self._set(jti, exp)
            return True

    async def revoke_family(self, fam: str, *, exp: float | None = None) -> None:
        """Revoke every refresh token of the rotation family ``fam``."""
        with self._lock:
            self._set(_FAMILY + fam, exp)

    async def is_family_revoked(self, fam: str) -> bool:
        """Return whether the family ``fam`` is revoked."""
        with self._lock:
            return self._alive(_FAMILY + fam)

    async def get_user_version(self, user_id: str) -> int:
        """Return the user's token version (0 until bumped)."""
        return self._versions.get(str(user_id), 0)

    async def bump_user_version(self, user_id: str) -> int:
        """Increase the user's token version (log out everywhere); return the new one."""
        with self._lock:
            version = self._versions.get(str(user_id), 0) + 1
            self._versions[str(user_id)] = version
            return version


class _BlockingStore:
    """The async face of a store whose storage calls block: each call made in the thread pool.

    A subclass provides ``_revoke(key, exp)``, ``_is_set(key)`` and ``_consume(jti, exp)``.
    """

    def _revoke(self, key: str, exp: float | None) -> None:
        raise NotImplementedError

    def _is_set(self, key: str) -> bool:
        raise NotImplementedError

    def _consume(self, jti: str, exp: float | None) -> bool:
        raise NotImplementedError

    async def revoke(self, jti: str, *, exp: float | None = None) -> None:
        """Revoke the token ``jti`` until ``exp`` (or ``default_ttl``)."""
        await run_in_pool(self._revoke, {"key": jti, "exp": exp})

    async def is_revoked(self, jti: str) -> bool:
        """Return whether ``jti`` is revoked (or consumed)."""
        return bool(await run_in_pool(self._is_set, {"key": jti}))

    async def consume(self, jti: str, *, exp: float | None = None) -> bool:
        """Mark ``jti`` used, atomically: True for the first caller only."""
        return bool(await run_in_pool(self._consume, {"jti": jti, "exp": exp}))

    async def revoke_family(self, fam: str, *, exp: float | None = None) -> None:
        """Revoke every refresh token of the rotation family ``fam``."""
        await run_in_pool(self._revoke, {"key": _FAMILY + fam, "exp": exp})

    async def is_family_revoked(self, fam: str) -> bool:
        """Return whether the family ``fam`` is revoked."""
        return bool(await run_in_pool(self._is_set, {"key": _FAMILY + fam}))


class DjangoCacheRevocation(_BlockingStore):
    """Revocations in a Django cache, shared by the processes using it. Calls run in the pool.

    The keys are Django-Bolt 0.13's (``<key_prefix><jti>``, ``<key_prefix>fam:<fam>``,
    ``<key_prefix>ver:<user_id>``, prefix ``"revoked:"``), so a deployment moving from it keeps
    the revocations already in its cache.
    """

    def __init__(
        self,
        cache_alias: str = "default",
        key_prefix: str = "revoked:",
        default_ttl: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self.cache_alias = cache_alias
        self.key_prefix = key_prefix
        self.default_ttl = default_ttl

    def _cache(self) -> Any:
        return caches[self.cache_alias]

    def _atomic_cache(self) -> Any:
        cache = self._cache()
        kind = type(cache).__module__.lower()
        if not any(name in kind for name in _ATOMIC_CACHES):
            raise ConfigurationError(
                f"DjangoCacheRevocation: the cache {self.cache_alias!r} ({type(cache).__name__}) "
                "has no atomic add/incr; refresh rotation and user versions need Redis, "
                "Memcached (or LocMem for a single process)"
            )
        return cache

    def _revoke(self, key: str, exp: float | None) -> None:
        ttl = _ttl(exp, self.default_ttl)
        if ttl > 0:  # a token already expired needs no entry (0 would mean "never expire")
            self._cache().set(self.key_prefix + key, 1, ttl)

    def _is_set(self, key: str) -> bool:
        return self._cache().get(self.key_prefix + key) is not None

    def _consume(self, jti: str, exp: float | None) -> bool:
        timeout = _ttl(exp, self.default_ttl) or 1
        return bool(self._atomic_cache().add(self.key_prefix + jti, 1, timeout))

    def _version(self, user_id: str) -> int:
        return int(self._cache().get(f"{self.key_prefix}ver:{user_id}") or 0)

    def _bump(self, user_id: str) -> int:
        cache = self._atomic_cache()
        key = f"{self.key_prefix}ver:{user_id}"
        cache.add(key, 0, None)
        return int(cache.incr(key))

    async def get_user_version(self, user_id: str) -> int:
        """Return the user's token version (0 until bumped)."""
        return int(await run_in_pool(self._version, {"user_id": str(user_id)}))

    async def bump_user_version(self, user_id: str) -> int:
        """Increase the user's token version with the cache's atomic ``incr``."""
        return int(await run_in_pool(self._bump, {"user_id": str(user_id)}))


class DjangoORMRevocation(_BlockingStore):
    """Revocations in a table: a model with ``jti`` (unique) and ``expires_at`` fields.

    ``model`` is ``"app_label.ModelName"``; the default is the table of the
    ``django_bolt.jwt_revocation`` app (add it to ``INSTALLED_APPS`` and migrate). Delete rows
    whose ``expires_at`` has passed from time to time (:meth:`purge_expired`).
    """

    def __init__(
        self,
        model: str = "bolt_jwt_revocation.RevokedToken",
        default_ttl: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        if not isinstance(model, str) or model.count(".") != 1 or "" in model.split("."):
            raise ConfigurationError(
                f"DjangoORMRevocation model must be 'app_label.ModelName', not {model!r}"
            )
        self.model_label = model
        self.default_ttl = default_ttl

    def _model(self) -> Any:
        try:
            return apps.get_model(self.model_label)
        except LookupError:
            raise ConfigurationError(
                f"DjangoORMRevocation: no model {self.model_label!r}; for the default table add "
                "'django_bolt.jwt_revocation' to INSTALLED_APPS and run migrate"
            ) from None

    def _expires_at(self, exp: float | None) -> datetime:
        return datetime.fromtimestamp(time.time() + _ttl(exp, self.default_ttl), tz=UTC)

    def _revoke(self, key: str, exp: float | None) -> None:
        self._model()._default_manager.update_or_create(
            jti=key, defaults={"expires_at": self._expires_at(exp)}
        )

    def _is_set(self, key: str) -> bool:
        now = datetime.now(tz=UTC)
        return bool(self._model()._default_manager.filter(jti=key, expires_at__gt=now).exists())

    def _consume(self, jti: str, exp: float | None) -> bool:
        model = self._model()
        manager = model._default_manager
        now = datetime.now(tz=UTC)
        try:
            with transaction.atomic():
                # An expired row of the same jti no longer counts: the token is dead anyway.
                manager.filter(jti=jti, expires_at__lte=now).delete()
                manager.create(jti=jti, expires_at=self._expires_at(exp))
        except IntegrityError:
            return False  # the unique jti: another caller consumed it first
        return True

    def purge_expired(self) -> int:
        """Delete the rows whose tokens have expired (blocking); return how many."""
        deleted, _ = (
            self._model()._default_manager.filter(expires_at__lte=datetime.now(tz=UTC)).delete()
        )
        return int(deleted)

    async def get_user_version(self, user_id: str) -> int:
        """User versions are not kept in the table (as in Django-Bolt)."""
        raise NotImplementedError("DjangoORMRevocation keeps no user versions")

    async def bump_user_version(self, user_id: str) -> int:
        """User versions are not kept in the table (as in Django-Bolt)."""
        raise NotImplementedError("DjangoORMRevocation keeps no user versions")


def create_revocation_handler(store: Any) -> Any:
    """Return ``handler(jti) -> bool`` (async) asking ``store.is_revoked``."""
    is_revoked = getattr(store, "is_revoked", None)
    if not callable(is_revoked):
        raise ConfigurationError(f"revocation store needs an is_revoked(jti) method: {store!r}")

    async def handler(jti: str) -> bool:
        answer = is_revoked(jti)
        if hasattr(answer, "__await__"):
            answer = await answer
        return bool(answer)

    return handler
