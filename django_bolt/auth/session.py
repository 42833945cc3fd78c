"""Session authentication: the user Django's session cookie names, behind an origin check.

Loading a session and a user queries the session store and the database, so the whole lookup
runs in the sync pool, never on the event loop. With ``csrf`` (the default) every unsafe request
to the route must come from this site (:func:`~django_bolt.auth.base.from_this_site`:
``Sec-Fetch-Site``, else ``Origin``, else ``Referer``), with or without a session cookie: a
cookie the browser sends by itself must not let another site act for the user, and a login
route must not let another site log the browser in to the attacker's account (login CSRF). A
failed check is a 403 before any session is read. It replaces Django's token check here, as in
Django-Bolt: a matching ``Origin`` is enough, and a CSRF token without one is not.

The session is the request's own (``request.session``, see :mod:`django_bolt._django.sessions`): the
handler sees the same store, and changes to it are saved after the handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from django_bolt._django.sessions import get_session_user
from django_bolt.auth.base import CSRF_FAILED, BaseAuthentication, Identity, cross_site_unsafe
from django_bolt.auth.guards import IsAdminUser, IsStaff, Requires, guard_leaves
from django_bolt.concurrency import run_in_pool
from django_bolt.exceptions import AuthRefusal

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("SessionAuthentication", "check_session_route", "is_session_backend")

# Django's pair, named by path: importing AuthenticationMiddleware needs the app registry ready.
_SESSION_MIDDLEWARE: Final = "django.contrib.sessions.middleware.SessionMiddleware"
_AUTH_MIDDLEWARE: Final = "django.contrib.auth.middleware.AuthenticationMiddleware"
# The user fields Django-Bolt's guards read of a session user; a model without them is an error.
_USER_FLAGS: Final = frozenset({"is_staff", "is_superuser"})


class SessionAuthentication(BaseAuthentication):
    """``request.user`` = the Django user of the session cookie; ``request.auth`` = the session.

    On a route with other backends it is tried last, whatever its place in ``auth``: a token
    the request carries decides before the session cookie the browser added.
    """

    scheme = None
    backend_name = "session"
    is_async = True

    def __init__(
        self, enforce_csrf: bool = True, *, login_url: str | None = None, csrf: bool | None = None
    ) -> None:
        # ``csrf`` is Django-Bolt's name for enforce_csrf. ``login_url`` is kept but not applied:
        # a request without a user gets the guard's 401, not a redirect (see docs/api.md).
        self.enforce_csrf = enforce_csrf if csrf is None else csrf
        self.login_url = login_url

    def _load(self, request: Any) -> Identity | None:
        # The origin check has run in authenticate(): no token check on top of it.
        user = get_session_user(request, enforce_csrf=False)
        if not user.is_authenticated:
            return None
        return user, request.session

    def authenticate(self, request: Any) -> Any:
        if self.enforce_csrf and cross_site_unsafe(request):
            # Before the cookie test: an anonymous cross-site POST (to a login route) is refused.
            raise AuthRefusal(403, CSRF_FAILED)
        # No cookie header at all: nothing to look up, and no trip to the pool.
        for name, _ in request.raw_headers:
            if name.lower() == b"cookie":
                return self._authenticate(request)
        return None

    async def _authenticate(self, request: Any) -> Identity | None:
        result: Identity | None = await run_in_pool(self._load, {"request": request})
        return result


def is_session_backend(backend: object) -> bool:
    """Whether ``backend`` authenticates by Django's session cookie."""
    return getattr(backend, "backend_name", None) == "session"


def check_session_route(
    route: str, guards: Sequence[Any], django_middleware: Sequence[type]
) -> None:
    """Refuse at start-up what a route with the session backend cannot serve as declared.

    ``django_middleware`` are the Django middleware classes around the route. Django's
    ``SessionMiddleware`` and ``AuthenticationMiddleware`` come as a pair or not at all: the
    backend loads the session itself, and ``AuthenticationMiddleware`` alone fails every request.
    A guard that would let every session user in (``none_of``, or a negation, on a claim the
    user model does not have) and a guard reading ``is_staff`` or ``is_superuser`` of a user
    model without that field are errors too, as in Django-Bolt 0.13.
    """
    has_session = _has_middleware(django_middleware, _SESSION_MIDDLEWARE)
    if has_session != _has_middleware(django_middleware, _AUTH_MIDDLEWARE):
        present = "SessionMiddleware" if has_session else "AuthenticationMiddleware"
        raise ImproperlyConfigured(
            f"{route}: SessionAuthentication with Django's {present} alone in the middleware of "
            "the route, its routers or the API: add both SessionMiddleware and "
            "AuthenticationMiddleware, or neither"
        )
    user_model = get_user_model()
    for guard, negated in guard_leaves(guards):
        for field in _user_fields(guard):
            if hasattr(user_model, field):
                continue
            if field in _USER_FLAGS or not isinstance(guard, Requires):
                raise ImproperlyConfigured(
                    f"{route}: the guard {guard!r} reads {field!r}, a field the user model "
                    f"{user_model.__name__} does not have"
                )
            if (guard.quantifier == "none") != negated:
                raise ImproperlyConfigured(
                    f"{route}: {'~' if negated else ''}{guard!r} would let every session user in: "
                    f"the user model {user_model.__name__} has no {field!r}"
                )


def _has_middleware(classes: Sequence[type], path: str) -> bool:
    return any(
        f"{base.__module__}.{base.__qualname__}" == path for cls in classes for base in cls.__mro__
    )


def _user_fields(guard: Any) -> tuple[str, ...]:
    """Return the fields of a session user ``guard`` reads (``permissions`` is no field)."""
    if isinstance(guard, Requires):
        return () if guard.claim == "permissions" else (guard.claim,)
    if isinstance(guard, IsStaff):
        return ("is_staff", "is_superuser")
    if isinstance(guard, IsAdminUser):
        return ("is_superuser",)
    return ()
