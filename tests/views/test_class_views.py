"""APIView and ViewSet routes through the TestClient: verbs, options, binding, actions, errors."""

from __future__ import annotations

import dataclasses
import inspect
import threading
from typing import Any

import msgspec
import pytest

from django_bolt import BoltAPI, Depends, Router, action
from django_bolt.auth import APIKeyAuthentication, IsAuthenticated
from django_bolt.decorators import ActionOptions, action as action_from_decorators
from django_bolt.middleware import middleware, no_compress
from django_bolt.testing import TestClient
from django_bolt.views import APIView, ViewSet

AUTH = APIKeyAuthentication(api_keys={"k1": {"id": "u1"}})


class Note(msgspec.Struct):
    text: str
    stars: int = 0


class StatusUpdate(msgspec.Struct):
    is_published: bool


def _whoami(request: Any) -> str:
    return str(request.headers.get("x-who", "anon"))


def test_apiview_serves_each_verb_async_and_sync() -> None:
    api = BoltAPI()

    @api.view("/hello")
    class HelloView(APIView):
        async def get(self, request: Any) -> dict[str, str]:
            return {"method": "GET"}

        async def post(self, request: Any, name: str) -> dict[str, str]:
            return {"hello": name}

        def put(self, request: Any) -> dict[str, str]:
            return {"method": "PUT", "thread": threading.current_thread().name}

        def delete(self) -> dict[str, Any]:
            return {"deleted": True}

        async def query(self, request: Any, data: Note) -> dict[str, str]:
            return {"method": "QUERY", "text": data.text}

    with TestClient(api) as client:
        assert client.get("/hello").json() == {"method": "GET"}
        assert client.post("/hello?name=ada").json() == {"hello": "ada"}
        assert client.post("/hello").status_code == 422
        put = client.put("/hello").json()
        assert put["method"] == "PUT"
        assert client.delete("/hello").json() == {"deleted": True}
        answer = client.request("QUERY", "/hello", json={"text": "q"})
        assert answer.json() == {"method": "QUERY", "text": "q"}
        refused = client.patch("/hello")
        assert refused.status_code == 405
        assert set(refused.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST", "PUT"}


def test_apiview_path_parameters_bodies_and_depends() -> None:
    api = BoltAPI()

    @api.view("/users/{user_id}")
    class UserView(APIView):
        async def get(self, request: Any, user_id: int, who: str = Depends(_whoami)) -> dict:
            return {"user_id": user_id, "who": who, "same": self.request is request}

        async def put(self, user_id: int, data: Note) -> dict[str, Any]:
            # No request argument: the instance still has it.
            return {"user_id": user_id, "text": data.text, "path": self.request.path}

    with TestClient(api) as client:
        got = client.get("/users/7", headers={"x-who": "me"}).json()
        assert got == {"user_id": 7, "who": "me", "same": True}
        assert client.get("/users/seven").status_code == 422
        put = client.put("/users/3", json={"text": "hi"})
        assert put.json() == {"user_id": 3, "text": "hi", "path": "/users/3"}
        bad = client.put("/users/3", json={"text": 5})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"][0] == "body"


def test_class_level_auth_guards_status_tags_and_middleware() -> None:
    api = BoltAPI()
    seen: list[str] = []

    @middleware
    async def mark(request: Any, call_next: Any) -> Any:
        seen.append(request.path)
        response = await call_next(request)
        response.headers["x-class-mw"] = "1"
        return response

    @api.view("/protected")
    class ProtectedView(APIView):
        auth = [AUTH]
        guards = [IsAuthenticated()]
        status_code = 202
        tags = ["secret"]
        middleware = [mark]

        async def get(self, request: Any) -> dict[str, str]:
            return {"user": request.user.id}

    with TestClient(api) as client:
        assert client.get("/protected").status_code == 401
        ok = client.get("/protected", headers={"x-api-key": "k1"})
        assert ok.status_code == 202
        assert ok.json() == {"user": "u1"}
        assert ok.headers["x-class-mw"] == "1"
        document = client.get("/openapi.json").json()
    assert document["paths"]["/protected"]["get"]["tags"] == ["secret"]
    assert seen == ["/protected"]


def test_view_options_win_over_class_attributes() -> None:
    api = BoltAPI()

    @api.view("/o", status_code=201, guards=[], auth=[], tags=["given"], name="custom")
    class OptView(APIView):
        auth = [AUTH]
        guards = [IsAuthenticated()]
        status_code = 202
        tags = ["class"]

        async def get(self) -> dict[str, bool]:
            return {"ok": True}

    (route,) = api.routes()
    assert route.name == "custom"
    with TestClient(api) as client:
        response = client.get("/o")
        assert response.status_code == 201


def test_method_marks_travel_and_instances_are_per_request() -> None:
    api = BoltAPI()
    instances: list[int] = []

    @api.view("/marks")
    class MarkView(APIView):
        @no_compress
        async def get(self, request: Any) -> dict[str, Any]:
            instances.append(id(self))
            self.counter = getattr(self, "counter", 0) + 1
            return {"counter": self.counter, "action": self.action}

    with TestClient(api) as client:
        assert client.get("/marks").json() == {"counter": 1, "action": "get"}
        assert client.get("/marks").json() == {"counter": 1, "action": "get"}


def test_view_registration_errors() -> None:
    api = BoltAPI()

    class NotAView:
        async def get(self) -> None: ...

    with pytest.raises(TypeError):
        api.view("/x")(NotAView)  # type: ignore[arg-type]

    class Empty(APIView):
        pass

    with pytest.raises(ValueError, match="does not implement"):
        api.view("/x")(Empty)

    class OnlyGet(APIView):
        async def get(self) -> dict[str, int]:
            return {}

    with pytest.raises(ValueError, match="does not implement"):
        api.view("/x", methods=["POST"])(OnlyGet)

    class WithAction(ViewSet):
        @action(methods=["POST"], detail=False)
        async def custom(self, request: Any) -> dict[str, bool]:
            return {"ok": True}

    with pytest.raises(ValueError, match=r"api\.viewset"):
        api.view("/x", methods=["GET"])(WithAction)

    with pytest.raises(ValueError, match="Invalid HTTP method"):
        action(methods=["FETCH"], detail=False)
    with pytest.raises(ValueError):
        action(methods=[], detail=True)
    with pytest.raises(TypeError):
        action(methods=["GET"], detail="yes")  # type: ignore[arg-type]
    assert action_from_decorators is action


class ItemCreate(msgspec.Struct):
    name: str


def _item_viewset(api: BoltAPI | Router, **options: Any) -> type[ViewSet]:
    @api.viewset("/items", **options)
    class ItemViewSet(ViewSet):
        async def list(self, request: Any) -> list[dict[str, Any]]:
            return [{"id": 1, "action": self.action}]

        async def retrieve(self, request: Any, pk: int) -> dict[str, Any]:
            return {"id": pk, "action": self.action}

        async def create(self, request: Any, data: ItemCreate) -> dict[str, Any]:
            return {"created": data.name}

        async def update(self, request: Any, pk: int, data: ItemCreate) -> dict[str, Any]:
            return {"id": pk, "updated": data.name}

        def partial_update(self, request: Any, pk: int) -> dict[str, Any]:
            return {"id": pk, "patched": True, "action": self.action}

        async def destroy(self, request: Any, pk: int) -> None:
            return None

        @action(methods=["GET"], detail=False)
        async def recent(self, request: Any, limit: int = 10) -> dict[str, Any]:
            return {"recent": limit, "action": self.action}

        @action(methods=["POST"], detail=True, path="status")
        async def update_status(self, request: Any, pk: int, data: StatusUpdate) -> dict:
            return {"id": pk, "published": data.is_published}

        @action(methods=["GET"], detail=True, path="status")
        def get_status(self, request: Any, pk: int) -> dict[str, Any]:
            return {"id": pk, "sync": True}

        @action(methods=["GET", "DELETE"], detail=False, path="bulk/all", name="everything")
        async def everything(self, request: Any) -> dict[str, str]:
            return {"method": request.method}

    return ItemViewSet


def test_viewset_standard_routes_statuses_and_actions() -> None:
    api = BoltAPI()
    _item_viewset(api)
    with TestClient(api) as client:
        assert client.get("/items").json() == [{"id": 1, "action": "list"}]
        created = client.post("/items", json={"name": "n"})
        assert created.status_code == 201
        assert created.json() == {"created": "n"}
        assert client.post("/items", json={}).status_code == 422
        assert client.get("/items/5").json() == {"id": 5, "action": "retrieve"}
        assert client.get("/items/five").status_code == 422
        assert client.put("/items/5", json={"name": "m"}).json() == {"id": 5, "updated": "m"}
        patched = client.patch("/items/5").json()
        assert patched == {"id": 5, "patched": True, "action": "partial_update"}
        deleted = client.delete("/items/5")
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert client.get("/items/recent?limit=3").json() == {"recent": 3, "action": "recent"}
        status = client.post("/items/9/status", json={"is_published": True})
        assert status.json() == {"id": 9, "published": True}
        assert client.get("/items/9/status").json() == {"id": 9, "sync": True}
        assert client.get("/items/bulk/all").json() == {"method": "GET"}
        assert client.delete("/items/bulk/all").json() == {"method": "DELETE"}


def test_viewset_route_names_for_reversing() -> None:
    api = BoltAPI()
    _item_viewset(api, name="item")
    names = {(tuple(r.methods), r.path): r.name for r in api.routes()}
    assert names[(("GET",), "/items")] == "item-list"
    assert names[(("PATCH",), "/items/{pk}")] == "item-partial_update"
    assert names[(("GET",), "/items/recent")] == "item-recent"
    assert names[(("GET",), "/items/bulk/all")] == "item-everything"
    assert names[(("POST",), "/items/{pk}/status")] == "item-update_status"
    unnamed = BoltAPI()
    _item_viewset(unnamed)
    assert {r.name for r in unnamed.routes()} >= {"ItemViewSet-list", "ItemViewSet-recent"}


def test_viewset_through_a_router_and_lookup_field() -> None:
    api = BoltAPI()
    router = Router(prefix="/v1", tags=["v1"])

    @router.viewset("/articles", lookup_field="slug")
    class ArticleViewSet(ViewSet):
        async def retrieve(self, request: Any, slug: str) -> dict[str, str]:
            return {"slug": slug, "from_params": self.request.path_params["slug"]}

        @action(methods=["POST"], detail=True)
        async def feature(self, request: Any, slug: str) -> dict[str, str]:
            return {"featured": slug}

    api.include_router(router)
    with TestClient(api) as client:
        assert client.get("/v1/articles/hello").json() == {
            "slug": "hello",
            "from_params": "hello",
        }
        assert client.post("/v1/articles/hello/feature").json() == {"featured": "hello"}
        assert client.get("/v1/articles").status_code in (404, 405)


def test_action_auth_overrides_class_auth() -> None:
    api = BoltAPI()

    @api.viewset("/locked")
    class LockedViewSet(ViewSet):
        auth = [AUTH]
        guards = [IsAuthenticated()]

        async def list(self, request: Any) -> list[int]:
            return [1]

        @action(methods=["GET"], detail=False, guards=[], auth=[])
        async def public(self, request: Any) -> dict[str, bool]:
            return {"public": True}

    with TestClient(api) as client:
        assert client.get("/locked").status_code == 401
        assert client.get("/locked", headers={"x-api-key": "k1"}).json() == [1]
        assert client.get("/locked/public").json() == {"public": True}


def test_action_on_a_reserved_name_is_refused() -> None:
    api = BoltAPI()

    class Bad(ViewSet):
        @action(methods=["GET"], detail=False)
        async def get(self, request: Any) -> dict[str, bool]:
            return {}

    with pytest.raises(ValueError, match="standard action"):
        api.viewset("/bad")(Bad)
    with pytest.raises(TypeError):
        api.viewset("/bad")(APIView)  # type: ignore[arg-type]


def test_action_through_the_instance_is_the_bound_method() -> None:
    class Helper(ViewSet):
        @action(methods=["GET"], detail=False)
        def ping(self, request: Any) -> str:
            return f"pong from {type(self).__name__}"

    assert Helper().ping(None) == "pong from Helper"
    assert "ping" in repr(Helper.ping)


def test_action_keeps_every_option_it_was_given() -> None:
    # action()'s keyword-only parameters are ActionOptions' fields, in order: the decorator
    # hands what it was called with to the record field by field.
    keyword_only = [
        p.name
        for p in inspect.signature(action).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keyword_only == [f.name for f in dataclasses.fields(ActionOptions)]
    given = {name: object() for name in keyword_only}

    class Helper(ViewSet):
        @action(["post", "GET", "POST"], True, "/go/", **given)
        def go(self, request: Any) -> None: ...

    record = Helper.__dict__["go"]
    assert (record.methods, record.detail, record.path) == (("POST", "GET"), True, "go")
    assert all(getattr(record.options, name) is value for name, value in given.items())


def test_openapi_documents_views_and_actions() -> None:
    from openapi_spec_validator import validate

    api = BoltAPI()
    _item_viewset(api)
    with TestClient(api) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    paths = document["paths"]
    assert set(paths["/items/{pk}"]) == {"get", "put", "patch", "delete"}
    assert set(paths["/items"]) == {"get", "post"}
    recent = paths["/items/recent"]["get"]
    assert [p["name"] for p in recent["parameters"]] == ["limit"]
    status = paths["/items/{pk}/status"]
    assert set(status) == {"get", "post"}
    assert "requestBody" in status["post"]
    assert any(p["name"] == "pk" and p["in"] == "path" for p in status["post"]["parameters"])
