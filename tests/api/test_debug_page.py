"""DEBUG=True: an unhandled exception in a handler is answered with Django's technical 500 page.

0.13's topics/error-handling.md ("Debug mode"): the HTML page with the traceback in DEBUG, the
JSON 500 otherwise; with an ``error_formatter`` there is no page (the formatter writes the body
and reads ``error.exception``). Every other error keeps its status and body in DEBUG.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from django.core.exceptions import DisallowedHost
from django.db.utils import OperationalError

from django_bolt import BoltAPI
from django_bolt.exceptions import HTTPException, InternalServerError
from django_bolt.responses import Response
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from django_bolt.error_handlers import BoltError


class Item(msgspec.Struct):
    name: str


def _api(**options: Any) -> BoltAPI:
    api = BoltAPI(**options)

    @api.post("/boom")
    async def boom(item: Item) -> dict[str, str]:
        raise RuntimeError(f"kaboom {item.name}")

    @api.get("/sync-boom", inline=False)
    def sync_boom() -> dict[str, str]:
        raise KeyError("sync kaboom")

    @api.get("/planned")
    async def planned() -> dict[str, str]:
        raise InternalServerError("planned failure")

    @api.get("/teapot")
    async def teapot() -> dict[str, str]:
        raise HTTPException(418, "short and stout")

    @api.get("/host")
    async def host() -> dict[str, str]:
        raise DisallowedHost("evil.example")

    @api.get("/database")
    async def database() -> dict[str, str]:
        raise OperationalError("server closed the connection")

    @api.get("/bad-response")
    async def bad_response() -> Item:
        return {"name": 3}  # type: ignore[return-value]

    @api.post("/typed")
    async def typed(item: Item) -> Item:
        return item

    return api


@pytest.fixture
def debug(settings: Any) -> None:
    settings.DEBUG = True


@pytest.mark.usefixtures("debug")
def test_an_unhandled_exception_in_debug_is_django_s_html_page() -> None:
    with TestClient(_api(), raise_server_exceptions=False) as client:
        response = client.post(
            "/boom?flavour=plain", json={"name": "widget"}, headers={"X-Trace": "t-1"}
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert page.lstrip().lower().startswith("<!doctype html>")
    # Django's page: the exception, the traceback with the raising line, the request section.
    assert "RuntimeError" in page
    assert "kaboom widget" in page
    assert "Traceback" in page
    assert "raise RuntimeError" in page
    assert "/boom" in page
    assert "flavour" in page
    assert "HTTP_X_TRACE" in page


@pytest.mark.usefixtures("debug")
def test_a_sync_handler_s_exception_gets_the_page_too() -> None:
    with TestClient(_api(), raise_server_exceptions=False) as client:
        response = client.get("/sync-boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "sync kaboom" in response.text


@pytest.mark.usefixtures("debug")
def test_a_route_with_django_middleware_shows_that_request() -> None:
    api = BoltAPI(django_middleware=["django.contrib.sessions.middleware.SessionMiddleware"])

    @api.get("/mw")
    async def with_middleware() -> dict[str, str]:
        raise RuntimeError("behind middleware")

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/mw?q=1")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "behind middleware" in response.text
    assert "/mw" in response.text


@pytest.mark.usefixtures("debug")
def test_only_the_unexpected_500_gets_the_page_other_errors_keep_their_json() -> None:
    with TestClient(_api(), raise_server_exceptions=False) as client:
        crash = client.post("/boom", json={"name": "widget"})
        planned = client.get("/planned")
        teapot = client.get("/teapot")
        host = client.get("/host")
        database = client.get("/database")
        bad_response = client.get("/bad-response")
        invalid = client.post("/typed", json={"name": 1})
        missing = client.get("/nowhere")
    assert crash.headers["content-type"] == "text/html; charset=utf-8"
    assert (planned.status_code, planned.json()) == (500, {"detail": "planned failure"})
    assert (teapot.status_code, teapot.json()) == (418, {"detail": "short and stout"})
    assert host.status_code == 400
    assert host.json() == {
        "detail": "Bad Request",
        "type": "DisallowedHost",
        "message": "evil.example",
    }
    assert (database.status_code, database.json()) == (503, {"detail": "Service Unavailable"})
    assert bad_response.status_code == 500
    assert bad_response.json()["detail"] == "Response validation error"
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "name"]
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})


def test_debug_decides_page_or_json(settings: Any) -> None:
    answers = {}
    for debug in (False, True):
        settings.DEBUG = debug
        with TestClient(_api(), raise_server_exceptions=False) as client:
            answers[debug] = client.post("/boom", json={"name": "widget"})
    production = answers[False]
    assert production.status_code == 500
    assert production.headers["content-type"] == "application/json"
    assert production.json() == {"detail": "Internal Server Error"}
    assert answers[True].headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.usefixtures("debug")
def test_with_a_formatter_there_is_no_page_and_the_formatter_sees_the_exception() -> None:
    seen: list[BoltError] = []

    def format_error(error: BoltError, request: Any) -> Response:
        seen.append(error)
        shown = repr(error.exception)
        return Response({"kind": error.kind, "exception": shown}, status_code=error.status)

    with TestClient(_api(error_formatter=format_error), raise_server_exceptions=False) as client:
        formatted = client.post("/boom", json={"name": "widget"})
    with TestClient(_api(), raise_server_exceptions=False) as client:
        page = client.post("/boom", json={"name": "widget"})
    assert formatted.status_code == page.status_code == 500
    assert formatted.headers["content-type"] == "application/json"
    assert formatted.json() == {
        "kind": "internal_error",
        "exception": "RuntimeError('kaboom widget')",
    }
    assert isinstance(seen[0].exception, RuntimeError)
    # The same crash without a formatter: Django's page.
    assert page.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.usefixtures("debug")
def test_a_failing_exception_handler_in_debug_gets_the_page() -> None:
    api = BoltAPI()

    @api.exception_handler(ValueError)
    async def broken(request: Any, error: ValueError) -> dict[str, str]:
        raise KeyError("handler bug")

    @api.get("/x")
    async def x() -> dict[str, str]:
        raise ValueError("first")

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/x")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "handler bug" in response.text


@pytest.mark.usefixtures("debug")
def test_a_page_that_cannot_be_built_falls_back_to_the_json_500(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEFAULT_EXCEPTION_REPORTER = "tests.api.test_debug_page.BrokenReporter"
    with (
        caplog.at_level(logging.ERROR, logger="django_bolt"),
        TestClient(_api(), raise_server_exceptions=False) as client,
    ):
        response = client.post("/boom", json={"name": "widget"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["type"], body["message"]) == ("RuntimeError", "kaboom widget")
    assert any("raise RuntimeError" in line for line in body["traceback"])
    assert "debug page could not be built" in caplog.text


@pytest.mark.usefixtures("debug")
def test_a_request_the_reporter_cannot_read_leaves_only_the_request_out(settings: Any) -> None:
    settings.DEFAULT_EXCEPTION_REPORTER = "tests.api.test_debug_page.PickyReporter"
    with TestClient(_api(), raise_server_exceptions=False) as client:
        response = client.post("/boom", json={"name": "widget"})
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "kaboom widget" in response.text


class BrokenReporter:
    """An exception reporter that always fails (settings.DEFAULT_EXCEPTION_REPORTER)."""

    def __init__(self, *args: Any) -> None:
        raise RuntimeError("reporter bug")


class PickyReporter:
    """A reporter that fails with a request and works without one."""

    def __init__(self, request: Any, *args: Any) -> None:
        if request is not None:
            raise RuntimeError("cannot read this request")
        from django.views.debug import ExceptionReporter

        self._reporter = ExceptionReporter(None, *args)

    def get_traceback_html(self) -> str:
        return self._reporter.get_traceback_html()
