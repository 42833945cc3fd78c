"""Django-Bolt 0.13 compatibility of ``@skip_middleware``, ``rate_limit(key=...)`` and wrappers.

* ``@skip_middleware("*")`` leaves every Django middleware in place (CSRF included); a Django
  middleware is skipped by the name of its class only.
* ``rate_limit(key="x-tenant")``: a plain header name is a key, as ``"header:x-tenant"`` is;
  callers without the header share one bucket.
* Separate ``DjangoMiddleware`` entries in a row share one Django request.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.middleware.csrf import CsrfViewMiddleware

from django_bolt import BoltAPI, Request
from django_bolt.middleware import (
    BaseMiddleware,
    DjangoMiddleware,
    DjangoMiddlewareStack,
    middleware,
    rate_limit,
    skip_middleware,
)
from django_bolt.middleware.rate_limit import RateLimitSpec
from django_bolt.testing import TestClient
from tests.auth.test_session import _session_cookie as login_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"


class Marking(BaseMiddleware):
    """A Bolt middleware that leaves a header on the response."""

    async def process_request(self, request):
        response = await self.get_response(request)
        response.headers["X-Marked"] = "1"
        return response


def _csrf_routes(api: BoltAPI) -> None:
    @api.post("/plain")
    async def plain():
        return {"ok": True}

    @api.post("/all")
    @skip_middleware("*")
    async def everything():
        return {"ok": True}

    @api.post("/named")
    @skip_middleware("CsrfViewMiddleware")
    async def named(request: Request):
        # Only CSRF is gone: the session middleware before it still ran.
        return {"session": hasattr(request.state.django_request, "session")}

    @api.post("/dotted")
    @skip_middleware(CSRF)
    async def dotted():
        return {"ok": True}

    @api.post("/by-class")
    @skip_middleware(CsrfViewMiddleware)
    async def by_class():
        return {"ok": True}

    @api.post("/django")
    @skip_middleware("django")
    async def no_django():
        return {"ok": True}


@pytest.mark.parametrize(
    "options",
    [
        {"django_middleware": True},
        {"django_middleware": [SESSIONS, CSRF, AUTH]},
        {"middleware": [DjangoMiddlewareStack([SESSIONS, CSRF, AUTH])]},
        {"middleware": [DjangoMiddleware(SESSIONS), DjangoMiddleware(CsrfViewMiddleware)]},
    ],
    ids=["settings", "list", "stack", "wrappers"],
)
def test_star_keeps_django_middleware_and_the_class_name_skips_it(options):
    api = BoltAPI(**options)
    _csrf_routes(api)
    with TestClient(api) as client:
        assert client.post("/plain").status_code == 403
        # "*" cannot take the CSRF check off a route.
        assert client.post("/all").status_code == 403
        named = client.post("/named")
        assert (named.status_code, named.json()) == (200, {"session": True})
        # Django middleware are named by their class, not by their dotted path.
        assert client.post("/dotted").status_code == 403
        assert client.post("/by-class").status_code == 200
        assert client.post("/django").status_code == 200


def test_star_still_skips_bolt_middleware_in_front_of_django():
    api = BoltAPI(django_middleware=[SESSIONS, CSRF], middleware=[Marking])

    @api.get("/marked")
    async def marked():
        return {}

    @api.get("/unmarked")
    @skip_middleware("*")
    async def unmarked():
        return {}

    @api.post("/refused")
    @skip_middleware("*")
    async def refused():
        return {}

    with TestClient(api) as client:
        assert client.get("/marked").headers["x-marked"] == "1"
        response = client.get("/unmarked")
        assert response.status_code == 200
        assert "x-marked" not in response.headers
        assert "csrftoken" not in response.headers.get("set-cookie", "")
        assert client.post("/refused").status_code == 403


def test_bolt_middleware_is_skipped_by_its_dotted_path():
    @middleware
    async def tagging(request, call_next):
        response = await call_next(request)
        response.headers["X-Tagged"] = "1"
        return response

    api = BoltAPI(middleware=[Marking])

    @api.get("/x")
    @skip_middleware(f"{Marking.__module__}.{Marking.__qualname__}")
    @skip_middleware(f"{tagging.func.__module__}.{tagging.func.__qualname__}")
    @tagging
    async def x():
        return {}

    with TestClient(api) as client:
        headers = client.get("/x").headers
    assert not {"x-marked", "x-tagged"} & set(headers)


# --- rate_limit(key="<header name>") -------------------------------------------------------------


def _limited(key: str) -> BoltAPI:
    api = BoltAPI()

    @api.get("/limited")
    @rate_limit(rps=1, burst=1, key=key)
    async def limited():
        return {"ok": True}

    return api


def _statuses(client, count: int, **headers: str) -> list[int]:
    return [client.get("/limited", headers=headers).status_code for _ in range(count)]


@pytest.mark.parametrize("key", ["x-tenant", "X-Tenant", "header:x-tenant"])
def test_a_header_name_is_a_key_and_callers_without_it_share_one_bucket(key):
    api = _limited(key)
    with TestClient(api) as client:
        assert _statuses(client, 2, **{"X-Tenant": "a"}) == [200, 429]
        assert _statuses(client, 2, **{"x-tenant": "b"}) == [200, 429]
        # The address does not separate callers without the header (trusted loopback proxy).
        assert _statuses(client, 1, **{"X-Forwarded-For": "203.0.113.1"}) == [200]
        assert _statuses(client, 1, **{"X-Forwarded-For": "203.0.113.2"}) == [429]
        # Nor does it join callers with the same value.
        tenant = {"X-Tenant": "c"}
        assert _statuses(client, 1, **tenant, **{"X-Forwarded-For": "203.0.113.1"}) == [200]
        assert _statuses(client, 1, **tenant, **{"X-Forwarded-For": "203.0.113.2"}) == [429]


def test_header_keys_run_before_auth_and_named_keys_keep_their_meaning():
    assert RateLimitSpec(1, 1, "x-tenant").phase == "before_auth"
    assert RateLimitSpec(1, 1, "ip").phase == "before_auth"
    assert RateLimitSpec(1, 1, "user").phase == "after_auth"
    assert RateLimitSpec(1, 1, "api_key").phase == "after_auth"
    api = BoltAPI(middleware=[{"type": "rate_limit", "rps": 1, "burst": 1, "key": "x-team"}])

    @api.get("/limited")
    async def limited():
        return {}

    with TestClient(api) as client:
        assert _statuses(client, 2, **{"X-Team": "red"}) == [200, 429]
        assert _statuses(client, 1, **{"X-Team": "blue"}) == [200]


def test_header_names_are_checked_in_both_spellings():
    for key in ("x-tenant", "X_Team.v2", "header:x-tenant", "header: X-Tenant"):
        rate_limit(rps=1, key=key)
    for key in ("", "header:", "x tenant", "x-tenant:", "header:a b", "\u00e9", None, 7):
        with pytest.raises(ImproperlyConfigured, match="rate_limit key"):
            rate_limit(rps=1, key=key)


# --- consecutive DjangoMiddleware wrappers ------------------------------------------------------


def test_separate_wrappers_share_the_django_request():
    api = BoltAPI(
        middleware=[
            DjangoMiddleware(SessionMiddleware),
            DjangoMiddleware(AuthenticationMiddleware),
        ]
    )

    @api.get("/me")
    async def me(request: Request):
        user = request.user
        return {"auth": user.is_authenticated, "name": user.get_username()}

    cookie = login_cookie()
    with TestClient(api) as client:
        anonymous = client.get("/me")
        assert (anonymous.status_code, anonymous.json()) == (200, {"auth": False, "name": ""})
        response = client.get("/me", headers={"Cookie": f"sessionid={cookie}"})
    assert response.json() == {"auth": True, "name": "ann"}


def test_wrappers_apart_in_the_list_share_the_django_request_too():
    seen = []

    class Between(BaseMiddleware):
        async def process_request(self, request):
            seen.append(request.state.django_request)
            return await self.get_response(request)

    api = BoltAPI(middleware=[DjangoMiddleware(SESSIONS), Between, DjangoMiddleware(AUTH)])

    @api.post("/write", inline=False)
    def write(request: Request):
        django_request = request.state.django_request
        django_request.session["seen"] = True
        return {"same": django_request is seen[-1], "auth": request.user.is_authenticated}

    with TestClient(api) as client:
        response = client.post("/write")
    assert response.json() == {"same": True, "auth": False}
    assert "sessionid=" in response.headers["set-cookie"]
