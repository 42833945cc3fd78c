"""Endpoints the integration tests observe the server through."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from typing import Annotated, Any

from django_bolt import BoltAPI, File, Request, UploadFile

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
