"""``Set-Cookie`` hygiene: values are quoted as Django quotes them, what cannot be sent is dropped.

Issue 12, defect 2: a CR or LF in a cookie value or path went to the wire as a header line of its
own, and a ``;`` in a value added attributes such as ``Domain=``.
"""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any

import pytest

from django_bolt import BoltAPI, Request, Response
from django_bolt.cookies import Cookie, InvalidCookie
from django_bolt.testing import TestClient

# Each a value a handler might copy from the request into a cookie.
HOSTILE_VALUES = [
    pytest.param("x; Domain=evil.example; Path=/", id="semicolon-attributes"),
    pytest.param('x"; Secure', id="quote"),
    pytest.param("caf\xe9 \\ back", id="latin-1-and-backslash"),
]

# Each refused: (keyword arguments of set_cookie, a word the warning must hold).
REFUSED = [
    pytest.param({"key": "bad name"}, "Illegal key", id="name-with-space"),
    pytest.param({"key": "a;b"}, "Illegal key", id="name-with-semicolon"),
    pytest.param({"key": "a\r\nb"}, "Illegal key", id="name-with-crlf"),
    pytest.param({"key": "Domain"}, "reserved", id="name-is-an-attribute"),
    pytest.param({"key": "pref", "value": "\u20ac"}, "U+00FF", id="value-above-latin-1"),
    # Control characters in a value: refused, as Django-Bolt 0.13 refuses them.
    pytest.param(
        {"key": "pref", "value": "x\r\nSet-Cookie: admin=1"}, "control", id="value-crlf-line"
    ),
    pytest.param(
        {"key": "pref", "value": "x\r\n\r\n<script>alert(1)</script>"},
        "control",
        id="value-crlf-body",
    ),
    pytest.param({"key": "pref", "value": "a\x00b"}, "control", id="value-nul"),
    pytest.param({"key": "pref", "value": "b\x7fc"}, "control", id="value-del"),
    pytest.param({"key": "pref", "value": "c\td"}, "control", id="value-tab"),
    pytest.param({"key": "pref", "path": "/\r\nSet-Cookie: a=1"}, "path", id="path-crlf"),
    pytest.param({"key": "pref", "path": "/; Domain=evil.example"}, "path", id="path-semicolon"),
    pytest.param({"key": "pref", "path": "/\x00"}, "path", id="path-nul"),
    pytest.param({"key": "pref", "domain": "a.example;x=1"}, "domain", id="domain-semicolon"),
    pytest.param({"key": "pref", "domain": "a.example\n"}, "domain", id="domain-lf"),
    pytest.param({"key": "pref", "domain": "a,b.example"}, "domain", id="domain-comma"),
    pytest.param({"key": "pref", "expires": "never\r\nX: y"}, "expires", id="expires-crlf"),
    pytest.param({"key": "pref", "samesite": "Lax; Domain=x"}, "samesite", id="samesite-other"),
    pytest.param({"key": "pref", "max_age": "60; Domain=x"}, "max_age", id="max-age-not-a-number"),
]


def django_set_cookie(name: str, value: str) -> str:
    """What Django's ``SimpleCookie`` writes for the pair (the rule the framework follows)."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    return jar[name].OutputString()


def cookie_api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/set")
    async def set_one(request: Request) -> Response:
        options: dict[str, Any] = dict(request.json())
        response = Response({"ok": True}).set_cookie("first", "1")
        response.set_cookie(**options)
        return response.set_cookie("last", "2")

    @api.post("/set-object")
    async def set_object(request: Request) -> Response:
        response = Response({"ok": True})
        return response.set_cookie(Cookie(**request.json()))

    @api.post("/delete")
    async def delete(request: Request) -> Response:
        return Response({"ok": True}).delete_cookie(**request.json())

    @api.get("/echo")
    async def echo(request: Request) -> dict[str, str]:
        return dict(request.cookies)

    return api


@pytest.fixture
def client() -> TestClient:
    with TestClient(cookie_api()) as client:
        yield client


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_hostile_value_is_quoted_as_django_quotes_it(client: TestClient, value: str) -> None:
    response = client.post("/set", json={"key": "pref", "value": value})
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["first", "pref", "last"]
    assert cookies[1] == django_set_cookie("pref", value) + "; Path=/; SameSite=Lax"
    for byte in "\r\n\x00":
        assert byte not in cookies[1]
    # The quoted value reads back as it was set.
    quoted = cookies[1].split(";", 1)[0].split("=", 1)[1]
    assert client.get("/echo", headers={"Cookie": f"pref={quoted}"}).json() == {"pref": value}


@pytest.mark.parametrize(("options", "reason"), REFUSED)
def test_a_cookie_that_cannot_be_sent_is_dropped_with_a_warning(
    client: TestClient, caplog: pytest.LogCaptureFixture, options: dict[str, Any], reason: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="django_bolt"):
        response = client.post("/set", json={"value": "v", **options})
    assert response.status_code == 200
    assert [c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")] == [
        "first",
        "last",
    ]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert repr(options["key"]) in message
    assert reason in message


@pytest.mark.parametrize(
    ("path", "options"),
    [
        pytest.param("/set-object", {"name": "pref", "path": "/\r\nX: y"}, id="Cookie-object"),
        pytest.param("/delete", {"key": "pref", "path": "/\r\nX: y"}, id="delete_cookie"),
    ],
)
def test_a_cookie_object_or_a_delete_is_checked_when_it_is_set(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, options: dict[str, str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="django_bolt"):
        response = client.post(path, json=options)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "'pref' not set: its path" in caplog.text


def test_a_cookie_object_and_a_delete_are_written_as_set_cookie_writes_them(
    client: TestClient,
) -> None:
    ok = client.post("/set-object", json={"name": "pref", "value": "a;b"})
    assert ok.headers["set-cookie"] == django_set_cookie("pref", "a;b") + "; Path=/; SameSite=Lax"
    gone = client.post("/delete", json={"key": "pref", "path": "/app"}).headers["set-cookie"]
    assert gone.startswith("pref=; ") and "Max-Age=0" in gone and "Path=/app" in gone


def test_to_header_value_refuses_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'pref' not set: its domain"):
        Cookie("pref", "v", domain="evil.example\r\n").to_header_value()
    with pytest.raises(InvalidCookie, match="Illegal key"):
        Cookie("a b").to_header_value()


def session_api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/remember")
    async def remember(request: Request) -> dict[str, bool]:
        await request.session.aset("theme", "dark")
        return {"ok": True}

    return api


def test_the_session_cookie_follows_the_same_rules(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.SESSION_COOKIE_PATH = "/; Domain=evil.example"
    with TestClient(session_api()) as client, caplog.at_level(logging.WARNING, "django_bolt"):
        response = client.post("/remember")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "'sessionid' not set: its path" in caplog.text
    settings.SESSION_COOKIE_PATH = "/app"
    with TestClient(session_api()) as client:
        cookie = client.post("/remember").headers["set-cookie"]
    assert cookie.startswith("sessionid=") and "; Path=/app; HttpOnly; SameSite=Lax" in cookie


def test_attributes_follow_the_order_of_0_13() -> None:
    # topics/responses.md, "Using the Cookie class directly", word for word.
    documented = Cookie(
        name="session", value="abc123", max_age=3600, secure=True, httponly=True, samesite="Strict"
    )
    assert documented.to_header_value() == (
        "session=abc123; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Strict"
    )
    # The docs place neither Expires nor Domain: after Max-Age, and before Path.
    every = Cookie(
        "pref",
        "a;b",
        max_age=0,
        expires="Thu, 01 Jan 1970 00:00:00 GMT",
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="none",
    )
    assert every.to_header_value() == (
        'pref="a\\073b"; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; '
        "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=None"
    )


def test_a_response_writes_its_cookies_in_that_order() -> None:
    api = BoltAPI()

    @api.get("/login")
    async def login() -> Response:
        return (
            Response({"ok": True})
            .set_cookie("sid", "v", max_age=60, domain="example.com", secure=True, httponly=True)
            .delete_cookie("old", path="/app")
        )

    with TestClient(api) as client:
        written = client.get("/login").headers.get_list("set-cookie")
    assert written == [
        "sid=v; Max-Age=60; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Lax",
        "old=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; SameSite=Lax",
    ]
