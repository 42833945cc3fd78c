"""A mounted API's routes take the mounting API's trailing_slash; APIs merged by discovery keep
their own (0.13's topics/routing.md, "Mounted APIs")."""

from __future__ import annotations

from django_bolt import BoltAPI
from django_bolt.testing import TestClient


def test_a_mounted_api_takes_the_parent_trailing_slash() -> None:
    parent = BoltAPI(trailing_slash="append")
    child = BoltAPI(trailing_slash="strip")  # ignored once mounted

    @child.get("/users")
    async def users():
        return {"users": []}

    parent.mount("/api", child)
    assert [route.path for route in parent.routes() if "users" in route.path] == ["/api/users/"]
    with TestClient(parent) as client:
        assert client.get("/api/users/").json() == {"users": []}
        moved = client.get("/api/users", follow_redirects=False)
        assert (moved.status_code, moved.headers["location"]) == (308, "/api/users/")


def test_a_strip_parent_strips_what_an_append_child_registered() -> None:
    parent = BoltAPI()
    child = BoltAPI(trailing_slash="append")

    @child.get("/items")
    async def items():
        return []

    parent.mount("/v1", child)
    assert [route.path for route in parent.routes()] == ["/v1/items"]
    # The child on its own keeps its mode.
    assert [route.path for route in child.routes()] == ["/items/"]
