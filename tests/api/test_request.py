"""Request: lazy views over the raw request, Django habits (META, get_host, GET ...)."""

import pytest

from django_bolt import BoltAPI, Request
from django_bolt.testing import TestClient

HEADERS = [
    (b"Host", b"example.com:8080"),
    (b"Accept", b"a"),
    (b"accept", b"b"),
    (b"Cookie", b'sid=abc; theme="dark"; broken; x=%20y'),
    (b"Content-Type", b"application/json"),
    (b"X-Custom", b"1"),
]


def make(target=b"/p%20ath/x?a=1&a=2&b=x+y&c=%C3%A9&empty=", body=b'{"k": [1]}', scheme="https"):
    return Request("POST", target, HEADERS, body, ("10.0.0.1", 5555), scheme, ("srv", 443), "1.1")


def test_path_and_query():
    request = make()
    assert request.path == "/p ath/x"
    assert request.query_string == "a=1&a=2&b=x+y&c=%C3%A9&empty="
    assert request.query["a"] == "2"
    assert request.query.getlist("a") == ["1", "2"]
    assert request.query["b"] == "x y"
    assert request.query["c"] == "é"
    assert request.query["empty"] == ""
    assert request.GET is request.query


def test_headers_case_insensitive_multi_valued():
    headers = make().headers
    assert headers["ACCEPT"] == "b"
    assert headers.getlist("Accept") == ["a", "b"]
    assert "x-custom" in headers
    assert headers.get("missing", "d") == "d"


def test_cookies_tolerate_malformed_pairs():
    assert make().cookies == {"sid": "abc", "theme": "dark", "x": " y"}


def test_json_and_state():
    request = make()
    assert request.json() == {"k": [1]}
    request.state.user_id = 7
    assert request.state.user_id == 7


def test_meta_host_and_urls():
    request = make()
    meta = request.META
    assert meta["REMOTE_ADDR"] == "10.0.0.1"
    # From the Host header, as Django-Bolt 0.13 fills them (the socket's address without one).
    assert (meta["SERVER_NAME"], meta["SERVER_PORT"]) == ("example.com", "8080")
    assert meta["SCRIPT_NAME"] == ""
    assert meta["QUERY_STRING"] == "a=1&a=2&b=x+y&c=%C3%A9&empty="
    assert meta["CONTENT_TYPE"] == "application/json"
    assert meta["HTTP_X_CUSTOM"] == "1"
    assert meta["HTTP_ACCEPT"] == "a,b"
    assert request.get_host() == "example.com:8080"
    assert request.is_secure()
    assert request.build_absolute_uri("/other") == "https://example.com:8080/other"
    assert request.build_absolute_uri("rel") == "https://example.com:8080/p%20ath/rel"
    assert request.url == "https://example.com:8080/p%20ath/x?a=1&a=2&b=x+y&c=%C3%A9&empty="


@pytest.mark.parametrize(
    ("server", "scheme", "host"),
    [
        pytest.param(("srv", 80), "http", "srv", id="default-port"),
        pytest.param(("srv", 8000), "http", "srv:8000", id="other-port"),
        pytest.param(None, "http", "localhost", id="no-server"),
    ],
)
def test_host_without_header(server, scheme, host):
    request = Request("GET", b"/", [], b"", None, scheme, server, "1.1")
    assert request.get_host() == host
    assert not request.is_secure()


def test_views_are_built_only_on_access():
    request = make()
    for slot in ("_headers", "_cookies", "_query", "_meta", "_json"):
        assert not hasattr(request, slot)
    assert request.cookies["sid"] == "abc"
    assert hasattr(request, "_cookies")
    assert not hasattr(request, "_headers")


def test_request_in_handler_through_the_client():
    api = BoltAPI()

    @api.get("/info/{name}")
    async def info(request: Request, name: str):
        return {
            "method": request.method,
            "path": request.path,
            "params": request.path_params,
            "client": list(request.client),
            "host": request.get_host(),
            "scheme": request.scheme,
        }

    with TestClient(api) as client:
        body = client.get("/info/bob").json()
    assert body == {
        "method": "GET",
        "path": "/info/bob",
        "params": {"name": "bob"},
        "client": ["127.0.0.1", 50000],
        "host": "testserver",
        "scheme": "http",
    }


def test_malformed_json_read_by_a_handler_is_422_not_500():
    api = BoltAPI()

    @api.post("/raw")
    async def raw(request: Request):
        return {"got": request.json()}

    with TestClient(api) as client:
        response = client.post("/raw", content=b'{"a": ')
        assert client.post("/raw", content=b'{"a": 1}').json() == {"got": {"a": 1}}
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["type"] == "json_invalid"
