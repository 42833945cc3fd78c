"""API-key authentication: a fixed set of keys (compared in constant time) or a callable."""

from __future__ import annotations

import hashlib
import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from django_bolt.auth.base import AuthenticationFailed, BaseAuthentication, Identity, TokenUser
from django_bolt.server.contract import find_header

__all__ = ("APIKeyAuthentication",)


class APIKeyAuthentication(BaseAuthentication):
    """The key in ``header`` (default ``x-api-key``).

    ``api_keys`` is a set of keys, a mapping ``key -> info`` (a name, or a dict with ``id``,
    ``permissions``, ``is_staff``, ``is_superuser``; with a set, ``key_permissions`` maps a key
    to its permissions), or a callable ``(key) -> info | None``,
    sync or async. ``request.auth`` is ``{"api_key": <info>}``; ``request.user`` a
    :class:`~django_bolt.auth.base.TokenUser` built from the info.
    """

    scheme = "ApiKey"
    backend_name = "api_key"

    def __init__(
        self,
        api_keys: Iterable[str] | Mapping[str, Any] | Callable[[str], Any] = (),
        header: str = "x-api-key",
        key_permissions: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.header = header.lower().encode("latin-1")
        # In Authorization the key comes as "Bearer <key>" (Django-Bolt accepts that spelling).
        self._bearer = self.header == b"authorization"
        self._lookup: Callable[[str], Any] | None = None
        self._keys: tuple[tuple[bytes, Any], ...] = ()
        if callable(api_keys) and not isinstance(api_keys, Mapping):
            self._lookup = api_keys
            self.is_async = inspect.iscoroutinefunction(api_keys) or inspect.iscoroutinefunction(
                getattr(api_keys, "__call__", None)  # noqa: B004 - an async __call__ counts too
            )
        elif isinstance(api_keys, Mapping):
            self._keys = tuple((_digest(k.encode()), v) for k, v in api_keys.items())
        else:
            # A bare set names no one: the user is authenticated, with no id (Django-Bolt's
            # key_permissions give each key its permissions).
            perms = key_permissions or {}
            self._keys = tuple(
                (_digest(k.encode()), {"permissions": sorted(perms[k])} if k in perms else True)
                for k in api_keys
            )

    def _find(self, presented: bytes) -> Any:
        found: Any = None
        presented = _digest(presented)
        # Every key is compared, whatever matched before: the time taken does not tell an
        # attacker how far the scan got.
        for key, info in self._keys:
            if hmac.compare_digest(key, presented) and found is None:
                found = info
        return found

    def authenticate(self, request: Any) -> Identity | Awaitable[Identity | None] | None:
        presented = find_header(request.raw_headers, self.header)
        if presented is None:
            return None
        presented = presented.strip()
        if self._bearer and presented[:7].lower() == b"bearer ":
            presented = presented[7:].strip()
        if self._lookup is not None:
            result = self._lookup(presented.decode("latin-1"))
            if inspect.isawaitable(result):
                return self._finish_async(result)
            return _identity(result)
        return _identity(self._find(presented))

    async def _finish_async(self, pending: Awaitable[Any]) -> Identity:
        return _identity(await pending)


def _digest(key: bytes) -> bytes:
    # Fixed-length digests: compare_digest then takes the same time whatever the key's length.
    return hashlib.sha256(key).digest()


def _identity(info: Any) -> Identity:
    if info is None or info is False:
        raise AuthenticationFailed("Invalid API key")
    if isinstance(info, Mapping):
        perms = info.get("permissions") or ()
        user = TokenUser(
            info.get("id", info.get("name")),
            is_staff=bool(info.get("is_staff", False)),
            is_superuser=bool(info.get("is_superuser", False)),
            permissions=perms,
            claims=info,
        )
    else:
        user = TokenUser(None if info is True else info, claims=info)
    return user, {"api_key": info}
