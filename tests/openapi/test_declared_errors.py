"""A 422 (or 401, 403) a route declares in ``response_model`` stays in the document.

The framework sends its own body under the same status (the validation error, a guard's
refusal): the entry shows both bodies, under the route's description, as Django-Bolt 0.13 does.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import msgspec
import pytest

from django_bolt import BoltAPI, JWTAuthentication, Request
from django_bolt.auth import IsAuthenticated
from django_bolt.error_handlers import BoltError, error_schema, problem_details
from django_bolt.exceptions import HTTPException
from django_bolt.openapi import OpenAPIConfig
from django_bolt.responses import JSON, Response
from django_bolt.testing import TestClient

VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
REJECTED = {"$ref": "#/components/schemas/Rejected"}


class Order(msgspec.Struct):
    quantity: int


class Rejected(msgspec.Struct):
    reason: str


class Denied(msgspec.Struct):
    why: str


class ErrorBody(msgspec.Struct):
    code: str


@error_schema(ErrorBody, media_type="application/vnd.error+json")
def declared_formatter(error: BoltError, request: Request) -> Response:
    return Response(
        {"code": error.kind}, status_code=error.status, media_type="application/vnd.error+json"
    )


def undeclared_formatter(error: BoltError, request: Request) -> Response:
    return JSON({"e": error.kind}, error.status)


def _api(formatter: Any = None, config: OpenAPIConfig | None = None) -> BoltAPI:
    api = BoltAPI(error_formatter=formatter, openapi_config=config or OpenAPIConfig())

    @api.post("/orders", response_model={201: Order, 422: Rejected}, status_code=201)
    async def place(order: Order) -> Order:
        if order.quantity > 10:
            raise HTTPException(422, body=Rejected("too many"))
        return order

    @api.get("/stock", response_model={200: Order, 422: Rejected})
    async def stock() -> Order:
        return Order(1)

    @api.get(
        "/vault",
        response_model={200: Order, 403: Denied},
        guards=[IsAuthenticated()],
        auth=[JWTAuthentication(secret="s" * 32)],
    )
    async def vault() -> Order:
        return Order(1)

    return api


def _document(api: BoltAPI) -> dict[str, Any]:
    with TestClient(api) as client:
        return client.get("/openapi.json").json()  # type: ignore[no-any-return]


def _responses(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return document["paths"][path][method]["responses"]  # type: ignore[no-any-return]


def test_a_declared_422_is_joined_with_the_validation_body_and_both_validate() -> None:
    api = _api()
    document = _document(api)
    entry = _responses(document, "/orders", "post")["422"]
    assert entry == {
        "description": "Unprocessable Entity",
        "content": {"application/json": {"schema": {"anyOf": [REJECTED, VALIDATION]}}},
    }
    assert {"Rejected", "HTTPValidationError"} <= set(document["components"]["schemas"])
    schema = {
        **entry["content"]["application/json"]["schema"],
        "components": document["components"],
    }
    with TestClient(api) as client:
        own = client.post("/orders", json={"quantity": 11})
        invalid = client.post("/orders", json={"quantity": "many"})
    assert own.status_code == invalid.status_code == 422
    jsonschema.validate(own.json(), schema)
    jsonschema.validate(invalid.json(), schema)


def test_a_declared_422_stands_alone_where_no_validation_422_is_documented() -> None:
    alone = {
        "description": "Unprocessable Entity",
        "content": {"application/json": {"schema": REJECTED}},
    }
    # Nothing to validate on /stock; no error responses at all with include_error_responses=False.
    assert _responses(_document(_api()), "/stock", "get")["422"] == alone
    quiet = _document(_api(config=OpenAPIConfig(include_error_responses=False)))
    assert _responses(quiet, "/orders", "post")["422"] == alone
    # A formatter without error_schema: its body is unknown, so only the route's is shown.
    undeclared = _document(_api(undeclared_formatter))
    assert _responses(undeclared, "/orders", "post")["422"] == alone


@pytest.mark.parametrize(
    ("formatter", "media_type", "schema"),
    [
        (problem_details, "application/problem+json", "ProblemDetails"),
        (declared_formatter, "application/vnd.error+json", "ErrorBody"),
    ],
)
def test_a_formatter_s_422_body_sits_beside_the_declared_one(
    formatter: Any, media_type: str, schema: str
) -> None:
    document = _document(_api(formatter))
    assert _responses(document, "/orders", "post")["422"] == {
        "description": "Unprocessable Entity",
        "content": {
            "application/json": {"schema": REJECTED},
            media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}},
        },
    }
    assert {"Rejected", schema} <= set(document["components"]["schemas"])


def test_a_declared_403_of_a_guarded_route_is_kept_beside_the_guard_s() -> None:
    responses = _responses(_document(_api()), "/vault", "get")
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    denied = {"$ref": "#/components/schemas/Denied"}
    assert responses["403"] == {
        "description": "Forbidden",
        "content": {"application/json": {"schema": {"anyOf": [denied, error]}}},
    }
    assert responses["401"] == {
        "description": "Unauthorized",
        "content": {"application/json": {"schema": error}},
    }
