"""Django's middleware around API routes: sessions, auth, CSRF, messages and custom middleware."""

from __future__ import annotations

import gzip
from typing import ClassVar

import pytest
from asgiref.sync import markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from django_bolt import BoltAPI, Request
from django_bolt.exceptions import HTTPException
from django_bolt.middleware import DjangoMiddleware, DjangoMiddlewareStack, skip_middleware
from django_bolt.testing import TestClient
from tests.auth.test_session import _session_cookie as login_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
MESSAGES = "django.contrib.messages.middleware.MessageMiddleware"
HERE = __name__
# The headers the custom middleware below add.
MARKERS = ("x-sync", "x-async", "x-value")


# --- custom Django middleware, sync and async -----------------------------------------------------


class SyncStyle:
    """A plain Django middleware: sync only, as most are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


class AsyncStyle:
    """An async-only Django middleware: its ``get_response`` and hooks are coroutines."""

    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        return await self.get_response(request)


class SyncShortCircuit(SyncStyle):
    def __call__(self, request):
        if request.headers.get("X-Stop"):
            return HttpResponse("stopped by sync", status=418)
        return self.get_response(request)


class SyncAddHeader(SyncStyle):
    def __call__(self, request):
        response = self.get_response(request)
        response["X-Sync"] = "1"
        return response


class AsyncShortCircuit(AsyncStyle):
    async def __call__(self, request):
        if request.headers.get("X-Stop"):
            return HttpResponse("stopped by async", status=418)
        return await self.get_response(request)


class AsyncAddHeader(AsyncStyle):
    async def __call__(self, request):
        response = await self.get_response(request)
        response["X-Async"] = "1"
        return response


class Denying(SyncStyle):
    def __call__(self, request):
        from django.core.exceptions import PermissionDenied

        if request.headers.get("X-Deny"):
            raise PermissionDenied
        return self.get_response(request)


class Configurable:
    def __init__(self, get_response, value="default"):
        self.get_response = get_response
        self.value = value

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Value"] = self.value
        return response


# --- sessions, auth, CSRF, messages -------------------------------------------------------------


def test_session_round_trip():
    api = BoltAPI(django_middleware=[SESSIONS])

    @api.post("/visit", inline=False)
    def visit(request: Request):
        session = request.state.django_request.session
        session["visits"] = session.get("visits", 0) + 1
        return {"visits": session["visits"]}

    with TestClient(api) as client:
        first = client.post("/visit")
        assert first.json() == {"visits": 1}
        assert "sessionid=" in first.headers["set-cookie"]
        # httpx keeps the cookie: the second request reads the saved session back.
        assert client.post("/visit").json() == {"visits": 2}
        assert client.post("/visit").json() == {"visits": 3}


@pytest.mark.parametrize("is_async", [False, True], ids=["def", "async"])
def test_request_session_is_the_middleware_session_saved_once(is_async):
    """request.session is the session SessionMiddleware manages; it alone saves it, so the
    response carries one session cookie, and the next request reads the change back."""
    api = BoltAPI(django_middleware=[SESSIONS])

    def count(request: Request) -> dict[str, object]:
        request.session["seen"] = request.session.get("seen", 0) + 1
        return {
            "same": request.session is request.state.django_request.session,
            "seen": request.session["seen"],
        }

    if is_async:

        @api.post("/visit")
        async def visit_async(request: Request):
            # A database session loads on first read: async code uses its async API.
            seen = await request.session.aget("seen", 0) + 1
            await request.session.aset("seen", seen)
            return {"same": request.session is request.state.django_request.session, "seen": seen}

    else:

        @api.post("/visit", inline=False)
        def visit(request: Request):
            return count(request)

    with TestClient(api) as client:
        first = client.post("/visit")
        assert first.json() == {"same": True, "seen": 1}
        cookies = first.headers.get_list("set-cookie")
        assert len([c for c in cookies if c.startswith("sessionid=")]) == 1, cookies
        assert client.post("/visit").json() == {"same": True, "seen": 2}


def test_authenticated_user_is_visible_in_async_handlers():
    api = BoltAPI(django_middleware=True)

    @api.get("/me")
    async def me(request: Request):
        user = request.user
        return {"auth": user.is_authenticated, "name": user.get_username()}

    cookie = login_cookie()
    with TestClient(api) as client:
        assert client.get("/me").json() == {"auth": False, "name": ""}
        response = client.get("/me", headers={"Cookie": f"sessionid={cookie}"})
    assert response.json() == {"auth": True, "name": "ann"}


def test_csrf_refuses_unsafe_requests_without_token_and_honours_csrf_exempt():
    api = BoltAPI(django_middleware=[SESSIONS, CSRF])

    @api.post("/guarded")
    async def guarded():
        return {"ok": True}

    @api.post("/exempt")
    @csrf_exempt
    async def exempt(request: Request):  # Django's wrapper passes the request on
        return {"ok": True}

    @api.get("/read")
    async def read():
        return {"ok": True}

    token = "a" * 32
    with TestClient(api) as client:
        assert client.post("/guarded").status_code == 403
        assert client.get("/read").status_code == 200
        assert client.post("/exempt").json() == {"ok": True}
        allowed = client.post(
            "/guarded", headers={"Cookie": f"csrftoken={token}", "X-CSRFToken": token}
        )
        assert allowed.json() == {"ok": True}


def test_messages_round_trip():
    from django.contrib import messages

    api = BoltAPI(django_middleware=[SESSIONS, AUTH, MESSAGES])

    @api.post("/say", inline=False)
    def say(request: Request, text: str):
        messages.info(request.state.django_request, text)
        return {}

    @api.get("/read", inline=False)
    def read(request: Request):
        return [m.message for m in messages.get_messages(request.state.django_request)]

    with TestClient(api) as client:
        client.post("/say?text=hello")
        client.post("/say?text=again")
        assert client.get("/read").json() == ["hello", "again"]
        assert client.get("/read").json() == []  # read once, then gone


# --- custom middleware ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Sync", "Async"])
def test_custom_middleware_short_circuits_and_adds_headers(kind):
    calls = []
    api = BoltAPI(
        django_middleware=[f"{HERE}.{kind}ShortCircuit", f"{HERE}.{kind}AddHeader"],
    )

    @api.get("/x")
    async def x():
        calls.append(1)
        return {"ok": True}

    with TestClient(api) as client:
        stopped = client.get("/x", headers={"X-Stop": "1"})
        assert (stopped.status_code, stopped.text) == (418, f"stopped by {kind.lower()}")
        assert calls == []
        response = client.get("/x")
    assert response.json() == {"ok": True}
    assert response.headers[f"x-{kind.lower()}"] == "1"
    assert calls == [1]


def test_wrappers_in_the_middleware_list_with_options():
    api = BoltAPI(
        middleware=[
            DjangoMiddleware(Configurable, value="given"),
            DjangoMiddlewareStack([SyncAddHeader, f"{HERE}.AsyncAddHeader"]),
        ]
    )

    @api.get("/x")
    async def x():
        return {}

    @api.get("/bare")
    @skip_middleware("django")
    async def bare():
        return {}

    @api.get("/partly")
    @skip_middleware("Configurable")
    async def partly():
        return {}

    with TestClient(api) as client:
        response = client.get("/x")
        bare_headers = client.get("/bare").headers
        partly_headers = client.get("/partly").headers
    assert response.headers["x-value"] == "given"
    assert response.headers["x-sync"] == response.headers["x-async"] == "1"
    assert not {"x-value", "x-sync", "x-async"} & set(bare_headers)
    assert ("x-value" in partly_headers, "x-sync" in partly_headers) == (False, True)


def _markers(api: BoltAPI) -> tuple[set[str], set[str]]:
    """The marker headers on a route of ``api`` and on one with ``@skip_middleware("django")``."""

    @api.get("/x")
    async def x():
        return {}

    @api.get("/skipped")
    @skip_middleware("django")
    async def skipped():
        return {}

    with TestClient(api) as client:
        found = [client.get(path).headers for path in ("/x", "/skipped")]
    return tuple({name for name in MARKERS if name in headers} for headers in found)


def test_include_exclude_and_skip(settings):
    settings.MIDDLEWARE = [SESSIONS, f"{HERE}.SyncAddHeader", f"{HERE}.AsyncAddHeader"]
    included = BoltAPI(django_middleware={"include": [f"{HERE}.SyncAddHeader"]})
    excluded = BoltAPI(django_middleware={"exclude": [f"{HERE}.SyncAddHeader"]})
    assert _markers(included) == ({"x-sync"}, set())
    assert _markers(excluded) == ({"x-async"}, set())


def test_configuration_errors():
    api = BoltAPI(django_middleware={"include": ["not.in.MIDDLEWARE"]})

    @api.get("/x")
    async def x():
        return {}

    with pytest.raises(ImproperlyConfigured, match=r"not in settings\.MIDDLEWARE"):
        api.compile()
    broken = BoltAPI(django_middleware=["no.such.Middleware"])

    @broken.get("/x")
    async def y():
        return {}

    with pytest.raises(ImproperlyConfigured, match="cannot import"):
        broken.compile()
    with pytest.raises(TypeError):
        BoltAPI(django_middleware={"include": [], "exclude": []})
    with pytest.raises(TypeError):
        BoltAPI(django_middleware="yes")


def test_handler_errors_pass_through_django_middleware_to_the_api():
    api = BoltAPI(django_middleware=[SESSIONS, f"{HERE}.SyncAddHeader"])

    @api.get("/denied")
    async def denied():
        raise HTTPException(403, "nope")

    @api.get("/bug")
    async def bug():
        raise RuntimeError("bug")

    with TestClient(api, raise_server_exceptions=False) as client:
        denied_response = client.get("/denied")
        bug_response = client.get("/bug")
    assert (denied_response.status_code, denied_response.json()) == (403, {"detail": "nope"})
    assert (bug_response.status_code, bug_response.json()) == (
        500,
        {"detail": "Internal Server Error"},
    )


def test_django_exceptions_from_django_middleware_get_djangos_answer():
    api = BoltAPI(django_middleware=[f"{HERE}.SyncAddHeader", f"{HERE}.Denying"])

    @api.get("/x")
    async def x():
        return {}

    with TestClient(api) as client:
        denied = client.get("/x", headers={"X-Deny": "1"})
        assert client.get("/x").status_code == 200
    assert denied.status_code == 403
    # Converted where it was raised, so the middleware outside still saw a response.
    assert denied.headers["x-sync"] == "1"


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_streaming_responses_through_django_middleware(kind):
    from django_bolt.responses import StreamingResponse

    api = BoltAPI(
        django_middleware=["django.middleware.gzip.GZipMiddleware", f"{HERE}.SyncAddHeader"]
    )

    @api.get("/stream")
    async def stream():
        if kind == "sync":
            return StreamingResponse(iter([b"chunk-%d," % i for i in range(50)]))

        async def chunks():
            for i in range(50):
                yield b"chunk-%d," % i

        return StreamingResponse(chunks())

    expected = "".join(f"chunk-{i}," for i in range(50))
    with TestClient(api) as client:
        with client.stream("GET", "/stream", headers={"Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
        plain = client.get("/stream", headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    # Django gzips an async stream chunk by chunk (one gzip member each): gzip reads them all.
    assert gzip.decompress(raw).decode() == expected
    assert "content-encoding" not in plain.headers
    assert plain.text == expected
    assert plain.headers["x-sync"] == "1"


def test_off_by_default(settings):
    api = BoltAPI()

    @api.get("/x")
    async def x():
        return {}

    assert api.compile().match("/x")[0].methods["GET"].policy is None


def test_through_the_server_protocol():
    """The server runs a request's first step outside a Task on 3.11: the stack still works."""
    import asyncio

    from tests.server.conftest import Driver

    api = BoltAPI(django_middleware=[SESSIONS, f"{HERE}.SyncAddHeader", f"{HERE}.AsyncAddHeader"])

    @api.get("/x")
    async def x():
        return {"ok": True}

    loop = asyncio.new_event_loop()
    try:
        driver = Driver(loop, app=api)
        out = driver.feed(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
    finally:
        loop.close()
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nx-sync: 1\r\n" in out.lower()
    assert b"\r\nx-async: 1\r\n" in out.lower()
    assert out.endswith(b'{"ok":true}')


# --- process_exception ----------------------------------------------------------------------------


class SyncReporting(SyncStyle):
    """Reports what failed, answers nothing: the way an error-reporting middleware behaves."""

    reported: ClassVar[list[str]] = []

    def process_exception(self, request, exception):
        self.reported.append(type(exception).__name__)


class AsyncReporting(AsyncStyle):
    reported: ClassVar[list[str]] = []

    async def process_exception(self, request, exception):
        self.reported.append(type(exception).__name__)


def _rescue(exception):
    """What the Rescue middleware do with an exception (the same for both styles)."""
    if isinstance(exception, LookupError):
        return HttpResponse(f"rescued {exception.args[0]}", status=503)
    if isinstance(exception, ArithmeticError):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied  # a hook's own exception: answered where it is raised
    if isinstance(exception, TypeError):
        raise exception  # re-raised: still the API's to answer
    return None


class SyncRescue(SyncStyle):
    def __call__(self, request):
        response = self.get_response(request)
        response["X-Rescue-Phase"] = "1"
        return response

    def process_exception(self, request, exception):
        return _rescue(exception)


class AsyncRescue(AsyncStyle):
    async def __call__(self, request):
        response = await self.get_response(request)
        response["X-Rescue-Phase"] = "1"
        return response

    async def process_exception(self, request, exception):
        return _rescue(exception)


@pytest.fixture
def reported():
    SyncReporting.reported.clear()
    AsyncReporting.reported.clear()
    yield
    SyncReporting.reported.clear()
    AsyncReporting.reported.clear()


def _failing_routes(api: BoltAPI) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    failures = {
        "bug": RuntimeError("bug"),
        "missing": Http404("no such thing"),
        "forbidden": PermissionDenied(),
        "taken": HTTPException(409, "taken"),
        "lookup": LookupError("the cache"),
        "arith": ZeroDivisionError(),
        "type": TypeError("bad"),
    }

    @api.get("/fail/{what}")
    async def fail(what: str):
        raise failures[what]

    @api.get("/typed")
    async def typed(n: int):
        return {"n": n}


@pytest.mark.parametrize("kind", ["Sync", "Async"])
def test_process_exception_sees_failures_and_the_api_still_answers(kind, reported):
    api = BoltAPI(django_middleware=[f"{HERE}.{kind}Reporting"])
    _failing_routes(api)
    seen = SyncReporting.reported if kind == "Sync" else AsyncReporting.reported

    with TestClient(api, raise_server_exceptions=False) as client:
        bug = client.get("/fail/bug")
        missing = client.get("/fail/missing")
        forbidden = client.get("/fail/forbidden")
        taken = client.get("/fail/taken")
        invalid = client.get("/typed?n=x")
    # Nobody answered: the API's own error shape.
    assert (bug.status_code, bug.json()) == (500, {"detail": "Internal Server Error"})
    assert (missing.status_code, missing.json()) == (404, {"detail": "no such thing"})
    assert forbidden.status_code == 403
    assert (taken.status_code, taken.json()) == (409, {"detail": "taken"})
    assert invalid.status_code == 422
    # Django's own exceptions reach the hooks as under Django; HTTPException and 422 do not.
    assert seen == ["RuntimeError", "Http404", "PermissionDenied"]


@pytest.mark.parametrize("kind", ["Sync", "Async"])
def test_process_exception_answer_wins_innermost_first(kind, reported):
    api = BoltAPI(
        django_middleware=[
            f"{HERE}.SyncAddHeader",
            f"{HERE}.{kind}Reporting",
            f"{HERE}.{kind}Rescue",
        ]
    )
    _failing_routes(api)
    seen = SyncReporting.reported if kind == "Sync" else AsyncReporting.reported

    with TestClient(api, raise_server_exceptions=False) as client:
        rescued = client.get("/fail/lookup")
        assert seen == []  # the inner hook answered: the outer one was not asked
        bug = client.get("/fail/bug")
        converted = client.get("/fail/arith")
        reraised = client.get("/fail/type")
    assert (rescued.status_code, rescued.text) == (503, "rescued the cache")
    # The answer went through every middleware's response phase, its own included.
    assert rescued.headers["x-rescue-phase"] == rescued.headers["x-sync"] == "1"
    assert (bug.status_code, bug.json()) == (500, {"detail": "Internal Server Error"})
    # A hook that raises something else is answered as Django answers it, and the response
    # phases still run; one that re-raises hands the exception back to the API.
    assert converted.status_code == 403
    assert converted.headers["x-rescue-phase"] == converted.headers["x-sync"] == "1"
    assert (reraised.status_code, reraised.json()) == (500, {"detail": "Internal Server Error"})
    # A hook that raises ends the round, as in Django: the outer hook only saw the bug.
    assert seen == ["RuntimeError"]


# --- process_template_response -------------------------------------------------------------------


class SyncTemplates(SyncStyle):
    """Answers with deferred TemplateResponses from its hooks; edits them before rendering."""

    edited: ClassVar[list[str]] = []

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.headers.get("X-Template"):
            return _greeting(request, "view", 200)
        return None

    def process_exception(self, request, exception):
        return _greeting(request, type(exception).__name__, 500)

    def process_template_response(self, request, response):
        self.edited.append(response.context_data["name"])
        response.context_data["name"] = response.context_data["name"].upper()
        return response


class AsyncTemplates(AsyncStyle, SyncTemplates):
    async def process_view(self, request, view_func, view_args, view_kwargs):
        return super().process_view(request, view_func, view_args, view_kwargs)

    async def process_exception(self, request, exception):
        return super().process_exception(request, exception)

    async def process_template_response(self, request, response):
        return super().process_template_response(request, response)


def _greeting(request, name: str, status: int):
    from django.template import engines
    from django.template.response import TemplateResponse

    template = engines["django"].from_string("Hello {{ name }}")
    return TemplateResponse(request, template, {"name": name}, status=status)


@pytest.mark.parametrize("kind", ["Sync", "Async"])
def test_template_responses_from_hooks_are_edited_then_rendered(kind):
    SyncTemplates.edited.clear()
    api = BoltAPI(django_middleware=[f"{HERE}.{kind}Templates", f"{HERE}.SyncAddHeader"])

    @api.get("/x")
    async def x():
        return {"ok": True}

    @api.get("/bug")
    async def bug():
        raise RuntimeError("bug")

    with TestClient(api) as client:
        plain = client.get("/x")
        assert SyncTemplates.edited == []  # our handler's response is not a template
        from_view = client.get("/x", headers={"X-Template": "1"})
        from_exception = client.get("/bug")
    assert plain.json() == {"ok": True}
    assert plain.headers["x-sync"] == "1"
    assert (from_view.status_code, from_view.text) == (200, "Hello VIEW")
    assert (from_exception.status_code, from_exception.text) == (500, "Hello RUNTIMEERROR")
    # The exception's answer went out through the response phase of the middleware inside.
    assert from_exception.headers["x-sync"] == "1"
    assert SyncTemplates.edited == ["view", "RuntimeError"]


# --- @csrf_exempt ---------------------------------------------------------------------------------


def test_csrf_exempt_on_handlers_of_any_signature():
    api = BoltAPI(django_middleware=[SESSIONS, CSRF])

    @api.post("/bare")
    @csrf_exempt
    async def bare():
        return {"ok": True}

    @api.post("/typed")
    @csrf_exempt
    def typed(n: int, req: Request):
        return {"n": n, "path": req.path}

    @api.post("/guarded")
    def guarded(n: int):
        return {"n": n}

    with TestClient(api) as client:
        bare_response = client.post("/bare")
        typed_response = client.post("/typed?n=3")
        invalid = client.post("/typed?n=x")
        refused = client.post("/guarded?n=1")
    assert (bare_response.status_code, bare_response.json()) == (200, {"ok": True})
    assert typed_response.json() == {"n": 3, "path": "/typed"}
    assert invalid.status_code == 422  # bound by the handler's own signature
    assert refused.status_code == 403


# --- Django-Bolt 0.13's load_django_middleware ----------------------------------------------------


def test_load_django_middleware_as_in_django_bolt(settings, monkeypatch):
    import importlib

    from django_bolt.middleware import django_loader
    from django_bolt.middleware.django_loader import (
        get_django_middleware_setting,
        load_django_middleware,
    )

    package = importlib.import_module("django_bolt.middleware")
    assert package.load_django_middleware is load_django_middleware
    sync_path, async_path = f"{HERE}.SyncAddHeader", f"{HERE}.AsyncAddHeader"
    settings.MIDDLEWARE = [SESSIONS, sync_path, async_path]
    assert get_django_middleware_setting() == [SESSIONS, sync_path, async_path]

    def served(entries):
        found, skipped = _markers(BoltAPI(middleware=entries))
        assert skipped == set()
        return found

    everything = load_django_middleware()
    assert [type(entry) for entry in everything] == [DjangoMiddlewareStack]
    assert served(everything) == {"x-sync", "x-async"}
    both = {"include": [sync_path, async_path], "exclude": [async_path]}
    assert served(load_django_middleware(both)) == {"x-sync"}
    # A list is exactly these paths, listed in settings.MIDDLEWARE or not.
    assert served(load_django_middleware([f"{HERE}.Configurable"])) == {"x-value"}
    monkeypatch.setattr(django_loader, "DEFAULT_EXCLUDED_MIDDLEWARE", {sync_path})
    assert served(load_django_middleware()) == {"x-async"}
    assert served(load_django_middleware(exclude_defaults=False)) == {"x-sync", "x-async"}

    assert load_django_middleware(False) == load_django_middleware(None) == []
    assert load_django_middleware({"include": ["not.listed.Middleware"]}) == []
    with pytest.raises(ImportError):
        load_django_middleware(["no.such.Middleware"])
    with pytest.raises(ImproperlyConfigured):
        load_django_middleware([SyncAddHeader])
    with pytest.raises(ImproperlyConfigured):
        load_django_middleware({"exclude": sync_path})
