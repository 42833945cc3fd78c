"""An installed app's api module."""

from __future__ import annotations

from django_bolt import BoltAPI

app_api = BoltAPI()


@app_api.get("/app")
async def from_app() -> dict[str, str]:
    return {"from": "app"}


@app_api.get("/proj")
async def clashing_proj() -> dict[str, str]:
    return {"from": "app, clashing"}
