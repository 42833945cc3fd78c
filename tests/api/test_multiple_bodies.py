"""Several body arguments in one handler: the JSON body is an object keyed by argument."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, TypedDict

import msgspec
import pytest

from django_bolt import Body, BoltAPI
from django_bolt.testing import TestClient


class Item(msgspec.Struct):
    name: str
    price: float


@dataclasses.dataclass
class User:
    username: str


class Meta(TypedDict):
    source: str


api = BoltAPI()


@api.put("/items/{item_id}")
async def update(
    item_id: int,
    item: Item,
    user: User,
    importance: Annotated[int, Body(gt=0)],
    meta: Annotated[Meta | None, Body(alias="x-meta")] = None,
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "item": msgspec.to_builtins(item),
        "user": user.username,
        "importance": importance,
        "meta": meta,
    }


@api.post("/wrapped")
async def wrapped(item: Annotated[Item, Body(embed=True)]) -> dict[str, Any]:
    return {"name": item.name}


@api.post("/optional")
async def optional(
    a: Annotated[int, Body()] = 1, b: Annotated[str, Body()] = "x"
) -> dict[str, Any]:
    return {"a": a, "b": b}


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(api) as test_client:
        yield test_client


GOOD = {"item": {"name": "pen", "price": 1.5}, "user": {"username": "ann"}, "importance": 3}


def test_each_argument_is_read_from_its_key(client: TestClient) -> None:
    response = client.put("/items/7", json={**GOOD, "x-meta": {"source": "app"}})
    assert response.status_code == 200
    assert response.json() == {
        "item_id": 7,
        "item": {"name": "pen", "price": 1.5},
        "user": "ann",
        "importance": 3,
        "meta": {"source": "app"},
    }


def test_an_optional_key_may_be_left_out(client: TestClient) -> None:
    assert client.put("/items/7", json=GOOD).json()["meta"] is None


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (
            {**GOOD, "item": {"name": "pen", "price": "x"}},
            ["body", "item", "price"],
            "validation_error",
        ),
        ({k: v for k, v in GOOD.items() if k != "user"}, ["body", "user"], "missing_field"),
        ({**GOOD, "importance": 0}, ["body", "importance"], "validation_error"),
        ({**GOOD, "x-meta": {"source": 5}}, ["body", "x-meta", "source"], "validation_error"),
        ([1, 2], ["body"], "validation_error"),
    ],
    ids=["nested-field", "missing-argument", "constraint", "aliased-key", "not-an-object"],
)
def test_errors_point_into_the_argument(
    client: TestClient, body: Any, loc: list[Any], kind: str
) -> None:
    response = client.put("/items/7", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == loc
    assert error["type"] == kind


def test_a_missing_body_is_reported_once(client: TestClient) -> None:
    response = client.put("/items/7")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body"], "msg": "Request body is required", "type": "missing_field"}
    ]


def test_malformed_json_is_json_invalid(client: TestClient) -> None:
    response = client.put(
        "/items/7", content=b'{"item": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_embed_wraps_a_single_body_argument(client: TestClient) -> None:
    assert client.post("/wrapped", json={"item": {"name": "a", "price": 1}}).json() == {"name": "a"}
    bare = client.post("/wrapped", json={"name": "a", "price": 1})
    assert bare.status_code == 422
    assert bare.json()["detail"][0]["loc"] == ["body", "item"]


def test_all_optional_arguments_take_their_defaults(client: TestClient) -> None:
    assert client.post("/optional").json() == {"a": 1, "b": "x"}
    assert client.post("/optional", json={"b": "y"}).json() == {"a": 1, "b": "y"}


def test_body_arguments_on_get_are_refused_at_registration() -> None:
    bad = BoltAPI()
    with pytest.raises(TypeError, match="cannot take a request body"):

        @bad.get("/x")
        async def handler(item: Item, user: User) -> None: ...

        bad.compile()
