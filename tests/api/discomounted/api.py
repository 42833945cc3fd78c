"""An installed app's API that another app mounts under a prefix."""

from __future__ import annotations

from django_bolt import BoltAPI

leaf_api = BoltAPI()


@leaf_api.get("/leaf")
async def leaf() -> dict[str, str]:
    return {"from": "leaf"}
