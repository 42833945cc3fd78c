"""Endpoints the integration tests observe the server through."""

from __future__ import annotations

import asyncio
import os
import threading

from django_bolt import BoltAPI, Request

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
async def slow(seconds: float = 1.0) -> dict[str, float]:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@api.get("/client")
async def client(request: Request) -> dict[str, object]:
    host, port = request.client or ("", 0)
    return {"host": host, "port": port, "scheme": request.scheme}
