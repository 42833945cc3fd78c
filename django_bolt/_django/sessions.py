"""Django sessions and the session's user for API requests: loaded on first use, saved after.

``request.session`` builds the ``SessionStore`` of ``settings.SESSION_ENGINE`` from the session
cookie the first time a handler (or an auth class) asks; nothing is read before that, and a
request that never asks pays nothing. After the handler, :func:`finish_session` does what
Django's ``SessionMiddleware`` does on the way out: save a modified session (or every accessed
one under ``SESSION_SAVE_EVERY_REQUEST``) and set the cookie with the ``SESSION_COOKIE_*``
attributes, delete the cookie of a session that was emptied, and add ``Vary: Cookie`` when the
session was read.

``request.user`` (sync) and ``await request.auser()`` resolve ``django.contrib.auth``'s user from
the session exactly as ``django.contrib.auth.get_user`` does (backend, session hash check). On
unsafe methods an authenticated session user passes Django's CSRF check first, as with
:class:`~django_bolt.auth.SessionAuthentication`: a cookie the browser sends by itself must not
let another site act for the user. This module is the one code path for all three.
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, Protocol

import django.contrib.auth as django_auth
from asgiref.sync import sync_to_async
from django.apps import apps
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.handlers.wsgi import WSGIRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.http import http_date

from django_bolt._http.wire import add_vary
from django_bolt.concurrency import run_in_pool
from django_bolt.conf import cache_until_settings_change, framework_config
from django_bolt.cookies import Cookie
from django_bolt.exceptions import Forbidden

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django_bolt._http.wire import WireResponse

__all__ = (
    "SessionRequest",
    "aget_session_user",
    "anonymous_user",
    "check_csrf",
    "finish_session",
    "get_session_user",
    "load_session",
    "reset_session_config",
    "session_config",
)


class SessionRequest(Protocol):
    """What the session machinery reads of a request (``Request`` is one)."""

    method: str
    scheme: str

    @property
    def body(self) -> bytes: ...

    @property
    def cookies(self) -> dict[str, str]: ...

    @property
    def META(self) -> dict[str, Any]: ...

    @property
    def loaded_session(self) -> Any: ...

    @property
    def session(self) -> Any: ...

    @session.setter
    def session(self, value: Any) -> None: ...


SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The expiry Django's delete_cookie writes.
_EPOCH: Final = "Thu, 01 Jan 1970 00:00:00 GMT"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """The session settings, read once (nothing on the request path reads Django's settings)."""

    store: Any  # the engine's SessionStore class
    cookie_name: str
    cookie_domain: str | None
    cookie_path: str
    cookie_secure: bool
    cookie_httponly: bool
    cookie_samesite: str | None
    save_every_request: bool
    # The engine keeps the data in the cookie itself: saving does no I/O.
    in_cookie: bool
    auth_installed: bool


@cache_until_settings_change
def session_config() -> SessionConfig:
    """Return the session settings, read on first use (the engine module is imported then)."""
    config = framework_config()
    engine = config.session_engine
    return SessionConfig(
        store=import_module(engine).SessionStore,
        cookie_name=config.session_cookie_name,
        cookie_domain=config.session_cookie_domain,
        cookie_path=config.session_cookie_path,
        cookie_secure=config.session_cookie_secure,
        cookie_httponly=config.session_cookie_httponly,
        cookie_samesite=config.session_cookie_samesite,
        save_every_request=config.session_save_every_request,
        in_cookie=engine == "django.contrib.sessions.backends.signed_cookies",
        auth_installed=apps.is_installed("django.contrib.auth"),
    )


def reset_session_config(**_: Any) -> None:
    """Forget the session settings read so far (a changed setting does it by itself)."""
    session_config.cache_clear()  # type: ignore[attr-defined]


def load_session(request: SessionRequest) -> Any:
    """Return the request's ``SessionStore``, built from its session cookie (no I/O until read)."""
    config = session_config()
    session = config.store(request.cookies.get(config.cookie_name))
    request.session = session
    return session


# --- the session's user ----------------------------------------------------------------------


class _Anonymous:
    """Stand-in for Django's AnonymousUser when ``django.contrib.auth`` is not installed."""

    __slots__ = ()
    id = None
    pk = None
    username = ""
    is_authenticated: Final = False
    is_anonymous: Final = True
    is_active: Final = False
    is_staff: Final = False
    is_superuser: Final = False
    permissions: Final = frozenset[str]()

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perms: Iterable[str], obj: Any = None) -> bool:
        return False

    def __repr__(self) -> str:
        return "<AnonymousUser>"


_anonymous: Any = None


def anonymous_user() -> Any:
    """Return Django's ``AnonymousUser`` (stateless, so shared), or a stand-in without auth."""
    global _anonymous
    if _anonymous is None:
        try:
            # Here, not at the top: Django's models cannot be imported before the app registry
            # is ready, and contrib.auth is optional.
            from django.contrib.auth.models import AnonymousUser

            _anonymous = AnonymousUser()
        except Exception:  # contrib.auth not installed or settings not configured
            _anonymous = _Anonymous()
    return _anonymous


def _has_session_cookie(request: SessionRequest, config: SessionConfig) -> bool:
    return request.loaded_session is not None or bool(request.cookies.get(config.cookie_name))


def _needs_csrf(request: SessionRequest, user: Any, config: SessionConfig) -> bool:
    """Return an authenticated user that the incoming cookie vouches for, on an unsafe method.

    A session this request created or cycled (``login()`` in the handler) carries no ambient
    authority from the browser, so it needs no token.
    """
    if request.method in SAFE_METHODS or not user.is_authenticated:
        return False
    sent = request.cookies.get(config.cookie_name)
    return bool(sent) and request.session.session_key == sent


def get_session_user(request: SessionRequest, *, enforce_csrf: bool = True) -> Any:
    """Return the session's user (blocking: may query the session store and the user table)."""
    config = session_config()
    if not config.auth_installed or not _has_session_cookie(request, config):
        return anonymous_user()
    user = django_auth.get_user(request)
    if enforce_csrf and _needs_csrf(request, user, config):
        check_csrf(request)
    return user


async def aget_session_user(request: SessionRequest, *, enforce_csrf: bool = True) -> Any:
    """:func:`get_session_user` for async code (Django's ``aget_user`` where it exists)."""
    config = session_config()
    if not config.auth_installed or not _has_session_cookie(request, config):
        return anonymous_user()
    aget_user = getattr(django_auth, "aget_user", None)
    if aget_user is not None:  # Django >= 5.0
        user = await aget_user(request)
    else:
        user = await sync_to_async(django_auth.get_user)(request)
    if enforce_csrf and _needs_csrf(request, user, config):
        # The session is loaded by now, so even CSRF_USE_SESSIONS reads no store here.
        check_csrf(request)
    return user


# --- CSRF --------------------------------------------------------------------------------------


class _CsrfCheck(CsrfViewMiddleware):  # type: ignore[misc]
    # The reason instead of Django's rendered 403 page: the API answers in JSON.
    def _reject(self, request: Any, reason: str) -> str:
        return reason


_checker: _CsrfCheck | None = None


def _csrf_checker() -> _CsrfCheck:
    global _checker
    if _checker is None:
        _checker = _CsrfCheck(lambda request: None)
    return _checker


def _django_request(request: SessionRequest) -> Any:
    """Return a ``WSGIRequest`` over the same bytes, for Django code that needs a real one."""
    environ = dict(request.META)
    environ.setdefault("SERVER_NAME", "localhost")
    environ.setdefault("SERVER_PORT", "443" if request.scheme == "https" else "80")
    environ["SCRIPT_NAME"] = ""
    environ["CONTENT_LENGTH"] = str(len(request.body))
    environ["wsgi.input"] = io.BytesIO(request.body)
    environ["wsgi.errors"] = sys.stderr
    environ["wsgi.url_scheme"] = request.scheme
    django_request = WSGIRequest(environ)
    django_request.session = request.session
    return django_request


def check_csrf(request: SessionRequest) -> None:
    """Django's CSRF check (token, Origin, Referer); a failure is a 403 ``CSRF Failed: ...``."""
    checker = _csrf_checker()
    django_request = _django_request(request)
    checker.process_request(django_request)
    reason = checker.process_view(django_request, None, (), {})
    if reason is not None:
        raise Forbidden(f"CSRF Failed: {reason}")


# --- after the handler -------------------------------------------------------------------------


def _cookie_header(
    config: SessionConfig,
    value: str,
    max_age: int | None = None,
    expires: str | None = None,
) -> tuple[bytes, bytes] | None:
    """Return the session's ``Set-Cookie`` as Django's ``SessionMiddleware`` writes it (an empty
    ``value`` deletes it, as ``delete_cookie`` does), or None when the ``SESSION_COOKIE_*``
    settings make a cookie that cannot be sent (a warning says why)."""
    name = config.cookie_name
    samesite: Any = config.cookie_samesite
    if value:
        secure = config.cookie_secure
        httponly = config.cookie_httponly
    else:
        # Django's delete_cookie: browsers ignore a prefixed or SameSite=None cookie without it.
        max_age, expires = 0, _EPOCH
        secure = name.startswith(("__Secure-", "__Host-")) or str(samesite).lower() == "none"
        httponly = False
    line = Cookie(
        name,
        value,
        max_age,
        expires,
        config.cookie_path,
        config.cookie_domain,
        secure,
        httponly,
        samesite,
    ).header_value_or_warn()
    return None if line is None else (b"set-cookie", line.encode("latin-1"))


def _expiry(session: Any) -> tuple[int | None, str | None]:
    if session.get_expire_at_browser_close():
        return None, None
    max_age = int(session.get_expiry_age())
    return max_age, http_date(time.time() + max_age)


def _save(session: Any) -> tuple[int | None, str | None]:
    """Save and return (max_age, expires); raises SessionInterrupted like Django's middleware."""
    expiry = _expiry(session)
    try:
        session.save()
    except UpdateError:
        raise SessionInterrupted(
            "The request's session was deleted before the request completed."
        ) from None
    return expiry


async def _asave(session: Any) -> tuple[int | None, str | None]:
    aget_expiry = getattr(session, "aget_expiry_age", None)
    if aget_expiry is None:  # Django < 5.0: no async session API
        result: tuple[int | None, str | None] = await sync_to_async(_save)(session)
        return result
    if await session.aget_expire_at_browser_close():
        expiry: tuple[int | None, str | None] = (None, None)
    else:
        max_age = int(await aget_expiry())
        expiry = (max_age, http_date(time.time() + max_age))
    try:
        await session.asave()
    except UpdateError:
        raise SessionInterrupted(
            "The request's session was deleted before the request completed."
        ) from None
    return expiry


async def finish_session(request: SessionRequest, response: WireResponse, is_async: bool) -> None:
    """Django's ``SessionMiddleware.process_response`` for an API response (headers in place).

    The save runs where the handler's own I/O ran: in the pool for ``def`` handlers, through the
    async session API for async ones; with the signed-cookie engine it needs no I/O at all.
    """
    session = request.loaded_session
    config = session_config()
    try:
        accessed = session.accessed
        modified = session.modified
        empty = session.is_empty()
    except AttributeError:  # something that is not a session was put there
        return
    # A copy: a response's header list may be shared by a converter across requests.
    headers = list(response.raw_headers)
    cookie: tuple[bytes, bytes] | None = None
    if empty and config.cookie_name in request.cookies:
        cookie = _cookie_header(config, "")
        add_vary(headers, b"Cookie")
    else:
        if accessed:
            add_vary(headers, b"Cookie")
        if (modified or config.save_every_request) and not empty and response.status_code < 500:
            if config.in_cookie:
                max_age, expires = _save(session)
            elif is_async:
                max_age, expires = await _asave(session)
            else:
                max_age, expires = await run_in_pool(_save, {"session": session})
            cookie = _cookie_header(config, session.session_key, max_age, expires)
    if cookie is not None:
        headers.append(cookie)
    response.raw_headers = headers
