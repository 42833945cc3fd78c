"""JSON nested deeper than the decoder can go is the client's mistake: a 422, never a 500.

Issue 12, defect 7: ``"[" * 1000 + "]" * 1000`` made msgspec raise ``RecursionError``, which
reached the client as a 500 with a traceback in the log, on typed bodies and ``request.json()``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import msgspec
import pytest

from django_bolt import Body, BoltAPI, Request
from django_bolt.testing import TestClient


class Envelope(msgspec.Struct):
    data: Any


def arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# Too deep for every interpreter: the limit is the interpreter's (a little under 1,000 levels
# on Python 3.11, about 1,500 on 3.12, 10,000 on 3.13, where C recursion is counted apart).
TOO_DEEP = [
    pytest.param(arrays(100_000), id="arrays-100000"),
    pytest.param(objects(100_000), id="objects-100000"),
]
# The 1,000 levels: over the limit on 3.11, within it later; either way never a 500.
AROUND_THE_LIMIT = [
    pytest.param(arrays(1_000), id="arrays-1000"),
    pytest.param(objects(1_000), id="objects-1000"),
    pytest.param(arrays(2_000), id="arrays-2000"),
]


def payload(path: str, nested: bytes) -> bytes:
    """The nested value where the route reads it: the whole body, or its ``data`` key."""
    if path in ("/struct", "/embedded"):
        return b'{"data": ' + nested + b"}"
    if path == "/typed":
        return b"[" + nested + b"]"
    return nested


ROUTES = [
    pytest.param("/typed", id="typed-body"),
    pytest.param("/struct", id="struct-body"),
    pytest.param("/embedded", id="several-bodies"),
    pytest.param("/request-json", id="request.json-async"),
    pytest.param("/request-json-sync", id="request.json-in-pool"),
]


def nesting_api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/typed")
    async def typed(body: Annotated[list[Any], Body()]) -> dict[str, bool]:
        return {"ok": True}

    @api.post("/struct")
    def struct(body: Envelope) -> dict[str, bool]:
        return {"ok": True}

    @api.post("/embedded")
    async def embedded(
        data: Annotated[Any, Body()], other: Annotated[int, Body()] = 0
    ) -> dict[str, bool]:
        return {"ok": True}

    @api.post("/request-json")
    async def request_json(request: Request) -> dict[str, str]:
        return {"type": type(request.json()).__name__}

    @api.post("/request-json-sync")
    def request_json_sync(request: Request) -> dict[str, str]:
        return {"type": type(request.json()).__name__}

    return api


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(nesting_api(), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("nested", TOO_DEEP)
def test_too_deep_is_a_422_without_a_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, nested: bytes
) -> None:
    body = payload(path, nested)
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["type"] == "json_invalid"
    assert "nested too deeply" in error["msg"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


@pytest.mark.parametrize("path", ROUTES)
def test_ordinary_nesting_still_decodes(client: TestClient, path: str) -> None:
    body = payload(path, arrays(50))
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("nested", AROUND_THE_LIMIT)
def test_near_the_limit_is_decoded_or_a_422_never_a_500(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, nested: bytes
) -> None:
    body = payload(path, nested)
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert "nested too deeply" in response.json()["detail"][0]["msg"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
