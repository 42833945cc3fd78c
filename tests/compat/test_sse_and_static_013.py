"""Django-Bolt 0.13 code that streams plain dicts over SSE, or keeps static files in
STATICFILES_DIRS, behaves here as it does there."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterable  # noqa: TC003 (handlers resolve it at runtime)
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt._conf import checks
from django_bolt.responses import EventSourceResponse, ServerSentEvent
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from pathlib import Path


class Price(msgspec.Struct):
    symbol: str
    price: float


def _events(body: bytes) -> list[str]:
    return [block for block in body.decode().split("\n\n") if block]


def test_implicit_generator_of_dicts_sends_each_dict_as_json_data() -> None:
    api = BoltAPI(compression=None)

    @api.get("/events", response_class=EventSourceResponse)
    async def events() -> AsyncIterable[dict[str, object]]:
        yield {"message": "stream started"}
        for i in range(3):
            yield {"count": i}

    with TestClient(api) as client:
        response = client.get("/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert _events(response.content) == [
        'data: {"message":"stream started"}',
        'data: {"count":0}',
        'data: {"count":1}',
        'data: {"count":2}',
    ]


def test_explicit_response_of_a_sync_generator_mixing_every_kind() -> None:
    api = BoltAPI(compression=None)

    @api.get("/stream")
    async def stream() -> EventSourceResponse:
        def generate():
            yield "plain text"
            yield {"status": "started"}
            yield Price(symbol="AAPL", price=1.5)
            yield [1, 2]
            yield ServerSentEvent(data={"n": 1}, event="tick", id="1")
            yield ServerSentEvent(raw_data="raw line", retry=2000)
            yield ServerSentEvent(comment="keepalive")

        return EventSourceResponse(generate(), ping_interval=None)

    with TestClient(api) as client:
        response = client.get("/stream")
    assert _events(response.content) == [
        "data: plain text",
        'data: {"status":"started"}',
        'data: {"symbol":"AAPL","price":1.5}',
        "data: [1,2]",
        'event: tick\ndata: {"n":1}\nid: 1',
        "data: raw line\nretry: 2000",
        ": keepalive",
    ]


def test_a_dict_with_event_field_names_is_still_data() -> None:
    # Only a ServerSentEvent sets event/id/retry; a dict that happens to use those keys is the
    # payload, so it can never inject an event type or id the handler did not mean.
    api = BoltAPI(compression=None)

    @api.get("/lookalike", response_class=EventSourceResponse)
    async def lookalike() -> AsyncIterable[dict[str, object]]:
        yield {"event": "admin", "id": "9", "data": "x", "retry": 1}

    with TestClient(api) as client:
        response = client.get("/lookalike")
    assert _events(response.content) == ['data: {"event":"admin","id":"9","data":"x","retry":1}']


@pytest.fixture
def static_tree(tmp_path: Path, settings: Any) -> Path:
    """STATIC_ROOT plus two STATICFILES_DIRS entries (one with a prefix), DEBUG off."""
    collected, assets, vendor = tmp_path / "collected", tmp_path / "assets", tmp_path / "vendor"
    for directory in (collected, assets / "css", vendor / "js"):
        directory.mkdir(parents=True)
    (tmp_path / "secret.txt").write_bytes(b"TOP-SECRET")
    (collected / "both.css").write_bytes(b"from STATIC_ROOT")
    (assets / "both.css").write_bytes(b"from STATICFILES_DIRS")
    (assets / "css" / "only.css").write_bytes(b"p{}")
    (assets / "css" / "only.css.gz").write_bytes(gzip.compress(b"p{}"))
    (assets / "app.0123456789ab.js").write_bytes(b"hashed")
    (assets / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (vendor / "js" / "lib.js").write_bytes(b"lib()")
    settings.DEBUG = False
    settings.STATIC_URL = "/static/"
    settings.STATIC_ROOT = str(collected)
    settings.STATICFILES_DIRS = [assets, ("vendor", str(vendor))]
    settings.BOLT_STATIC_MAX_AGE = None
    return tmp_path


def _static_client() -> TestClient:
    return TestClient(BoltAPI())


@pytest.mark.usefixtures("static_tree")
def test_a_file_only_in_staticfiles_dirs_is_served_like_a_collected_one() -> None:
    with _static_client() as client:
        only = client.get("/static/css/only.css", headers={"accept-encoding": "identity"})
        gzipped = client.get("/static/css/only.css", headers={"accept-encoding": "gzip"})
        collected = client.get("/static/both.css")
        hashed = client.get("/static/app.0123456789ab.js")
        vendored = client.get("/static/vendor/js/lib.js")
        unprefixed = client.get("/static/js/lib.js")
        again = client.get(
            "/static/css/only.css",
            headers={"accept-encoding": "identity", "if-none-match": only.headers["etag"]},
        )
        head = client.head("/static/css/only.css")
    assert only.status_code == 200
    assert only.content == b"p{}"
    assert only.headers["content-type"] == "text/css; charset=utf-8"
    assert only.headers["cache-control"] == "public, max-age=0, must-revalidate"
    assert only.headers["vary"] == "accept-encoding"
    assert "last-modified" in only.headers
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.content == b"p{}"  # the client decodes it
    # STATIC_ROOT comes first, as in Django-Bolt 0.13.
    assert collected.content == b"from STATIC_ROOT"
    assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
    # A ("vendor", dir) entry serves dir's files under vendor/, and only there.
    assert vendored.content == b"lib()"
    assert unprefixed.status_code == 404
    assert again.status_code == 304
    assert head.status_code == 200
    assert head.content == b""


def test_staticfiles_dirs_without_static_root(static_tree: Path, settings: Any) -> None:
    settings.STATIC_ROOT = None
    with _static_client() as client:
        assert client.get("/static/both.css").content == b"from STATICFILES_DIRS"
        assert client.get("/static/vendor/js/lib.js").content == b"lib()"


@pytest.mark.usefixtures("static_tree")
@pytest.mark.parametrize(
    "path",
    [
        "/static/leak.txt",
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/css/..%2F..%2Fsecret.txt",
        "/static/vendor/../../secret.txt",
        "/static/vendor/%2e%2e/%2e%2e/secret.txt",
        "/static/vendor/..%5c..%5csecret.txt",
        "/static/vendor/",
        "/static/css/",
    ],
)
def test_nothing_outside_a_staticfiles_dir_is_reachable(path: str) -> None:
    with _static_client() as client:
        response = client.get(path)
    # 0.13: a ".." segment is a 400; anything else that names no file a 404. (The client takes
    # literal "/../" out before sending, as browsers do.)
    assert response.status_code == (
        400 if "%2e%2e" in path.lower() or "..%2f" in path.lower() else 404
    )
    assert b"TOP-SECRET" not in response.content


@pytest.mark.parametrize(
    "value",
    ["static", [("vendor/", "/tmp")], [("", "/tmp")], [("a", "/tmp", "x")], [3], [(1, "/tmp")]],
)
def test_a_malformed_staticfiles_dirs_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match=r"directories|prefix"):
        checks.static_dirs(value)


def test_staticfiles_dirs_entries_become_prefix_directory_pairs(tmp_path: Path) -> None:
    assert checks.static_dirs([tmp_path, ("lib", str(tmp_path))]) == (
        ("", str(tmp_path)),
        ("lib", str(tmp_path)),
    )


NONCE = "<CSP_NONCE_SENTINEL>"  # Django 6's CSP.NONCE


def test_secure_csp_goes_on_every_static_and_media_answer(static_tree: Path, settings: Any) -> None:
    media = static_tree / "media"
    media.mkdir()
    (media / "up.txt").write_bytes(b"up")
    settings.MEDIA_URL = "/media/"
    settings.MEDIA_ROOT = str(media)
    settings.SECURE_CSP = {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE, "https://cdn.example"],
        "img-src": {"data:", "'self'"},
        "style-src": "'self'",
        "upgrade-insecure-requests": True,
        "frame-src": None,
        "object-src": False,
        "font-src": [],
        "connect-src": [NONCE],
    }
    expected = (
        "default-src 'self'; script-src 'self' https://cdn.example; img-src 'self' data:; "
        "style-src 'self'; upgrade-insecure-requests"
    )
    api = BoltAPI()

    @api.get("/api/plain")
    async def plain() -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(api) as client:
        found = client.get("/static/css/only.css")
        cached = client.get(
            "/static/css/only.css", headers={"if-none-match": found.headers["etag"]}
        )
        refused = client.get("/static/leak.txt")
        uploaded = client.get("/media/up.txt")
        route = client.get("/api/plain")
    assert found.status_code == 200
    assert cached.status_code == 304
    assert refused.status_code == 404
    for response in (found, cached, refused, uploaded):
        assert response.headers["content-security-policy"] == expected
    # Only the file server's answers: API responses are the application's to decide.
    assert "content-security-policy" not in route.headers


def test_without_secure_csp_no_header(static_tree: Path) -> None:
    with _static_client() as client:
        response = client.get("/static/css/only.css")
    assert response.status_code == 200
    assert "content-security-policy" not in response.headers


@pytest.mark.parametrize(
    ("value", "header"),
    [
        ({}, None),
        ({"default-src": None, "img-src": []}, None),
        ({"default-src": [NONCE]}, None),
        ({"sandbox": ""}, "sandbox"),
        ({"a": ("x", "y"), "b": 0}, "a x y"),
    ],
)
def test_csp_policy_follows_djangos_rules(value: Any, header: str | None) -> None:
    assert checks.csp_policy(value) == header


@pytest.mark.parametrize(
    "value",
    [
        "default-src 'self'",
        ["default-src"],
        {"default-src": ["'self'\r\nset-cookie: x=1"]},
        {"default-src": [1]},
        {"img-src": ["café"]},
    ],
)
def test_a_secure_csp_that_gives_no_valid_header_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="CSP"):
        checks.csp_policy(value)


def test_a_bad_secure_csp_stops_start_up(static_tree: Path, settings: Any) -> None:
    settings.SECURE_CSP = {"default-src": ["'self'\nx"]}
    with pytest.raises(ImproperlyConfigured, match="SECURE_CSP"), _static_client() as client:
        client.get("/static/css/only.css")
