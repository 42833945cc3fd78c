"""A limit by ``"user"`` or ``"api_key"`` needs an auth backend in force for its route.

Without one no caller ever has an identity, so the limit would count everyone by address: the
API refuses to start instead (0.13's topics/middleware.md, "Counting per caller").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI, Router
from django_bolt.auth import APIKeyAuthentication
from django_bolt.middleware import middleware, rate_limit, skip_middleware
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import Callable

KEYS = {"key-one": {"id": 1}, "key-two": {"id": 2}}
ONE = {"X-API-Key": "key-one"}
TWO = {"X-API-Key": "key-two"}


def _decorator(key: str) -> Callable[[Any], Any]:
    return rate_limit(rps=1, burst=1, key=key)


def _keyword_middleware(key: str) -> Callable[[Any], Any]:
    return middleware(type="rate_limit", rps=1, burst=1, key=key)


def _dict_middleware(key: str) -> Callable[[Any], Any]:
    return middleware({"type": "rate_limit", "rps": 1, "burst": 1, "key": key})


def _start(api: BoltAPI) -> None:
    """Start ``api`` as the test client does: at its first request."""
    with TestClient(api) as client:
        client.get("/")


def _route_limited(api: BoltAPI, spelling: Callable[[str], Any], key: str, **route: Any) -> None:
    @api.get("/data", **route)
    @spelling(key)
    async def data():
        return {}


@pytest.mark.parametrize("key", ["user", "api_key"])
@pytest.mark.parametrize("spelling", [_decorator, _keyword_middleware, _dict_middleware])
def test_route_limit_by_identity_without_auth_does_not_start(spelling, key):
    api = BoltAPI()
    _route_limited(api, spelling, key)
    with pytest.raises(ImproperlyConfigured) as caught:
        _start(api)
    message = str(caught.value)
    # The route by method, path and handler, and the key.
    assert message.startswith("GET /data (tests.middleware.test_rate_limit_startup.")
    assert ".data): " in message
    assert f"key={key!r}" in message


@pytest.mark.parametrize("key", ["user", "api_key"])
def test_api_and_router_middleware_limits_are_checked_per_route(key):
    entry = {"type": "rate_limit", "rps": 1, "burst": 1, "key": key}
    api = BoltAPI(middleware=[entry])

    @api.get("/open")
    async def open_route():
        return {}

    with pytest.raises(ImproperlyConfigured, match=f"GET /open .*key={key!r}"):
        api.compile()

    api = BoltAPI()
    router = Router(prefix="/r", middleware=[entry])

    @router.get("/x")
    async def x():
        return {}

    api.include_router(router)
    with pytest.raises(ImproperlyConfigured, match=f"GET /r/x .*key={key!r}"):
        api.compile()


def test_an_empty_auth_on_the_route_overrides_the_api():
    api = BoltAPI(auth=[APIKeyAuthentication(api_keys=KEYS)])
    _route_limited(api, _decorator, "user", auth=[])
    with pytest.raises(ImproperlyConfigured, match="GET /data"):
        _start(api)


def _on_route(auth: list[Any]) -> BoltAPI:
    api = BoltAPI()
    _route_limited(api, _decorator, "api_key", auth=auth or None)
    return api


def _on_api(auth: list[Any]) -> BoltAPI:
    api = BoltAPI(auth=auth or None)
    _route_limited(api, _keyword_middleware, "user")
    return api


def _on_router(auth: list[Any]) -> BoltAPI:
    api = BoltAPI()
    router = Router(
        auth=auth or None, middleware=[{"type": "rate_limit", "rps": 1, "burst": 1, "key": "user"}]
    )

    @router.get("/data")
    async def data():
        return {}

    api.include_router(router)
    return api


@pytest.mark.parametrize("where", [_on_route, _on_api, _on_router, "settings"])
def test_auth_from_route_router_api_or_settings_lets_the_limit_start(settings, where):
    build = _on_route if where == "settings" else where
    with pytest.raises(ImproperlyConfigured):
        _start(build([]))
    auth: list[Any] = [APIKeyAuthentication(api_keys=KEYS)]
    if where == "settings":
        settings.BOLT_AUTHENTICATION_CLASSES, auth = auth, []
    with TestClient(build(auth)) as client:
        # A caller without identity is counted per client address. The test client is loopback,
        # a trusted proxy: X-Forwarded-For sets the address.
        callers = (ONE, TWO, {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "::2"})
        for headers in callers:
            assert [client.get("/data", headers=headers).status_code for _ in (1, 2)] == [200, 429]


def test_other_keys_and_skipped_limits_need_no_auth():
    api = BoltAPI()
    _route_limited(api, _decorator, "ip")

    @api.get("/tenant")
    @rate_limit(rps=1, key="x-tenant")
    async def tenant():
        return {}

    @api.get("/skipped")
    @skip_middleware("rate_limit")
    @rate_limit(rps=1, key="user")
    async def skipped():
        return {}

    with TestClient(api) as client:
        assert client.get("/skipped").status_code == 200

    # The same API with one identity limit that is not skipped does not start.
    @api.get("/keyed")
    @rate_limit(rps=1, key="api_key")
    async def keyed():
        return {}

    with pytest.raises(ImproperlyConfigured, match="GET /keyed"):
        _start(api)
