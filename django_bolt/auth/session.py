"""Session authentication: the user Django's session cookie names, with Django's CSRF check.

Loading a session and a user queries the session store and the database, so the whole lookup
runs in the sync pool, never on the event loop. On unsafe methods the CSRF check is Django's own
``CsrfViewMiddleware`` (cookie or session token, ``X-CSRFToken`` or the form field, Origin and
Referer rules): a cookie the browser sends by itself must not let another site act for the user.
A failed check is a 403, as in Django REST framework.

The session is the request's own (``request.session``, see :mod:`django_bolt._django.sessions`): the
handler sees the same store, and changes to it are saved after the handler.
"""

from __future__ import annotations

from typing import Any

from django_bolt._django.sessions import get_session_user
from django_bolt.auth.base import BaseAuthentication, Identity
from django_bolt.concurrency import run_in_pool

__all__ = ("SessionAuthentication",)


class SessionAuthentication(BaseAuthentication):
    """``request.user`` = the Django user of the session cookie; ``request.auth`` = the session."""

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
        user = get_session_user(request, enforce_csrf=self.enforce_csrf)
        if not user.is_authenticated:
            return None
        return user, request.session

    def authenticate(self, request: Any) -> Any:
        # No cookie header at all: nothing to look up, and no trip to the pool.
        for name, _ in request.raw_headers:
            if name.lower() == b"cookie":
                return self._authenticate(request)
        return None

    async def _authenticate(self, request: Any) -> Identity | None:
        result: Identity | None = await run_in_pool(self._load, {"request": request})
        return result
