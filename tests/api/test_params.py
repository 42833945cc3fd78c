"""Parameters: inference, markers, aliases, constraints, groups, bodies and the 422 shapes."""

from __future__ import annotations

import dataclasses
from typing import Annotated, TypedDict

import msgspec
import pytest

from django_bolt import Body, BoltAPI, Cookie, Form, Header, Path, Query, Request
from django_bolt.testing import TestClient


class Item(msgspec.Struct):
    name: str
    price: float
    tags: list[str] = []


class Order(msgspec.Struct):
    customer: str
    items: list[Item]


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Pair(TypedDict):
    a: int
    b: str


class Filters(msgspec.Struct):
    q: str
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    tag: list[str] = []


class Auth(msgspec.Struct):
    x_api_key: str
    x_tenant: str = "default"


api = BoltAPI()


@api.get("/infer/{item_id}")
async def infer(item_id: int, request: Request, q: str, flag: bool = False, n: list[int] = []):  # noqa: B006
    return {"item_id": item_id, "q": q, "flag": flag, "n": n, "path": request.path}


@api.post("/items")
async def create_item(item: Item):
    return {"name": item.name, "price": item.price, "tags": item.tags}


@api.post("/orders")
async def create_order(order: Order):
    return {"customer": order.customer, "count": len(order.items)}


@api.post("/points")
async def create_point(point: Point):
    return {"sum": point.x + point.y}


@api.post("/pairs")
async def create_pair(pair: Pair):
    return pair


@api.post("/optional-body")
async def optional_body(item: Annotated[Item | None, Body()] = None):
    return {"given": item is not None}


@api.get("/markers/{ident}")
async def markers(
    ident: Annotated[str, Path(min_length=3)],
    size: Annotated[int, Query(alias="page-size", ge=1, le=50)] = 10,
    x_api_key: Annotated[str, Header()] = "none",
    session: str = Cookie("anon"),
    lang: str = Query("en", pattern="^[a-z]{2}$"),
    price: float = Query(0.0, gt=0, lt=100),
    name: str = Query("x", max_length=5),
):
    return {
        "ident": ident,
        "size": size,
        "key": x_api_key,
        "session": session,
        "lang": lang,
        "price": price,
        "name": name,
    }


@api.get("/header-alias")
async def header_alias(token: Annotated[str, Header(alias="X-Token")]):
    return {"token": token}


@api.get("/groups")
async def groups(filters: Annotated[Filters, Query()], auth: Annotated[Auth, Header()]):
    return {
        "q": filters.q,
        "page": filters.page,
        "tag": filters.tag,
        "key": auth.x_api_key,
        "tenant": auth.x_tenant,
    }


@api.post("/form")
async def form(username: Annotated[str, Form()], age: Annotated[int, Form()] = 0):
    return {"username": username, "age": age}


@pytest.fixture(scope="module")
def client():
    with TestClient(api) as client:
        yield client


def test_inference(client):
    response = client.get("/infer/5?q=hi&flag=true&n=1&n=2")
    assert response.json() == {
        "item_id": 5,
        "q": "hi",
        "flag": True,
        "n": [1, 2],
        "path": "/infer/5",
    }


def test_defaults_used_when_absent(client):
    assert client.get("/infer/5?q=x").json()["n"] == []


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        pytest.param(
            "/items",
            {"name": "a", "price": 2},
            {"name": "a", "price": 2.0, "tags": []},
            id="struct",
        ),
        pytest.param("/points", {"x": 1, "y": 2}, {"sum": 3}, id="dataclass"),
        pytest.param("/pairs", {"a": 1, "b": "x"}, {"a": 1, "b": "x"}, id="typeddict"),
        pytest.param(
            "/orders",
            {"customer": "c", "items": [{"name": "a", "price": 1}]},
            {"customer": "c", "count": 1},
            id="nested",
        ),
    ],
)
def test_json_bodies(client, path, body, expected):
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_optional_body(client):
    assert client.post("/optional-body").json() == {"given": False}
    assert client.post("/optional-body", json={"name": "a", "price": 1}).json() == {"given": True}


def test_markers_alias_and_kebab_header(client):
    response = client.get(
        "/markers/abcd?page-size=20&lang=fr&price=9.5&name=bob",
        headers={"X-Api-Key": "k", "Cookie": "other=1; session=s1"},
    )
    assert response.json() == {
        "ident": "abcd",
        "size": 20,
        "key": "k",
        "session": "s1",
        "lang": "fr",
        "price": 9.5,
        "name": "bob",
    }


def test_header_alias_case_insensitive(client):
    assert client.get("/header-alias", headers={"x-token": "t"}).json() == {"token": "t"}


@pytest.mark.parametrize(
    ("query", "loc", "fragment"),
    [
        pytest.param("page-size=0", ["query", "page-size"], ">= 1", id="ge"),
        pytest.param("page-size=51", ["query", "page-size"], "<= 50", id="le"),
        pytest.param("page-size=x", ["query", "page-size"], "Expected `int`, got `str`", id="type"),
        pytest.param("lang=eng", ["query", "lang"], "matching regex", id="pattern"),
        pytest.param("price=0", ["query", "price"], "> 0", id="gt"),
        pytest.param("price=100", ["query", "price"], "< 100", id="lt"),
        pytest.param("name=toolong", ["query", "name"], "length <= 5", id="max-length"),
    ],
)
def test_constraints_are_enforced(client, query, loc, fragment):
    response = client.get(f"/markers/abcd?{query}")
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == loc
    assert item["type"] == "validation_error"
    assert fragment in item["msg"]
    assert f"query parameter `{loc[1]}`" in item["msg"]


def test_path_constraint(client):
    (item,) = client.get("/markers/ab").json()["detail"]
    assert item["loc"] == ["path", "ident"]
    assert "length >= 3" in item["msg"]


def test_path_type_error_names_param_and_type(client):
    response = client.get("/infer/abc?q=1")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["path", "item_id"],
                "msg": "Invalid path parameter `item_id`: Expected `int`, got `str`",
                "type": "validation_error",
            }
        ]
    }


def test_missing_query_param(client):
    response = client.get("/infer/1")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["query", "q"],
                "msg": "Missing required query parameter `q`",
                "type": "missing_field",
            }
        ]
    }


def test_missing_header(client):
    (item,) = client.get("/header-alias").json()["detail"]
    assert item == {
        "loc": ["header", "x-token"],
        "msg": "Missing required header parameter `x-token`",
        "type": "missing_field",
    }


def test_list_item_error_has_index(client):
    (item,) = client.get("/infer/1?q=x&n=1&n=b").json()["detail"]
    assert item["loc"] == ["query", "n", 1]


def test_body_field_error_shape(client):
    response = client.post("/items", json={"name": "a", "price": "cheap"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "price"],
                "msg": "Expected `float`, got `str`",
                "type": "validation_error",
            }
        ]
    }


def test_body_missing_field(client):
    response = client.post("/items", json={"name": "a"})
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "price"],
                "msg": "Object missing required field `price`",
                "type": "missing_field",
            }
        ]
    }


def test_nested_body_error_loc(client):
    body = {"customer": "c", "items": [{"name": "a", "price": 1}, {"name": "b"}]}
    (item,) = client.post("/orders", json=body).json()["detail"]
    assert item["loc"] == ["body", "items", 1, "price"]
    assert item["type"] == "missing_field"


def test_invalid_json_reports_line_and_column(client):
    response = client.post(
        "/items",
        content=b'{\n  "name": "a",\n  "price": ,\n}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["type"] == "json_invalid"
    assert item["loc"] == ["body", 3, 12]
    assert item["ctx"]["line"] == 3
    assert item["ctx"]["column"] == 12


def test_missing_body(client):
    (item,) = client.post("/items").json()["detail"]
    assert item == {"loc": ["body"], "msg": "Request body is required", "type": "missing_field"}


def test_grouped_query_and_header_params(client):
    response = client.get("/groups?q=z&page=2&tag=a&tag=b", headers={"x-api-key": "K"})
    assert response.json() == {
        "q": "z",
        "page": 2,
        "tag": ["a", "b"],
        "key": "K",
        "tenant": "default",
    }


@pytest.mark.parametrize(
    ("query", "headers", "loc", "kind"),
    [
        pytest.param(
            "page=2", {"x-api-key": "K"}, ["query", "q"], "missing_field", id="missing-query"
        ),
        pytest.param(
            "q=z&page=0", {"x-api-key": "K"}, ["query", "page"], "validation_error", id="constraint"
        ),
        pytest.param("q=z", {}, ["header", "x-api-key"], "missing_field", id="missing-header"),
    ],
)
def test_grouped_errors(client, query, headers, loc, kind):
    response = client.get(f"/groups?{query}", headers=headers)
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert (item["loc"], item["type"]) == (loc, kind)


def test_urlencoded_form(client):
    assert client.post("/form", data={"username": "ann", "age": "7"}).json() == {
        "username": "ann",
        "age": 7,
    }
    (item,) = client.post("/form", data={"age": "7"}).json()["detail"]
    assert item["loc"] == ["form", "username"]


@pytest.mark.parametrize("verb", ["get", "head", "delete", "options"])
def test_body_on_bodyless_method_is_a_registration_error(verb):
    bad = BoltAPI()

    async def handler(item: Item):
        return {}

    with pytest.raises(TypeError, match="cannot take a request body"):
        # GET and HEAD: refused by the decorator itself (as in Django-Bolt 0.13); the others
        # when the routes compile.
        getattr(bad, verb)("/x")(handler)
        bad.compile()


def test_path_marker_for_unknown_name_is_a_registration_error():
    bad = BoltAPI()

    @bad.get("/x")
    async def handler(ident: Annotated[str, Path()]):
        return {}

    with pytest.raises(TypeError, match="not in the route's path"):
        bad.compile()


def test_ellipsis_default_means_required_as_in_fastapi_and_django_bolt() -> None:
    from django_bolt import Query

    api = BoltAPI()

    @api.get("/need")
    async def need(page: int = Query(...), q: str = Query(..., min_length=2)) -> dict[str, object]:
        return {"page": page, "q": q}

    with TestClient(api) as client:
        missing = client.get("/need", params={"q": "ab"})
        short = client.get("/need", params={"page": "1", "q": "a"})
        ok = client.get("/need", params={"page": "3", "q": "ab"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["type"] == "missing_field"
    assert missing.json()["detail"][0]["loc"] == ["query", "page"]
    assert short.status_code == 422
    assert ok.json() == {"page": 3, "q": "ab"}


def test_req_is_the_request_too_and_multiple_of_is_enforced() -> None:

    api = BoltAPI()

    @api.get("/step")
    async def step(
        req, n: Annotated[int, Query(multiple_of=5, example=10, deprecated=True)]
    ) -> dict[str, object]:
        return {"path": req.path, "n": n}

    with TestClient(api) as client:
        assert client.get("/step", params={"n": "15"}).json() == {"path": "/step", "n": 15}
        bad = client.get("/step", params={"n": "7"})
        document = client.get("/openapi.json").json()
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "n"]
    (parameter,) = document["paths"]["/step"]["get"]["parameters"]
    assert parameter["schema"]["multipleOf"] == 5
    assert parameter["example"] == 10
    assert parameter["deprecated"] is True
