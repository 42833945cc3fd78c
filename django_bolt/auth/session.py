"""Session authentication: the user Django's session cookie names, with Django's CSRF check.

Loading a session and a user queries the session store and the database, so the whole lookup
runs in the sync pool, never on the event loop. On unsafe methods the CSRF check is Django's own
``CsrfViewMiddleware`` (cookie or session token, ``X-CSRFToken`` or the form field, Origin and
Referer rules): a cookie the browser sends by itself must not let another site act for the user.
A failed check is a 403, as in Django REST framework.
"""

from __future__ import annotations

import io
import sys
from typing import Any, Final

from django_bolt.auth.base import BaseAuthentication, Identity
from django_bolt.exceptions import Forbidden

__all__ = ("SessionAuthentication",)

_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _csrf_checker() -> Any:
    from django.middleware.csrf import CsrfViewMiddleware

    class _Check(CsrfViewMiddleware):  # type: ignore[misc]
        # The reason instead of Django's rendered 403 page: the API answers in JSON.
        def _reject(self, request: Any, reason: str) -> str:
            return reason

    return _Check(lambda request: None)


class SessionAuthentication(BaseAuthentication):
    """``request.user`` = the Django user of the session cookie; ``request.auth`` = the session."""

    scheme = None
    backend_name = "session"
    is_async = True

    def __init__(self, enforce_csrf: bool = True) -> None:
        self.enforce_csrf = enforce_csrf
        self._checker: Any = None

    def _environ(self, request: Any) -> dict[str, Any]:
        environ = dict(request.META)
        environ.setdefault("SERVER_NAME", "localhost")
        environ.setdefault("SERVER_PORT", "443" if request.scheme == "https" else "80")
        environ["SCRIPT_NAME"] = ""
        environ["CONTENT_LENGTH"] = str(len(request.body))
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["wsgi.errors"] = sys.stderr
        environ["wsgi.url_scheme"] = request.scheme
        return environ

    def _load(self, environ: dict[str, Any], method: str) -> Identity | None:
        from importlib import import_module

        from django.conf import settings
        from django.contrib.auth import get_user
        from django.core.handlers.wsgi import WSGIRequest

        django_request = WSGIRequest(environ)
        session_key = django_request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not session_key:
            return None
        engine = import_module(settings.SESSION_ENGINE)
        django_request.session = engine.SessionStore(session_key)
        user = get_user(django_request)
        if not user.is_authenticated:
            return None
        if self.enforce_csrf and method not in _SAFE_METHODS:
            checker = self._checker
            if checker is None:
                checker = self._checker = _csrf_checker()
            checker.process_request(django_request)
            reason = checker.process_view(django_request, None, (), {})
            if reason is not None:
                raise Forbidden(f"CSRF Failed: {reason}")
        return user, django_request.session

    def authenticate(self, request: Any) -> Any:
        # No cookie header at all: nothing to look up, and no trip to the pool.
        for name, _ in request.raw_headers:
            if name.lower() == b"cookie":
                return self._authenticate(request)
        return None

    async def _authenticate(self, request: Any) -> Identity | None:
        from django_bolt.binding import run_in_pool

        result: Identity | None = await run_in_pool(
            self._load, {"environ": self._environ(request), "method": request.method}
        )
        return result
