"""The Host header checked against ALLOWED_HOSTS, as Django checks it."""

from __future__ import annotations

import pytest

from django_bolt import BoltAPI
from django_bolt.testing import TestClient

BAD_HOST = {"detail": "Invalid HTTP_HOST header"}
# A value that is no host at all: the server refuses it before ALLOWED_HOSTS is consulted.
MALFORMED_HOST = {"detail": "Invalid Host header"}


def make_api():
    api = BoltAPI()

    @api.get("/ping")
    async def ping():
        return {"pong": True}

    return api


def get(client, host):
    return client.get("/ping", headers={"host": host})


@pytest.mark.parametrize(
    ("allowed", "host", "ok"),
    [
        (["api.example.com"], "api.example.com", True),
        (["api.example.com"], "API.Example.COM", True),
        (["api.example.com"], "api.example.com:8443", True),
        (["api.example.com"], "api.example.com.", True),  # Django strips the trailing dot
        (["api.example.com"], "evil.com", False),
        (["api.example.com"], "sub.api.example.com", False),
        ([".example.com"], "sub.example.com", True),
        ([".example.com"], "example.com", True),
        ([".example.com"], "example.com.evil.net", False),
        (["[::1]"], "[::1]:8000", True),
        (["api.example.com"], "api.example.com@evil.com", "malformed"),
        (["api.example.com"], "", False),
        (["*"], "anything.at.all", True),
    ],
)
def test_host_is_checked_with_django_semantics(settings, allowed, host, ok):
    settings.ALLOWED_HOSTS = allowed
    with TestClient(make_api()) as client:
        response = get(client, host)
    if ok is True:
        assert response.status_code == 200
        assert response.json() == {"pong": True}
    else:
        assert response.status_code == 400
        assert response.json() == (MALFORMED_HOST if ok == "malformed" else BAD_HOST)
        assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("host", "ok"),
    [("localhost", True), ("app.localhost:8000", True), ("127.0.0.1:8000", True),
     ("[::1]", True), ("example.com", False)],
)  # fmt: skip
def test_debug_with_empty_allowed_hosts_allows_localhost_only(settings, host, ok):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    with TestClient(make_api()) as client:
        response = get(client, host)
    assert response.status_code == (200 if ok else 400)


def test_empty_allowed_hosts_without_debug_allows_nothing(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = []
    with TestClient(make_api()) as client:
        assert get(client, "localhost").status_code == 400


def test_bad_host_is_rejected_before_routing(settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    with TestClient(make_api()) as client:
        unknown = client.get("/nowhere", headers={"host": "evil.com"})
        good = client.get("/nowhere", headers={"host": "api.example.com"})
    assert unknown.status_code == 400
    assert good.status_code == 404


def test_verdict_is_stable_across_repeated_requests(settings):
    # The second request for each Host is answered from the remembered verdict.
    settings.ALLOWED_HOSTS = ["api.example.com"]
    with TestClient(make_api()) as client:
        codes = [get(client, h).status_code for h in ["evil.com", "api.example.com"] * 3]
    assert codes == [400, 200] * 3


def test_two_host_fields_are_rejected(settings):
    settings.ALLOWED_HOSTS = ["api.example.com"]
    twice = [("host", "api.example.com"), ("host", "api.example.com")]
    api = make_api()
    with TestClient(api) as client:
        # The server refuses the request before the app sees it (RFC 9112 section 3.2)...
        response = client.get("/ping", headers=twice)
        assert (response.status_code, response.json()) == (
            400,
            {"detail": "More than one Host header"},
        )
        assert response.headers["connection"] == "close"
        # ...and the app refuses it too, should another server hand such a request on.
        request = api.request_class(
            "GET",
            b"/ping",
            [(k.encode(), v.encode()) for k, v in twice],
            b"",
            ("127.0.0.1", 1),
            "http",
            None,
            "1.1",
        )
        answer = client._transport.start().run(api.dispatch(request))
    assert (answer.status_code, answer.body) == (400, b'{"detail":"Invalid HTTP_HOST header"}')
