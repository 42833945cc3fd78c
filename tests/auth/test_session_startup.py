"""What a route with SessionAuthentication refuses at start-up (0.13's topics/authentication.md,
"Session authentication"): Django's SessionMiddleware without AuthenticationMiddleware or the
reverse, a guard that would let every session user in, and a guard reading a flag the user model
does not have."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI, Router
from django_bolt.auth import (
    APIKeyAuthentication,
    IsAdminUser,
    IsStaff,
    Requires,
    SessionAuthentication,
)
from django_bolt.middleware import DjangoMiddleware, middleware
from django_bolt.testing import TestClient
from tests.auth.test_session import _session_cookie

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _start(api: BoltAPI, **headers: str) -> int:
    """Start ``api`` as the test client does (at its first request); return GET /me's status."""
    with TestClient(api) as client:
        return client.get("/me", headers=headers).status_code


def _me(api: BoltAPI | Router, **route: Any) -> None:
    @api.get("/me", **route)
    async def me(request):
        return {"username": request.user.username}


@pytest.mark.parametrize("alone", [SESSION, AUTH])
def test_one_of_djangos_pair_on_a_session_route_does_not_start(alone):
    name = alone.rsplit(".", 1)[1]
    api = BoltAPI(django_middleware=[alone])
    _me(api, auth=[SessionAuthentication()])
    with pytest.raises(ImproperlyConfigured, match=rf"GET /me \(.*{name} alone"):
        _start(api)
    # Also from a router's or the route's own middleware.
    api = BoltAPI()
    router = Router(middleware=[DjangoMiddleware(alone)])
    _me(router, auth=[SessionAuthentication()])
    api.include_router(router)
    with pytest.raises(ImproperlyConfigured, match=name):
        _start(api)
    api = BoltAPI()

    @api.get("/me", auth=[SessionAuthentication()])
    @middleware(DjangoMiddleware(alone))
    async def me():
        return {}

    with pytest.raises(ImproperlyConfigured, match=name):
        _start(api)


@pytest.mark.django_db(transaction=True)
def test_both_or_neither_of_the_pair_start_and_only_the_session_backend_needs_it():
    cookie = f"sessionid={_session_cookie()}"
    # True: settings.MIDDLEWARE, which has both.
    for stack in ([SESSION, AUTH], True, None):
        api = BoltAPI(django_middleware=stack)
        _me(api, auth=[SessionAuthentication()])
        assert _start(api, Cookie=cookie) == 200
    # Read after settings.MIDDLEWARE is applied.
    only_one = BoltAPI(django_middleware={"exclude": [AUTH]})
    _me(only_one, auth=[SessionAuthentication()])
    with pytest.raises(ImproperlyConfigured, match="SessionMiddleware alone"):
        _start(only_one)
    token_route = BoltAPI(django_middleware={"exclude": [AUTH]})
    _me(token_route, auth=[APIKeyAuthentication(api_keys={"k"})])
    assert _start(token_route, **{"X-API-Key": "k"}) == 200


@pytest.mark.parametrize(
    "guard",
    [
        Requires("role", none_of=["banned"]),
        ~Requires("role", "admin"),
        ~Requires("tenant_id"),
        Requires("role", "admin") | ~Requires("role", "guest"),
    ],
    ids=repr,
)
def test_a_guard_that_lets_every_session_user_in_does_not_start(guard):
    api = BoltAPI()
    _me(api, auth=[SessionAuthentication()], guards=[guard])
    with pytest.raises(ImproperlyConfigured, match=r"GET /me \(.*every session user in.*has no"):
        _start(api)


def test_the_check_follows_the_backend_from_settings(settings):
    settings.BOLT_AUTHENTICATION_CLASSES = ["django_bolt.auth.SessionAuthentication"]
    api = BoltAPI()
    _me(api, guards=[Requires("role", none_of=["banned"])])
    with pytest.raises(ImproperlyConfigured, match="every session user in"):
        _start(api)


@pytest.mark.django_db(transaction=True)
def test_guards_a_session_user_can_answer_still_start():
    cookie = f"sessionid={_session_cookie()}"  # ann: not staff
    api = BoltAPI()
    session = [SessionAuthentication()]
    _me(api, auth=session, guards=[Requires("role", "admin")])

    @api.get("/not-bob", auth=session, guards=[Requires("username", none_of=["bob"])])
    async def not_bob():
        return {}

    @api.get("/not-staff", auth=session, guards=[~Requires("is_staff", True)])
    async def not_staff():
        return {}

    @api.get("/no-perm", auth=session, guards=[Requires("permissions", none_of=["app.x"])])
    async def no_perm():
        return {}

    with TestClient(api) as client:
        # A claim the user model does not have: a session request is refused.
        assert client.get("/me", headers={"Cookie": cookie}).status_code == 403
        for path in ("/not-bob", "/not-staff", "/no-perm"):
            assert client.get(path, headers={"Cookie": cookie}).status_code == 200
    # A token-only route may use none_of on any claim.
    tokens = BoltAPI()
    keys = APIKeyAuthentication(api_keys={"k": {"role": "user"}})
    _me(tokens, auth=[keys], guards=[Requires("role", none_of=["banned"])])
    assert _start(tokens, **{"X-API-Key": "k"}) == 200
    # The same guard with the session backend added does not start.
    both = BoltAPI()
    _me(both, auth=[keys, SessionAuthentication()], guards=[Requires("role", none_of=["banned"])])
    with pytest.raises(ImproperlyConfigured, match="every session user in"):
        _start(both)


@pytest.mark.parametrize(
    ("guard", "field"),
    [
        (Requires("is_staff", True), "is_staff"),
        (Requires("is_superuser"), "is_superuser"),
        (IsStaff(), "is_staff"),
        (IsAdminUser(), "is_superuser"),
    ],
    ids=repr,
)
def test_a_guard_reading_a_flag_the_user_model_lacks_does_not_start(settings, guard, field):
    # A custom user model without Django's flags (any model serves: no request is made).
    settings.AUTH_USER_MODEL = "bolt_serializer_tests.Author"
    api = BoltAPI()
    _me(api, auth=[SessionAuthentication()], guards=[guard])
    with pytest.raises(ImproperlyConfigured, match=f"reads {field!r}, a field the user model"):
        _start(api)
    # Without the session backend the guard reads no model field: it starts.
    tokens = BoltAPI()
    _me(tokens, auth=[APIKeyAuthentication(api_keys={"k"})], guards=[guard])
    assert _start(tokens) == 401
