"""``request.session``, ``request.user`` and ``await request.auser()`` on every session engine."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import pytest

from django_bolt import BoltAPI
from django_bolt.auth import IsAuthenticated, SessionAuthentication
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "c" * 32
ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cache": "django.contrib.sessions.backends.cache",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}


@pytest.fixture(params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, settings: Any) -> str:
    settings.SESSION_ENGINE = ENGINES[request.param]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"sessions-{uuid.uuid4().hex}",
        }
    }
    return str(request.param)


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/sync/set")
    def sync_set(request, value: str) -> dict[str, str]:
        request.session["value"] = value
        return {"set": value}

    @api.get("/sync/get")
    def sync_get(request) -> dict[str, Any]:
        return {"value": request.session.get("value")}

    @api.post("/async/set")
    async def async_set(request, value: str) -> dict[str, str]:
        await request.session.aset("value", value)
        return {"set": value}

    @api.get("/async/get")
    async def async_get(request) -> dict[str, Any]:
        return {"value": await request.session.aget("value")}

    @api.post("/sync/flush")
    def sync_flush(request) -> dict[str, bool]:
        request.session.flush()
        return {"flushed": True}

    @api.get("/untouched")
    async def untouched(request) -> dict[str, bool]:
        return {"ok": True}

    @api.get("/fails")
    def fails(request) -> dict[str, bool]:
        request.session["value"] = "lost"
        raise RuntimeError("boom")

    return api


def _cookies(values: dict[str, str]) -> dict[str, str]:
    """A Cookie header (the test client's own jar is not used: each request says what it sends)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in values.items())}


def _set_cookie(response: httpx.Response, name: str = "sessionid") -> Any:
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie(header)
        if name in cookie:
            return cookie[name]
    return None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_modified_session_is_saved_and_its_cookie_set(engine: str, kind: str) -> None:
    with TestClient(_api()) as client:
        response = client.post(f"/{kind}/set", params={"value": "blue"})
        assert response.status_code == 200, response.text
        morsel = _set_cookie(response)
        assert morsel is not None and morsel.value
        # SessionMiddleware's attributes from the default SESSION_COOKIE_* settings.
        assert morsel["path"] == "/"
        assert morsel["httponly"] is True
        assert morsel["samesite"] == "Lax"
        assert int(morsel["max-age"]) == 1209600
        assert morsel["expires"]
        assert "Cookie" in response.headers["vary"]
        jar = {"sessionid": morsel.value}
        # The saved data comes back through either kind of handler.
        for reader in ("sync", "async"):
            again = client.get(f"/{reader}/get", headers=_cookies(jar))
            assert again.json() == {"value": "blue"}
            # Read, not changed: no new cookie, but the answer depends on the cookie.
            assert _set_cookie(again) is None
            assert again.headers["vary"] == "Cookie"


def test_untouched_session_costs_no_cookie_and_no_vary(engine: str) -> None:
    with TestClient(_api()) as client:
        response = client.get("/untouched", headers=_cookies({"sessionid": "whatever"}))
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert "vary" not in response.headers


def test_flushed_session_deletes_the_cookie(engine: str) -> None:
    with TestClient(_api()) as client:
        cookie = _set_cookie(client.post("/sync/set", params={"value": "x"})).value
        response = client.post("/sync/flush", headers=_cookies({"sessionid": cookie}))
        morsel = _set_cookie(response)
        assert morsel is not None
        assert morsel.value == ""
        assert morsel["max-age"] == "0"
        assert "1970" in morsel["expires"]
        if engine != "signed_cookies":  # a signed cookie cannot be revoked server-side
            stale = client.get("/sync/get", headers=_cookies({"sessionid": cookie}))
            assert stale.json() == {"value": None}


def test_server_error_does_not_save_the_session(engine: str) -> None:
    with TestClient(_api(), raise_server_exceptions=False) as client:
        response = client.get("/fails")
        assert response.status_code == 500
        assert _set_cookie(response) is None


def test_cookie_attributes_follow_the_settings(settings: Any) -> None:
    settings.SESSION_ENGINE = ENGINES["signed_cookies"]
    settings.SESSION_COOKIE_NAME = "bolt_sid"
    settings.SESSION_COOKIE_DOMAIN = "example.com"
    settings.SESSION_COOKIE_PATH = "/api"
    settings.SESSION_COOKIE_SECURE = True
    settings.SESSION_COOKIE_HTTPONLY = False
    settings.SESSION_COOKIE_SAMESITE = "Strict"
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    with TestClient(_api()) as client:
        response = client.post("/sync/set", params={"value": "x"})
        morsel = _set_cookie(response, "bolt_sid")
        assert morsel is not None
        assert morsel["domain"] == "example.com"
        assert morsel["path"] == "/api"
        assert morsel["secure"] is True
        assert not morsel["httponly"]
        assert morsel["samesite"] == "Strict"
        # Expires with the browser: neither max-age nor expires.
        assert not morsel["max-age"] and not morsel["expires"]


def test_save_every_request(settings: Any) -> None:
    settings.SESSION_ENGINE = ENGINES["db"]
    settings.SESSION_SAVE_EVERY_REQUEST = True
    with TestClient(_api()) as client:
        cookie = _set_cookie(client.post("/sync/set", params={"value": "x"})).value
        # Only read, yet saved again and the cookie refreshed.
        response = client.get("/sync/get", headers=_cookies({"sessionid": cookie}))
        assert _set_cookie(response).value == cookie


# --- users ---------------------------------------------------------------------------------------


@pytest.fixture
def user_cookie(engine: str) -> Iterator[str]:
    """A signed-in session for user ``ann`` in the current engine; the cookie value."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import login
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    user = User.objects.create_user("ann", password="pw")
    django_request = RequestFactory().get("/")
    django_request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    login(django_request, user, backend="django.contrib.auth.backends.ModelBackend")
    django_request.session.save()
    yield str(django_request.session.session_key)


def _user_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/sync/me")
    def sync_me(request) -> dict[str, Any]:
        return {"user": request.user.username, "auth": request.user.is_authenticated}

    @api.get("/async/me")
    async def async_me(request) -> dict[str, Any]:
        # On the event loop request.user makes no query: anonymous until auser() resolved it.
        before = request.user.is_authenticated
        user = await request.auser()
        return {"user": user.username, "before": before, "after": request.user.username}

    @api.post("/sync/act")
    def sync_act(request) -> dict[str, str]:
        return {"user": request.user.username}

    @api.post("/async/act")
    async def async_act(request) -> dict[str, str]:
        return {"user": (await request.auser()).username}

    @api.post("/sync/login")
    def sync_login(request, username: str) -> dict[str, str]:
        from django.contrib.auth import authenticate, login

        user = authenticate(request, username=username, password="pw")
        login(request, user)
        return {"user": request.user.username}

    @api.post("/async/login")
    async def async_login(request, username: str) -> dict[str, str]:
        from django.contrib.auth import aauthenticate, alogin

        user = await aauthenticate(request, username=username, password="pw")
        await alogin(request, user)
        return {"user": (await request.auser()).username}

    @api.post("/async/logout")
    async def async_logout(request) -> dict[str, bool]:
        from django.contrib.auth import alogout

        await alogout(request)
        return {"anonymous": (await request.auser()).is_anonymous}

    @api.post("/sync/logout")
    def sync_logout(request) -> dict[str, bool]:
        from django.contrib.auth import logout

        logout(request)
        return {"anonymous": request.user.is_anonymous}

    @api.get("/session-auth", auth=[SessionAuthentication()], guards=[IsAuthenticated()])
    def session_auth(request) -> dict[str, Any]:
        # The auth class loaded the same session object the handler sees.
        return {"user": request.user.username, "same": request.auth is request.session}

    @api.get("/guarded", guards=[IsAuthenticated()])
    async def guarded(request) -> dict[str, str]:
        return {"user": request.user.username}

    return api


def test_session_user_in_sync_and_async_handlers(user_cookie: str) -> None:
    with TestClient(_user_api()) as client:
        jar = {"sessionid": user_cookie}
        assert client.get("/sync/me", headers=_cookies(jar)).json() == {"user": "ann", "auth": True}
        assert client.get("/async/me", headers=_cookies(jar)).json() == {
            "user": "ann",
            "before": False,
            "after": "ann",
        }
        assert client.get("/sync/me").json() == {"user": "", "auth": False}
        assert (
            client.get("/async/me", headers=_cookies({"sessionid": "nonsense"})).json()["user"]
            == ""
        )


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_session_user_on_unsafe_methods_needs_the_csrf_token(user_cookie: str, kind: str) -> None:
    with TestClient(_user_api()) as client:
        jar = {"sessionid": user_cookie}
        refused = client.post(f"/{kind}/act", headers=_cookies(jar))
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("CSRF Failed: ")
        allowed = client.post(
            f"/{kind}/act", headers={**_cookies({**jar, "csrftoken": CSRF}), "X-CSRFToken": CSRF}
        )
        assert allowed.json() == {"user": "ann"}
        # Anonymous requests have no session to ride: no token needed.
        assert client.post(f"/{kind}/act").json() == {"user": ""}


def test_guards_judge_auth_classes_not_the_session(user_cookie: str) -> None:
    with TestClient(_user_api()) as client:
        jar = {"sessionid": user_cookie}
        assert client.get("/guarded", headers=_cookies(jar)).status_code == 401
        response = client.get("/session-auth", headers=_cookies(jar))
        assert response.json() == {"user": "ann", "same": True}
        assert response.headers["vary"] == "Cookie"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_login_and_logout_in_a_handler(engine: str, kind: str) -> None:
    from django.contrib.auth.models import User

    User.objects.create_user("bea", password="pw")
    with TestClient(_user_api()) as client:
        response = client.post(f"/{kind}/login", params={"username": "bea"})
        assert response.json() == {"user": "bea"}
        cookie = _set_cookie(response).value
        jar = {"sessionid": cookie}
        assert client.get("/sync/me", headers=_cookies(jar)).json() == {"user": "bea", "auth": True}
        out = client.post(
            f"/{kind}/logout", headers={**_cookies({**jar, "csrftoken": CSRF}), "X-CSRFToken": CSRF}
        )
        assert out.json() == {"anonymous": True}
        assert _set_cookie(out).value == ""
        if engine != "signed_cookies":  # a signed cookie cannot be revoked server-side
            assert client.get("/sync/me", headers=_cookies(jar)).json() == {
                "user": "",
                "auth": False,
            }


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_cache_sessions_on_redis(redis_url: str, settings: Any, kind: str) -> None:
    prefix = f"bolt-test-{uuid.uuid4().hex}"
    settings.SESSION_ENGINE = ENGINES["cache"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    import redis

    with TestClient(_api()) as client:
        cookie = _set_cookie(client.post(f"/{kind}/set", params={"value": "red"})).value
        read = client.get(f"/{kind}/get", headers=_cookies({"sessionid": cookie}))
        assert read.json() == {"value": "red"}
    server = redis.Redis.from_url(redis_url)
    try:
        keys = server.keys(f"{prefix}:*")
        assert any(cookie.encode() in key for key in keys)
        server.delete(*keys)
    finally:
        server.close()
