"""JWT authentication on PyJWT, revocation stores and ``create_jwt_for_user``.

The accepted algorithms come only from the configuration and are passed to ``jwt.decode``; the
token's own ``alg`` header never chooses one, so ``alg: none`` and HS/RS key confusion (an HS256
token signed with an RSA public key) are refused by construction.
"""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import jwt
from django.core.cache import caches
from jwt.algorithms import get_default_algorithms

from django_bolt._django.db import run_orm
from django_bolt.auth.base import (
    CSRF_FAILED,
    AuthenticationFailed,
    BaseAuthentication,
    Identity,
    TokenUser,
    cross_site_unsafe,
    sent_once,
)
from django_bolt.auth.jwks import RemoteKeys, check_fetch_url
from django_bolt.auth.users import ClaimsUser, default_get_user_sync
from django_bolt.concurrency import run_in_pool
from django_bolt.conf import framework_config
from django_bolt.exceptions import AuthRefusal, ConfigurationError
from django_bolt.server.contract import find_header

__all__ = (
    "DjangoCacheRevocationStore",
    "InMemoryRevocationStore",
    "JWTAuthentication",
    "create_jwt_for_user",
)

_BEARER: Final = "bearer "
# Claims that name a token's type: typ, djangorestframework-simplejwt's token_type, and
# token_use (django-allauth, AWS Cognito); compared without case for refresh/ID tokens
# (Keycloak writes "Refresh", "Offline", "ID").
_TYPE_CLAIMS: Final = ("typ", "token_type", "token_use")
_NOT_ACCESS_TYPES: Final = frozenset({"refresh", "offline", "id"})
# PyJWT's algorithm classes by key type (RSA-PSS uses RSA keys).
_FAMILIES: Final = {
    "HMACAlgorithm": "HMAC",
    "RSAAlgorithm": "RSA",
    "RSAPSSAlgorithm": "RSA",
    "ECAlgorithm": "EC",
    "OKPAlgorithm": "OKP",
}
# Verified tokens kept per auth instance; the cache is dropped whole when it fills.
_CACHE_SIZE: Final = 4096


def _secret_key() -> str | bytes:
    """Django's ``SECRET_KEY``, the key of a JWTAuthentication (or token) given none."""
    key = framework_config().secret_key
    if not key:
        raise ConfigurationError(
            "SECRET_KEY is empty (or Django's settings are not configured): set it, or give "
            "JWTAuthentication(secret=...) and create_jwt_for_user(secret=...) a key"
        )
    return key


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
        return caches[self.alias]

    def revoke(self, jti: str, expires_at: float | None = None) -> None:
        timeout = None if expires_at is None else max(1, int(expires_at - time.time()) + 1)
        self._cache().set(self.prefix + jti, 1, timeout)

    def _lookup(self, jti: str) -> bool:
        return self._cache().get(self.prefix + jti) is not None

    async def is_revoked(self, jti: str) -> bool:
        return bool(await run_in_pool(self._lookup, {"jti": jti}))


class JWTAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` (or a cookie, or a query parameter); ``request.auth``
    = the claims, ``request.user`` the Django user of ``sub`` (``Requires`` and
    ``HasPermission`` read the claims; ``is_staff``/``is_superuser`` of ``request.user``, and
    so ``IsStaff``/``IsAdminUser``, are the row's). In a ``header`` other than
    ``Authorization`` the token may come bare or as ``Bearer <token>``.

    The keywords and their positional order are Django-Bolt 0.13's; ``leeway`` is 0 here.

    ``cookie`` reads the token from that cookie instead of the header (a ``Bearer `` prefix is
    allowed; a cookie sent twice authenticates nothing); with ``csrf`` (the default) an unsafe
    request it authenticates must come from this site (``Sec-Fetch-Site``, else
    ``Origin``/``Referer`` against the request's scheme and host), or it is refused with 403.
    ``audience`` checks ``aud``; without it the claim is not checked. ``public_key`` is the PEM
    key for RS*, PS*, ES* and EdDSA (instead of ``secret``). ``token_type`` demands that
    ``typ``; without it refresh and ID tokens (``typ``, ``token_type`` or ``token_use`` of
    ``refresh``, ``offline`` or ``id``) are refused. ``require_jti`` demands a ``jti``, as any
    revocation does. ``revoked_token_handler`` is ``handler(jti)`` or ``handler(jti, claims)``,
    sync or async, true when revoked.
    ``jwks_url`` / ``jwks`` / ``oidc_issuer`` verify with a provider's key set (see
    :mod:`django_bolt.auth.jwks`). ``request.user`` is the Django user of ``sub``, loaded on first
    use (:class:`~django_bolt.auth.users.ClaimsUser`); ``trust_claims=True`` makes it a
    :class:`~django_bolt.auth.base.TokenUser` built from the claims, with no query.
    ``query_param`` also reads the token from that query parameter (off by default: URLs end up
    in access logs and browser history).
    """

    # Marks get_user/get_user_sync below as the framework's (a subclass's own take priority).
    _bolt_framework_loader: Final = True

    scheme = "Bearer"
    backend_name = "jwt"

    def __init__(
        self,
        secret: str | bytes | None = None,
        algorithms: Sequence[str] | None = None,
        header: str = "authorization",
        cookie: str | None = None,
        audience: str | Sequence[str] | None = None,
        issuer: str | None = None,
        revoked_token_handler: Callable[..., Any] | None = None,
        revocation_store: Any = None,
        require_jti: bool = False,
        public_key: str | bytes | None = None,
        leeway: float = 0,
        token_type: str | None = None,
        csrf: bool = True,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | str | None = None,
        oidc_issuer: str | None = None,
        jwks_refresh_interval: int = 300,
        *,
        trust_claims: bool = False,
        query_param: str | None = None,
    ) -> None:
        if jwks_refresh_interval <= 0:
            raise ConfigurationError("JWTAuthentication jwks_refresh_interval must be > 0")
        if secret is not None and public_key is not None:
            raise ConfigurationError(
                "JWTAuthentication takes 'secret' (HMAC) or 'public_key' (asymmetric), not both"
            )
        if secret is not None and len(secret) == 0:
            raise ConfigurationError("JWTAuthentication secret must not be empty")
        if leeway < 0:
            raise ConfigurationError("JWTAuthentication leeway must be >= 0 seconds")
        if query_param is not None and not query_param:
            raise ConfigurationError("JWTAuthentication query_param must not be empty")
        self._remote = _remote_keys(
            algorithms,
            secret,
            public_key,
            jwks_url,
            jwks,
            oidc_issuer,
            jwks_refresh_interval,
            audience,
            issuer,
        )
        if oidc_issuer is not None and issuer is None:
            issuer = oidc_issuer
        if self._remote is not None and algorithms is None:
            algorithms = self._remote.algorithms or []
        algorithms = ["HS256"] if algorithms is None else list(algorithms)
        family = _key_family(algorithms) if algorithms or self._remote is None else "remote"
        self._secret = secret
        self.public_key = public_key
        self.algorithms = algorithms
        self.header = header.lower().encode("latin-1")
        # Authorization names its scheme (RFC 9110 section 11.6.2): a bare token there is a
        # client error, and refusing it keeps "Basic ..." from being read as a JWT.
        self._scheme_required = self.header == b"authorization"
        self.cookie = cookie
        self.csrf = csrf
        self.audience = audience
        # Without a configured audience the ``aud`` claim is not checked (a provider's token
        # always carries one); PyJWT would otherwise refuse every token that has it.
        self._decode_options: Any = {"verify_aud": audience is not None}
        self.issuer = issuer
        self.leeway = leeway
        self.token_type = token_type
        self.revoked_token_handler = revoked_token_handler
        self.revocation_store = revocation_store
        self.trust_claims = trust_claims
        self.query_param = query_param
        self.jwks_url = jwks_url
        self.oidc_issuer = oidc_issuer
        self.jwks_refresh_interval = jwks_refresh_interval
        self._new_user: Callable[[_UserFields, dict[str, Any]], Any] = (
            _make_user if trust_claims else self._claims_user
        )
        # A revocation list is keyed by jti: a token without one could never be revoked.
        self.require_jti = bool(require_jti) or (
            revoked_token_handler is not None or revocation_store is not None
        )
        # Asymmetric keys are parsed once, here: a bad PEM stops start-up, not a request.
        key = public_key if public_key is not None else secret
        self._prepared_key: Any = None
        if self._remote is not None:
            pass  # keys come with the key set
        elif family == "HMAC":
            if public_key is not None:
                raise ConfigurationError(
                    f"JWTAuthentication: public_key is for asymmetric algorithms, not {algorithms}"
                    "; an HMAC key is a secret="
                )
        else:
            if key is None:
                raise ConfigurationError(
                    f"JWTAuthentication with {algorithms} needs public_key= (a PEM public key)"
                )
            self._prepared_key = _prepare_key(algorithms[0], key)
        self._revoked = _revocation_check(revoked_token_handler, revocation_store)
        self.is_async = _is_async_check(revoked_token_handler, revocation_store)
        # Checks that run on every accepted request, cache hit or not; None when there are none,
        # so the header path pays one attribute test for them, as before.
        cookie_csrf = cookie is not None and csrf
        self._cookie_csrf = cookie_csrf
        self._after_verify: _AfterVerify | None = (
            self._checks if cookie_csrf or self._revoked is not None else None
        )
        # The header to scan; none with a cookie (Django-Bolt ignores the header then). An
        # empty name matches no field, so the header path needs no branch of its own.
        self._wanted = self.header if cookie is None else b""
        # The raw credential (the header value as bytes, or the cookie value) -> (claims, exp,
        # nbf, user fields). A client sends the same one on every request: its syntax, the
        # signature and the static claims (aud, iss, typ, jti) are checked once; exp and nbf
        # are time-dependent and checked again on each hit, revocation and CSRF every request.
        self._verified: dict[Any, _Verified] = {}

    @property
    def secret(self) -> str | bytes:
        # SECRET_KEY is read on first use: the class may be built before settings are ready.
        if self._secret is None:
            self._secret = _secret_key()
        return self._secret

    def _header(self, request: Any) -> bytes | None:
        """Return the raw value of the configured header (the first one), or None."""
        return find_header(request.raw_headers, self._wanted)

    def _cookie_value(self, request: Any) -> str | None:
        """Return the configured cookie's value, or None when it is absent, empty or sent more
        than once (which of two same-named cookies this site set cannot be told)."""
        name = self.cookie
        if name is None:
            return None
        value = request.cookies.get(name)
        if not value or not sent_once(request.raw_headers, name):
            return None
        return str(value)

    def _token(self, raw: bytes) -> str:
        """Return the token of a header value: ``Bearer <token>`` in ``Authorization``; in a
        header of its own (``x-token``) the bare token too, as Django-Bolt 0.13 accepts."""
        text = raw.decode("latin-1").strip()
        if text[:7].lower() == _BEARER:
            text = text[7:].strip()
        elif self._scheme_required:
            raise AuthenticationFailed("Invalid authorization header")
        if not text:
            raise AuthenticationFailed("Invalid authorization header")
        return text

    def _verification_key(self, token: str) -> tuple[Any, list[str]]:
        """Return the key and algorithms that verify ``token`` (the key set's ``kid`` entry)."""
        remote = self._remote
        if remote is None:
            key = self._prepared_key
            return (self.secret if key is None else key), self.algorithms
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise AuthenticationFailed("Invalid token") from None
        found = remote.key(kid if isinstance(kid, str) else None)
        if found is None:
            raise _UnknownKey
        return found.key, remote.algorithms or []

    def decode(self, token: str) -> dict[str, Any]:
        """Return the verified claims, or :class:`AuthenticationFailed` with the reason."""
        key, algorithms = self._verification_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options=self._decode_options,
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
        if not _type_accepted(claims, self.token_type):
            raise AuthenticationFailed("Invalid token type")
        if self.require_jti:
            jti = claims.get("jti")
            if not isinstance(jti, str) or not jti:
                raise AuthenticationFailed("Token has no jti")
        if not _authority_claims_typed(claims):
            raise AuthenticationFailed("Invalid token")
        return claims

    def authenticate(self, request: Any) -> Identity | Awaitable[Identity | None] | None:
        raw: bytes | str | None = self._header(request)
        if raw is None:
            if self.cookie is not None:
                raw = self._cookie_value(request)
            if raw is None:
                if self.query_param is None:
                    return None
                # Not sent by the browser on its own: no CSRF check for this source.
                raw = request.query.get(self.query_param) or None
                if raw is None:
                    return None
                return self._verify(request, raw, self._checks_without_csrf)
        return self._verify(request, raw, self._after_verify)

    def _verify(
        self, request: Any, raw: bytes | str, after: _AfterVerify | None
    ) -> Identity | Awaitable[Identity | None]:
        hit = self._verified.get(raw)
        if hit is None:
            token = self._token(raw) if isinstance(raw, bytes) else _cookie_token(raw)
            try:
                claims = self.decode(token)
            except _UnknownKey:
                remote = self._remote
                if remote is None or not remote.may_refresh_for_unknown():
                    raise AuthenticationFailed("Unknown signing key") from None
                return self._verify_after_refresh(request, raw, token, after)
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
        if after is not None:
            return after(request, claims, hit[3])
        return self._new_user(hit[3], claims), claims

    async def _verify_after_refresh(
        self, request: Any, raw: bytes | str, token: str, after: _AfterVerify | None
    ) -> Identity:
        """Fetch the key set (in the pool) for a ``kid`` it did not hold, then verify again."""
        if self._remote is not None:
            await run_in_pool(self._remote.refresh_for_unknown, {})
        self._verified.clear()  # keys may have been withdrawn: verify every token again
        try:
            claims = self.decode(token)
        except _UnknownKey:
            raise AuthenticationFailed("Unknown signing key") from None
        hit = self._remember(raw, claims)
        if after is None:
            return self._new_user(hit[3], claims), claims
        answer = after(request, claims, hit[3])
        return await answer if inspect.isawaitable(answer) else answer

    def _checks_without_csrf(
        self, request: Any, claims: dict[str, Any], fields: _UserFields
    ) -> Identity | Awaitable[Identity]:
        """Revocation only: a token from the query string is not ambient authority."""
        revoked = self._revoked
        if revoked is not None:
            answer = revoked(claims["jti"], claims)
            if answer.__class__ is not bool and inspect.isawaitable(answer):
                return self._finish_revoked(answer, claims, fields)
            if answer:
                raise AuthenticationFailed("Token revoked")
        return self._new_user(fields, claims), claims

    def _claims_user(self, fields: _UserFields, claims: dict[str, Any]) -> Any:
        """Return ``request.user``: the Django user of ``sub``, loaded when first needed."""
        return ClaimsUser(self, fields[0], claims, fields)

    async def get_user(self, user_id: Any, auth_context: dict[str, Any]) -> Any:
        """Return the user of ``user_id`` (the ``sub`` claim), or None; Django-Bolt's hook.

        Override it (``async``) or :meth:`get_user_sync` for another query; either is enough.
        """
        return await run_orm(self.get_user_sync, {"user_id": user_id})

    def get_user_sync(self, user_id: Any) -> Any:
        """Return the user whose primary key is ``user_id``, or None (blocking)."""
        return default_get_user_sync(user_id)

    def _checks(
        self, request: Any, claims: dict[str, Any], fields: _UserFields
    ) -> Identity | Awaitable[Identity]:
        """CSRF for a cookie token, then revocation: every request, cache hit or not."""
        if self._cookie_csrf and cross_site_unsafe(request):
            # The cookie was good, so this is the user's browser acting for another site.
            raise AuthRefusal(403, CSRF_FAILED)
        revoked = self._revoked
        if revoked is not None:
            # require_jti (implied by revocation) has checked that jti is a non-empty string.
            answer = revoked(claims["jti"], claims)
            if answer.__class__ is not bool and inspect.isawaitable(answer):
                return self._finish_revoked(answer, claims, fields)
            if answer:
                raise AuthenticationFailed("Token revoked")
        return self._new_user(fields, claims), claims

    async def _finish_revoked(
        self, answer: Awaitable[Any], claims: dict[str, Any], fields: _UserFields
    ) -> Identity:
        if await answer:
            raise AuthenticationFailed("Token revoked")
        return self._new_user(fields, claims), claims

    def _remember(self, raw: Any, claims: dict[str, Any]) -> _Verified:
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


class _UnknownKey(Exception):
    """The key set holds no key for the token's ``kid`` (yet)."""


def _remote_keys(
    algorithms: Sequence[str] | None,
    secret: Any,
    public_key: Any,
    jwks_url: str | None,
    jwks: dict[str, Any] | str | None,
    oidc_issuer: str | None,
    refresh_interval: int,
    audience: Any,
    issuer: str | None,
) -> RemoteKeys | None:
    """Return the key set the options name (None for a static key), or ConfigurationError."""
    given = [
        name
        for name, v in (("jwks_url", jwks_url), ("jwks", jwks), ("oidc_issuer", oidc_issuer))
        if v is not None
    ]
    if not given:
        return None
    if len(given) > 1:
        raise ConfigurationError(f"JWTAuthentication takes one of {given}, not several")
    if secret is not None or public_key is not None:
        raise ConfigurationError(
            f"JWTAuthentication takes a key set ({given[0]}) or a static key, not both"
        )
    if jwks_url is not None:
        check_fetch_url(jwks_url, "jwks_url")
        if audience is None or issuer is None:
            raise ConfigurationError(
                "JWTAuthentication(jwks_url=...) needs issuer= and audience=: a provider signs "
                "tokens for other applications too"
            )
    if oidc_issuer is not None:
        check_fetch_url(oidc_issuer, "oidc_issuer")
        if audience is None:
            raise ConfigurationError("JWTAuthentication(oidc_issuer=...) needs audience=")
    pinned = None if algorithms is None else list(algorithms)
    fetched = jwks_url is not None or oidc_issuer is not None
    if pinned is not None and fetched and _key_family(pinned) == "HMAC":
        raise ConfigurationError("a fetched key set verifies asymmetric algorithms only")
    if pinned is None and oidc_issuer is None:
        pinned = ["RS256"]
    return RemoteKeys(
        algorithms=pinned,
        url=jwks_url,
        document=jwks,
        oidc_issuer=oidc_issuer,
        refresh_interval=refresh_interval,
    )


def _cookie_token(value: str) -> str:
    """Return the token of a cookie value: the raw token, or ``Bearer <token>`` as some clients
    set."""
    token = value.strip()
    if token[:7].lower() == _BEARER:
        token = token[7:].strip()
    if not token:
        raise AuthenticationFailed("Invalid token")
    return token


def _authority_claims_typed(claims: dict[str, Any]) -> bool:
    """Whether the claims that grant authority have the JSON types they are read as:
    ``is_staff`` and ``is_superuser`` booleans, ``permissions`` a list of strings (null: absent).

    Django-Bolt 0.13 refuses a token otherwise, and so does this: ``bool("false")`` is True, so
    reading ``"is_superuser": "false"`` as a flag would make a superuser.
    """
    for name in ("is_staff", "is_superuser"):
        value = claims.get(name)
        if value is not None and value.__class__ is not bool:
            return False
    permissions = claims.get("permissions")
    if permissions is None:
        return True
    return isinstance(permissions, list) and all(isinstance(p, str) for p in permissions)


def _type_accepted(claims: dict[str, Any], expected: str | None) -> bool:
    """Whether the claims that name a token type allow it here (Django-Bolt's rule)."""
    declared = [value for name in _TYPE_CLAIMS if isinstance(value := claims.get(name), str)]
    if expected is None:
        # An access route: a refresh or ID token never passes, whichever claim names it.
        return not any(value.lower() in _NOT_ACCESS_TYPES for value in declared)
    # A route for one type (a refresh endpoint): typ must say it, and nothing may disagree.
    return claims.get("typ") == expected and all(value == expected for value in declared)


def _key_family(algorithms: list[str]) -> str:
    """Return the key type every algorithm shares (one key verifies them all), or
    ConfigurationError."""
    if not algorithms:
        raise ConfigurationError("JWTAuthentication needs at least one algorithm")
    known = get_default_algorithms()
    families: set[str] = set()
    for name in algorithms:
        if name.lower() == "none":
            raise ConfigurationError("the 'none' algorithm is never accepted")
        algorithm = known.get(name)
        if algorithm is None:
            raise ConfigurationError(
                f"unsupported JWT algorithm {name!r}; supported: {sorted(set(known) - {'none'})}"
            )
        families.add(_FAMILIES.get(type(algorithm).__name__, type(algorithm).__name__))
    if len(families) > 1:
        raise ConfigurationError(
            f"JWT algorithms {algorithms} mix key types ({sorted(families)}); one "
            "JWTAuthentication verifies with one key"
        )
    return families.pop()


def _prepare_key(algorithm: str, key: str | bytes) -> Any:
    """Return the PEM key parsed for PyJWT; a private key stands for its public half."""
    try:
        prepared = get_default_algorithms()[algorithm].prepare_key(key)
    except (jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"JWTAuthentication: not a usable {algorithm} key: {exc}"
        ) from None
    if not hasattr(prepared, "verify") and hasattr(prepared, "public_key"):
        prepared = prepared.public_key()
    return prepared


def _revocation_check(
    handler: Callable[..., Any] | None, store: Any
) -> Callable[[str, dict[str, Any]], Any] | None:
    """One ``check(jti, claims) -> bool | Awaitable[bool]`` from whichever was given."""
    if handler is not None:
        if not callable(handler):
            raise ConfigurationError(f"revoked_token_handler must be callable, not {handler!r}")
        # Django-Bolt's rule, read once: a handler with two positional parameters gets the
        # claims too (to end a token with its session, say).
        if _positional_count(handler) >= 2:
            return handler
        return lambda jti, claims: handler(jti)
    if store is not None:
        is_revoked = getattr(store, "is_revoked", None)
        if not callable(is_revoked):
            raise ConfigurationError(f"revocation_store needs an is_revoked(jti) method: {store!r}")
        return lambda jti, claims: is_revoked(jti)
    return None


def _positional_count(function: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _is_async_check(handler: Callable[..., Any] | None, store: Any) -> bool:
    if handler is not None:
        return inspect.iscoroutinefunction(handler)
    if store is None:
        return False
    return bool(getattr(store, "is_async", False)) or inspect.iscoroutinefunction(
        getattr(store, "is_revoked", None)
    )


# What a token says about its user, worked out once per verified token: (id, username,
# is_staff, is_superuser, permissions).
_UserFields = tuple[Any, str, bool, bool, frozenset[str]]
# (claims, exp, nbf, user fields) of a token whose signature has been checked.
_Verified = tuple[dict[str, Any], float | None, float | None, _UserFields]
# What runs after a token verified (CSRF, revocation): (request, claims, fields) -> identity.
_AfterVerify = Callable[[Any, dict[str, Any], _UserFields], Identity | Awaitable[Identity]]


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
    """Return a fresh TokenUser per request (handlers may change it), without re-reading the
    claims."""
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
    """Return a signed token for a Django user (or any object with ``pk``/``id``).

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
    email = getattr(user, "email", None)
    if isinstance(email, str) and email:
        claims["email"] = email
    if extra_claims:
        claims.update(extra_claims)
    return jwt.encode(claims, secret if secret is not None else _secret_key(), algorithm=algorithm)
