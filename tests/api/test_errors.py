"""HTTPException family, custom exception handlers, unhandled errors (DEBUG on and off)."""

import logging

import pytest

from django_bolt import JSON, BoltAPI, HTTPException, exceptions as exc
from django_bolt.testing import TestClient


@pytest.mark.parametrize(
    ("cls", "status", "phrase"),
    [
        pytest.param(exc.BadRequest, 400, "Bad Request", id="400"),
        pytest.param(exc.Unauthorized, 401, "Unauthorized", id="401"),
        pytest.param(exc.Forbidden, 403, "Forbidden", id="403"),
        pytest.param(exc.NotFound, 404, "Not Found", id="404"),
        pytest.param(exc.MethodNotAllowed, 405, "Method Not Allowed", id="405"),
        pytest.param(exc.NotAcceptable, 406, "Not Acceptable", id="406"),
        pytest.param(exc.Conflict, 409, "Conflict", id="409"),
        pytest.param(exc.Gone, 410, "Gone", id="410"),
        pytest.param(exc.PayloadTooLarge, 413, "Request Entity Too Large", id="413"),
        pytest.param(exc.UnsupportedMediaType, 415, "Unsupported Media Type", id="415"),
        pytest.param(exc.UnprocessableEntity, 422, "Unprocessable Entity", id="422"),
        pytest.param(exc.TooManyRequests, 429, "Too Many Requests", id="429"),
        pytest.param(exc.InternalServerError, 500, "Internal Server Error", id="500"),
        pytest.param(exc.BadGateway, 502, "Bad Gateway", id="502"),
        pytest.param(exc.ServiceUnavailable, 503, "Service Unavailable", id="503"),
        pytest.param(exc.GatewayTimeout, 504, "Gateway Timeout", id="504"),
    ],
)
def test_http_exception_subclasses(cls, status, phrase):
    api = BoltAPI()

    @api.get("/default")
    async def default():
        raise cls()

    @api.get("/custom")
    async def custom():
        raise cls("custom detail", headers={"Retry-After": "5"})

    with TestClient(api) as client:
        response = client.get("/default")
        assert (response.status_code, response.json()) == (status, {"detail": phrase})
        response = client.get("/custom")
        assert response.json() == {"detail": "custom detail"}
        assert response.headers["retry-after"] == "5"


def test_http_exception_with_extra():
    api = BoltAPI()

    @api.get("/x")
    def raise_it():
        raise HTTPException(status_code=418, detail="teapot", extra={"field": "tea"})

    with TestClient(api) as client:
        response = client.get("/x")
    assert response.status_code == 418
    assert response.json() == {"detail": "teapot", "extra": {"field": "tea"}}


def test_custom_exception_handler_matches_subclasses():
    class DomainError(Exception):
        pass

    class Missing(DomainError):
        pass

    api = BoltAPI()

    @api.exception_handler(DomainError)
    def handle(request, error):
        return JSON({"error": type(error).__name__, "path": request.path}, status_code=409)

    @api.get("/missing")
    async def missing():
        raise Missing

    with TestClient(api) as client:
        response = client.get("/missing")
    assert (response.status_code, response.json()) == (
        409,
        {"error": "Missing", "path": "/missing"},
    )


def test_handler_can_override_http_exceptions():
    api = BoltAPI()

    @api.exception_handler(exc.NotFound)
    async def not_found(request, error):
        return {"custom": error.detail}

    @api.get("/x")
    async def x():
        raise exc.NotFound("gone")

    with TestClient(api) as client:
        response = client.get("/x")
    assert (response.status_code, response.json()) == (404, {"custom": "gone"})


def test_unhandled_exception_is_500_and_logged(caplog):
    api = BoltAPI(debug=False)

    @api.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    with (
        caplog.at_level(logging.ERROR, logger="django_bolt"),
        TestClient(api, raise_server_exceptions=False) as client,
    ):
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    (record,) = [r for r in caplog.records if r.name == "django_bolt"]
    assert record.exc_info is not None
    assert "secret internals" in str(record.exc_info[1])


def test_unhandled_exception_in_debug_shows_details(settings):
    settings.DEBUG = True
    api = BoltAPI()

    @api.get("/boom")
    async def boom():
        raise RuntimeError("visible")

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    # Django's technical 500 page, as 0.13 sends it (tests/api/test_debug_page.py has more).
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "RuntimeError" in response.text
    assert "visible" in response.text
    assert "raise RuntimeError" in response.text


def test_failing_exception_handler_still_answers(caplog):
    api = BoltAPI()

    @api.exception_handler(ValueError)
    async def broken(request, error):
        raise KeyError("handler bug")

    @api.get("/x")
    async def x():
        raise ValueError

    with (
        caplog.at_level(logging.ERROR, logger="django_bolt"),
        TestClient(api, raise_server_exceptions=False) as client,
    ):
        assert client.get("/x").status_code == 500


def _django_http404(*args: str) -> BaseException:
    from django.http import Http404

    return Http404(*args)


def _permission_denied(*args: str) -> BaseException:
    from django.core.exceptions import PermissionDenied

    return PermissionDenied(*args)


def _raising_api(error: BaseException) -> BoltAPI:
    api = BoltAPI()

    @api.get("/raise")
    async def raise_it() -> None:
        raise error

    return api


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        pytest.param(_django_http404(), 404, "Not Found", id="http404"),
        pytest.param(
            _django_http404("No Product matches the given query."),
            404,
            "No Product matches the given query.",
            id="http404-message",
        ),
        pytest.param(_permission_denied(), 403, "Permission denied", id="permission-denied"),
        pytest.param(_permission_denied("Not yours"), 403, "Not yours", id="permission-msg"),
    ],
)
def test_djangos_client_errors_keep_their_meaning(
    error: BaseException, status: int, detail: str
) -> None:
    """get_object_or_404 and PermissionDenied answer as they would in a Django view; they are
    the client's answer, not a server bug, so the test client does not re-raise them."""
    with TestClient(_raising_api(error)) as client:  # raise_server_exceptions on
        response = client.get("/raise")
    assert response.status_code == status
    assert response.json() == {"detail": detail}


@pytest.mark.django_db(transaction=True)
def test_get_object_or_404_in_a_handler_is_a_404() -> None:
    from django.contrib.auth.models import Group
    from django.shortcuts import aget_object_or_404

    api = BoltAPI()

    @api.get("/groups/{pk}")
    async def group(pk: int) -> dict[str, str]:
        found = await aget_object_or_404(Group, pk=pk)
        return {"name": found.name}

    with TestClient(api) as client:
        response = client.get("/groups/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Group matches the given query."}


@pytest.mark.parametrize("name", ["OperationalError", "InterfaceError"])
def test_an_unreachable_database_is_503_and_logged(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    from django.db import utils

    error = getattr(utils, name)("connection to server failed")
    with (
        caplog.at_level(logging.ERROR, logger="django_bolt"),
        TestClient(_raising_api(error), raise_server_exceptions=False) as client,
    ):
        response = client.get("/raise")
    assert response.status_code == 503
    assert response.json() == {"detail": "Service Unavailable"}
    assert "connection to server failed" in caplog.text


# --- Django's got_request_exception -----------------------------------------------------------


@pytest.fixture
def got_exception():
    """A real receiver on Django's signal, recording what error trackers read."""
    import sys

    from django.core.signals import got_request_exception

    seen = []

    def receiver(sender, request, **kwargs):
        seen.append((sender, request, sys.exc_info()[1]))

    got_request_exception.connect(receiver, dispatch_uid="bolt-test-receiver")
    yield seen
    got_request_exception.disconnect(dispatch_uid="bolt-test-receiver")


def test_unhandled_exception_sends_got_request_exception(got_exception):
    from django.http import HttpRequest

    api = BoltAPI()

    @api.post("/crash/{n}")
    async def crash(n: int):
        raise ValueError(f"bad {n}")

    @api.get("/sync-crash")
    def sync_crash():
        raise KeyError("missing")

    with TestClient(api, raise_server_exceptions=False) as client:
        response = client.post("/crash/3?x=1", content=b"payload", headers={"X-Trace": "t"})
        assert response.status_code == 500
        assert client.get("/sync-crash").status_code == 500
    (sender, request, error), (_, _, sync_error) = got_exception
    assert sender is None
    assert isinstance(request, HttpRequest)
    assert (request.method, request.path, request.GET["x"]) == ("POST", "/crash/3", "1")
    assert (request.headers["x-trace"], request.body) == ("t", b"payload")
    assert not request.user.is_authenticated
    assert isinstance(error, ValueError) and str(error) == "bad 3"
    assert isinstance(sync_error, KeyError)


def test_client_errors_and_handled_exceptions_send_no_signal(got_exception):
    api = BoltAPI()

    @api.exception_handler(LookupError)
    async def lookup(request, error):
        return JSON({"detail": "handled"}, status_code=404)

    @api.get("/http")
    async def http_error():
        raise exc.ServiceUnavailable("later")

    @api.get("/handled")
    async def handled():
        raise LookupError("x")

    @api.get("/typed/{n}")
    async def typed(n: int):
        return {"n": n}

    with TestClient(api) as client:
        assert client.get("/http").status_code == 503
        assert client.get("/handled").status_code == 404
        assert client.get("/typed/abc").status_code in (404, 422)
    assert got_exception == []


def test_failing_and_async_receivers_do_not_change_the_500(caplog):
    from django.core.signals import got_request_exception

    seen = []

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    async def async_receiver(sender, request, **kwargs):
        seen.append(request.path)

    got_request_exception.connect(broken, dispatch_uid="bolt-broken")
    got_request_exception.connect(async_receiver, dispatch_uid="bolt-async")
    api = BoltAPI()

    @api.get("/boom")
    async def boom():
        raise ValueError("boom")

    try:
        with (
            caplog.at_level(logging.ERROR),
            TestClient(api) as client,
            pytest.raises(ValueError, match="boom"),
        ):
            client.get("/boom")
    finally:
        got_request_exception.disconnect(dispatch_uid="bolt-broken")
        got_request_exception.disconnect(dispatch_uid="bolt-async")
    assert seen == ["/boom"]
    assert any("receiver" in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.mark.django_db
def test_django_middleware_request_is_the_one_sent(got_exception):
    api = BoltAPI(
        django_middleware=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ]
    )

    @api.get("/crash")
    async def crash(request):
        request.state.seen = True
        raise ValueError("inside middleware")

    with TestClient(api, raise_server_exceptions=False) as client:
        assert client.get("/crash").status_code == 500
    ((_, request, error),) = got_exception
    assert hasattr(request, "session") and not request.user.is_authenticated
    assert str(error) == "inside middleware"
