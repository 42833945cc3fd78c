"""Requests no API route matches fall through to the project's own URLconf, served by Django.

One port serves the API, the admin, ordinary Django views and (in DEBUG) static files: a miss in
the route table hands the request to Django's ``WSGIHandler``, which runs the project's
``MIDDLEWARE`` (sessions, CSRF, messages, auth) and views exactly as ``runserver`` or gunicorn
would. Django's views are synchronous and may use the ORM, which refuses to run on a thread with a
running event loop, so the handler and every chunk of a streaming response run in the bounded
thread pool shared with ``def`` handlers.

A path that neither the API nor the URLconf knows still answers with the API's JSON 404: only
Django's default answer to an unresolvable URL is replaced; a view that raises ``Http404`` keeps
its own page.

Such a miss is decided on the event loop when it can be (:meth:`DjangoBridge.certain_miss`):
asking the resolver costs microseconds, a trip through the pool and Django's handler about 300.
It can be when every middleware in ``MIDDLEWARE`` is Django's own and none of them acts on an
unresolved URL (the flatpages and redirects fallbacks, ``LocaleMiddleware``, ``CommonMiddleware``
with ``PREPEND_WWW``); ``CommonMiddleware`` with ``APPEND_SLASH`` is honoured by also asking for the
path with a slash. Any other middleware could answer such a URL itself (or change
``request.urlconf``), so with one installed every miss goes to Django as before.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import unquote_to_bytes

from django.apps import apps
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.urls import Resolver404, get_resolver

from django_bolt._conf.read import cache_until_settings_change, framework_config
from django_bolt._django.convert import django_headers, prepare_stream, stream_django
from django_bolt._http.wire import WireResponse
from django_bolt.concurrency import run_in_pool

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

    from django_bolt.request import Request

__all__ = ("DjangoBridge", "fallthrough_enabled")

_WSGI_VERSION: Final = (1, 0)
# Django's middleware that answers (or redirects) URLs the resolver does not know: with one of
# them, only Django can say that a path is a miss.
_ACTS_ON_MISSES: Final = frozenset(
    {
        "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
        "django.contrib.redirects.middleware.RedirectFallbackMiddleware",
        "django.middleware.locale.LocaleMiddleware",
    }
)
_COMMON: Final = "django.middleware.common.CommonMiddleware"
# Paths whose verdict is kept: bounded, so random paths cannot grow it (the oldest go first).
_VERDICTS_MAX: Final = 1024


def fallthrough_enabled(flag: bool | None) -> bool:
    """Return whether a miss goes to Django: ``flag`` if given, else "the project has a URLconf"."""
    if flag is not None:
        return flag
    # Unconfigured settings (a bare BoltAPI outside a project) read as no URLconf.
    return bool(framework_config().root_urlconf)


def _serves_static() -> bool:
    config = framework_config()
    return bool(
        config.debug and config.static_url and apps.is_installed("django.contrib.staticfiles")
    )


class _MissRules(NamedTuple):
    """How misses are decided on the loop under the current settings (see the module docstring)."""

    on_loop: bool  # False: every miss goes to Django
    append_slash: bool  # also ask for the path with a trailing slash
    static_prefix: str  # DEBUG's STATIC_URL: Django's (the finders), whatever the URLconf says
    verdicts: dict[str, bool]  # path -> certain miss; bounded by _VERDICTS_MAX


@cache_until_settings_change
def _miss_rules() -> _MissRules:
    config = framework_config()
    middleware = config.middleware
    common = _COMMON in middleware
    on_loop = not (
        any(not name.startswith("django.") or name in _ACTS_ON_MISSES for name in middleware)
        or (common and config.prepend_www)
    )
    static_prefix = (config.static_url or "").lstrip("/") if _serves_static() else ""
    return _MissRules(on_loop, common and config.append_slash, static_prefix, {})


def _resolves(path: str, urlconf: str | None) -> bool:
    try:
        get_resolver(urlconf).resolve(path)
    except Resolver404:
        return False
    return True


class _BridgeHandler(WSGIHandler):  # type: ignore[misc]
    """Django's WSGI handler that notes whether its 404 meant "no pattern for this URL"."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        response = super().get_response(request)
        if response.status_code == 404 and request.resolver_match is None:
            response._bolt_unresolved = _url_unresolved(request)
        return response


def _url_unresolved(request: HttpRequest) -> bool:
    """Return True when the URLconf has no pattern for this path (``Resolver404``).

    ``resolver_match`` stays ``None`` until a URL resolves, but a middleware may also answer 404
    before resolution; asking the resolver again, only on this rare path, tells them apart.
    """
    try:
        return not _resolves(request.path_info, getattr(request, "urlconf", None))
    except Exception:
        return False


class DjangoBridge:
    """Turns one of our requests into a WSGI call to Django and Django's answer into ours."""

    __slots__ = ("_handler", "_lock")

    def __init__(self) -> None:
        self._handler: WSGIHandler | None = None
        self._lock = threading.Lock()

    def prepare(self) -> WSGIHandler:
        """Build Django's handler (loads ``MIDDLEWARE``); called at start-up, else on first use."""
        # Worker threads share the application: one of them builds it, the others wait.
        with self._lock:
            if self._handler is None:
                handler: WSGIHandler = _BridgeHandler()
                if _serves_static():
                    # What runserver does in DEBUG: STATIC_URL paths come from the finders.
                    handler = StaticFilesHandler(handler)
                self._handler = handler
            return self._handler

    def resolves(self, path: str) -> bool:
        """Return whether the project's URLconf has a pattern for ``path`` (URL-decoded)."""
        return _resolves(path, None)

    def certain_miss(self, path: str) -> bool:
        """Return True when Django would only answer "no pattern for this URL" for ``path``.

        Decided by the resolver on the calling thread, without Django's handler (see the module
        docstring for when); ``False`` means "ask Django".
        """
        rules = _miss_rules()
        if not rules.on_loop:
            return False
        verdicts = rules.verdicts
        verdict = verdicts.get(path)
        if verdict is None:
            verdict = self._unresolvable(path, rules)
            if len(verdicts) >= _VERDICTS_MAX:
                # Loop threads share the dict: another one may have evicted this key already.
                verdicts.pop(next(iter(verdicts), ""), None)
            verdicts[path] = verdict
        return verdict

    def _unresolvable(self, path: str, rules: _MissRules) -> bool:
        if rules.static_prefix and path.lstrip("/").startswith(rules.static_prefix):
            return False
        try:
            if self.resolves(path):
                return False
            # CommonMiddleware redirects to the slashed path when only that one resolves.
            slashed = rules.append_slash and not path.endswith("/") and self.resolves(path + "/")
        except Exception:  # a URLconf that fails to load: Django's handler reports it
            return False
        return not slashed

    async def __call__(self, request: Request) -> WireResponse | None:
        """Django's answer, or ``None`` when the URLconf has no pattern for the path either."""
        if self.certain_miss(request.path):
            return None
        handler = self._handler or self.prepare()
        response, body = await run_in_pool(
            _call_django, {"handler": handler, "environ": _environ(request)}
        )
        if getattr(response, "_bolt_unresolved", False):
            if response.streaming:
                await run_in_pool(response.close, {})
            return None
        # Django served this request: close() (in the pool) sends its request_finished.
        raw_headers = django_headers(response)
        if body is None:
            stream = stream_django(response, response.close)
            return WireResponse(response.status_code, raw_headers, b"", stream=stream)
        return WireResponse(response.status_code, raw_headers, body)


def _environ(request: Request) -> dict[str, Any]:
    """Build the WSGI environ: the request's ``META`` with what a WSGI server adds."""
    environ = request.META
    target = request.target
    cut = target.find(b"?")
    raw_path = target if cut < 0 else target[:cut]
    # PEP 3333: PATH_INFO holds the decoded bytes as latin-1; Django re-reads them as UTF-8.
    environ["PATH_INFO"] = (
        unquote_to_bytes(raw_path).decode("latin-1")
        if b"%" in raw_path
        else raw_path.decode("latin-1")
    )
    environ["SCRIPT_NAME"] = ""
    # The server has already de-chunked the body; Django reads exactly CONTENT_LENGTH bytes.
    # A spooled body is read from its file as Django asks for it, never loaded whole.
    body_file = request.body_file
    if body_file is not None:
        environ["CONTENT_LENGTH"] = str(body_file.size)
        environ["wsgi.input"] = body_file.reader()
    else:
        environ["CONTENT_LENGTH"] = str(len(request.body))
        environ["wsgi.input"] = io.BytesIO(request.body)
    environ.setdefault("SERVER_NAME", "localhost")
    environ.setdefault("SERVER_PORT", "443" if request.scheme == "https" else "80")
    environ["wsgi.version"] = _WSGI_VERSION
    environ["wsgi.url_scheme"] = request.scheme
    environ["wsgi.errors"] = sys.stderr
    environ["wsgi.multithread"] = True
    environ["wsgi.multiprocess"] = True
    environ["wsgi.run_once"] = False
    return environ


def _call_django(
    handler: WSGIHandler, environ: dict[str, Any]
) -> tuple[HttpResponseBase, bytes | None]:
    """Call Django in the pool: the response and, unless it streams, its body.

    The status and headers are read from the response itself (convert.py), as for any Django
    response. A buffered response is closed here, on the thread that ran the view: ``close()``
    sends ``request_finished``, which lets go of that thread's database connections.
    """

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        return None

    response: HttpResponseBase = handler(environ, start_response)
    if response.streaming:
        prepare_stream(response)
        return response, None
    try:
        body = b"" if getattr(response, "_bolt_unresolved", False) else response.content
    finally:
        response.close()
    return response, body
