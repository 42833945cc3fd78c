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

from typing import Any

from django_bolt._django.sessions import get_session_user
from django_bolt.auth.base import CSRF_FAILED, BaseAuthentication, Identity, cross_site_unsafe
from django_bolt.concurrency import run_in_pool
from django_bolt.exceptions import HTTPException

__all__ = ("SessionAuthentication",)


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
            raise HTTPException(403, CSRF_FAILED)
        # No cookie header at all: nothing to look up, and no trip to the pool.
        for name, _ in request.raw_headers:
            if name.lower() == b"cookie":
                return self._authenticate(request)
        return None

    async def _authenticate(self, request: Any) -> Identity | None:
        result: Identity | None = await run_in_pool(self._load, {"request": request})
        return result
