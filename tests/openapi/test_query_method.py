"""QUERY routes in the document: an operation under the path item's key ``query``.

``query`` is the OpenAPI 3.2 draft's key; Django-Bolt 0.13 emits it in its 3.1 document all
the same, and so do we, from ``api.query``, ``router.query``, a view's ``query`` method and
``api.route(methods=[..., "QUERY"])`` alike.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

import msgspec
import yaml
from openapi_spec_validator import validate

from django_bolt import BoltAPI, Query, Router
from django_bolt.auth import IsAuthenticated, JWTAuthentication
from django_bolt.openapi import OpenAPIConfig
from django_bolt.openapi.spec import OpenAPIResponse, Operation, PathItem
from django_bolt.testing import TestClient
from django_bolt.views import APIView

PAGES = (
    "/docs",
    "/docs/swagger",
    "/docs/redoc",
    "/docs/scalar",
    "/docs/rapidoc",
    "/docs/stoplight",
)


class Search(msgspec.Struct):
    term: str
    limit: int = 20


class Hit(msgspec.Struct):
    title: str


def _api() -> BoltAPI:
    api = BoltAPI(openapi_config=OpenAPIConfig(title="Search API"))

    @api.query(
        "/search",
        tags=["search"],
        guards=[IsAuthenticated()],
        auth=[JWTAuthentication(secret="s" * 32)],
    )
    async def search(query: Search, page: Annotated[int, Query(ge=1)] = 1) -> list[Hit]:
        """Search the catalogue.

        The criteria travel in the body.
        """
        return [Hit(query.term)]

    router = Router(prefix="/books", tags=["books"])

    @router.query("/{shelf}")
    async def shelf_search(shelf: int, query: Search) -> list[Hit]:
        return []

    api.include_router(router)

    @api.view("/hits")
    class Hits(APIView):
        async def get(self, request: Any) -> list[Hit]:
            return []

        async def query(self, request: Any, criteria: Search) -> list[Hit]:
            return []

    @api.route("/either", methods=["GET", "QUERY"])
    async def either() -> Hit:
        return Hit("x")

    return api


def _document(api: BoltAPI) -> dict[str, Any]:
    with TestClient(api) as client:
        return client.get("/openapi.json").json()  # type: ignore[no-any-return]


def test_api_query_route_is_a_full_operation_under_query() -> None:
    paths = _document(_api())["paths"]
    assert list(paths["/search"]) == ["query"]
    operation = paths["/search"]["query"]
    assert operation["tags"] == ["search"]
    assert operation["summary"] == "Search the catalogue."
    assert operation["description"] == "The criteria travel in the body."
    assert operation["operationId"] == "query_search"
    assert operation["parameters"] == [
        {
            "name": "page",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "default": 1},
        }
    ]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Search"}}
    }
    assert set(operation["responses"]) == {"200", "401", "403", "422"}
    hits = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert hits == {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}
    assert operation["security"] == [{"BearerAuth": []}]


def test_router_view_and_multi_method_query_routes_are_documented() -> None:
    document = _document(_api())
    paths = document["paths"]
    shelf = paths["/books/{shelf}"]["query"]
    assert shelf["tags"] == ["books"]
    assert shelf["parameters"][0]["name"] == "shelf"
    assert shelf["parameters"][0]["in"] == "path"
    assert "requestBody" in shelf
    assert set(paths["/hits"]) == {"get", "query"}
    assert "requestBody" in paths["/hits"]["query"]
    assert "requestBody" not in paths["/hits"]["get"]
    either = paths["/either"]
    assert either["get"]["operationId"] == "get_either"
    assert either["query"]["operationId"] == "query_either"
    # Apart from the key, each QUERY operation is a valid 3.1 operation: as a POST it validates.
    renamed = copy.deepcopy(document)
    for path, item in list(renamed["paths"].items()):
        if "query" in item:
            moved = item.pop("query")
            renamed["paths"][path + "/as-post"] = {"post": moved}
    validate(renamed)


def test_yaml_document_has_the_query_operation_and_the_pages_still_serve() -> None:
    with TestClient(_api()) as client:
        document = yaml.safe_load(client.get("/openapi.yaml").text)
        assert document["paths"]["/search"]["query"]["operationId"] == "query_search"
        for page in PAGES:
            response = client.get(page)
            assert response.status_code == 200, page
            assert response.headers["content-type"].startswith("text/html"), page


def test_a_path_item_object_can_hold_a_query_operation() -> None:
    ok = OpenAPIResponse(description="OK")
    found = PathItem(query=Operation(summary="Found", responses={"200": ok}))
    api = BoltAPI(openapi_config=OpenAPIConfig(webhooks={"found": found}))
    assert _document(api)["webhooks"] == {
        "found": {"query": {"summary": "Found", "responses": {"200": {"description": "OK"}}}}
    }
