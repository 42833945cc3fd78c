"""Access and refresh token pairs: issue, rotate with reuse detection, set as cookies.

The claims a pair is built on are fixed: ``sub``, ``iat``, ``exp``, ``typ`` (``access`` or
``refresh``), ``oat`` (when the user first authenticated, carried across rotations to cap a
session's length), ``ver`` (the user's token version: a bump logs the user out everywhere),
``jti`` (a random id of each token, so either one can be revoked), and on the refresh token
``fam`` (the rotation family: a refresh token presented again after it was rotated ends the
whole family). They are reserved: ``claims=`` may not set them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

import jwt

from django_bolt.conf import framework_config
from django_bolt.exceptions import ConfigurationError

__all__ = (
    "DEFAULT_ACCESS_TTL",
    "DEFAULT_REFRESH_TTL",
    "RESERVED_CLAIMS",
    "TokenPair",
    "TokenRotationError",
    "create_token_pair",
    "rotate_refresh_token",
    "set_token_cookies",
)

DEFAULT_ACCESS_TTL: Final = 900
DEFAULT_REFRESH_TTL: Final = 86400 * 7
RESERVED_CLAIMS: Final = frozenset({"sub", "iat", "exp", "typ", "jti", "fam", "oat", "ver"})


class TokenRotationError(Exception):
    """A refresh token cannot be rotated; the message says why (keep it from the client)."""


@dataclass
class TokenPair:
    """An access token, a refresh token (``""`` after ``rotate=False``) and their claims."""

    access_token: str
    refresh_token: str
    access_claims: dict[str, Any]
    refresh_claims: dict[str, Any]


def _key(secret: str | bytes | None) -> str | bytes:
    if secret is not None:
        return secret
    key = framework_config().secret_key
    if not key:
        raise ConfigurationError("SECRET_KEY is empty: give the token functions secret=")
    return key


def _check_reserved(claims: dict[str, Any] | None) -> None:
    clash = RESERVED_CLAIMS.intersection(claims or ())
    if clash:
        raise ValueError(f"claims may not set the reserved lifecycle claims {sorted(clash)}")


def _new_id() -> str:
    return uuid.uuid4().hex


def _encode(claims: dict[str, Any], secret: Any, algorithm: str, kid: str | None) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, _key(secret), algorithm=algorithm, headers=headers)


def create_token_pair(
    user: Any,
    *,
    secret: str | bytes | None = None,
    algorithm: str = "HS256",
    kid: str | None = None,
    access_ttl: int = DEFAULT_ACCESS_TTL,
    refresh_ttl: int = DEFAULT_REFRESH_TTL,
    claims: dict[str, Any] | None = None,
    method: str | list[str] | None = None,
    version: int = 0,
    oat: int | None = None,
    fam: str | None = None,
) -> TokenPair:
    """Return a new access and refresh token for ``user`` (a Django user or a bare id).

    ``method`` is recorded as ``amr`` (RFC 8176), ``version`` as ``ver`` (pass
    ``await store.get_user_version(user_id)``), ``oat`` defaults to now; ``fam`` (a new family
    by default) is what rotation passes to stay in the old token's family.
    """
    _check_reserved(claims)
    now = int(time.time())
    pk = getattr(user, "pk", user)
    base: dict[str, Any] = {
        "sub": str(pk),
        "iat": now,
        "oat": now if oat is None else int(oat),
        "ver": int(version),
    }
    if claims:
        base.update(claims)
    if method is not None:
        base["amr"] = list(method) if isinstance(method, list) else [method]
    # Each token has its own jti: a logout revokes the access token without the refresh token.
    access = {**base, "typ": "access", "exp": now + int(access_ttl), "jti": _new_id()}
    refresh = {
        **base,
        "typ": "refresh",
        "exp": now + int(refresh_ttl),
        "jti": _new_id(),
        "fam": fam or _new_id(),
    }
    return TokenPair(
        access_token=_encode(access, secret, algorithm, kid),
        refresh_token=_encode(refresh, secret, algorithm, kid),
        access_claims=access,
        refresh_claims=refresh,
    )


def _int_claim(claims: dict[str, Any], name: str, missing: Any = None) -> Any:
    value = claims.get(name, missing)
    if value is missing:
        return missing
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TokenRotationError(f"Refresh token has an invalid {name}")
    try:
        return int(value)
    except ValueError:
        raise TokenRotationError(f"Refresh token has an invalid {name}") from None


async def _user_version(store: Any, user_id: str) -> int:
    getter = getattr(store, "get_user_version", None)
    if getter is None:
        return 0
    try:
        return int(await getter(user_id))
    except NotImplementedError:
        return 0


def _session_ttl(oat: int | None, max_session_lifetime: int | None, now: int) -> int | None:
    """Return the seconds left in the session (None: no cap), or TokenRotationError."""
    if max_session_lifetime is None:
        return None
    if max_session_lifetime < 0:
        raise ValueError("max_session_lifetime must be >= 0")
    if oat is None:
        # Without the origin time the cap cannot be kept: never re-mint a fresh session.
        raise TokenRotationError("Refresh token has no origin auth time")
    remaining = oat + max_session_lifetime - now
    if remaining <= 0:
        raise TokenRotationError("Session exceeded its maximum lifetime")
    return remaining


async def _consume_or_burn(
    store: Any, claims: dict[str, Any], now: int, leeway: int, ttl: int
) -> None:
    """Consume the refresh token's jti; a second use revokes its whole family."""
    consume = getattr(store, "consume", None)
    revoke_family = getattr(store, "revoke_family", None)
    if consume is None or revoke_family is None:
        raise TokenRotationError("The store cannot consume tokens or revoke families")
    exp = _int_claim(claims, "exp")
    if exp is None:
        raise TokenRotationError("Refresh token has no exp")
    # Kept as long as the validator would still accept the token (its leeway included).
    keep_until = max(exp, now + leeway)
    if not await consume(claims["jti"], exp=keep_until):
        await revoke_family(claims["fam"], exp=max(now + ttl, keep_until))
        raise TokenRotationError("Refresh token reused: its family is revoked")


async def _check_not_revoked(
    refresh_claims: dict[str, Any], store: Any, rotate: bool
) -> tuple[str, Any]:
    """Return ``(sub, fam)`` of a refresh token that the store has not revoked."""
    jti, fam, sub = (refresh_claims.get(k) for k in ("jti", "fam", "sub"))
    if not isinstance(jti, str) or not jti:
        raise TokenRotationError("Refresh token has no jti")
    if not isinstance(sub, str) or not sub:
        raise TokenRotationError("Refresh token has no subject")
    if refresh_claims.get("typ") != "refresh":
        raise TokenRotationError("Not a refresh token")
    if rotate:
        if not isinstance(fam, str) or not fam:
            raise TokenRotationError("Refresh token has no family")
        if await store.is_family_revoked(fam):
            raise TokenRotationError("Refresh token family revoked")
    elif await store.is_revoked(jti):
        raise TokenRotationError("Refresh token revoked")
    return sub, fam


async def rotate_refresh_token(
    refresh_claims: dict[str, Any],
    *,
    store: Any,
    secret: str | bytes | None = None,
    algorithm: str = "HS256",
    kid: str | None = None,
    access_ttl: int = DEFAULT_ACCESS_TTL,
    refresh_ttl: int = DEFAULT_REFRESH_TTL,
    rotate: bool = True,
    max_session_lifetime: int | None = None,
    leeway: int = 60,
    claims: dict[str, Any] | None = None,
) -> TokenPair:
    """Return a new pair for the verified refresh token's claims, or TokenRotationError.

    The route's ``JWTAuthentication(token_type="refresh")`` has checked the signature, expiry
    and type; this checks the store: revoked token or family, a stale ``ver``, the session cap.
    With ``rotate`` (the default) the old token is consumed atomically and a second use revokes
    its family (reuse detection); ``rotate=False`` issues an access token only.
    """
    _check_reserved(claims)
    if leeway < 0:
        raise ValueError("leeway must be >= 0")
    now = int(time.time())
    sub, fam = await _check_not_revoked(refresh_claims, store, rotate)
    oat = _int_claim(refresh_claims, "oat")
    if oat is not None and oat > now + leeway:
        raise TokenRotationError("Refresh token origin auth time is in the future")
    remaining = _session_ttl(oat, max_session_lifetime, now)
    version = await _user_version(store, sub)
    if _int_claim(refresh_claims, "ver", 0) != version:
        raise TokenRotationError("Refresh token version is not the user's current version")
    if rotate:
        await _consume_or_burn(store, refresh_claims, now, leeway, refresh_ttl)
    carried: dict[str, Any] = {}
    if "amr" in refresh_claims:
        carried["amr"] = refresh_claims["amr"]
    carried.update(claims or {})
    ttl = access_ttl if remaining is None else min(access_ttl, remaining)
    if not rotate:
        access = {**carried, "sub": sub, "iat": now, "exp": now + ttl, "typ": "access"}
        access["jti"] = _new_id()
        access["ver"] = version
        if oat is not None:
            access["oat"] = oat
        token = _encode(access, secret, algorithm, kid)
        return TokenPair(token, "", access, dict(refresh_claims))
    amr = carried.pop("amr", None)
    return create_token_pair(
        sub,
        secret=secret,
        algorithm=algorithm,
        kid=kid,
        access_ttl=ttl,
        refresh_ttl=refresh_ttl,
        claims=carried or None,
        method=amr,
        version=version,
        oat=oat,
        fam=fam,
    )


def set_token_cookies(
    response: Any,
    pair: TokenPair,
    *,
    access_cookie: str = "access_token",
    refresh_cookie: str = "refresh_token",
    refresh_path: str = "/",
    secure: bool = True,
    samesite: str = "Lax",
    domain: str | None = None,
) -> Any:
    """Set the pair as ``HttpOnly`` cookies living as long as their tokens; return ``response``.

    Give ``refresh_path`` the rotation endpoint's path: the browser then sends the refresh token
    there only.
    """
    now = int(time.time())
    response.set_cookie(
        access_cookie,
        pair.access_token,
        max_age=max(0, int(pair.access_claims["exp"]) - now),
        path="/",
        domain=domain,
        secure=secure,
        httponly=True,
        samesite=samesite,
    )
    if pair.refresh_token:
        response.set_cookie(
            refresh_cookie,
            pair.refresh_token,
            max_age=max(0, int(pair.refresh_claims["exp"]) - now),
            path=refresh_path,
            domain=domain,
            secure=secure,
            httponly=True,
            samesite=samesite,
        )
    return response
