"""CORS headers on the refusals the framework itself produces, and the CORS_* settings table."""

from __future__ import annotations

import asyncio

import pytest

from django_bolt import BoltAPI
from django_bolt.auth import APIKeyAuthentication, IsAdminUser, IsAuthenticated
from django_bolt.conf import DEFAULT_CONFIG, FRAMEWORK_SETTINGS
from django_bolt.exceptions import PayloadTooLarge
from django_bolt.middleware import CORSConfig, Middleware, rate_limit
from django_bolt.testing import TestClient
from tests.server.conftest import Driver

APP = "https://app.example.com"
KEYS = {"user-key": {"id": "u"}, "admin-key": {"id": "a", "is_staff": True}}


class Refuse(Middleware):
    async def process_request(self, request):
        if request.headers.get("x-refuse"):
            raise PayloadTooLarge("too big for this route")
        return await self.get_response(request)


def make_api() -> BoltAPI:
    api = BoltAPI()
    auth = [APIKeyAuthentication(api_keys=KEYS)]

    @api.get("/member", auth=auth, guards=[IsAuthenticated()])
    async def member():
        return {}

    @api.get("/admin", auth=auth, guards=[IsAdminUser()])
    async def admin():
        return {}

    @api.get("/limited")
    @rate_limit(rps=1, burst=1)
    async def limited():
        return {}

    return api


@pytest.fixture
def allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        pytest.param("/member", {}, 401, id="401-no-credentials"),
        pytest.param("/member", {"X-API-Key": "wrong"}, 401, id="401-bad-key"),
        pytest.param("/admin", {"X-API-Key": "user-key"}, 403, id="403-guard"),
    ],
)
def test_auth_refusals_carry_cors(allowed, path, headers, status):
    with TestClient(make_api()) as client:
        response = client.get(path, headers={"Origin": APP, **headers})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["vary"] == "Origin"


def test_rate_limit_refusal_carries_cors(allowed):
    with TestClient(make_api()) as client:
        client.get("/limited", headers={"Origin": APP})
        response = client.get("/limited", headers={"Origin": APP})
    assert response.status_code == 429
    assert response.headers["access-control-allow-origin"] == APP


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_413_from_the_server_carries_cors(allowed, framing):
    """The server refuses a body over the limit before the application runs (from
    Content-Length, or as a chunked body grows); it asks the application for the headers of the
    route's CORS policy, so a browser can read the refusal."""
    api = BoltAPI()

    @api.post("/upload")
    async def upload():
        return {}

    head = b"POST /upload HTTP/1.1\r\nHost: t\r\nOrigin: " + APP.encode() + b"\r\n"
    if framing == "content-length":
        request = head + b"Content-Length: 5000\r\n\r\n"
    else:
        request = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"800\r\n" + b"x" * 2048 + b"\r\n"
    loop = asyncio.new_event_loop()
    try:
        driver = Driver(loop, app=api, max_upload_size=1024)
        out = driver.feed(request)
        other = Driver(loop, app=api, max_upload_size=1024)
        no_origin = other.feed(request.replace(b"Origin: " + APP.encode() + b"\r\n", b""))
    finally:
        loop.close()
    head_out, _, body = out.partition(b"\r\n\r\n")
    lines = head_out.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"access-control-allow-origin: " + APP.encode() in lines
    assert b"vary: Origin" in lines
    assert b"connection: close" in lines
    assert body.startswith(b'{"detail":')
    # Without an Origin the refusal carries Vary but no allow-origin.
    assert b"access-control-allow-origin" not in no_origin
    assert no_origin.startswith(b"HTTP/1.1 413 ")


def test_413_from_the_application_carries_cors(allowed):
    api = BoltAPI(middleware=[Refuse])

    @api.post("/upload")
    async def upload():
        return {}

    with TestClient(api) as client:
        response = client.post("/upload", headers={"Origin": APP, "X-Refuse": "1"})
    assert (response.status_code, response.json()) == (413, {"detail": "too big for this route"})
    assert response.headers["access-control-allow-origin"] == APP


CORS_NAMES = (
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "CORS_PREFLIGHT_MAX_AGE",
    "CORS_MAX_AGE",
)


def test_every_cors_setting_is_in_the_settings_table_with_django_cors_headers_defaults():
    for name in CORS_NAMES:
        assert name in FRAMEWORK_SETTINGS
    config = CORSConfig()
    assert config.allow_methods == DEFAULT_CONFIG.cors_allow_methods
    assert config.allow_headers == DEFAULT_CONFIG.cors_allow_headers
    assert config.preflight_max_age == DEFAULT_CONFIG.cors_preflight_max_age == 86400


def test_every_cors_setting_is_documented():
    from pathlib import Path

    table = (Path(__file__).parents[2] / "docs" / "cors.md").read_text()
    for name in CORS_NAMES:
        assert f"| `{name}` |" in table, name


def test_cors_max_age_is_an_alias_and_the_long_name_wins(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.CORS_MAX_AGE = 120
    assert CORSConfig.from_settings(settings).preflight_max_age == 120
    settings.CORS_PREFLIGHT_MAX_AGE = 60
    assert CORSConfig.from_settings(settings).preflight_max_age == 60


def test_cors_dict_entry_in_middleware(settings):
    api = BoltAPI(middleware=[{"type": "cors", "origins": [APP], "max_age": 30}])

    @api.get("/x")
    async def x():
        return {}

    preflight = {"Origin": APP, "Access-Control-Request-Method": "GET"}
    with TestClient(api) as client:
        answer = client.options("/x", headers=preflight)
        actual = client.get("/x", headers={"Origin": APP})
    assert answer.headers["access-control-max-age"] == "30"
    assert actual.headers["access-control-allow-origin"] == APP
