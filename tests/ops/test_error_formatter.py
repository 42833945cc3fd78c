"""BoltAPI(error_formatter=...), problem_details and django_bolt.error_handlers' 0.13 names."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import override_settings

from django_bolt import BoltAPI, JWTAuthentication, Request
from django_bolt.auth import IsAuthenticated
from django_bolt.discovery import discover_application
from django_bolt.error_handlers import (
    BoltError,
    error_schema,
    format_error_response,
    generic_exception_handler,
    handle_exception,
    http_exception_handler,
    kind_for_status,
    msgspec_validation_error_to_dict,
    problem_details,
    request_validation_error_handler,
)
from django_bolt.exceptions import Conflict, HTTPException, NotFound, RequestValidationError
from django_bolt.middleware import rate_limit
from django_bolt.responses import JSON, PlainText, Response
from django_bolt.testing import TestClient

SECRET = "tests-only-not-secret-but-long-enough-for-hs256"


class Item(msgspec.Struct):
    name: str
    price: float


def build_api(formatter: Any) -> BoltAPI:
    api = BoltAPI(error_formatter=formatter)

    @api.get("/private", guards=[IsAuthenticated()], auth=[JWTAuthentication(secret=SECRET)])
    async def private() -> dict[str, str]:
        return {"ok": "yes"}

    @api.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        if item_id == 0:
            raise NotFound("No such item", extra={"item_id": 0})
        if item_id == 1:
            raise Conflict("Taken", headers={"X-Why": "dup"})
        if item_id == 2:
            raise PermissionDenied
        if item_id == 3:
            raise HTTPException(409, body={"code": "typed"})
        raise RuntimeError("secret internal state /etc/passwd")

    @api.post("/items")
    async def create(item: Item) -> Item:
        return item

    @api.get("/limited")
    @rate_limit(rps=1, burst=1)
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    return api


def test_problem_details_for_every_error_the_framework_makes() -> None:
    with TestClient(build_api(problem_details), raise_server_exceptions=False) as client:
        unauthenticated = client.get("/private")
        missing = client.get("/items/0")
        conflict = client.get("/items/1")
        denied = client.get("/items/2")
        typed = client.get("/items/3")
        crashed = client.get("/items/9")
        invalid = client.get("/items/abc")
        body = client.post("/items", json={"name": "x"})
        no_route = client.get("/nowhere")
        wrong_method = client.delete("/items/1")
        client.get("/limited")
        limited = client.get("/limited")

    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == "application/problem+json"
    assert unauthenticated.headers["www-authenticate"].startswith("Bearer")
    problem = unauthenticated.json()
    assert problem["type"] == "about:blank"
    assert problem["title"] == "Unauthorized"
    assert problem["status"] == 401
    assert problem["instance"] == "/private"

    assert missing.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No such item",
        "instance": "/items/0",
        "item_id": 0,
    }
    assert conflict.status_code == 409
    assert conflict.headers["x-why"] == "dup"
    assert denied.status_code == 403
    assert denied.json()["status"] == 403
    # A typed body is the route's declared answer: the formatter does not see it.
    assert typed.status_code == 409
    assert typed.json() == {"code": "typed"}
    assert crashed.status_code == 500
    assert crashed.json()["detail"] == "Internal Server Error"
    assert "passwd" not in crashed.text

    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["path", "item_id"]
    assert body.status_code == 422
    assert body.json()["errors"][0]["type"] == "missing_field"

    assert no_route.status_code == 404
    assert no_route.json()["instance"] == "/nowhere"
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"]
    assert wrong_method.json()["title"] == "Method Not Allowed"
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == str(limited.json()["retry_after"])
    assert limited.headers["content-type"] == "application/problem+json"


def test_a_custom_formatter_sees_a_bolt_error() -> None:
    seen: list[BoltError] = []

    def format_error(error: BoltError, request: Request) -> Response:
        seen.append(error)
        body: dict[str, Any] = {"code": error.kind, "message": error.detail}
        if error.errors:
            body["fields"] = error.errors
        return Response(body, status_code=error.status, media_type="application/vnd.error+json")

    with TestClient(build_api(format_error), raise_server_exceptions=False) as client:
        crashed = client.get("/items/9")
        conflict = client.get("/items/1")
        invalid = client.post("/items", json={"name": 1, "price": 2})
    assert crashed.json() == {"code": "internal_error", "message": "Internal Server Error"}
    assert crashed.headers["content-type"] == "application/vnd.error+json"
    assert conflict.json() == {"code": "conflict", "message": "Taken"}
    assert invalid.json()["code"] == "validation"
    assert invalid.json()["fields"][0]["loc"] == ["body", "name"]
    assert isinstance(seen[0].exception, RuntimeError)
    assert seen[1].headers == {"X-Why": "dup"}


def test_a_failing_formatter_falls_back_to_the_default_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def raises(error: BoltError, request: Request) -> Response:
        raise ValueError("formatter bug")

    def wrong_status(error: BoltError, request: Request) -> Response:
        return JSON({"ok": True}, 200)

    def sets_cookie(error: BoltError, request: Request) -> Response:
        return PlainText("no", error.status).set_cookie("a", "b")

    for formatter in (raises, wrong_status, sets_cookie, lambda error, request: {"x": 1}):
        with (
            caplog.at_level(logging.ERROR, "django_bolt"),
            TestClient(build_api(formatter)) as client,
        ):
            response = client.get("/items/0")
        assert response.status_code == 404
        assert response.json() == {"detail": "No such item", "extra": {"item_id": 0}}
        assert "error_formatter failed" in caplog.text
        caplog.clear()


def test_without_a_formatter_the_default_shapes_stay() -> None:
    with TestClient(build_api(None)) as client:
        assert client.get("/nowhere").json() == {"detail": "Not Found"}
        assert client.get("/items/0").json() == {"detail": "No such item", "extra": {"item_id": 0}}


def test_formatter_rules_at_declaration() -> None:
    async def async_formatter(error: BoltError, request: Request) -> Response:
        return JSON({}, 500)

    with pytest.raises(TypeError):
        BoltAPI(error_formatter=async_formatter)
    with pytest.raises(TypeError):
        BoltAPI(error_formatter="problem_details")  # type: ignore[arg-type]

    parent = BoltAPI()
    parent.mount("/v1", BoltAPI(error_formatter=problem_details))
    assert parent.error_formatter is problem_details
    with pytest.raises(ValueError):
        parent.mount("/v2", BoltAPI(error_formatter=lambda error, request: JSON({}, 500)))


def test_a_mounted_api_s_errors_use_the_formatter() -> None:
    parent = BoltAPI()
    child = BoltAPI(error_formatter=problem_details)

    @child.get("/thing")
    async def thing() -> dict[str, str]:
        raise NotFound("gone")

    parent.mount("/v1", child)
    with TestClient(parent) as client:
        response = client.get("/v1/thing")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "gone"


def test_the_handler_functions_of_0_13() -> None:
    status, headers, body = http_exception_handler(NotFound(detail="User not found"))
    assert status == 404
    assert ("content-type", "application/json") in headers
    assert msgspec.json.decode(body) == {"detail": "User not found"}

    errors = [{"loc": ["body"], "msg": "Invalid", "type": "value_error"}]
    status, _, body = request_validation_error_handler(RequestValidationError(errors))
    assert status == 422
    assert msgspec.json.decode(body) == {"detail": errors}

    status, _, body = generic_exception_handler(ValueError("Something went wrong"), debug=False)
    assert (status, msgspec.json.decode(body)) == (500, {"detail": "Internal Server Error"})
    status, headers, body = generic_exception_handler(ValueError("oops"), debug=True)
    assert status == 500
    assert ("content-type", "text/html; charset=utf-8") in headers
    assert b"oops" in body

    assert handle_exception(PermissionDenied(), debug=False)[0] == 403
    assert handle_exception(NotFound(), debug=False)[0] == 404
    with override_settings(DEBUG=True):
        assert dict(handle_exception(ValueError("x"))[1])["content-type"].startswith("text/html")
    assert handle_exception(ValueError("x"), debug=False)[1] == [
        ("content-type", "application/json")
    ]

    status, headers, body = format_error_response(400, "Invalid input", {"X-A": "1"}, {"f": 1})
    assert status == 400
    assert ("X-A", "1") in headers
    assert msgspec.json.decode(body) == {"detail": "Invalid input", "extra": {"f": 1}}

    try:
        msgspec.json.decode(b'{"name": "x"}', type=Item)
    except msgspec.ValidationError as exc:
        assert msgspec_validation_error_to_dict(exc) == [
            {
                "loc": ["body", "price"],
                "msg": "Object missing required field `price`",
                "type": "missing_field",
            }
        ]
    assert kind_for_status(409) == "conflict"
    assert kind_for_status(401) == "not_authenticated"
    assert kind_for_status(599) == "http_error"


def test_runbolt_serves_the_project_s_apis_with_one_formatter(settings: Any) -> None:
    settings.BOLT_API = ["tests.ops.named_api:api", "tests.ops.formatted_api:api"]
    app = discover_application()
    assert app.error_formatter is problem_details  # type: ignore[attr-defined]
    with TestClient(app) as client:  # type: ignore[arg-type]
        response = client.get("/missions/0/nothing")
    assert response.headers["content-type"] == "application/problem+json"
    settings.BOLT_API = ["tests.ops.formatted_api:api", "tests.ops.formatted_api:other"]
    with pytest.raises(ImproperlyConfigured, match="different error_formatter"):
        discover_application()


class ErrorBody(msgspec.Struct):
    code: str
    message: str


@error_schema(ErrorBody, media_type="application/vnd.error+json")
def declared_formatter(error: BoltError, request: Request) -> Response:
    body = {"code": error.kind, "message": error.detail}
    return Response(body, status_code=error.status, media_type="application/vnd.error+json")


def undeclared_formatter(error: BoltError, request: Request) -> Response:
    return JSON({"e": error.kind}, error.status)


def _document_422(formatter: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    with TestClient(build_api(formatter)) as client:
        document = client.get("/openapi.json").json()
    return document["paths"]["/items"]["post"]["responses"]["422"], document


def test_the_openapi_document_follows_the_formatter() -> None:
    default, _ = _document_422(None)
    assert default["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HTTPValidationError"
    }
    problem, document = _document_422(problem_details)
    schema = problem["content"]["application/problem+json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ProblemDetails"}
    component = document["components"]["schemas"]["ProblemDetails"]
    assert set(component["required"]) == {"title", "status", "detail", "instance"}
    declared, document = _document_422(declared_formatter)
    assert declared["content"]["application/vnd.error+json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert "ErrorBody" in document["components"]["schemas"]
    undeclared, _ = _document_422(undeclared_formatter)
    assert undeclared == {"description": "Validation Error"}
