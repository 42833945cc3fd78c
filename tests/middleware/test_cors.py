"""CORS: the CORS_* settings and @cors, through the TestClient, on every kind of response."""

from __future__ import annotations

import msgspec
import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt.exceptions import HTTPException
from django_bolt.middleware import CompressionConfig, CORSConfig, cors
from django_bolt.responses import Response
from django_bolt.testing import TestClient

APP = "https://app.example.com"
EVIL = "https://evil.example.net"


class Item(msgspec.Struct):
    name: str


def make_api(**kwargs):
    api = BoltAPI(**kwargs)

    @api.get("/items")
    async def items():
        return {"ok": True}

    @api.post("/items")
    async def create(item: Item):
        return {"name": item.name}

    @api.get("/private")
    async def private():
        raise HTTPException(401, "Authentication required")

    @api.post("/upload")
    async def upload():
        raise HTTPException(413, "Payload Too Large")

    @api.get("/boom")
    async def boom():
        raise RuntimeError("bug")

    @api.get("/partner")
    @cors(origins=["https://partner.example.org"], credentials=True, max_age=60)
    async def partner():
        return {"partner": True}

    @api.get("/big")
    async def big() -> Response:
        return Response(b"x" * 2000, media_type="text/plain")

    return api


@pytest.fixture
def allowed(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    return settings


def preflight(client, path, origin, method="POST", headers=None):
    sent = {"origin": origin, "access-control-request-method": method}
    if headers:
        sent["access-control-request-headers"] = headers
    return client.options(path, headers=sent)


# 0.13's spelling: a preflight answer also varies with what it was asked.
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def vary_fields(response):
    return response.headers.get_list("vary")


# --- preflights ----------------------------------------------------------------------------------


def test_preflight_from_allowed_origin_is_answered_with_the_policy(allowed):
    with TestClient(make_api()) as client:
        response = preflight(client, "/items", APP, headers="content-type, authorization")
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == APP
    methods = response.headers["access-control-allow-methods"]
    assert methods == "DELETE, GET, OPTIONS, PATCH, POST, PUT, QUERY"  # 0.13 answers QUERY too
    allowed_headers = response.headers["access-control-allow-headers"].split(", ")
    assert {"content-type", "authorization"} <= set(allowed_headers)
    assert response.headers["access-control-max-age"] == "86400"
    assert vary_fields(response) == [PREFLIGHT_VARY]
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_from_disallowed_origin_gets_no_cors_headers(allowed):
    with TestClient(make_api()) as client:
        response = preflight(client, "/items", EVIL)
    assert response.status_code == 204
    assert not [h for h in response.headers if h.startswith("access-control-")]
    assert vary_fields(response) == [PREFLIGHT_VARY]


def test_preflight_is_answered_before_the_handler_runs(allowed):
    # /private raises 401 for any GET: a preflight never reaches it (auth comes later).
    with TestClient(make_api()) as client:
        response = preflight(client, "/private", APP, method="GET")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP


def test_plain_options_without_preflight_headers_is_the_routes_answer(allowed):
    with TestClient(make_api()) as client:
        response = client.options("/items", headers={"origin": APP})
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}
    assert response.headers["access-control-allow-origin"] == APP


def test_wildcard_headers_and_methods_echo_the_request(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.CORS_ALLOW_HEADERS = ["*"]
    settings.CORS_ALLOW_METHODS = ["*"]
    with TestClient(make_api()) as client:
        response = preflight(client, "/items", APP, method="POST", headers="X-One,x-two")
    assert response.headers["access-control-allow-methods"] == "POST"
    assert response.headers["access-control-allow-headers"] == "X-One, x-two"


def test_preflight_max_age_zero_sends_no_max_age(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.CORS_PREFLIGHT_MAX_AGE = 0
    with TestClient(make_api()) as client:
        response = preflight(client, "/items", APP)
    assert response.headers["access-control-allow-origin"] == APP
    assert "access-control-max-age" not in response.headers


# --- actual requests -----------------------------------------------------------------------------


def test_allowed_origin_is_reflected_with_vary(allowed):
    with TestClient(make_api()) as client:
        response = client.get("/items", headers={"origin": APP})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert vary_fields(response) == ["Origin"]


def test_disallowed_origin_gets_vary_only(allowed):
    with TestClient(make_api()) as client:
        response = client.get("/items", headers={"origin": EVIL})
        no_origin = client.get("/items")
    for r in (response, no_origin):
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        assert vary_fields(r) == ["Origin"]


def test_origin_match_is_exact_not_a_prefix(allowed):
    with TestClient(make_api()) as client:
        response = client.get("/items", headers={"origin": APP + ".evil.net"})
    assert "access-control-allow-origin" not in response.headers


def test_credentials_and_expose_headers(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    settings.CORS_ALLOW_CREDENTIALS = True
    settings.CORS_EXPOSE_HEADERS = ["X-Total", "X-Page"]
    with TestClient(make_api()) as client:
        response = client.get("/items", headers={"origin": APP})
        pre = preflight(client, "/items", APP)
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "X-Total, X-Page"
    assert pre.headers["access-control-allow-credentials"] == "true"
    assert "access-control-expose-headers" not in pre.headers


def test_regex_origins_must_match_whole(settings):
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"https://\w+\.example\.com"]
    with TestClient(make_api()) as client:
        good = client.get("/items", headers={"origin": "https://shop.example.com"})
        longer = client.get("/items", headers={"origin": "https://shop.example.com.evil.net"})
        pre = preflight(client, "/items", "https://shop.example.com")
    assert good.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "access-control-allow-origin" not in longer.headers
    assert pre.headers["access-control-allow-origin"] == "https://shop.example.com"


@pytest.mark.parametrize(
    "setting",
    [
        {"CORS_ALLOWED_ORIGINS": [APP, "null"]},
        {"CORS_ALLOWED_ORIGIN_REGEXES": [r".*"]},
        {"CORS_ALLOW_ALL_ORIGINS": True},
    ],
)
def test_null_origin_is_never_allowed(settings, setting):
    if "null" in setting.get("CORS_ALLOWED_ORIGINS", ()):
        # "null" is not an origin a list may hold: refused at start-up.
        for name, value in setting.items():
            setattr(settings, name, value)
        with pytest.raises(ImproperlyConfigured), TestClient(make_api()) as client:
            client.get("/items")
        return
    for name, value in setting.items():
        setattr(settings, name, value)
    with TestClient(make_api()) as client:
        response = client.get("/items", headers={"origin": "null"})
        pre = preflight(client, "/items", "null")
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in pre.headers


def test_allow_all_sends_star(settings):
    settings.CORS_ALLOW_ALL_ORIGINS = True
    with TestClient(make_api()) as client:
        response = client.get("/items", headers={"origin": EVIL})
        pre = preflight(client, "/items", EVIL)
    assert response.headers["access-control-allow-origin"] == "*"
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_allow_all_with_credentials_is_refused_at_startup(settings):
    settings.CORS_ALLOW_ALL_ORIGINS = True
    settings.CORS_ALLOW_CREDENTIALS = True
    with pytest.raises(ImproperlyConfigured, match="CORS_ALLOW_CREDENTIALS"):
        make_api().compile()


def test_route_wildcard_with_credentials_is_refused_at_startup(settings):
    api = BoltAPI()

    @api.get("/x")
    @cors(origins=["*"], credentials=True)
    async def x():
        return {}

    with pytest.raises(ImproperlyConfigured):
        api.compile()


@pytest.mark.parametrize(
    "bad",
    [["app.example.com"], [APP + "/"], [APP + "/path"], "https://a.example.com", ["*"], [1]],
)
def test_malformed_origin_settings_are_refused(settings, bad):
    settings.CORS_ALLOWED_ORIGINS = bad
    with pytest.raises(ImproperlyConfigured):
        make_api().compile()


def test_bad_regex_is_refused(settings):
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"https://(unclosed"]
    with pytest.raises(ImproperlyConfigured):
        make_api().compile()


def test_config_defaults_are_django_cors_headers():
    config = CORSConfig()
    assert config.allow_methods == ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
    assert "x-csrftoken" in config.allow_headers
    assert config.preflight_max_age == 86400
    assert not config.enabled


# --- per route -----------------------------------------------------------------------------------


def test_route_decorator_overrides_global_policy(allowed):
    partner = "https://partner.example.org"
    with TestClient(make_api()) as client:
        own = client.get("/partner", headers={"origin": partner})
        global_origin = client.get("/partner", headers={"origin": APP})
        elsewhere = client.get("/items", headers={"origin": partner})
        pre = preflight(client, "/partner", partner, method="GET")
    assert own.headers["access-control-allow-origin"] == partner
    assert own.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in global_origin.headers
    assert "access-control-allow-origin" not in elsewhere.headers
    assert pre.headers["access-control-allow-origin"] == partner
    assert pre.headers["access-control-max-age"] == "60"
    # Not overridden: the global (default) methods.
    assert "GET" in pre.headers["access-control-allow-methods"]


def test_route_decorator_works_without_global_settings():
    api = make_api()
    with TestClient(api) as client:
        own = client.get("/partner", headers={"origin": "https://partner.example.org"})
        other = client.get("/items", headers={"origin": "https://partner.example.org"})
    assert own.headers["access-control-allow-origin"] == "https://partner.example.org"
    assert "vary" not in other.headers  # no policy at all: nothing added
    assert "access-control-allow-origin" not in other.headers


def test_preflight_uses_the_policy_of_the_requested_method(settings):
    api = BoltAPI()
    partner = "https://partner.example.org"

    @api.get("/thing")
    async def read():
        return {}

    @api.delete("/thing")
    @cors(origins=[partner], methods=["DELETE"])
    async def remove():
        return {}

    with TestClient(api) as client:
        for_delete = preflight(client, "/thing", partner, method="DELETE")
        for_get = preflight(client, "/thing", partner, method="GET")
    assert for_delete.headers["access-control-allow-origin"] == partner
    assert for_delete.headers["access-control-allow-methods"] == "DELETE"
    # GET has no policy: the bare OPTIONS answer, no CORS headers.
    assert for_get.status_code == 204
    assert "access-control-allow-origin" not in for_get.headers


# --- errors carry the headers too ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nowhere", {}, 404),
        ("DELETE", "/items", {}, 405),
        ("POST", "/items", {"json": {"wrong": 1}}, 422),
        ("GET", "/private", {}, 401),
        ("POST", "/upload", {}, 413),
        ("GET", "/boom", {}, 500),
        ("GET", "/items/", {"follow_redirects": False}, 308),
    ],
)
def test_error_responses_carry_cors_headers(allowed, method, path, kwargs, status):
    with TestClient(make_api(), raise_server_exceptions=False) as client:
        response = client.request(method, path, headers={"origin": APP}, **kwargs)
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == APP
    assert vary_fields(response) == ["Origin"]


def test_preflight_to_unknown_path_is_answered_by_global_policy(allowed):
    with TestClient(make_api()) as client:
        response = preflight(client, "/nowhere", APP)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP


# --- with compression ----------------------------------------------------------------------------


def test_vary_is_one_field_with_compression(allowed):
    api = make_api(compression=CompressionConfig(backend="gzip"))
    with TestClient(api) as client:
        response = client.get("/big", headers={"origin": APP, "accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"x" * 2000
    fields = vary_fields(response)
    assert len(fields) == 1
    assert sorted(t.strip().lower() for t in fields[0].split(",")) == ["accept-encoding", "origin"]
    assert response.headers["access-control-allow-origin"] == APP


def test_handler_vary_is_merged_not_duplicated(allowed):
    api = BoltAPI()

    @api.get("/v")
    async def v() -> Response:
        return Response({"a": 1}, headers={"Vary": "Cookie"})

    with TestClient(api) as client:
        response = client.get("/v", headers={"origin": APP})
    assert vary_fields(response) == ["Cookie, Origin"]


# --- one Vary field on every kind of response ----------------------------------------------------


def vary_api(**kwargs):
    """Routes whose answers are made by each branch of the result converter, and others."""
    api = BoltAPI(**kwargs)

    @api.get("/dict")
    async def as_dict():
        return {"ok": True}

    @api.get("/big-dict")
    async def big_dict():
        return {"text": "y" * 2000}

    @api.get("/text")
    async def as_text() -> str:
        return "plain"

    @api.get("/bytes")
    async def as_bytes() -> bytes:
        return b"raw"

    @api.get("/struct")
    async def as_struct() -> Item:
        return Item(name="n")

    @api.get("/empty", status_code=204)
    async def empty() -> None:
        return None

    @api.get("/multi", response_model={200: dict, 404: dict})
    async def multi():
        return 404, {"detail": "no"}

    @api.get("/lines")
    async def lines():
        yield b"one\n"
        yield b"two\n"

    @api.get("/cookie")
    async def cookie() -> Response:
        return Response({"a": 1}, headers={"Vary": "Cookie"})

    return api


VARY_PATHS = ["/dict", "/big-dict", "/text", "/bytes", "/struct", "/empty", "/multi", "/lines"]


@pytest.mark.parametrize("origin", [None, APP, EVIL])
@pytest.mark.parametrize("path", [*VARY_PATHS, "/cookie"])
def test_every_response_names_origin_in_exactly_one_vary_field(allowed, path, origin):
    api = vary_api(compression=CompressionConfig(backend="gzip", minimum_size=500))
    headers = {"accept-encoding": "gzip"}
    if origin is not None:
        headers["origin"] = origin
    with TestClient(api) as client:
        response = client.get(path, headers=headers)
        again = client.get(path, headers=headers)  # the converter's lists are not shared
    for r in (response, again):
        fields = vary_fields(r)
        assert len(fields) == 1, fields
        named = [t.strip().lower() for t in fields[0].split(",")]
        assert named.count("origin") == 1
        if path in ("/big-dict", "/lines"):
            assert r.headers["content-encoding"] == "gzip"
            assert named.count("accept-encoding") == 1
        if path == "/cookie":
            assert named[0] == "cookie"
        allowed_origin = r.headers.get_list("access-control-allow-origin")
        assert allowed_origin == ([APP] if origin == APP else [])


@pytest.mark.parametrize("path", VARY_PATHS)
def test_no_policy_no_vary_origin(path):
    with TestClient(vary_api(compression=None)) as client:
        response = client.get(path, headers={"origin": APP})
    assert "vary" not in response.headers
    assert "access-control-allow-origin" not in response.headers


def test_the_first_origin_field_decides(allowed):
    with TestClient(make_api()) as client:
        first_allowed = client.get("/items", headers=[("origin", APP), ("origin", EVIL)])
        first_refused = client.get("/items", headers=[("origin", EVIL), ("origin", APP)])
    assert first_allowed.headers["access-control-allow-origin"] == APP
    assert "access-control-allow-origin" not in first_refused.headers
