"""The fall-through: paths no API route matches are served by the project's URLconf (tests.urls)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.test import override_settings

from django_bolt import BoltAPI
from django_bolt.concurrency import reset_sync_pool
from django_bolt.conf import ServerConfig
from django_bolt.discovery import discover_application
from django_bolt.server.contract import SpooledBody
from tests import urls

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from django_bolt.testing import TestClient

NOT_FOUND = {"detail": "Not Found"}


def _fresh_sync_pool() -> None:
    # Django's request_started checks the database connection of the thread it runs on. A pool
    # thread still holding one from an earlier django_db test would trip pytest-django's
    # "database access not allowed" in a test without the mark; new threads hold none.
    reset_sync_pool()


@pytest.fixture(autouse=True)
def fresh_sync_pool() -> Iterator[None]:
    _fresh_sync_pool()
    yield
    _fresh_sync_pool()


@pytest.fixture
def api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/items")
    async def items() -> dict[str, str]:
        return {"from": "api"}

    return api


@pytest.fixture
def client(api: BoltAPI, bolt_client_factory: Callable[..., TestClient]) -> TestClient:
    return bolt_client_factory(api)


@pytest.fixture
def signals() -> Iterator[list[str]]:
    """Django's request signals, in the order they were sent."""
    sent: list[str] = []

    def started(**kwargs: Any) -> None:
        sent.append("started")

    def finished(**kwargs: Any) -> None:
        sent.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    yield sent
    request_started.disconnect(started)
    request_finished.disconnect(finished)


def test_plain_view_is_served_by_django(client: TestClient, signals: list[str]) -> None:
    response = client.get("/django-view/")
    assert response.status_code == 200
    assert response.text == "plain django view"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    # Django's content-length is dropped and the server's own stands alone.
    assert response.headers.get_list("content-length") == [str(len("plain django view"))]
    assert signals == ["started", "finished"]


def test_request_reaches_django_as_wsgi_would_pass_it(client: TestClient) -> None:
    response = client.get("/echo/?q=a%20b", headers={"X-Probe": "yes"})
    method, path, query, probe, remote, scheme = response.text.split("\n")
    assert (method, path, query, probe, remote, scheme) == (
        "GET",
        "/echo/",
        "a b",
        "yes",
        "127.0.0.1",
        "http",
    )


def test_percent_encoded_utf8_path_resolves(client: TestClient) -> None:
    assert client.get("/caf%C3%A9/").text == "plain django view"


def test_every_set_cookie_is_kept(client: TestClient) -> None:
    response = client.get("/cookies/")
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("first=1;")
    assert cookies[1].startswith("second=2;")
    assert "HttpOnly" in cookies[1]


def test_streaming_view_is_sent_chunk_by_chunk(client: TestClient, signals: list[str]) -> None:
    with client.stream("GET", "/stream/") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
        # Sent as the server pulls them, as fast as the client reads (the generator is not
        # drained into one body first).
        chunks = list(response.iter_raw())
    assert b"".join(chunks) == b"chunk 0;chunk 1;chunk 2;"
    assert urls.STREAM_LOG == ["chunk 0", "chunk 1", "chunk 2"]
    # close() after the last chunk is what sends request_finished.
    assert signals == ["started", "finished"]


def test_async_streaming_view_is_consumed_on_the_loop(
    client: TestClient, signals: list[str]
) -> None:
    response = client.get("/async-stream/")
    assert response.status_code == 200
    assert response.text == "async 0;async 1;async 2;"
    assert signals == ["started", "finished"]


def test_post_needs_the_csrf_token(client: TestClient) -> None:
    refused = client.post("/csrf/", data={"name": "x"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text

    token = client.get("/csrf/").text
    assert client.cookies.get("csrftoken")
    accepted = client.post("/csrf/", data={"name": "bolt"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert accepted.text == "posted bolt"


def test_unknown_path_is_the_json_404(client: TestClient) -> None:
    for path in ("/nowhere", "/nowhere/", "/admin-not/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == NOT_FOUND


def test_a_certain_miss_is_decided_without_django(client: TestClient, signals: list[str]) -> None:
    # Only Django's own middleware, none acting on unresolved URLs: the resolver decides on the
    # loop, and Django's handler (which sends request_started) never runs.
    for _ in range(2):  # the second answer comes from the kept verdict
        response = client.get("/nowhere")
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert signals == []
    # A path Django knows still reaches it; one it knows only with a slash gets its redirect.
    assert client.get("/django-view/").status_code == 200
    assert client.get("/django-view").status_code == 301
    assert signals == ["started", "finished", "started", "finished"]


class ProjectMiddleware:
    """A project's middleware: it might answer any URL, so misses must go through Django."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path == "/answered-by-middleware":
            from django.http import HttpResponse

            return HttpResponse("from the middleware")
        return self.get_response(request)


@pytest.mark.parametrize(
    "middleware",
    [
        ["tests.api.test_django_bridge.ProjectMiddleware"],
        ["django.middleware.locale.LocaleMiddleware"],
    ],
    ids=["project", "locale"],
)
def test_misses_go_to_django_when_a_middleware_may_answer_them(
    api: BoltAPI,
    bolt_client_factory: Callable[..., TestClient],
    signals: list[str],
    middleware: list[str],
) -> None:
    with override_settings(MIDDLEWARE=middleware):
        client = bolt_client_factory(api)
        response = client.get("/answered-by-middleware")
        if middleware[0].endswith("ProjectMiddleware"):
            assert response.status_code == 200
            assert response.text == "from the middleware"
        else:
            assert response.status_code == 404
        assert signals[:1] == ["started"]


def test_prepend_www_sends_misses_to_django(
    api: BoltAPI, bolt_client_factory: Callable[..., TestClient], signals: list[str]
) -> None:
    with override_settings(PREPEND_WWW=True):
        client = bolt_client_factory(api)
        response = client.get("/nowhere", headers={"host": "example.com"})
        assert response.status_code == 301
        assert response.headers["location"] == "http://www.example.com/nowhere"


def test_view_raising_http404_keeps_djangos_page(client: TestClient) -> None:
    raised = client.get("/raises-404/")
    assert raised.status_code == 404
    assert raised.headers["content-type"].startswith("text/html")
    assert "Not Found" in raised.text
    custom = client.get("/custom-404/")
    assert custom.status_code == 404
    assert custom.text == "custom not found page"


def test_append_slash_redirect_is_djangos(client: TestClient) -> None:
    response = client.get("/django-view")
    assert response.status_code == 301
    assert response.headers["location"] == "/django-view/"


def test_api_route_wins_over_a_django_path(bolt_client_factory: Callable[..., TestClient]) -> None:
    api = BoltAPI(trailing_slash="keep")

    @api.get("/django-view/")
    async def shadow() -> dict[str, str]:
        return {"from": "api"}

    client = bolt_client_factory(api)
    assert client.get("/django-view/").json() == {"from": "api"}


def test_api_trailing_slash_redirect_does_not_take_djangos_paths(
    bolt_client_factory: Callable[..., TestClient],
) -> None:
    api = BoltAPI()  # strips: /django-view is the API's, /django-view/ is Django's

    @api.get("/django-view/")
    async def api_side() -> dict[str, str]:
        return {"from": "api"}

    @api.get("/items")
    async def items() -> dict[str, str]:
        return {"from": "api"}

    client = bolt_client_factory(api)
    assert client.get("/django-view").json() == {"from": "api"}
    assert client.get("/django-view/").text == "plain django view"
    # A spelling Django does not serve still gets the API's 308.
    redirect = client.get("/items/")
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "/items"


def test_fallthrough_off_answers_json_404(bolt_client_factory: Callable[..., TestClient]) -> None:
    client = bolt_client_factory(BoltAPI(django_fallthrough=False))
    response = client.get("/django-view/")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_fallthrough_off_without_a_urlconf(
    settings: Any, bolt_client_factory: Callable[..., TestClient]
) -> None:
    settings.ROOT_URLCONF = None
    client = bolt_client_factory(BoltAPI())
    assert client.get("/django-view/").json() == NOT_FOUND


def test_no_admin_turns_the_fallthrough_off(
    settings: Any, bolt_client_factory: Callable[..., TestClient]
) -> None:
    settings.BOLT_API = ["tests.api.discoproj.api:extra_api"]
    served = bolt_client_factory(discover_application(config=ServerConfig()))
    assert served.get("/django-view/").text == "plain django view"
    cut = bolt_client_factory(discover_application(config=ServerConfig(no_admin=True)))
    assert cut.get("/django-view/").json() == NOT_FOUND
    assert cut.get("/extra/ping").status_code == 200


def test_admin_login_page_renders(client: TestClient) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert '<form action="/admin/login/" method="post" id="login-form">' in response.text
    assert 'name="username"' in response.text
    assert 'name="csrfmiddlewaretoken"' in response.text


def _csrf_field(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_admin_login_session_and_index(client: TestClient, django_user_model: Any) -> None:
    # transaction=True: the views run on pool threads, which must see the committed user.
    django_user_model.objects.create_superuser("admin", "admin@example.com", "s3cret-pass")
    assert client.get("/admin/").status_code == 302  # not logged in yet
    login_page = client.get("/admin/login/?next=/admin/")
    form = {
        "csrfmiddlewaretoken": _csrf_field(login_page.text),
        "username": "admin",
        "password": "s3cret-pass",
        "next": "/admin/",
    }
    logged_in = client.post("/admin/login/?next=/admin/", data=form)
    assert logged_in.status_code == 302, logged_in.text
    assert logged_in.headers["location"] == "/admin/"
    assert client.cookies.get("sessionid")
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Site administration" in index.text
    assert "Log out" in index.text


def test_debug_serves_static_files_from_the_finders(
    settings: Any, bolt_client_factory: Callable[..., TestClient]
) -> None:
    settings.DEBUG = True
    expected = Path(finders.find("admin/js/vendor/jquery/jquery.js")).read_bytes()
    client = bolt_client_factory(BoltAPI())
    response = client.get("/static/admin/js/vendor/jquery/jquery.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == expected
    # Django's FileResponse knows the size: it is kept, once, and the body is not chunked.
    assert response.headers.get_list("content-length") == [str(len(expected))]
    assert "transfer-encoding" not in response.headers
    assert client.get("/django-view/").text == "plain django view"


def test_static_files_are_not_served_without_debug(client: TestClient) -> None:
    response = client.get("/static/admin/js/vendor/jquery/jquery.js")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("spooled", [False, True], ids=["in-memory", "spooled"])
def test_a_large_body_reaches_django_intact(
    api: BoltAPI,
    bolt_client_factory: Callable[..., TestClient],
    spooled: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body above the spool threshold is handed to Django as a file it reads as it goes,
    never loaded whole by the bridge (loading it would call ``read_all``)."""

    def refuse(self: SpooledBody) -> bytes:
        raise AssertionError("the bridge loaded a spooled body into memory")

    monkeypatch.setattr(SpooledBody, "read_all", refuse)
    raw = bytes(range(256)) * 4096  # 1 MiB
    upload = hashlib.sha256(raw[:700_000]).hexdigest()
    threshold = 1024 if spooled else 64 * 1024 * 1024
    with override_settings(BOLT_BODY_SPOOL_THRESHOLD=threshold):
        # The client reads the server options when it is made, as a worker does at start-up.
        client = bolt_client_factory(api)
        plain = client.post("/digest/", content=raw, headers={"content-type": "text/plain"})
        files = client.post("/digest/", files={"doc": ("doc.bin", raw[:700_000])})
    assert plain.status_code == 200
    assert plain.text == f"{len(raw)}:{hashlib.sha256(raw).hexdigest()}"
    assert files.status_code == 200
    assert files.text == f"doc:700000:{upload}"
