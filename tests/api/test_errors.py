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
        body = client.get("/boom").json()
    assert body["detail"] == "Internal Server Error"
    assert (body["type"], body["message"]) == ("RuntimeError", "visible")
    assert any("raise RuntimeError" in line for line in body["traceback"])


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
