"""Endpoints the integration tests observe the server through."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator  # noqa: TC003 - handlers' annotations
from typing import Annotated, Any

from django_bolt import Body, BoltAPI, File, Request, Response, UploadFile

if os.environ.get("BOLT_TEST_BROKEN_IMPORT") == "1":
    raise RuntimeError("BOLT_TEST_BROKEN_IMPORT: this import fails on purpose")


async def fail_if_asked() -> None:
    """A start-up hook that fails in every worker when the test asks for it."""
    if os.environ.get("BOLT_TEST_FAIL_STARTUP") == "1":
        raise RuntimeError("BOLT_TEST_FAIL_STARTUP: this start-up fails on purpose")


api = BoltAPI(on_startup=[fail_if_asked])

# Changed by the --dev reload test (it edits a copy of this project).
VERSION = "1"


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/pid")
async def pid() -> dict[str, int]:
    return {"pid": os.getpid(), "thread": threading.get_ident()}


@api.get("/version")
async def version() -> dict[str, str]:
    return {"version": VERSION}


@api.get("/slow")
async def slow(seconds: float = 1.0, mark: str = "") -> dict[str, float]:
    if mark:
        # A file the test waits for: the request is then surely in flight in a worker.
        with open(mark, "w"):
            pass
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@api.get("/client")
async def client(request: Request) -> dict[str, object]:
    host, port = request.client or ("", 0)
    return {"host": host, "port": port, "scheme": request.scheme}


def _fd_target(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@api.post("/upload/digest")
async def upload_digest(request: Request, blob: UploadFile) -> dict[str, Any]:
    """Digest of an uploaded file, read in 1 MiB pieces, and where its bytes were kept."""
    sha = hashlib.sha256()
    while chunk := await blob.read(1024 * 1024):
        sha.update(chunk)
    body_file = request.body_file
    return {
        "size": blob.size,
        "sha256": sha.hexdigest(),
        "pid": os.getpid(),
        "part_on_disk": blob.rolled_to_disk,
        "part_path": _fd_target(blob.file.fileno()) if blob.rolled_to_disk else None,
        "body_path": _fd_target(body_file.fileno()) if body_file is not None else None,
    }


@api.post("/upload/capped")
async def upload_capped(
    blob: Annotated[UploadFile, File(max_size=1024 * 1024)],
) -> dict[str, int]:
    return {"size": blob.size}


@api.post("/upload/stream")
async def upload_stream(request: Request) -> dict[str, Any]:
    """Digest of a raw body read with request.stream()."""
    sha = hashlib.sha256()
    size = 0
    async for chunk in request.stream():
        sha.update(chunk)
        size += len(chunk)
    return {"size": size, "sha256": sha.hexdigest(), "spooled": request.body_file is not None}


# --- issue 12, framework side (tests/integration/test_framework_security.py) -------------------


@api.get("/security/cookie")
async def security_cookie(value: str = "v", path: str = "/") -> Response:
    """A cookie made from the query, as a handler copying user input would make it."""
    return Response({"ok": True}).set_cookie("probe", value, path=path)


@api.post("/security/json-typed")
async def security_json_typed(body: Annotated[list[Any], Body()]) -> dict[str, int]:
    return {"items": len(body)}


@api.post("/security/json-request")
async def security_json_request(request: Request) -> dict[str, str]:
    return {"type": type(request.json()).__name__}


if os.environ.get("BOLT_TEST_ROOT_NAME_ROUTE") == "1":
    # A route at the root taking any one segment, as a site with /{username} pages has: with
    # it, GET /\\evil.example/ is one slash away from a route. Opt-in, so that other tests
    # still see their 404s.
    @api.get("/{name}")
    async def security_redirect_probe(name: str) -> dict[str, str]:
        return {"name": name}


@api.get("/security/sync-stream")
def security_sync_stream(mark: str, chunks: int = 40, pause: float = 0.5) -> Iterator[str]:
    """A def handler's generator that sleeps between chunks; notes its start and its close."""
    with open(mark, "a") as log:
        log.write(f"started {threading.current_thread().name}\n")
    try:
        for index in range(chunks):
            yield f"chunk {index}\n"
            time.sleep(pause)
    finally:
        with open(mark, "a") as log:
            log.write("closed\n")


@api.get("/security/async-stream")
async def security_async_stream(mark: str, pause: float = 30.0) -> AsyncIterator[str]:
    """An async generator that is quiet for long stretches (an SSE feed, say)."""
    try:
        while True:
            yield "tick\n"
            await asyncio.sleep(pause)
    finally:
        with open(mark, "a") as log:
            log.write("closed\n")
