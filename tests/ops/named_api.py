"""APIs whose route names tests/ops/test_route_names.py reverses through django_bolt.urls."""

from __future__ import annotations

from django_bolt import BoltAPI

api = BoltAPI(namespace="missions")


@api.get("/missions/{mission_id:int}", name="detail")
async def get_mission(mission_id: int) -> dict[str, int]:
    return {"id": mission_id}


@api.get("/missions")
async def list_missions() -> list[int]:
    return []


@api.get("/files/{rest:path}", name="file")
async def get_file(rest: str) -> dict[str, str]:
    return {"rest": rest}


plain = BoltAPI(prefix="/v2")


@plain.get("/ping", name="ping")
async def ping() -> dict[str, bool]:
    return {"pong": True}


inner = BoltAPI()


@inner.get("/status", name="status")
async def status() -> dict[str, bool]:
    return {"ok": True}


plain.mount("/inner", inner)
