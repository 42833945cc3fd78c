"""Django's middleware around API routes: sessions, auth, CSRF, messages and custom middleware."""

from __future__ import annotations

import gzip

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


# --- custom Django middleware, sync and async -----------------------------------------------------


class SyncShortCircuit:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.headers.get("X-Stop"):
            return HttpResponse("stopped by sync", status=418)
        return self.get_response(request)


class SyncAddHeader:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Sync"] = "1"
        return response


class AsyncShortCircuit:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        if request.headers.get("X-Stop"):
            return HttpResponse("stopped by async", status=418)
        return await self.get_response(request)


class AsyncAddHeader:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        response = await self.get_response(request)
        response["X-Async"] = "1"
        return response


class Denying:
    def __init__(self, get_response):
        self.get_response = get_response

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


def test_include_exclude_and_skip(settings):
    settings.MIDDLEWARE = [SESSIONS, f"{HERE}.SyncAddHeader", f"{HERE}.AsyncAddHeader"]
    included = BoltAPI(django_middleware={"include": [f"{HERE}.SyncAddHeader"]})
    excluded = BoltAPI(django_middleware={"exclude": [f"{HERE}.SyncAddHeader"]})
    for api in (included, excluded):

        @api.get("/x")
        async def x():
            return {}

        @api.get("/skipped")
        @skip_middleware("django")
        async def skipped():
            return {}

    with TestClient(included) as client:
        headers = client.get("/x").headers
        assert ("x-sync" in headers, "x-async" in headers) == (True, False)
        assert "x-sync" not in client.get("/skipped").headers
    with TestClient(excluded) as client:
        headers = client.get("/x").headers
        assert ("x-sync" in headers, "x-async" in headers) == (False, True)


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
