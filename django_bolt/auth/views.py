"""Ready-made login, refresh, logout and logout-everywhere routes over token-pair cookies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from django.contrib.auth import aauthenticate

from django_bolt.auth.guards import IsAuthenticated
from django_bolt.auth.jwt import JWTAuthentication
from django_bolt.auth.tokens import (
    TokenRotationError,
    create_token_pair,
    rotate_refresh_token,
    set_token_cookies,
)
from django_bolt.exceptions import HTTPException
from django_bolt.request import Request  # noqa: TC001 - the binder reads the annotation
from django_bolt.responses import JSON

__all__ = ("CredentialValidator", "JWTAuthViews", "LoginCredentials")


class LoginCredentials(msgspec.Struct):
    """The login body :class:`JWTAuthViews` reads by default."""

    username: str
    password: str


CredentialValidator = Callable[[Any, LoginCredentials], Awaitable[Any]]


class JWTAuthViews:
    """``POST {prefix}/login``, ``/refresh``, ``/logout`` and ``/logout-all`` on an API.

    Login checks the credentials (Django's ``aauthenticate``, or ``credential_validator(request,
    credentials)``) and sets the pair as cookies, the refresh cookie scoped to ``prefix``.
    Refresh rotates the refresh token (reuse revokes its family). Logout revokes the family,
    logout-all bumps the user's version; both clear the cookies. Every refusal is a 401 with
    one generic detail.
    """

    def __init__(
        self,
        *,
        store: Any,
        secret: str | None = None,
        algorithm: str = "HS256",
        kid: str | None = None,
        prefix: str = "/auth",
        access_cookie: str = "access_token",
        refresh_cookie: str = "refresh_token",
        secure_cookies: bool = True,
        credential_validator: CredentialValidator | None = None,
        access_ttl: int | None = None,
        refresh_ttl: int | None = None,
        max_session_lifetime: int | None = None,
    ) -> None:
        self.store = store
        self.secret = secret
        self.algorithm = algorithm
        self.kid = kid
        self.prefix = prefix.rstrip("/")
        self.access_cookie = access_cookie
        self.refresh_cookie = refresh_cookie
        self.secure_cookies = secure_cookies
        self.credential_validator = credential_validator or self._authenticate
        self.lifetimes: dict[str, Any] = {
            k: v for k, v in (("access_ttl", access_ttl), ("refresh_ttl", refresh_ttl)) if v
        }
        self.max_session_lifetime = max_session_lifetime

    async def _authenticate(self, request: Any, credentials: LoginCredentials) -> Any:
        return await aauthenticate(
            request=None, username=credentials.username, password=credentials.password
        )

    def _with_cookies(self, pair: Any) -> JSON:
        return set_token_cookies(  # type: ignore[no-any-return]
            JSON({"ok": True}),
            pair,
            access_cookie=self.access_cookie,
            refresh_cookie=self.refresh_cookie,
            refresh_path=self.prefix or "/",
            secure=self.secure_cookies,
        )

    def _cleared(self) -> JSON:
        response = JSON({"ok": True})
        response.delete_cookie(self.access_cookie, path="/")
        response.delete_cookie(self.refresh_cookie, path=self.prefix or "/")
        return response

    async def login(self, request: Request, credentials: LoginCredentials) -> JSON:
        """Check the credentials and set a new pair."""
        user = await self.credential_validator(request, credentials)
        if user is None or not getattr(user, "is_active", True):
            raise HTTPException(401, "Invalid credentials")
        version = await _version(self.store, str(user.pk))
        pair = create_token_pair(
            user,
            secret=self.secret,
            algorithm=self.algorithm,
            kid=self.kid,
            version=version,
            method="pwd",
            **self.lifetimes,
        )
        return self._with_cookies(pair)

    async def refresh(self, request: Request) -> JSON:
        """Rotate the refresh cookie's token into a new pair."""
        try:
            pair = await rotate_refresh_token(
                request.auth,
                store=self.store,
                secret=self.secret,
                algorithm=self.algorithm,
                kid=self.kid,
                max_session_lifetime=self.max_session_lifetime,
                leeway=0,
                **self.lifetimes,
            )
        except TokenRotationError:
            raise HTTPException(401, "Invalid token") from None
        return self._with_cookies(pair)

    async def logout(self, request: Request) -> JSON:
        """End this session: revoke the refresh token's family and clear the cookies."""
        claims = request.auth
        fam = claims.get("fam")
        if isinstance(fam, str) and fam:
            await self.store.revoke_family(fam, exp=claims.get("exp"))
        await self.store.revoke(claims["jti"], exp=claims.get("exp"))
        return self._cleared()

    async def logout_all(self, request: Request) -> JSON:
        """End every session of the user: bump the version and clear the cookies."""
        await self.store.bump_user_version(str(request.auth["sub"]))
        return self._cleared()

    def register(self, api: Any) -> None:
        """Add the four routes to ``api`` (a BoltAPI or Router)."""
        refresh_auth = JWTAuthentication(
            secret=self.secret,
            algorithms=[self.algorithm],
            cookie=self.refresh_cookie,
            token_type="refresh",  # noqa: S106 - a token type, not a password
            # No revocation check here: a consumed token must reach rotation, which treats
            # its reuse as theft and revokes the family.
            require_jti=True,
            trust_claims=True,
        )
        guarded: dict[str, Any] = {"auth": [refresh_auth], "guards": [IsAuthenticated()]}
        tags = ["auth"]
        api.post(f"{self.prefix}/login", tags=tags, summary="Log in", auth=[], guards=[])(
            self.login
        )
        api.post(f"{self.prefix}/refresh", tags=tags, summary="Refresh tokens", **guarded)(
            self.refresh
        )
        api.post(f"{self.prefix}/logout", tags=tags, summary="Log out", **guarded)(self.logout)
        api.post(f"{self.prefix}/logout-all", tags=tags, summary="Log out everywhere", **guarded)(
            self.logout_all
        )


async def _version(store: Any, user_id: str) -> int:
    try:
        return int(await store.get_user_version(user_id))
    except (NotImplementedError, AttributeError):
        return 0
