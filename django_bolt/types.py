"""Typing helpers with Django-Bolt's names: shapes of JWT claims, API-key info, state and users.

They only describe values for editors and type checkers; nothing here runs per request.
``Request`` is the request class itself, which accepts Django-Bolt's parameterised spelling
(``Request[User, JWTClaims, TimingState]``).
"""

from __future__ import annotations

from typing import Any, NotRequired, Protocol, TypedDict

from django_bolt.request import Request

__all__ = (
    "APIKeyAuth",
    "DjangoModel",
    "JWTClaims",
    "MiddlewareResponse",
    "Request",
    "TimingState",
    "TracingState",
    "UserType",
)


class DjangoModel(Protocol):
    """What every Django model instance offers: saving, deleting and reloading, sync and async."""

    def save(
        self,
        force_insert: bool = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: list[str] | None = None,
    ) -> None: ...

    def delete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]: ...

    def refresh_from_db(
        self, using: str | None = None, fields: list[str] | None = None
    ) -> None: ...

    def full_clean(
        self, exclude: list[str] | None = None, validate_unique: bool = True
    ) -> None: ...

    async def asave(
        self,
        force_insert: bool = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: list[str] | None = None,
    ) -> None: ...

    async def adelete(
        self, using: str | None = None, keep_parents: bool = False
    ) -> tuple[int, dict[str, int]]: ...

    async def arefresh_from_db(
        self, using: str | None = None, fields: list[str] | None = None
    ) -> None: ...


class UserType(DjangoModel, Protocol):
    """The fields and methods of Django's default user model."""

    id: int
    pk: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_staff: bool
    is_superuser: bool

    @property
    def is_anonymous(self) -> bool: ...

    @property
    def is_authenticated(self) -> bool: ...

    def set_password(self, raw_password: str | None) -> None: ...

    def check_password(self, raw_password: str) -> bool: ...

    def set_unusable_password(self) -> None: ...

    def has_usable_password(self) -> bool: ...

    def get_session_auth_hash(self) -> str: ...


class JWTClaims(TypedDict, total=False):
    """Claims of a token (RFC 7519 names, then the ones ``create_jwt_for_user`` adds)."""

    sub: str
    exp: int
    iat: int
    nbf: int
    iss: str
    aud: str
    jti: str
    user_id: int
    username: str
    email: str
    is_staff: bool
    is_superuser: bool
    permissions: list[str]
    groups: list[str]


class APIKeyAuth(TypedDict, total=False):
    """What an API-key authentication may put in ``request.auth``."""

    key_id: str
    key_name: str
    permissions: list[str]
    rate_limit: NotRequired[int]
    metadata: NotRequired[dict[str, Any]]


class TimingState(TypedDict, total=False):
    """The values ``TimingMiddleware`` stores in ``request.state``."""

    start_time: float
    request_id: str


class TracingState(TypedDict, total=False):
    """Distributed-tracing values a middleware may keep in ``request.state``."""

    trace_id: str
    span_id: str
    parent_span_id: NotRequired[str]
    baggage: NotRequired[dict[str, str]]


class MiddlewareResponse(TypedDict, total=False):
    """A response described as plain data (several ``Set-Cookie`` values in a list)."""

    body: bytes
    status_code: int
    headers: dict[str, str]
    set_cookies: list[str]
