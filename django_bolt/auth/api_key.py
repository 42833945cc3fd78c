"""API-key authentication: a fixed set of keys (compared in constant time) or a callable."""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final

from django_bolt.auth.base import AuthenticationFailed, BaseAuthentication, Identity, TokenUser
from django_bolt.conf import framework_config
from django_bolt.server.contract import find_header

# The id of a key that names no one: "apikey:" and a keyed digest of the key. Django-Bolt 0.13
# writes the key itself there; a user_id is logged and used as a rate-limit bucket, and a key
# must never reach a log. 16 hex digits tell keys apart; the secret keeps a logged id from
# confirming a guessed key offline.
KEY_ID_PREFIX: Final = "apikey:"
_KEY_ID_SALT: Final = b"django_bolt.auth.api_key.key_id"
_KEY_ID_HEX_DIGITS: Final = 16

__all__ = ("KEY_ID_PREFIX", "APIKeyAuthentication", "key_id")


class APIKeyAuthentication(BaseAuthentication):
    """The key in ``header`` (default ``x-api-key``).

    ``api_keys`` is a set of keys, a mapping ``key -> info`` (a name, or a dict with ``id``,
    ``permissions``, ``is_staff``, ``is_superuser``; with a set, ``key_permissions`` maps a key
    to its permissions), or a callable ``(key) -> info | None``,
    sync or async. ``request.auth`` is ``{"api_key": <info>}``; ``request.user`` a
    :class:`~django_bolt.auth.base.TokenUser` built from the info, whose ``id`` is the info's
    ``id`` or name, else ``"apikey:<digest of the key>"`` (never the key itself).
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
                return self._finish_async(result, presented)
            return _identity(result, presented)
        return _identity(self._find(presented), presented)

    async def _finish_async(self, pending: Awaitable[Any], presented: bytes) -> Identity:
        return _identity(await pending, presented)


def _digest(key: bytes) -> bytes:
    # Fixed-length digests: compare_digest then takes the same time whatever the key's length.
    return hashlib.sha256(key).digest()


@functools.lru_cache(maxsize=2)
def _key_id_secret(secret: str | bytes) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(_KEY_ID_SALT + raw).digest()


def key_id(key: bytes) -> str:
    """Return ``"apikey:<digest>"``, the id of a key that names no one (stable per key and
    ``SECRET_KEY``; it does not reveal the key)."""
    secret = _key_id_secret(framework_config().secret_key)
    digest = hmac.new(secret, key, hashlib.sha256).hexdigest()
    return KEY_ID_PREFIX + digest[:_KEY_ID_HEX_DIGITS]


def _identity(info: Any, presented: bytes) -> Identity:
    if info is None or info is False:
        raise AuthenticationFailed("Invalid API key")
    if isinstance(info, Mapping):
        user_id = info.get("id", info.get("name"))
        user = TokenUser(
            key_id(presented) if user_id is None else user_id,
            is_staff=bool(info.get("is_staff", False)),
            is_superuser=bool(info.get("is_superuser", False)),
            permissions=info.get("permissions") or (),
            claims=info,
        )
    else:
        user = TokenUser(key_id(presented) if info is True else info, claims=info)
    return user, {"api_key": info}
