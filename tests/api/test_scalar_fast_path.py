"""Plain str/int parameters skip msgspec.convert; the answers must be exactly msgspec's.

Each value is sent to two routes that differ only in whether the fast path applies (a
constraint-free ``int`` versus the same ``int`` with a no-op ``Meta``), so msgspec itself is the
oracle for what the fast path must return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
import pytest

from django_bolt import BoltAPI, Cookie, Header, Request
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator

api = BoltAPI()
# A no-op constraint: the route then binds through the general binder (msgspec), not the shortcut.
FORCE = msgspec.Meta(description="forces msgspec")


@api.get("/fast/{n}")
async def fast(n: int, q: str | None = None, k: int | None = None) -> dict[str, object]:
    return {"n": n, "q": q, "k": k}


@api.get("/slow/{n}")
async def slow(
    n: Annotated[int, msgspec.Meta(description="forces msgspec")],
    q: Annotated[str | None, msgspec.Meta(description="forces msgspec")] = None,
    k: Annotated[int | None, msgspec.Meta(description="forces msgspec")] = None,
) -> dict[str, object]:
    return {"n": n, "q": q, "k": k}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(api) as test_client:
        yield test_client


INT_TEXTS = [
    "0",
    "7",
    "-5",
    "42",
    "007",
    "-0",
    "+5",
    " 5",
    "5 ",
    "1_000",
    "5.0",
    "1e3",
    "abc",
    "٣",
    "123456789012345678",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "",
]


@pytest.mark.parametrize("text", INT_TEXTS, ids=[repr(t) for t in INT_TEXTS])
def test_int_path_and_query_values_match_msgspec(client: TestClient, text: str) -> None:
    for where in ("path", "query"):
        if where == "path":
            if not text or text != text.strip():
                continue  # not expressible as a path segment unchanged
            fast = client.get(f"/fast/{text}")
            slow = client.get(f"/slow/{text}")
        else:
            fast = client.get("/fast/1", params={"k": text})
            slow = client.get("/slow/1", params={"k": text})
        assert fast.status_code == slow.status_code, (where, text, fast.text, slow.text)
        assert fast.json() == slow.json(), (where, text)


@pytest.mark.parametrize("text", ["", "null", "x y", "ü", "1"], ids=repr)
def test_optional_str_values_match_msgspec(client: TestClient, text: str) -> None:
    fast = client.get("/fast/1", params={"q": text})
    slow = client.get("/slow/1", params={"q": text})
    assert fast.status_code == slow.status_code == 200
    assert fast.json() == slow.json()
    assert fast.json()["q"] == text


def test_fast_path_values_are_converted(client: TestClient) -> None:
    response = client.get("/fast/-12", params={"k": "3"})
    assert response.json() == {"n": -12, "q": None, "k": 3}


def test_missing_required_still_reports_missing_field(client: TestClient) -> None:
    api_required = BoltAPI()

    @api_required.get("/need")
    async def need(page: int) -> dict[str, int]:
        return {"page": page}

    with TestClient(api_required) as test_client:
        response = test_client.get("/need")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "missing_field"
    assert response.json()["detail"][0]["loc"] == ["query", "page"]


def test_header_parameters_match_the_headers_view() -> None:
    """Single header parameters are read straight from the raw fields: same answer as
    request.headers gives (case-insensitive names, the last of repeated fields)."""
    header_api = BoltAPI()

    @header_api.get("/h")
    async def read(request: Request, x_token: Annotated[str, Header()]) -> dict[str, str]:
        return {"param": x_token, "view": request.headers["x-token"]}

    @header_api.get("/general")
    async def general(request: Request, x_token: Annotated[str, Header(), FORCE]) -> dict[str, str]:
        return {"param": x_token, "view": request.headers["x-token"]}

    with TestClient(header_api) as test_client:
        repeated = [("X-TOKEN", "first"), ("x-Token", "second")]
        response = test_client.get("/h", headers=repeated)
        general_response = test_client.get("/general", headers=repeated)
        missing = test_client.get("/h")
    assert response.json() == {"param": "second", "view": "second"}
    assert general_response.json() == response.json()
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["header", "x-token"]


QUERY_STRINGS = [
    "q=a+b",
    "q=%41%42",
    "q=1&q=2",
    "%71=enc-key",
    "q",
    "q=",
    "&&q=z&",
    "q=%zz",
    "x=1",
    "q=%E2%9C%93",
    "q=a=b",
    "Q=upper",
    "q=a%2Bb",
    "q=1;x=2",
]


@pytest.mark.parametrize("query", QUERY_STRINGS, ids=repr)
def test_query_parameters_match_the_query_view(query: str) -> None:
    """Single query parameters are picked from the raw query string: same answer as
    request.query gives (decoding, last of repeated keys, blank values), by the shortcut's
    written-out loop and by the general binder's parse_query alike."""
    query_api = BoltAPI()

    @query_api.get("/q")
    async def read(request: Request, q: str | None = None) -> dict[str, object]:
        return {"param": q, "view": request.query.get("q")}

    @query_api.get("/general")
    async def general(
        request: Request, q: Annotated[str | None, FORCE] = None
    ) -> dict[str, object]:
        return {"param": q, "view": request.query.get("q")}

    with TestClient(query_api) as test_client:
        body = test_client.get(f"/q?{query}").json()
        general_body = test_client.get(f"/general?{query}").json()
    assert body["param"] == body["view"]
    assert general_body == body


COOKIE_HEADERS = [
    ["s=plain"],
    ['s="quoted"'],
    ["s=a%20b"],
    ["a=1; s=two; b=3"],
    ["s=first", "s=second"],
    ["s=first; s=second"],
    ["junk; s=ok"],
    ["=x; s=ok"],
    [" s = spaced "],
    ["other=1"],
]


@pytest.mark.parametrize("headers", COOKIE_HEADERS, ids=repr)
def test_cookie_parameters_match_the_cookies_view(headers: list[str]) -> None:
    """Single cookie parameters are read straight from the Cookie fields: same answer as
    request.cookies gives (quotes, percent-decoding, several Cookie fields, the last wins), by
    the shortcut and by the general binder alike."""
    cookie_api = BoltAPI()

    @cookie_api.get("/c")
    async def read(
        request: Request, s: Annotated[str | None, Cookie()] = None
    ) -> dict[str, object]:
        return {"param": s, "view": request.cookies.get("s")}

    @cookie_api.get("/general")
    async def general(
        request: Request, s: Annotated[str | None, Cookie(), FORCE] = None
    ) -> dict[str, object]:
        return {"param": s, "view": request.cookies.get("s")}

    with TestClient(cookie_api) as test_client:
        cookies = [("cookie", h) for h in headers]
        body = test_client.get("/c", headers=cookies).json()
        general_body = test_client.get("/general", headers=cookies).json()
    assert body["param"] == body["view"]
    assert general_body == body


@pytest.mark.parametrize("text", INT_TEXTS, ids=[repr(t) for t in INT_TEXTS])
def test_int_header_and_cookie_values_match_msgspec(text: str) -> None:
    int_api = BoltAPI()

    @int_api.get("/fast")
    async def fast(
        n: Annotated[int, Header()], c: Annotated[int | None, Cookie()] = None
    ) -> dict[str, object]:
        return {"n": n, "c": c}

    @int_api.get("/slow")
    async def slow(
        n: Annotated[int, Header(), msgspec.Meta(description="forces msgspec")],
        c: Annotated[int | None, Cookie(), msgspec.Meta(description="forces msgspec")] = None,
    ) -> dict[str, object]:
        return {"n": n, "c": c}

    with TestClient(int_api) as test_client:
        # Header values travel as latin-1 bytes, as the server hands them over.
        raw = text.encode("utf-8")
        for headers in ([(b"n", raw)], [(b"n", b"1"), (b"cookie", b"c=" + raw)]):
            fast_response = test_client.get("/fast", headers=headers)
            slow_response = test_client.get("/slow", headers=headers)
            assert fast_response.status_code == slow_response.status_code, (headers, text)
            assert fast_response.json() == slow_response.json(), (headers, text)
