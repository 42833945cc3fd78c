"""An installed app whose API mounts another app's API (listed after it in INSTALLED_APPS)."""

from __future__ import annotations

from django_bolt import BoltAPI
from tests.api.discomounted.api import leaf_api

outer_api = BoltAPI()
outer_api.mount("/v1", leaf_api)


@outer_api.get("/outer")
async def outer() -> dict[str, str]:
    return {"from": "outer"}
