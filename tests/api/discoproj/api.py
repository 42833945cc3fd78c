"""A project api module with two module-level APIs (neither needs to be called ``api``)."""

from __future__ import annotations

from django_bolt import BoltAPI

api = BoltAPI()
extra_api = BoltAPI(prefix="/extra")


@api.get("/proj")
async def proj() -> dict[str, str]:
    return {"from": "project"}


@extra_api.get("/ping")
async def extra_ping() -> dict[str, str]:
    return {"from": "extra"}
