"""A bare ``list``, ``set``, ``tuple`` or ``frozenset`` annotation on a value that arrives as text
(query, header, cookie, form) keeps each item as a string, as ``list[str]`` would."""

from __future__ import annotations

from typing import Annotated

from django_bolt import BoltAPI
from django_bolt.params import Body, Form, Header
from django_bolt.testing import TestClient


def build_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/query")
    async def query(t: list = [], s: set | None = None, u: tuple = (), f: frozenset = frozenset()):  # type: ignore[type-arg]  # noqa: B006
        return {"t": t, "s": sorted(s) if s else None, "u": list(u), "f": sorted(f)}

    @api.get("/header")
    async def header(x_tag: Annotated[list, Header()] = []):  # type: ignore[type-arg]  # noqa: B006
        return {"tags": x_tag}

    @api.post("/form")
    async def form(tags: Annotated[list, Form()]):  # type: ignore[type-arg]
        return {"tags": tags}

    @api.post("/body")
    async def body(items: Annotated[list, Body()]):  # type: ignore[type-arg]
        return {"items": items}

    return api


def test_bare_collections_keep_their_items_as_strings() -> None:
    with TestClient(build_api()) as client:
        got = client.get("/query?t=1&t=2&s=b&s=a&s=b&u=x&f=9")
        assert (got.status_code, got.json()) == (
            200,
            {"t": ["1", "2"], "s": ["a", "b"], "u": ["x"], "f": ["9"]},
        )
        assert client.get("/query").json() == {"t": [], "s": None, "u": [], "f": []}
        assert client.get("/header", headers={"x-tag": "7"}).json() == {"tags": ["7"]}
        assert client.post("/form", data={"tags": ["a", "1"]}).json() == {"tags": ["a", "1"]}


def test_a_bare_list_body_still_takes_any_json_array() -> None:
    with TestClient(build_api()) as client:
        got = client.post("/body", json=[1, "a", None])
        assert (got.status_code, got.json()) == (200, {"items": [1, "a", None]})
