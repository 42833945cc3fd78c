"""Django-Bolt 0.13's behaviour where ours used to differ: parameters, streams, 422 items, CORS.

Every test is written as a 0.13 application would be, and checked through the TestClient.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from django_bolt import BoltAPI, StreamingResponse, UploadFile
from django_bolt.params import Body, File, Form, Query
from django_bolt.testing import TestClient


class Item(msgspec.Struct):
    name: str
    price: int


def param_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/int")
    async def as_int(n: int) -> dict[str, int]:
        return {"n": n}

    @api.get("/int-constrained")
    async def constrained(n: Annotated[int, Query(ge=0)]) -> dict[str, int]:
        return {"n": n}

    @api.get("/ints")
    async def ints(n: list[int]) -> dict[str, list[int]]:
        return {"n": n}

    @api.get("/path/{n}")
    async def in_path(n: int) -> dict[str, int]:
        return {"n": n}

    @api.get("/bool")
    async def as_bool(flag: bool) -> dict[str, bool]:
        return {"flag": flag}

    @api.get("/bools")
    async def as_bools(flag: list[bool]) -> dict[str, list[bool]]:
        return {"flag": flag}

    @api.post("/form")
    async def form(flag: Annotated[bool, Form()], n: Annotated[int, Form()]) -> dict[str, object]:
        return {"flag": flag, "n": n}

    @api.post("/items")
    async def create(item: Item) -> Item:
        return item

    @api.post("/upload")
    async def upload(
        avatar: Annotated[UploadFile, File(max_size=10, allowed_types=["image/*"])],
    ) -> dict[str, object]:
        return {"name": avatar.filename}

    @api.post("/uploads")
    async def uploads(
        docs: Annotated[list[UploadFile], File(max_files=2, min_size=2)],
    ) -> dict[str, object]:
        return {"count": len(docs)}

    return api


@pytest.fixture(scope="module")
def client():
    with TestClient(param_api()) as test_client:
        yield test_client


# --- ints ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["9223372036854775807", "-9223372036854775808", "123456789012345678901"[:19], "-0"]
)
def test_int_within_64_bits_is_accepted(client, text):
    assert client.get("/int", params={"n": text}).json() == {"n": int(text)}
    assert client.get(f"/path/{text}").json() == {"n": int(text)}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9223372036854775808", "Expected `int` <= 9223372036854775807"),
        ("-9223372036854775809", "Expected `int` >= -9223372036854775808"),
        ("99999999999999999999999999", "Expected `int` <= 9223372036854775807"),
        ("1e10", "Expected `int`, got `str`"),
        ("5.0", "Expected `int`, got `str`"),
        ("1E3", "Expected `int`, got `str`"),
    ],
)
@pytest.mark.parametrize("route", ["/int", "/int-constrained", "/path"])
def test_int_outside_64_bits_or_in_float_notation_is_422(client, route, text, message):
    if route == "/path":
        response = client.get(f"/path/{text}")
        where = "path"
    else:
        response = client.get(route, params={"n": text})
        where = "query"
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": [where, "n"],
                "msg": f"Invalid {where} parameter `n`: {message}",
                "type": "validation_error",
            }
        ]
    }


def test_int_list_item_outside_64_bits_names_its_index(client):
    response = client.get("/ints", params=[("n", "1"), ("n", "1e10")])
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["query", "n", 1]
    assert client.get("/ints", params=[("n", "1"), ("n", "-2")]).json() == {"n": [1, -2]}


def test_form_int_outside_64_bits_is_422(client):
    response = client.post("/form", data={"flag": "on", "n": "18446744073709551616"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["form", "n"]


# --- bools -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", True),
        ("on", True),
        ("YES", True),
        ("On", True),
        ("true", True),
        ("1", True),
        ("no", False),
        ("off", False),
        ("OFF", False),
        ("false", False),
        ("0", False),
    ],
)
def test_bool_words(client, text, value):
    assert client.get("/bool", params={"flag": text}).json() == {"flag": value}


def test_bool_words_in_lists_and_forms(client):
    response = client.get("/bools", params=[("flag", "yes"), ("flag", "off")])
    assert response.json() == {"flag": [True, False]}
    assert client.post("/form", data={"flag": "no", "n": "3"}).json() == {"flag": False, "n": 3}


@pytest.mark.parametrize("text", ["maybe", "y", "2", ""])
def test_other_bool_words_are_422(client, text):
    response = client.get("/bool", params={"flag": text})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "flag"]


# --- a body on GET/HEAD ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_body_argument_on_get_or_head_is_refused_by_the_decorator(method):
    api = BoltAPI()
    decorator = getattr(api, method)
    with pytest.raises(TypeError, match="cannot take a request body"):

        @decorator("/inferred")
        async def inferred(item: Item) -> None: ...

    with pytest.raises(TypeError, match="cannot take a request body"):

        @decorator("/marked")
        async def marked(data: Annotated[dict[str, int], Body()]) -> None: ...

    with pytest.raises(TypeError, match="cannot take a request body"):

        @decorator("/file")
        async def file(upload: UploadFile) -> None: ...

    assert list(api.iter_routes()) == []


def test_get_with_query_struct_and_post_with_body_still_register():
    api = BoltAPI()

    @api.get("/search")
    async def search(q: Annotated[Item, Query()]) -> Item:
        return q

    @api.route("/both", methods=["POST", "PUT"])
    async def both(item: Item) -> Item:
        return item

    with TestClient(api) as client:
        assert client.get("/search", params={"name": "a", "price": "2"}).json() == {
            "name": "a",
            "price": 2,
        }
        assert client.put("/both", json={"name": "b", "price": 3}).status_code == 200


# --- streams -----------------------------------------------------------------------------------


def test_streaming_response_defaults_to_octet_stream():
    api = BoltAPI()

    @api.get("/bytes")
    async def raw() -> StreamingResponse:
        async def chunks():
            yield b"\x00\x01"
            yield b"\x02"

        return StreamingResponse(chunks())

    @api.get("/typed")
    async def typed() -> StreamingResponse:
        return StreamingResponse(iter([b"a"]), media_type="text/csv")

    with TestClient(api) as client:
        response = client.get("/bytes")
        typed_response = client.get("/typed")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"\x00\x01\x02"
    assert typed_response.headers["content-type"].startswith("text/csv")


# --- 422 items ---------------------------------------------------------------------------------


def test_truncated_json_has_body_loc_and_input(client):
    response = client.post(
        "/items", content=b'{"name": "a"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["body"],
                "msg": "Input data was truncated",
                "type": "json_invalid",
                "input": '{"name": "a"',
            }
        ]
    }


def test_malformed_json_has_013_message_and_input(client):
    body = b'{\n  "name": "a",\n  "price": ,\n}'
    response = client.post("/items", content=body, headers={"content-type": "application/json"})
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", 3, 12]
    assert item["input"] == body.decode()
    assert item["msg"].startswith("Invalid JSON at line 3, column 12: JSON is malformed")
    # The offending line, then a caret under the column.
    assert item["msg"].endswith('\n    "price": ,\n             ^')
    assert item["ctx"]["byte_position"] == 28


def test_json_input_is_cut_at_200_characters(client):
    body = b'{"name": "' + b"x" * 500 + b'", "price": }'
    response = client.post("/items", content=body, headers={"content-type": "application/json"})
    (item,) = response.json()["detail"]
    assert item["input"] == body[:200].decode()


def test_missing_file_is_file_missing(client):
    response = client.post("/upload", data={"other": "x"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"loc": ["body", "avatar"], "msg": "Missing required file", "type": "file_missing"}
        ]
    }


def test_file_content_type_and_size_errors(client):
    wrong = client.post("/upload", files={"avatar": ("a.txt", b"x", "text/plain")})
    assert wrong.json()["detail"] == [
        {
            "loc": ["body", "avatar"],
            "msg": "Invalid content type 'text/plain'",
            "type": "file_invalid_content_type",
            "ctx": {"allowed_types": ["image/*"], "actual_type": "text/plain"},
        }
    ]
    big = client.post("/upload", files={"avatar": ("a.png", b"x" * 11, "image/png")})
    assert big.json()["detail"] == [
        {
            "loc": ["body", "avatar"],
            "msg": "File exceeds maximum size of 10 bytes",
            "type": "file_too_large",
            "ctx": {"max_size": 10, "actual_size": 11},
        }
    ]
    assert client.post("/upload", files={"avatar": ("a.png", b"x", "image/png")}).json() == {
        "name": "a.png"
    }


def test_too_many_and_too_small_files(client):
    three = [("docs", (f"{i}.txt", b"xx", "text/plain")) for i in range(3)]
    response = client.post("/uploads", files=three)
    assert response.json()["detail"] == [
        {
            "loc": ["body", "docs"],
            "msg": "Too many files uploaded",
            "type": "file_too_many",
            "ctx": {"max_files": 2, "actual_count": 3},
        }
    ]
    small = client.post("/uploads", files=[("docs", ("a.txt", b"x", "text/plain"))])
    assert small.json()["detail"] == [
        {
            "loc": ["body", "docs"],
            "msg": "File is below minimum size of 2 bytes",
            "type": "file_too_small",
            "ctx": {"min_size": 2, "actual_size": 1},
        }
    ]
    assert client.post("/uploads", files=three[:2]).json() == {"count": 2}


def test_more_than_1000_form_fields_is_a_422_too_many_fields(client):
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    # 1000 fields, a repeated key counting once for each.
    at_limit = b"flag=true&n=1&" + b"&".join([b"x=1"] * 998)
    assert client.post("/form", content=at_limit, headers=urlencoded).json() == {
        "flag": True,
        "n": 1,
    }
    response = client.post("/form", content=at_limit + b"&x=1", headers=urlencoded)
    assert response.status_code == 422
    assert [item["type"] for item in response.json()["detail"]] == ["too_many_fields"]


# --- CORS -------------------------------------------------------------------------------------

APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST"}


@pytest.fixture
def cors_settings(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    return settings


def cors_api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/items")
    async def create() -> dict[str, bool]:
        return {"ok": True}

    return api


@pytest.mark.parametrize("path", ["/items", "/nowhere"])
def test_preflight_is_204_with_013_vary(cors_settings, path):
    with TestClient(cors_api()) as client:
        response = client.options(path, headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers.get_list("vary") == [
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    ]


def test_actual_request_says_vary_origin(cors_settings):
    with TestClient(cors_api()) as client:
        response = client.post("/items", headers={"Origin": APP})
        missing = client.get("/nowhere", headers={"Origin": APP})
    assert response.headers.get_list("vary") == ["Origin"]
    assert missing.status_code == 404
    assert missing.headers.get_list("vary") == ["Origin"]


def test_preflight_without_a_global_policy_is_not_answered_on_unknown_paths():
    with TestClient(cors_api()) as client:
        response = client.options("/nowhere", headers=PREFLIGHT)
    assert response.status_code == 404
    assert "access-control-allow-origin" not in response.headers


# --- kept differences (docs/api.md) -------------------------------------------------------------


def test_none_return_is_200_json_null():
    api = BoltAPI()

    @api.get("/nothing")
    async def nothing() -> None:
        return None

    with TestClient(api) as client:
        response = client.get("/nothing")
    assert (response.status_code, response.content) == (200, b"null")
    assert response.headers["content-type"] == "application/json"


def test_allow_all_with_credentials_is_improperly_configured(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.CORS_ALLOW_ALL_ORIGINS = True
    settings.CORS_ALLOW_CREDENTIALS = True
    with pytest.raises(ImproperlyConfigured), TestClient(cors_api()) as client:
        client.get("/items")


class Filters(msgspec.Struct):
    page: int
    tags: list[int] = []


def test_grouped_parameter_items_carry_the_input():
    api = BoltAPI()

    @api.get("/search")
    async def search(filters: Annotated[Filters, Query()]) -> Filters:
        return filters

    with TestClient(api) as client:
        bad = client.get("/search", params={"page": "two"})
        bad_item = client.get("/search", params=[("page", "1"), ("tags", "1"), ("tags", "x")])
        missing = client.get("/search")
    assert bad.json()["detail"] == [
        {
            "loc": ["query", "page"],
            "msg": "Invalid query parameter `page`: Expected `int`, got `str`",
            "type": "validation_error",
            "input": "two",
        }
    ]
    (item,) = bad_item.json()["detail"]
    assert (item["loc"], item["input"]) == (["query", "tags", 1], "x")
    (item,) = missing.json()["detail"]
    assert (item["loc"], item["type"], item["input"]) == (["query", "page"], "missing_field", None)


def test_kept_414_for_an_over_long_request_line():
    api = BoltAPI()

    @api.get("/x")
    async def x() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        response = client.get("/x", params={"q": "a" * 9000})
        fine = client.get("/x", params={"q": "a" * 100})
    assert response.status_code == 414
    assert fine.status_code == 200


def test_kept_anonymous_user_on_a_public_route():
    api = BoltAPI()

    @api.get("/who")
    async def who(request) -> dict[str, object]:
        user = request.user
        return {"class": type(user).__name__, "authenticated": user.is_authenticated}

    with TestClient(api) as client:
        assert client.get("/who").json() == {"class": "AnonymousUser", "authenticated": False}
