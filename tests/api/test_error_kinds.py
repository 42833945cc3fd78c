"""The rows of Django-Bolt 0.13's error kind table that come from an exception a handler raises.

Each test drives a real handler through the TestClient (``raise_server_exceptions=False``, so a
wrong mapping shows up as the 500 it would send) and checks the status, the JSON body, the
``kind`` an error formatter is given and, for a ``SuspiciousOperation``, the record Django's
security logger gets. ``handle_exception``, 0.13's public entry point, must agree.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousFileOperation,
    SuspiciousOperation,
)
from django.http.multipartparser import MultiPartParserError

from django_bolt import BoltAPI
from django_bolt.error_handlers import BoltError, handle_exception
from django_bolt.exceptions import (
    ErrorList,
    NotFound,
    RequestValidationError,
    ValidationException,
)
from django_bolt.responses import Response
from django_bolt.testing import TestClient

SECRET_PATH = "/srv/private/settings-7f3a.toml"


class Point(msgspec.Struct):
    x: int


class DomainValidation(ValidationException):
    """A ``ValidationException`` an application defines and raises itself."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid")
        self.errors = ErrorList(errors)


def _raising(exc: BaseException, **options: Any) -> BoltAPI:
    api = BoltAPI(**options)

    @api.get("/boom")
    async def boom() -> dict[str, str]:
        raise exc

    return api


def _get(exc: BaseException, **options: Any) -> tuple[int, Any]:
    with TestClient(_raising(exc, **options), raise_server_exceptions=False) as client:
        response = client.get("/boom")
    return response.status_code, response.json()


def _kind_of(exc: BaseException) -> BoltError:
    seen: list[BoltError] = []

    def formatter(error: BoltError, request: Any) -> Response:
        seen.append(error)
        return Response({"kind": error.kind}, status_code=error.status)

    status, body = _get(exc, error_formatter=formatter)
    assert body == {"kind": seen[0].kind}
    assert status == seen[0].status
    return seen[0]


def _security_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("django.security.")]


def _invalid_point() -> msgspec.ValidationError:
    try:
        msgspec.convert({"x": "seven"}, Point)
    except msgspec.ValidationError as exc:
        return exc
    raise AssertionError("msgspec accepted a str for an int")


# --- bad_request: Django's SuspiciousOperation ------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        DisallowedHost("Invalid HTTP_HOST header: 'evil.example'."),
        SuspiciousFileOperation(f"Detected path traversal attempt in '{SECRET_PATH}'"),
        RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."),
        SuspiciousOperation("something odd"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_suspicious_operation_is_a_400_logged_to_django_security(
    exc: SuspiciousOperation, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="django.security"):
        status, body = _get(exc)
    assert status == 400
    # The body names neither the host nor the path the exception's text holds.
    assert body == {"detail": "Bad Request"}
    records = _security_records(caplog)
    assert [record.name for record in records] == [f"django.security.{type(exc).__name__}"]
    record = records[0]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == str(exc)
    assert record.exc_info is not None and record.exc_info[1] is exc
    assert getattr(record, "status_code", None) == 400


def test_disallowed_host_log_record(caplog: pytest.LogCaptureFixture) -> None:
    exc = DisallowedHost("Invalid HTTP_HOST header: 'evil.example'.")
    with caplog.at_level(logging.ERROR, logger="django.security"):
        _get(exc)
    records = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert len(records) == 1
    assert records[0].levelname == "ERROR"
    # Not also logged as an unhandled exception.
    assert not [r for r in caplog.records if r.name == "django_bolt"]


def test_suspicious_operation_kind_is_bad_request() -> None:
    error = _kind_of(DisallowedHost("Invalid HTTP_HOST header: 'evil.example'."))
    assert (error.status, error.kind, error.detail) == (400, "bad_request", "Bad Request")


def test_suspicious_operation_through_handle_exception(caplog: pytest.LogCaptureFixture) -> None:
    exc = DisallowedHost("Invalid HTTP_HOST header: 'evil.example'.")
    with caplog.at_level(logging.ERROR, logger="django.security"):
        status, headers, body = handle_exception(exc, debug=False)
    assert status == 400
    assert ("content-type", "application/json") in headers
    assert msgspec.json.decode(body) == {"detail": "Bad Request"}
    assert [r.name for r in _security_records(caplog)] == ["django.security.DisallowedHost"]


def test_suspicious_operation_debug_body_names_the_exception() -> None:
    exc = SuspiciousFileOperation(f"Detected path traversal attempt in '{SECRET_PATH}'")
    status, _, body = handle_exception(exc, debug=True)
    assert status == 400
    assert msgspec.json.decode(body) == {
        "detail": "Bad Request",
        "type": "SuspiciousFileOperation",
        "message": str(exc),
    }


def test_client_errors_are_not_raised_by_the_test_client() -> None:
    # Django sends no got_request_exception for these, so its test client does not raise them.
    for exc, status in ((DisallowedHost("bad host"), 400), (FileNotFoundError(SECRET_PATH), 404)):
        with TestClient(_raising(exc)) as client:
            assert client.get("/boom").status_code == status


# --- not_found: FileNotFoundError --------------------------------------------------------------


def test_file_not_found_is_a_404_shaped_like_not_found() -> None:
    status, body = _get(FileNotFoundError(2, "No such file or directory", SECRET_PATH))
    assert status == 404
    assert body == {"detail": "Not Found"}
    assert _get(NotFound()) == (status, body)
    assert SECRET_PATH not in str(body)


def test_file_not_found_kind_is_not_found() -> None:
    error = _kind_of(FileNotFoundError(2, "No such file or directory", SECRET_PATH))
    assert (error.status, error.kind, error.detail) == (404, "not_found", "Not Found")


def test_file_not_found_through_handle_exception() -> None:
    status, _, body = handle_exception(FileNotFoundError(SECRET_PATH), debug=False)
    assert (status, msgspec.json.decode(body)) == (404, {"detail": "Not Found"})


# --- validation: validation errors raised in Python ------------------------------------------


def test_msgspec_validation_error_in_a_handler_is_a_422() -> None:
    exc = _invalid_point()
    status, body = _get(exc)
    assert status == 422
    assert body == {
        "detail": [
            {"loc": ["body", "x"], "msg": "Expected `int`, got `str`", "type": "validation_error"}
        ]
    }
    handled_status, _, handled = handle_exception(exc, debug=False)
    assert (handled_status, msgspec.json.decode(handled)) == (status, body)


def test_validation_exception_in_a_handler_is_a_422() -> None:
    item = {"loc": ["body", "sku"], "msg": "unknown product", "type": "value_error"}
    status, body = _get(DomainValidation([item]))
    assert (status, body) == (422, {"detail": [item]})


def test_validation_errors_kind_is_validation() -> None:
    error = _kind_of(_invalid_point())
    assert (error.status, error.kind) == (422, "validation")
    assert error.errors == [
        {"loc": ["body", "x"], "msg": "Expected `int`, got `str`", "type": "validation_error"}
    ]


# --- Django's BadRequest and MultiPartParserError ----------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [BadRequest("the view calls this bad"), MultiPartParserError("Invalid boundary")],
    ids=lambda exc: type(exc).__name__,
)
def test_django_bad_request_exceptions_are_a_400(exc: Exception) -> None:
    # Django answers both with 400; the message is not sent.
    assert _get(exc) == (400, {"detail": "Bad Request"})
    assert _kind_of(exc).kind == "bad_request"


def test_a_request_validation_error_reads_as_its_locations_and_messages() -> None:
    # 0.13's ref/exceptions.md: str(exc) is "body.email: Invalid email; body.password: ...".
    exc = RequestValidationError(
        [
            {"loc": ["body", "email"], "msg": "Invalid email", "type": "value_error"},
            {"loc": ["query", "page", 0], "msg": "Too short", "type": "value_error"},
            {"msg": "no location", "type": "value_error"},
        ]
    )
    assert str(exc) == "body.email: Invalid email; query.page.0: Too short; no location"
