"""An API with documentation pages, for the headless-browser test (tests/openapi)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from django_bolt import BoltAPI, Query
from django_bolt.openapi import OpenAPIConfig

TITLE = "Bolt Docs Browser Test"

api = BoltAPI(
    openapi_config=OpenAPIConfig(
        title=TITLE, version="3.0.0", description="Served by runbolt, browsed offline."
    )
)


class Greeting(msgspec.Struct):
    message: str
    times: int


@api.get("/hello", tags=["greetings"])
async def hello() -> dict[str, str]:
    """Say hello."""
    return {"hello": "world"}


@api.get("/greet/{name}", tags=["greetings"])
async def greet(name: str, times: Annotated[int, Query(ge=1, le=5)] = 1) -> Greeting:
    """Greet someone, up to five times."""
    return Greeting(f"Hello, {name}!", times)


@api.post("/greetings", status_code=201, tags=["greetings"])
async def create_greeting(greeting: Greeting) -> Greeting:
    return greeting
