"""The API the fuzz tests attack: a few routes of each kind a real project has.

Served in-process (tests/server/test_fuzz.py drives ``api`` through ``HttpProtocol``) and by a
real ``runbolt`` (tests/integration/test_fuzz_socket.py, with ``tests.fuzz.settings``).

``/echo`` answers every method with what the handler saw of the request (method, target, a
digest of the body and the header names), so the fuzz test can check that each request it
framed reached a handler whole, with its own body and no field from elsewhere (a trailer, the
next request), and that nothing else did.
"""

from __future__ import annotations

import os
import zlib
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from django_bolt import BoltAPI, File, Form, Request, UploadFile

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("ECHO_METHODS", "api", "body_digest", "field_names")

# The methods /echo is registered for (any other method on /echo is a 405).
ECHO_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def body_digest(body: bytes) -> str:
    """Length and CRC-32 of a body: what /echo reports and what the fuzz test compares."""
    return f"{len(body)}:{zlib.crc32(body):08x}"


class Tag(msgspec.Struct):
    name: str
    weight: float = 0.0


class Item(msgspec.Struct):
    name: str
    price: float
    quantity: int = 1
    tags: list[Tag] = []
    extra: dict[str, Any] = {}


api = BoltAPI(openapi_config=False, django_fallthrough=False)


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid()}


@api.get("/items/{item_id}")
async def get_item(item_id: int, q: str | None = None, limit: int = 10) -> dict[str, Any]:
    return {"item_id": item_id, "q": q, "limit": limit}


@api.post("/items")
async def create_item(item: Item) -> dict[str, Any]:
    return {"name": item.name, "tags": len(item.tags), "extra": len(item.extra)}


@api.post("/json")
async def raw_json(request: Request) -> dict[str, str]:
    return {"type": type(request.json()).__name__}


@api.post("/upload")
async def upload(
    document: Annotated[UploadFile, File(max_size=64 * 1024)],
    title: Annotated[str, Form()],
) -> dict[str, Any]:
    data = await document.read()
    return {"title": title, "filename": document.filename, "size": len(data)}


def field_names(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The distinct header names, lower-cased and sorted: what /echo reports of the headers."""
    return ",".join(sorted({name.lower().decode("latin-1") for name, _ in raw_headers}))


@api.route("/echo", methods=ECHO_METHODS)
async def echo(request: Request) -> dict[str, str]:
    return {
        "method": request.method,
        "target": request.target.decode("latin-1"),
        "body": body_digest(request.body),
        "fields": field_names(request.raw_headers),
    }
