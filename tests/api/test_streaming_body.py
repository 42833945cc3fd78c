"""Large request bodies in handlers: ``request.stream()``, ``request.body`` and ``body_file``.

The in-process client spools a body above ``body_spool_threshold`` exactly as the server does,
so these tests see the file-backed body a handler meets on the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from typing import Any

import msgspec
import pytest
from django.test import override_settings

from django_bolt import BoltAPI, Request
from django_bolt.responses import StreamingResponse
from django_bolt.testing import AsyncTestClient, TestClient

MIB = 1024 * 1024
SEED = 20261125

api = BoltAPI()
seen_files: list[Any] = []


def payload(size: int) -> bytes:
    return random.Random(SEED).randbytes(size)


@api.post("/digest")
async def digest(request: Request) -> dict[str, Any]:
    if request.body_file is not None:
        seen_files.append(request.body_file)
    sha = hashlib.sha256()
    sizes = []
    async for chunk in request.stream():
        sha.update(chunk)
        sizes.append(len(chunk))
    return {
        "spooled": request.body_file is not None,
        "chunks": len(sizes),
        "largest": max(sizes, default=0),
        "size": sum(sizes),
        "sha256": sha.hexdigest(),
    }


@api.post("/twice")
async def twice(request: Request) -> dict[str, Any]:
    first = b"".join([chunk async for chunk in request.stream()])
    second = b"".join([chunk async for chunk in request.stream()])
    return {"same": first == second == request.body, "size": len(request.body)}


@api.post("/sync-body")
def sync_body(request: Request) -> dict[str, Any]:
    return {"size": len(request.body), "sha256": hashlib.sha256(request.body).hexdigest()}


class Item(msgspec.Struct):
    name: str
    blob: str


@api.post("/json")
async def json_body(item: Item) -> dict[str, Any]:
    return {"name": item.name, "size": len(item.blob)}


@api.post("/echo-stream")
async def echo_stream(request: Request) -> StreamingResponse:
    if request.body_file is not None:
        seen_files.append(request.body_file)

    async def pieces() -> Any:
        async for chunk in request.stream():
            yield chunk

    return StreamingResponse(pieces(), media_type="application/octet-stream")


@pytest.fixture(scope="module")
def client():
    with TestClient(api) as client:
        yield client


@pytest.fixture(autouse=True)
def _forget_files():
    seen_files.clear()
    yield
    seen_files.clear()


@pytest.mark.parametrize(
    ("size", "spooled"),
    [
        pytest.param(0, False, id="empty"),
        pytest.param(1000, False, id="small"),
        pytest.param(MIB, False, id="at-threshold"),
        pytest.param(3 * MIB + 5, True, id="large"),
    ],
)
def test_stream_yields_the_body_in_bounded_pieces(client, size: int, spooled: bool) -> None:
    body = payload(size)
    answer = client.post("/digest", content=body).json()
    assert answer["spooled"] is spooled
    assert answer["size"] == size
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()
    if spooled:
        assert answer["chunks"] > 1
        assert answer["largest"] <= 64 * 1024
        (body_file,) = seen_files
        assert body_file.closed  # freed after the response
    else:
        assert answer["chunks"] == (1 if size else 0)


def test_a_body_kept_past_its_response_refuses_reads(client) -> None:
    client.post("/digest", content=payload(2 * MIB))
    (body_file,) = seen_files
    assert body_file.closed
    with pytest.raises(ValueError, match="closed"):
        body_file.read(0, 10)
    with pytest.raises(ValueError, match="closed"):
        next(body_file.chunks())
    with pytest.raises(ValueError):
        body_file.fileno()


def test_stream_can_be_read_twice_and_matches_body(client) -> None:
    assert client.post("/twice", content=payload(2 * MIB)).json() == {
        "same": True,
        "size": 2 * MIB,
    }


def test_request_body_reads_a_spooled_body_in_a_sync_handler(client) -> None:
    body = payload(2 * MIB)
    assert client.post("/sync-body", content=body).json() == {
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }


def test_a_large_json_body_is_decoded_from_the_spooled_file(client) -> None:
    response = client.post("/json", json={"name": "big", "blob": "x" * (2 * MIB)})
    assert response.json() == {"name": "big", "size": 2 * MIB}


def test_a_chunked_upload_of_unknown_length_is_spooled(client) -> None:
    body = payload(2 * MIB)

    def pieces() -> Any:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    answer = client.post("/digest", content=pieces()).json()
    assert (answer["spooled"], answer["size"]) == (True, len(body))
    assert answer["sha256"] == hashlib.sha256(body).hexdigest()


def test_the_body_outlives_a_streamed_answer_and_is_freed_after(client) -> None:
    body = payload(2 * MIB)
    with client.stream("POST", "/echo-stream", content=body) as response:
        (body_file,) = seen_files
        assert not body_file.closed  # the stream reads it after the handler returned
        received = b"".join(response.iter_bytes())
    assert received == body
    assert body_file.closed


def test_async_client_spools_and_frees_too() -> None:
    body = payload(2 * MIB)

    async def main() -> dict[str, Any]:
        async with AsyncTestClient(api) as client:
            return (await client.post("/digest", content=body)).json()  # type: ignore[no-any-return]

    answer = asyncio.run(main())
    assert (answer["spooled"], answer["size"]) == (True, len(body))
    (body_file,) = seen_files
    assert body_file.closed


def test_the_threshold_follows_the_server_setting() -> None:
    with override_settings(BOLT_BODY_SPOOL_THRESHOLD=100), TestClient(api) as client:
        assert client.post("/digest", content=b"x" * 101).json()["spooled"] is True
        assert client.post("/digest", content=b"x" * 100).json()["spooled"] is False
