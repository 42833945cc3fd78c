"""Two APIs of one project, merged by discovery the way ``runbolt`` serves them."""

from __future__ import annotations

from django_bolt import BoltAPI
from django_bolt.openapi import OpenAPIConfig

plain = BoltAPI()
configured = BoltAPI(openapi_config=OpenAPIConfig(title="Configured", path="/reference"))
silent = BoltAPI(openapi_config=None)


@plain.get("/plain")
async def plain_route() -> dict[str, bool]:
    return {"ok": True}


@configured.get("/configured")
async def configured_route() -> dict[str, bool]:
    return {"ok": True}


@silent.get("/silent")
async def silent_route() -> dict[str, bool]:
    return {"ok": True}
