"""Routing: static and dynamic paths, methods, trailing slashes, routers and mounts."""

from __future__ import annotations

import pytest

from django_bolt import BoltAPI, Router
from django_bolt.testing import TestClient


def make_api(**kwargs) -> BoltAPI:
    api = BoltAPI(**kwargs)

    @api.get("/")
    async def root():
        return {"at": "root"}

    @api.get("/items")
    async def list_items():
        return {"at": "list"}

    @api.get("/items/{item_id}")
    async def get_item(item_id: int):
        return {"at": "item", "id": item_id}

    @api.delete("/items/{key}")
    async def delete_item(key: str):
        return {"at": "delete", "key": key}

    @api.get("/files/{rest:path}")
    async def files(rest: str):
        return {"rest": rest}

    @api.get("/users/{name}/posts/{post}")
    async def user_post(name: str, post: str):
        return {"name": name, "post": post}

    return api


@pytest.fixture
def client():
    with TestClient(make_api()) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/", {"at": "root"}, id="root"),
        pytest.param("/items", {"at": "list"}, id="static"),
        pytest.param("/items/42", {"at": "item", "id": 42}, id="dynamic"),
        pytest.param("/files/a/b/c.txt", {"rest": "a/b/c.txt"}, id="catch-all"),
        pytest.param("/files/", {"rest": ""}, id="catch-all-empty"),
        pytest.param(
            "/users/al%20ice/posts/x%2Fy", {"name": "al ice", "post": "x/y"}, id="decoded"
        ),
        pytest.param("/users/%C3%A9/posts/1", {"name": "é", "post": "1"}, id="utf8"),
    ],
)
def test_match(client, path, expected):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == expected


def test_unknown_path_is_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert response.headers["content-type"] == "application/json"


def test_wrong_method_is_405_with_allow(client):
    response = client.post("/items/3")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, DELETE, HEAD, OPTIONS"
    assert response.json() == {"detail": "Method Not Allowed"}


def test_same_shape_different_names_share_the_entry(client):
    assert client.delete("/items/abc").json() == {"at": "delete", "key": "abc"}


def test_automatic_options(client):
    response = client.options("/items")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    assert response.content == b""


def test_head_served_from_get_without_body(client):
    response = client.head("/items/7")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(b'{"at":"item","id":7}'))


def test_explicit_head_and_options_routes_win():
    api = BoltAPI()

    @api.get("/x")
    async def get_x():
        return {"get": True}

    @api.head("/x")
    async def head_x():
        from django_bolt import Response

        return Response(b"", headers={"x-head": "1"})

    @api.options("/x")
    async def options_x():
        return {"options": True}

    with TestClient(api) as client:
        assert client.head("/x").headers["x-head"] == "1"
        assert client.options("/x").json() == {"options": True}


@pytest.mark.parametrize(
    ("mode", "registered", "requested", "location"),
    [
        pytest.param("strip", "/a/", "/a/?q=1&r=2", "/a?q=1&r=2", id="strip"),
        pytest.param("append", "/a", "/a?q=1", "/a/?q=1", id="append"),
        pytest.param("keep", "/a/", "/a", "/a/", id="keep-slash"),
        pytest.param("keep", "/a", "/a/", "/a", id="keep-no-slash"),
    ],
)
def test_trailing_slash_redirects_308(mode, registered, requested, location):
    api = BoltAPI(trailing_slash=mode)

    @api.post(registered)
    async def handler():
        return {"ok": True}

    with TestClient(api) as client:
        response = client.post(requested)
        assert response.status_code == 308
        assert response.headers["location"] == location
        assert client.post(location).json() == {"ok": True}


# Issue 12: a trailing-slash redirect whose Location a browser reads as another host.
# (mode, the one route, requested path): the route is one slash away from the request.
OFF_ORIGIN = [
    pytest.param("strip", "/{name}", "/\\evil.example/", id="strip-backslash"),
    pytest.param("strip", "/{name}", "/\\\\evil.example/", id="strip-two-backslashes"),
    pytest.param("keep", "/{name}", "/\\evil.example/", id="keep-backslash"),
    pytest.param("append", "/{name}", "/\\evil.example", id="append-backslash"),
    pytest.param("append", "/{name}", "/\\evil.example?next=/", id="append-backslash-query"),
    pytest.param(
        "keep", "/{name:path}/", "http://testserver//evil.example", id="keep-double-slash"
    ),
]


def one_route_api(mode: str, template: str) -> BoltAPI:
    api = BoltAPI(trailing_slash=mode)

    @api.get(template)
    async def by_name(name: str):
        return {"name": name}

    return api


@pytest.mark.parametrize(("mode", "template", "requested"), OFF_ORIGIN)
def test_trailing_slash_redirect_never_points_at_another_host(mode, template, requested):
    with TestClient(one_route_api(mode, template)) as client:
        response = client.get(requested, follow_redirects=False)
    assert response.status_code == 404, response.headers.get("location")
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("mode", "requested", "location"),
    [
        pytest.param("strip", "/%5Cevil.example/", "/%5Cevil.example", id="encoded-backslash"),
        pytest.param("strip", "/%2F%2Fevil.example/", "/%2F%2Fevil.example", id="encoded-slashes"),
        pytest.param("append", "/x?next=//evil.example", "/x/?next=//evil.example", id="query"),
    ],
)
def test_a_percent_encoded_or_query_lookalike_still_redirects_on_this_origin(
    mode, requested, location
):
    # Browsers do not decode %2F or %5C when they resolve a Location: these stay on this host.
    with TestClient(one_route_api(mode, "/{name}")) as client:
        response = client.get(requested, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (308, location)


def test_bad_trailing_slash_mode():
    with pytest.raises(ValueError, match="trailing_slash"):
        BoltAPI(trailing_slash="sometimes")  # type: ignore[arg-type]


def test_duplicate_route_names_both_handlers():
    api = BoltAPI()

    @api.get("/dup/{a}")
    async def first(a: str):
        return {}

    @api.get("/dup/{b}")
    async def second(b: str):
        return {}

    with pytest.raises(ValueError, match="duplicate route GET /dup/") as info:
        api.compile()
    assert "first" in str(info.value)
    assert "second" in str(info.value)


def test_route_with_several_methods_and_options_stored():
    from django_bolt.auth import AllowAny, JWTAuthentication

    api = BoltAPI()
    guard, backend = AllowAny(), JWTAuthentication(secret="s")

    @api.route(
        "/multi",
        methods=["get", "post"],
        status_code=201,
        tags=["t"],
        summary="s",
        description="d",
        name="multi_route",
        include_in_schema=False,
        guards=[guard],
        auth=[backend],
    )
    async def multi(request):
        return {"method": request.method}

    with TestClient(api) as client:
        assert client.get("/multi").status_code == 201
        assert client.post("/multi").json() == {"method": "POST"}
    (info,) = api.routes()
    assert info.methods == ("GET", "POST")
    assert (info.status_code, info.tags, info.summary, info.description) == (201, ["t"], "s", "d")
    assert (info.name, info.include_in_schema, info.guards, info.auth) == (
        "multi_route",
        False,
        [guard],
        [backend],
    )


@pytest.mark.parametrize("verb", ["get", "post", "put", "patch", "delete"])
def test_each_verb_decorator(verb):
    api = BoltAPI()
    getattr(api, verb)("/v")(lambda: {"verb": verb})
    with TestClient(api) as client:
        assert client.request(verb.upper(), "/v").json() == {"verb": verb}


def test_router_prefix_tags_guards_and_nesting():
    from django_bolt.auth import AllowAny, JWTAuthentication

    router_guard, own, router_auth = AllowAny(), AllowAny(), JWTAuthentication(secret="s")
    api = BoltAPI(prefix="/api")
    users = Router(prefix="/users", tags=["users"], guards=[router_guard], auth=[router_auth])
    admin = Router(prefix="/admin", tags=["admin"])

    @users.get("/{user_id}")
    async def get_user(user_id: int):
        return {"user": user_id}

    @users.get("/me", guards=[own])
    async def me():
        return {"me": True}

    @admin.get("/stats")
    async def stats():
        return {"stats": 1}

    users.include_router(admin)
    api.include_router(users)
    with TestClient(api) as client:
        assert client.get("/api/users/me").json() == {"me": True}
        assert client.get("/api/users/5").json() == {"user": 5}
        assert client.get("/api/users/admin/stats").json() == {"stats": 1}
    routes = {info.path: info for info in api.routes()}
    assert routes["/api/users/me"].guards == [own]
    assert routes["/api/users/{user_id}"].guards == [router_guard]
    assert routes["/api/users/{user_id}"].auth == [router_auth]
    assert routes["/api/users/admin/stats"].tags == ["users", "admin"]


def test_mount_sub_api_keeps_its_exception_handlers():
    class Oops(Exception):
        pass

    api = BoltAPI()
    sub = BoltAPI()

    @sub.exception_handler(Oops)
    async def handle(request, exc):
        from django_bolt import JSON

        return JSON({"handled": "by sub"}, status_code=418)

    @sub.get("/boom")
    async def boom():
        raise Oops

    @api.get("/boom")
    async def top_boom():
        raise Oops

    api.mount("/sub", sub)
    with TestClient(api, raise_server_exceptions=False) as client:
        assert client.get("/sub/boom").status_code == 418
        assert client.get("/boom").status_code == 500


def test_route_added_after_first_request_is_served():
    api = BoltAPI()

    @api.get("/a")
    async def a():
        return {"a": 1}

    with TestClient(api) as client:
        assert client.get("/a").status_code == 200

        @api.get("/b")
        async def b():
            return {"b": 1}

        assert client.get("/b").json() == {"b": 1}


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("/x/{a}/{a}", id="repeated-name"),
        pytest.param("/x/{a:weird}", id="unknown-converter"),
        pytest.param("/x/{a", id="unclosed"),
    ],
)
def test_bad_templates_fail_at_startup(template):
    api = BoltAPI()
    api.get(template)(dict)
    with pytest.raises(ValueError, match=r"path|parameter|converter"):
        api.compile()


@pytest.mark.parametrize(
    "requested",
    [
        pytest.param("/caf%C3%A9/menu", id="upper-hex"),
        pytest.param("/caf%c3%a9/menu", id="lower-hex"),
        pytest.param("/%63af%C3%A9/menu", id="needlessly-encoded"),
    ],
)
def test_non_ascii_static_route(requested):
    api = BoltAPI()

    @api.get("/café/menu")
    async def menu():
        return {"menu": True}

    with TestClient(api) as client:
        assert client.get(requested).json() == {"menu": True}


def _overlapping_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/users/{user_id:int}")
    async def get_user(user_id: int) -> dict[str, object]:
        return {"get": user_id}

    @api.delete("/users/{user_id}")
    async def delete_user(user_id: str) -> dict[str, object]:
        return {"delete": user_id}

    @api.get("/users/me")
    async def me() -> dict[str, object]:
        return {"me": True}

    return api


def test_a_method_is_found_past_the_first_matching_template() -> None:
    """Two templates match /users/5; each method goes to the route that serves it."""
    with TestClient(_overlapping_api()) as client:
        assert client.get("/users/5").json() == {"get": 5}
        assert client.delete("/users/5").json() == {"delete": "5"}
        assert client.head("/users/5").status_code == 200
        # The static path answers GET itself, and DELETE goes on to the template.
        assert client.get("/users/me").json() == {"me": True}
        assert client.delete("/users/me").json() == {"delete": "me"}


def test_allow_lists_the_methods_of_every_matching_template() -> None:
    with TestClient(_overlapping_api()) as client:
        options = client.options("/users/5")
        refused = client.post("/users/5")
        only_str = client.get("/users/abc")  # the int template does not match
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, DELETE, HEAD, OPTIONS"
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, DELETE, HEAD, OPTIONS"
    assert only_str.status_code == 405
    assert only_str.headers["allow"] == "DELETE, OPTIONS"
