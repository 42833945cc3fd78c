"""An API whose route names tests/views/test_reverse.py reverses through django_bolt.urls."""

from __future__ import annotations

from typing import Any

from django_bolt import BoltAPI, action
from django_bolt.views import APIView, ViewSet

api = BoltAPI(prefix="/api")
missions = BoltAPI(namespace="missions")
api.mount("/m", missions)


@api.get("/missions/{mission_id}", name="mission-detail")
async def get_mission(mission_id: int) -> dict[str, int]:
    return {"id": mission_id}


@api.get("/files/{rest:path}")
async def get_file(rest: str) -> dict[str, str]:
    return {"rest": rest}


@missions.get("/{mission_id}", name="detail")
async def namespaced(mission_id: int) -> dict[str, int]:
    return {"id": mission_id}


@api.viewset("/users", name="user")
class UserViewSet(ViewSet):
    async def list(self, request: Any) -> list[int]:
        return []

    async def partial_update(self, request: Any, pk: int) -> dict[str, int]:
        return {"pk": pk}

    @action(["GET"], detail=False)
    async def recent(self, request: Any) -> list[int]:
        return []

    @action(["POST"], detail=True, name="activate-now")
    async def activate(self, request: Any, pk: int) -> dict[str, int]:
        return {"pk": pk}


@api.viewset("/teams")
class TeamViewSet(ViewSet):
    async def retrieve(self, request: Any, pk: int) -> dict[str, int]:
        return {"pk": pk}


@api.view("/hello")
class HelloView(APIView):
    async def get(self) -> dict[str, str]:
        return {}

    async def post(self) -> dict[str, str]:
        return {}
