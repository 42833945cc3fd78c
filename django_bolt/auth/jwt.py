"""JWT authentication on PyJWT, revocation stores and ``create_jwt_for_user``.

The accepted algorithms come only from the configuration and are passed to ``jwt.decode``; the
token's own ``alg`` header never chooses one, so ``alg: none`` and HS/RS key confusion (an HS256
token signed with an RSA public key) are refused by construction.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Final

import jwt

from django_bolt.auth.base import AuthenticationFailed, BaseAuthentication, Identity, TokenUser

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

__all__ = (
    "DjangoCacheRevocationStore",
    "InMemoryRevocationStore",
    "JWTAuthentication",
    "create_jwt_for_user",
)

_BEARER: Final = "bearer "
# Verified tokens kept per auth instance; the cache is dropped whole when it fills.
_CACHE_SIZE: Final = 4096


def _secret_key() -> str:
    from django.conf import settings

    return str(settings.SECRET_KEY)


class InMemoryRevocationStore:
    """Revoked ``jti`` values in this process (tests, a single process)."""

    is_async: Final = False

    def __init__(self) -> None:
        self._revoked: dict[str, float | None] = {}

    def revoke(self, jti: str, expires_at: float | None = None) -> None:
        self._revoked[jti] = expires_at

    def is_revoked(self, jti: str) -> bool:
        if jti not in self._revoked:
            return False
        expires_at = self._revoked[jti]
        if expires_at is not None and expires_at < time.time():
            # The token has expired anyway: exp rejects it, the entry is no longer needed.
            del self._revoked[jti]
            return False
        return True


class DjangoCacheRevocationStore:
    """Revoked ``jti`` values in a Django cache, shared by every process using that cache.

    Lookups run in the sync pool: a network cache (Redis, memcached) must not block the loop.
    """

    is_async: Final = True

    def __init__(self, alias: str = "default", prefix: str = "bolt:jwt:revoked:") -> None:
        self.alias = alias
        self.prefix = prefix

    def _cache(self) -> Any:
        from django.core.cache import caches

        return caches[self.alias]

    def revoke(self, jti: str, expires_at: float | None = None) -> None:
        timeout = None if expires_at is None else max(1, int(expires_at - time.time()) + 1)
        self._cache().set(self.prefix + jti, 1, timeout)

    def _lookup(self, jti: str) -> bool:
        return self._cache().get(self.prefix + jti) is not None

    async def is_revoked(self, jti: str) -> bool:
        from django_bolt.binding import run_in_pool

        return bool(await run_in_pool(self._lookup, {"jti": jti}))


class JWTAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>``; ``request.auth`` = the claims, ``request.user`` a
    :class:`~django_bolt.auth.base.TokenUser` (``sub``, ``is_staff``, ``is_superuser``,
    ``permissions`` from the claims)."""

    scheme = "Bearer"
    backend_name = "jwt"

    def __init__(
        self,
        secret: str | bytes | None = None,
        algorithms: Sequence[str] = ("HS256",),
        header: str = "authorization",
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        leeway: float = 0,
        revocation_store: Any = None,
    ) -> None:
        algorithms = list(algorithms)
        if not algorithms:
            raise ValueError("JWTAuthentication needs at least one algorithm")
        if any(a.lower() == "none" for a in algorithms):
            raise ValueError("the 'none' algorithm is never accepted")
        self._secret = secret
        self.algorithms = algorithms
        self.header = header.lower().encode("latin-1")
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self.revocation_store = revocation_store
        self.is_async = bool(getattr(revocation_store, "is_async", False))
        # The raw header value ("Bearer <token>", as bytes) -> (claims, exp, nbf, user
        # fields). A client sends the same header on every request: the header's syntax, the
        # signature and the static claims (aud, iss) are checked once; exp and nbf are
        # time-dependent and checked again on each hit, revocation on every request.
        self._verified: dict[bytes, _Verified] = {}

    @property
    def secret(self) -> str | bytes:
        # SECRET_KEY is read on first use: the class may be built before settings are ready.
        if self._secret is None:
            self._secret = _secret_key()
        return self._secret

    def _header(self, request: Any) -> bytes | None:
        """The raw value of the configured header (the first one), or None."""
        wanted, size = self.header, len(self.header)
        for name, value in request.raw_headers:
            # Names of another length cannot match: most are skipped without a lower().
            if len(name) == size and name.lower() == wanted:
                return value  # type: ignore[no-any-return]
        return None

    @staticmethod
    def _token(raw: bytes) -> str:
        """The token of a ``Bearer <token>`` header value."""
        text = raw.decode("latin-1").strip()
        if text[:7].lower() != _BEARER:
            raise AuthenticationFailed("Invalid authorization header")
        token = text[7:].strip()
        if not token:
            raise AuthenticationFailed("Invalid authorization header")
        return token

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims, or :class:`AuthenticationFailed` with the reason."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("Token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationFailed("Token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationFailed("Invalid token audience") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationFailed("Invalid token issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationFailed("Invalid token signature") from None
        except jwt.InvalidAlgorithmError:
            raise AuthenticationFailed("Token algorithm not allowed") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            # Malformed tokens, missing required claims, a key that does not fit the algorithm.
            raise AuthenticationFailed("Invalid token") from None
        return claims

    def authenticate(self, request: Any) -> Identity | Awaitable[Identity | None] | None:
        raw = self._header(request)
        if raw is None:
            return None
        hit = self._verified.get(raw)
        if hit is None:
            claims = self.decode(self._token(raw))
            hit = self._remember(raw, claims)
        else:
            exp, nbf = hit[1], hit[2]
            now = time.time()
            if exp is not None and now > exp + self.leeway:
                del self._verified[raw]
                raise AuthenticationFailed("Token expired")
            if nbf is not None and now < nbf - self.leeway:
                raise AuthenticationFailed("Token not yet valid")
            # A copy: a handler that edits request.auth must not edit the cache.
            claims = dict(hit[0])
        store = self.revocation_store
        if store is not None:
            jti = claims.get("jti")
            if jti is not None:
                if self.is_async:
                    return self._check_revoked(claims, str(jti), hit[3])
                if store.is_revoked(str(jti)):
                    raise AuthenticationFailed("Token revoked")
        return _make_user(hit[3], claims), claims

    def _remember(self, raw: bytes, claims: dict[str, Any]) -> _Verified:
        exp, nbf = claims.get("exp"), claims.get("nbf")
        # PyJWT has validated both as numbers when present.
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        entry = (
            dict(claims),
            None if exp is None else float(exp),
            None if nbf is None else float(nbf),
            _user_fields(claims),
        )
        self._verified[raw] = entry
        return entry

    async def _check_revoked(
        self, claims: dict[str, Any], jti: str, fields: _UserFields
    ) -> Identity:
        if await self.revocation_store.is_revoked(jti):
            raise AuthenticationFailed("Token revoked")
        return _make_user(fields, claims), claims


# What a token says about its user, worked out once per verified token: (id, username,
# is_staff, is_superuser, permissions).
_UserFields = tuple[Any, str, bool, bool, frozenset[str]]
# (claims, exp, nbf, user fields) of a token whose signature has been checked.
_Verified = tuple[dict[str, Any], float | None, float | None, _UserFields]


def _user_fields(claims: dict[str, Any]) -> _UserFields:
    sub = claims.get("sub")
    permissions = claims.get("permissions") or ()
    username = str(claims.get("username") or sub or "")
    return (
        sub,
        username or ("" if sub is None else str(sub)),
        bool(claims.get("is_staff", False)),
        bool(claims.get("is_superuser", False)),
        frozenset(permissions if isinstance(permissions, list | tuple) else ()),
    )


def _make_user(fields: _UserFields, claims: dict[str, Any]) -> TokenUser:
    """A fresh TokenUser per request (handlers may change it), without re-reading the claims."""
    user = TokenUser.__new__(TokenUser)
    user.id, user.username, user.is_staff, user.is_superuser, user.permissions = fields
    user.claims = claims
    return user


def create_jwt_for_user(
    user: Any,
    secret: str | bytes | None = None,
    algorithm: str = "HS256",
    expires_in: int = 3600,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    """A signed token for a Django user (or any object with ``pk``/``id``).

    Claims: ``sub`` (the primary key as a string), ``iat``, ``exp``, ``jti`` (for revocation),
    ``username``, ``is_staff``, ``is_superuser``, then ``extra_claims``.
    """
    now = int(time.time())
    pk = getattr(user, "pk", None)
    if pk is None:
        pk = getattr(user, "id", None)
    claims: dict[str, Any] = {
        "sub": str(pk),
        "iat": now,
        "exp": now + int(expires_in),
        "jti": uuid.uuid4().hex,
        "is_staff": bool(getattr(user, "is_staff", False)),
        "is_superuser": bool(getattr(user, "is_superuser", False)),
    }
    get_username = getattr(user, "get_username", None)
    username = get_username() if callable(get_username) else getattr(user, "username", None)
    if username:
        claims["username"] = str(username)
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, secret if secret is not None else _secret_key(), algorithm=algorithm)
