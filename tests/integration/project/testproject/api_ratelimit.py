"""A rate-limited route for the multi-process rate limit test."""

from __future__ import annotations

import os

from django_bolt import BoltAPI
from django_bolt.middleware import rate_limit

api = BoltAPI()

RPS = 5
BURST = 10


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/limited")
@rate_limit(rps=RPS, burst=BURST)
async def limited() -> dict[str, int]:
    return {"pid": os.getpid()}
