"""Declarations Django-Bolt 0.13 refuses when the route registers (``TypeError`` at start-up),
and their accepted neighbours:

- a path, header or cookie type that cannot hold the sequence of one item such a value gives
  (``tuple[int, str]``);
- a default written inside an ``Annotated`` marker (it goes after ``=``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import pytest

import django_bolt
from django_bolt import BoltAPI, UploadFile
from django_bolt.params import Body, Cookie, File, Form, Header, Path, Query
from django_bolt.testing import TestClient

# --- a path, header or cookie value is one item -----------------------------------------------


async def path_pair(item: tuple[int, str]) -> Any:
    return {}


async def header_pair(x_pair: Annotated[tuple[int, str], Header()]) -> Any:
    return {}


async def cookie_pair(pair: Annotated[tuple[int, str] | None, Cookie()] = None) -> Any:
    return {}


async def header_two_or_more(
    x_ids: Annotated[list[int], Header(), msgspec.Meta(min_length=2)],
) -> Any:
    return {}


async def cookie_empty_tuple(pair: Annotated[tuple[()], Cookie()]) -> Any:
    return {}


@pytest.mark.parametrize(
    ("handler", "path", "parameter", "source", "shown"),
    [
        (path_pair, "/pairs/{item}", "item", "path", "tuple[int, str]"),
        (header_pair, "/pairs", "x_pair", "header", "tuple[int, str]"),
        (cookie_pair, "/pairs", "pair", "cookie", "tuple[int, str] | None"),
        (header_two_or_more, "/pairs", "x_ids", "header", "list[int]"),
        (cookie_empty_tuple, "/pairs", "pair", "cookie", "tuple[()]"),
    ],
    ids=["path", "header", "cookie-optional", "header-min-length-2", "cookie-empty-tuple"],
)
def test_a_one_value_source_refuses_a_type_that_cannot_hold_one_item(
    handler: Any, path: str, parameter: str, source: str, shown: str
) -> None:
    api = BoltAPI()
    api.get(path)(handler)
    with pytest.raises(TypeError) as caught:
        api.compile()
    message = str(caught.value)
    assert f"{handler.__qualname__}: parameter {parameter!r}" in message
    assert f"a {source} parameter gives a sequence of one item" in message
    assert shown in message


def test_a_one_value_source_gives_a_sequence_of_one_item() -> None:
    api = BoltAPI()

    @api.get("/ids/{ids}")
    async def by_path(ids: list[int]) -> Any:
        return {"ids": ids}

    @api.get("/one/{item}")
    async def one(item: tuple[int]) -> Any:
        return {"item": list(item)}

    @api.get("/bare/{words}")
    async def bare(words: list) -> Any:  # type: ignore[type-arg]
        return {"words": words}

    @api.get("/sent")
    async def sent(
        x_ids: Annotated[set[int], Header()],
        x_raw: Annotated[tuple, Header()],  # type: ignore[type-arg]
        ids: Annotated[list[int], Cookie()],
        one: Annotated[tuple[int] | None, Cookie()] = None,
    ) -> Any:
        return {"header": sorted(x_ids), "raw": list(x_raw), "cookie": ids, "one": one}

    with TestClient(api) as client:
        assert client.get("/ids/5").json() == {"ids": [5]}
        assert client.get("/one/7").json() == {"item": [7]}
        assert client.get("/bare/7").json() == {"words": ["7"]}
        got = client.get("/sent", headers={"x-ids": "3", "x-raw": "9", "cookie": "ids=4; one=2"})
        assert got.json() == {"header": [3], "raw": ["9"], "cookie": [4], "one": [2]}
        bad = client.get("/sent", headers={"x-ids": "3", "x-raw": "9", "cookie": "ids=x"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"][:2] == ["cookie", "ids"]


def test_a_query_tuple_takes_one_value_for_each_position() -> None:
    """The query string can repeat a key, so a fixed tuple is allowed there."""
    api = BoltAPI()

    @api.get("/query")
    async def query(pair: Annotated[tuple[int, str], Query()]) -> Any:
        return {"pair": list(pair)}

    with TestClient(api) as client:
        assert client.get("/query?pair=1&pair=a").json() == {"pair": [1, "a"]}
        assert client.get("/query?pair=x&pair=a").status_code == 422
        assert client.get("/query?pair=1").status_code == 422


# --- a default inside Annotated --------------------------------------------------------------


class Item(msgspec.Struct):
    name: str


async def query_positional(page: Annotated[int, Query(1)]) -> Any:
    return {}


async def query_keyword(page: Annotated[int, Query(default=1, ge=1)]) -> Any:
    return {}


async def query_none(q: Annotated[str | None, Query(None)]) -> Any:
    return {}


async def header_default(x_token: Annotated[str, Header(default="t")]) -> Any:
    return {}


async def cookie_default(session: Annotated[str, Cookie(default="anon")]) -> Any:
    return {}


async def bolt_cookie_default(session: Annotated[str, django_bolt.Cookie(default="anon")]) -> Any:
    return {}


async def bolt_cookie_named(session: Annotated[str, django_bolt.Cookie("anon")]) -> Any:
    # A cookie with nothing but a name is this framework's older spelling of Cookie("anon").
    return {}


async def path_default(item_id: Annotated[int, Path(1)]) -> Any:
    return {}


async def form_default(name: Annotated[str, Form(default="x")]) -> Any:
    return {}


async def body_default(item: Annotated[Item | None, Body(default=None)]) -> Any:
    return {}


async def file_default(doc: Annotated[UploadFile | None, File(default=None)]) -> Any:
    return {}


@pytest.mark.parametrize(
    ("handler", "method", "path", "parameter", "marker"),
    [
        (query_positional, "get", "/x", "page", "Query(default=1)"),
        (query_keyword, "get", "/x", "page", "Query(default=1)"),
        (query_none, "get", "/x", "q", "Query(default=None)"),
        (header_default, "get", "/x", "x_token", "Header(default='t')"),
        (cookie_default, "get", "/x", "session", "Cookie(default='anon')"),
        (bolt_cookie_default, "get", "/x", "session", "Cookie(default='anon')"),
        (bolt_cookie_named, "get", "/x", "session", "Cookie(default='anon')"),
        (path_default, "get", "/x/{item_id}", "item_id", "Path(default=1)"),
        (form_default, "post", "/x", "name", "Form(default='x')"),
        (body_default, "post", "/x", "item", "Body(default=None)"),
        (file_default, "post", "/x", "doc", "File(default=None)"),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_a_default_inside_an_annotated_marker_is_refused(
    handler: Any, method: str, path: str, parameter: str, marker: str
) -> None:
    api = BoltAPI()
    getattr(api, method)(path)(handler)
    with pytest.raises(TypeError) as caught:
        api.compile()
    message = str(caught.value)
    assert f"{handler.__qualname__}: parameter {parameter!r}" in message
    assert f"a default inside Annotated ({marker}) is not allowed" in message
    assert "write it after '='" in message


def test_the_default_goes_after_equals_and_the_markers_stay_usable() -> None:
    refused = BoltAPI()

    @refused.get("/x")
    async def inside(page: Annotated[int, Query(default=1)]) -> Any:
        return {}

    with pytest.raises(TypeError, match=r"inside: parameter 'page'"):
        refused.compile()

    api = BoltAPI()

    @api.get("/x")
    async def after_equals(
        session: Annotated[str, django_bolt.Cookie()],
        sid: Annotated[str, django_bolt.Cookie(alias="sessionid")],
        page: Annotated[int, Query(ge=1)] = 1,
        size: Annotated[int, Query(...)] = 10,
        q: str = Query(default="x"),
        lang: str = django_bolt.Cookie(default="en"),
        x_agent: Annotated[str, Header()] = "none",
    ) -> Any:
        return {"session": session, "sid": sid, "page": page, "size": size, "q": q, "lang": lang}

    with TestClient(api) as client:
        got = client.get("/x", headers={"cookie": "session=s; sessionid=i"})
        assert got.json() == {
            "session": "s",
            "sid": "i",
            "page": 1,
            "size": 10,
            "q": "x",
            "lang": "en",
        }
        assert client.get("/x").status_code == 422
