"""What auth classes and guards share: the protocols, the token user, the failure type, and the
checks a credential the browser attaches by itself (a cookie) needs: the origin check of unsafe
methods and the refusal of a cookie sent twice.

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
from urllib.parse import urlsplit

# Re-exported: the anonymous user is the session layer's, named here where auth classes look.
from django_bolt._django.sessions import anonymous_user

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable

__all__ = (
    "AUTH_REQUIRED",
    "CSRF_FAILED",
    "SAFE_METHODS",
    "AuthContext",
    "AuthenticationBackend",
    "AuthenticationFailed",
    "BaseAuthentication",
    "Identity",
    "TokenUser",
    "anonymous_user",
    "cross_site_unsafe",
    "from_this_site",
    "sent_once",
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


# --- credentials a browser attaches by itself ---------------------------------------------------
# A browser sends its cookies with requests another site starts, so a credential read from a
# cookie proves the user's browser, not the user's intent: an unsafe request must show that a
# page of this origin sent it, and a cookie name sent twice is not trusted (a sibling subdomain
# may have set the second one, and their order does not tell which one this site set).

# RFC 9110 section 9.2.1: methods that change nothing need no CSRF check.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Sec-Fetch-Site values that come from this origin: a page of it, or the user's own navigation
# (typed URL, bookmark). "same-site" is refused: a sibling subdomain is another origin.
_OWN_SITE_VALUES: Final = frozenset({"same-origin", "none"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
CSRF_FAILED: Final = "CSRF Failed: the request did not come from this site"


def cross_site_unsafe(request: Any) -> bool:
    """Whether an unsafe request fails the origin check (a safe method never does)."""
    return request.method not in SAFE_METHODS and not from_this_site(request)


def from_this_site(request: Any) -> bool:
    """Whether the request shows it comes from this origin.

    The browser's ``Sec-Fetch-Site`` decides when present; otherwise ``Origin``, or else
    ``Referer``, must name this request's scheme, host and port. A request with none of them is
    refused: a browser sends at least one on a state-changing request, and a client that is not a
    browser can send a matching ``Origin``.
    """
    headers = request.headers
    site = headers.get("sec-fetch-site")
    if site is not None:
        return str(site).strip().lower() in _OWN_SITE_VALUES
    host = headers.get("host")
    source = headers.get("origin")
    if source is None:
        source = headers.get("referer")
    if not host or source is None:
        return False
    return _same_origin(str(source), str(request.scheme), str(host))


def _same_origin(url: str, scheme: str, host: str) -> bool:
    try:
        source = urlsplit(url.strip())
        target = urlsplit("//" + host.strip())
        default_port = _DEFAULT_PORTS.get(source.scheme.lower())
        # An opaque origin ("null"), another scheme or credentials in the URL prove nothing.
        if default_port is None or source.scheme.lower() != scheme.lower():
            return False
        if "@" in source.netloc or "@" in target.netloc or not source.hostname:
            return False
        return source.hostname == target.hostname and (source.port or default_port) == (
            target.port or default_port
        )
    except ValueError:  # a port that is not a number
        return False


def sent_once(raw_headers: list[tuple[bytes, bytes]], name: str) -> bool:
    """Whether the cookie ``name`` appears at most once in all the ``Cookie`` fields.

    Names are compared as ``request.cookies`` reads them (trimmed, a pair needs ``=``).
    """
    try:
        wanted = name.encode("latin-1")
    except UnicodeEncodeError:  # request.cookies decodes latin-1: such a name never matches
        return True
    seen = 0
    for field, value in raw_headers:
        if field.lower() != b"cookie" or wanted not in value:
            continue
        for pair in value.split(b";"):
            key, sep, _ = pair.partition(b"=")
            if sep and key.strip() == wanted:
                seen += 1
                if seen > 1:
                    return False
    return True
