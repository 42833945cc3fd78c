"""Found by discovery as ``<project>.api``: what the compression test asks for over TCP."""

from __future__ import annotations

import asyncio

from django_bolt import BoltAPI
from django_bolt.responses import EventSourceResponse, ServerSentEvent

api = BoltAPI()

# Set by GET /release: the SSE stream holds its second event back until then, so the test can
# only see the first event if it was flushed on its own.
_release: asyncio.Event | None = None
# Bounds the wait if the test never releases (the server outlives a failed test briefly).
RELEASE_TIMEOUT_S = 10.0


def _event() -> asyncio.Event:
    global _release
    if _release is None:
        _release = asyncio.Event()
    return _release


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/big")
async def big() -> dict[str, list[int]]:
    return {"numbers": list(range(1000))}


@api.get("/release")
async def release() -> dict[str, bool]:
    _event().set()
    return {"released": True}


@api.get("/events")
async def events() -> EventSourceResponse:
    async def gen():
        yield ServerSentEvent(event="first", data={"n": 1})
        await asyncio.wait_for(_event().wait(), RELEASE_TIMEOUT_S)
        yield ServerSentEvent(event="second", data={"n": 2})

    return EventSourceResponse(gen(), ping_interval=None)
