"""What auth classes and guards share: the protocols, the token user and the failure type.

An auth class *attempts*: it returns ``(user, auth)`` when it accepts the request, ``None`` when
the request carries nothing for it, and raises :class:`AuthenticationFailed` when it carries
something bad (expired token, unknown key). Neither outcome rejects the request by itself; a
guard does (``IsAuthenticated`` answers 401 with the most precise detail an auth class gave).
This is Django-Bolt's split, which lets an endpoint personalise for signed-in users and still
serve anonymous ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, runtime_checkable

# Re-exported: the anonymous user is the session layer's, named here where auth classes look.
from django_bolt._django.sessions import anonymous_user

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable

__all__ = (
    "AUTH_REQUIRED",
    "AuthContext",
    "AuthenticationBackend",
    "AuthenticationFailed",
    "BaseAuthentication",
    "Identity",
    "TokenUser",
    "anonymous_user",
)

AUTH_REQUIRED: Final = "Authentication required"

# (user, auth): what request.user and request.auth become.
Identity = tuple[Any, Any]


@dataclass
class AuthContext:
    """Django-Bolt's typed view of an authentication (``request.context`` holds it as a dict)."""

    user_id: str | None = None
    is_staff: bool = False
    is_superuser: bool = False
    backend: str = "none"
    claims: dict[str, Any] | None = None
    permissions: set[str] | None = None


class AuthenticationFailed(Exception):
    """Credentials were given but are not acceptable; ``detail`` is what the client is told."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@runtime_checkable
class AuthenticationBackend(Protocol):
    """Anything with ``authenticate(request)``; ``scheme`` names the WWW-Authenticate challenge."""

    scheme: str | None

    def authenticate(self, request: Any) -> Identity | Awaitable[Identity | None] | None: ...


class BaseAuthentication:
    """Base class for auth classes; ``is_async`` says whether ``authenticate`` must be awaited."""

    scheme: ClassVar[str | None] = None
    # The ``auth_backend`` value of ``request.context`` (Django-Bolt's names).
    backend_name: ClassVar[str] = "custom"
    is_async: bool = False

    def authenticate(self, request: Any) -> Identity | Awaitable[Identity | None] | None:
        raise NotImplementedError

    async def get_user(self, user_id: Any, auth_context: dict[str, Any]) -> Any:
        """Return the user of ``user_id`` for ``load_user``; None here (no user table)."""
        return None


class TokenUser:
    """A user built from token claims or key info, without a database row.

    Guards ask it the questions they would ask a Django user (``is_authenticated``, ``is_staff``,
    ``has_perm``); the answers come from the claims, so no ORM query runs on the event loop.
    """

    __slots__ = ("claims", "id", "is_staff", "is_superuser", "permissions", "username")

    is_authenticated: Final = True
    is_anonymous: Final = False
    is_active: Final = True

    def __init__(
        self,
        id: Any,
        *,
        username: str = "",
        is_staff: bool = False,
        is_superuser: bool = False,
        permissions: Iterable[str] = (),
        claims: Any = None,
    ) -> None:
        self.id = id
        self.username = username or ("" if id is None else str(id))
        self.is_staff = is_staff
        self.is_superuser = is_superuser
        self.permissions = frozenset(permissions)
        self.claims = claims

    @property
    def pk(self) -> Any:
        return self.id

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        # Superusers hold every permission, as in Django's ModelBackend.
        return self.is_superuser or perm in self.permissions

    def has_perms(self, perms: Iterable[str], obj: Any = None) -> bool:
        return all(self.has_perm(p) for p in perms)

    def get_username(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<TokenUser id={self.id!r}>"
