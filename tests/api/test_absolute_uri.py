"""request.build_absolute_uri() and get_host() as Django's HttpRequest has them.

The expected strings were read from Django 5.2's ``HttpRequest.build_absolute_uri`` on a
``RequestFactory`` request to ``/a/abs?q=1`` (host ``testserver``); the second test asks Django
again, so a change on either side shows.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import DisallowedHost
from django.test import RequestFactory
from django.utils.functional import lazy

from django_bolt import BoltAPI, Request
from django_bolt.testing import TestClient

TARGET = "/a/abs?q=1"

# location -> what Django returns for it on a request to TARGET.
CASES: list[tuple[str | None, str]] = [
    (None, "http://testserver/a/abs?q=1"),
    ("", "http://testserver/a/abs"),
    ("?page=2", "http://testserver/a/abs?page=2"),
    ("#frag", "http://testserver/a/abs#frag"),
    ("x", "http://testserver/a/x"),
    ("x y", "http://testserver/a/x%20y"),
    ("x\ty", "http://testserver/a/xy"),
    ("a?b=ü", "http://testserver/a/a?b=%C3%BC"),
    ("%zz", "http://testserver/a/%zz"),
    (".", "http://testserver/a/"),
    ("./", "http://testserver/a/"),
    ("..", "http://testserver/"),
    ("../x", "http://testserver/x"),
    ("../../../x", "http://testserver/x"),
    ("/", "http://testserver/"),
    ("/ü", "http://testserver/%C3%BC"),
    ("/a%20b", "http://testserver/a%20b"),
    ("/a//b", "http://testserver/a//b"),
    ("/b?c=d#e", "http://testserver/b?c=d#e"),
    ("/x/../y", "http://testserver/y"),
    ("/x/..", "http://testserver/x/.."),
    ("/./y", "http://testserver/y"),
    ("/x\\y", "http://testserver/x%5Cy"),
    ("//cdn.example/a", "http://cdn.example/a"),
    ("//cdn.example", "http://cdn.example"),
    ("//", "http://testserver/a/abs"),
    ("///x", "http://testserver/x"),
    ("http:x", "http://testserver/a/x"),
    ("http://", "http://testserver/a/abs"),
    ("https://other/x", "https://other/x"),
    ("https://other/ü x", "https://other/%C3%BC%20x"),
    ("HTTP://Other/x", "HTTP://Other/x"),
    ("mailto:a@b", "mailto:a@b"),
    ("x:y", "x:y"),
]
IDS = [repr(location) for location, _ in CASES]


def make(target: str = TARGET, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    raw = [(b"host", b"testserver")] if headers is None else headers
    return Request("GET", target.encode(), raw, b"", None, "http", ("testserver", 80), "1.1")


@pytest.mark.parametrize(("location", "expected"), CASES, ids=IDS)
def test_build_absolute_uri_matches_django(location, expected):
    assert make().build_absolute_uri(location) == expected


@pytest.mark.parametrize("target", [TARGET, "/", "/a/", "/a%20b/c", "/€/x?y=1"])
def test_build_absolute_uri_agrees_with_request_factory(target):
    django_request = RequestFactory().get(target)
    request = make(target)
    for location, _ in CASES:
        expected = django_request.build_absolute_uri(location)
        assert request.build_absolute_uri(location) == expected, location


def test_relative_location_keeps_the_escaped_path():
    request = make("/p%20ath/x?a=1")
    assert request.build_absolute_uri("rel") == "http://testserver/p%20ath/rel"
    assert request.build_absolute_uri() == "http://testserver/p%20ath/x?a=1"
    assert request.url == "http://testserver/p%20ath/x?a=1"


def test_lazy_location_is_accepted():
    lazy_text = lazy(lambda: "../x", str)
    assert make().build_absolute_uri(lazy_text()) == "http://testserver/x"


def test_through_the_client():
    api = BoltAPI()

    @api.get("/a/abs")
    async def absolute(request: Request):
        return {loc: request.build_absolute_uri(loc) for loc in ("?page=2", "../x", "#frag")}

    with TestClient(api) as client:
        body = client.get(TARGET).json()
    assert body == {
        "?page=2": "http://testserver/a/abs?page=2",
        "../x": "http://testserver/x",
        "#frag": "http://testserver/a/abs#frag",
    }


def test_forwarded_host_ignored_by_default():
    request = make(headers=[(b"host", b"testserver"), (b"x-forwarded-host", b"fwd.example")])
    assert request.get_host() == "testserver"
    assert request.build_absolute_uri("/x") == "http://testserver/x"


@pytest.mark.parametrize(
    ("forwarded", "host"),
    [("fwd.example", "fwd.example"), ("fwd.example:8080", "fwd.example:8080")],
)
def test_forwarded_host_used_when_enabled(settings, forwarded, host):
    settings.USE_X_FORWARDED_HOST = True
    request = make(headers=[(b"host", b"testserver"), (b"x-forwarded-host", forwarded.encode())])
    assert request.get_host() == host
    assert request.build_absolute_uri("/x") == f"http://{host}/x"
    assert request.build_absolute_uri() == f"http://{host}/a/abs?q=1"
    # Without the field, Host as before.
    assert make().get_host() == "testserver"


def test_forwarded_host_debug_hosts(settings):
    settings.USE_X_FORWARDED_HOST = True
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    request = make(headers=[(b"host", b"testserver"), (b"x-forwarded-host", b"api.localhost")])
    assert request.build_absolute_uri("x") == "http://api.localhost/a/x"


@pytest.mark.parametrize(
    ("values", "allowed"),
    [
        pytest.param([b"a.example, b.example"], ["*"], id="comma-list"),
        pytest.param([b"a.example", b"b.example"], ["*"], id="repeated"),
        pytest.param([b""], ["*"], id="empty"),
        pytest.param([b"evil.example"], ["testserver", "good.example"], id="not-allowed"),
        pytest.param([b"fwd.example"], [], id="debug-off-empty-list"),
    ],
)
def test_forwarded_host_refused_as_django_does(settings, values, allowed):
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = allowed
    headers = [(b"host", b"testserver")] + [(b"x-forwarded-host", v) for v in values]
    request = make(headers=headers)
    with pytest.raises(DisallowedHost):
        request.get_host()
    # An absolute location reads no host.
    assert request.build_absolute_uri("https://other/x") == "https://other/x"
    django_request = RequestFactory().get(
        TARGET, HTTP_X_FORWARDED_HOST=",".join(v.decode() for v in values)
    )
    with pytest.raises(DisallowedHost):
        django_request.get_host()


def test_forwarded_host_through_the_client(settings):
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["testserver", "good.example"]
    api = BoltAPI()

    @api.get("/a/abs")
    async def absolute(request: Request):
        return {"url": request.build_absolute_uri("../x")}

    with TestClient(api) as client:
        good = client.get(TARGET, headers={"X-Forwarded-Host": "good.example"})
        evil = client.get(TARGET, headers={"X-Forwarded-Host": "evil.example"})
        plain = client.get(TARGET)
    assert (good.status_code, good.json()) == (200, {"url": "http://good.example/x"})
    assert evil.status_code == 400
    assert plain.json() == {"url": "http://testserver/x"}
