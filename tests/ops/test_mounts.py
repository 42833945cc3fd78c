"""api.mount_asgi() and api.mount_django(): a real Starlette app and plain Django views."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from typing import TYPE_CHECKING, Any

import pytest
from django.test import override_settings
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from django_bolt import BoltAPI
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request as StarletteRequest


def starlette_app(events: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello from lifespan"}
        events.append("shutdown")

    async def hello(request: StarletteRequest) -> JSONResponse:
        return JSONResponse(
            {
                "path": request.url.path,
                "root_path": request.scope["root_path"],
                "scope_path": request.scope["path"],
                "query": request.query_params.get("q"),
                "probe": request.headers.get("x-probe"),
                "greeting": request.state.greeting,
            }
        )

    async def echo(request: StarletteRequest) -> PlainTextResponse:
        body = await request.body()
        return PlainTextResponse(f"{len(body)}:{hashlib.sha256(body).hexdigest()}")

    async def numbers(request: StarletteRequest) -> StreamingResponse:
        async def produce() -> AsyncIterator[bytes]:
            for index in range(3):
                yield f"{index};".encode()

        return StreamingResponse(produce(), media_type="text/plain")

    async def cookies(request: StarletteRequest) -> PlainTextResponse:
        response = PlainTextResponse("two", status_code=201)
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    async def own(request: StarletteRequest) -> PlainTextResponse:
        return PlainTextResponse("starlette's own")

    return Starlette(
        routes=[
            Route("/", hello),
            Route("/hello", hello),
            Route("/echo", echo, methods=["POST"]),
            Route("/numbers", numbers),
            Route("/cookies", cookies),
            Route("/own", own),
        ],
        lifespan=lifespan,
    )


def test_a_starlette_app_under_a_prefix() -> None:
    events: list[str] = []
    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/star", starlette_app(events))

    @api.get("/star/own")
    async def own() -> dict[str, str]:
        return {"served": "by the API"}

    body = bytes(range(256)) * 400
    with TestClient(api) as client:
        hello = client.get("/star/hello?q=x", headers={"X-Probe": "p"})
        assert events == ["startup"]  # start-up runs before the first request
        root = client.get("/star")
        echo = client.post("/star/echo", content=body)
        numbers = client.get("/star/numbers")
        cookies = client.get("/star/cookies")
        own_route = client.get("/star/own")
        missing = client.get("/star/nothing")
        elsewhere = client.get("/starboard")
    assert events == ["startup", "shutdown"]

    assert hello.status_code == 200
    assert hello.json() == {
        "path": "/hello",
        "root_path": "/star",
        "scope_path": "/hello",
        "query": "x",
        "probe": "p",
        "greeting": "hello from lifespan",
    }
    assert root.json()["scope_path"] == "/"
    assert echo.text == f"{len(body)}:{hashlib.sha256(body).hexdigest()}"
    assert numbers.text == "0;1;2;"
    assert cookies.status_code == 201
    assert len(cookies.headers.get_list("set-cookie")) == 2
    # Routes win over the mount; a path the mount does not know is the app's own 404.
    assert own_route.json() == {"served": "by the API"}
    assert missing.status_code == 404
    assert missing.text == "Not Found"
    # /starboard is not under /star.
    assert elsewhere.status_code == 404
    assert elsewhere.json() == {"detail": "Not Found"}


def test_api_near_misses_are_not_handed_to_a_mount() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"mount"})

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/", app)

    @api.get("/items")
    async def items() -> list[int]:
        return []

    with TestClient(api) as client:
        assert client.delete("/items").status_code == 405
        assert client.get("/items/", follow_redirects=False).status_code == 308
        assert client.get("/anything/else").text == "mount"
    assert seen == ["/anything/else"]


def test_longest_prefix_wins_and_prefix_rules() -> None:
    def answering(text: bytes) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": text + scope["path"].encode()})

        return app

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/a/", answering(b"a:"))
    api.mount_asgi("a/b", answering(b"ab:"))
    with TestClient(api) as client:
        assert client.get("/a/x").text == "a:/x"
        assert client.get("/a/b/x").text == "ab:/x"
        assert client.get("/a/bc").text == "a:/bc"

    with pytest.raises(ValueError, match="two applications"):
        api.mount_asgi("/a", answering(b""))
    with pytest.raises(ValueError, match="static"):
        api.mount_asgi("/users/{id}", answering(b""))
    with pytest.raises(TypeError):
        api.mount_asgi("/x", "not an app")

    clash = BoltAPI(django_fallthrough=False)
    clash.mount_asgi("/metrics", answering(b""))

    @clash.get("/metrics")
    async def metrics() -> dict[str, int]:
        return {}

    with pytest.raises(ValueError, match="collides"):
        clash.compile()


def test_a_mounted_api_carries_its_mounts_under_its_prefix() -> None:
    events: list[str] = []
    child = BoltAPI()
    child.mount_asgi("/star", starlette_app(events))
    parent = BoltAPI(django_fallthrough=False)
    parent.mount("/v1", child)
    with TestClient(parent) as client:
        response = client.get("/v1/star/hello")
    assert response.json()["root_path"] == "/v1/star"


def test_timeouts_failures_and_bad_messages() -> None:
    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(3600)

    async def raises(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise RuntimeError("app bug")

    async def returns(scope: dict[str, Any], receive: Any, send: Any) -> None:
        return None

    async def twice(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.start", "status": 200, "headers": []})

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/slow", slow)
    api.mount_asgi("/raises", raises)
    api.mount_asgi("/returns", returns)
    api.mount_asgi("/twice", twice)
    with (
        override_settings(BOLT_ASGI_MOUNT_TIMEOUT=0.2),
        TestClient(api, raise_server_exceptions=False) as client,
    ):
        assert client.get("/slow").status_code == 504
        assert client.get("/raises").status_code == 500
        assert client.get("/returns").status_code == 500
        assert client.get("/twice").status_code == 500


def test_mount_django_serves_plain_django_views() -> None:
    api = BoltAPI(django_fallthrough=False)
    api.mount_django("/dj")
    api.mount_django("/echo", clear_root_path=True)
    with TestClient(api) as client:
        plain = client.get("/dj/django-view/")
        echoed = client.get("/dj/echo/?q=1", headers={"X-Probe": "yes"})
        cookies = client.get("/dj/cookies/")
        full = client.get("/echo/?q=2")
        missing = client.get("/dj/none/")
    assert plain.status_code == 200
    assert plain.text == "plain django view"
    method, path, query, probe, _addr, scheme = echoed.text.split("\n")
    assert (method, path, query, probe, scheme) == ("GET", "/dj/echo/", "1", "yes", "http")
    assert len(cookies.headers.get_list("set-cookie")) == 2
    # clear_root_path: Django sees the whole path, as its URL patterns spell it.
    assert full.text.split("\n")[1] == "/echo/"
    assert full.text.split("\n")[2] == "2"
    assert missing.status_code == 404


def test_the_body_limit_applies_before_the_mounted_app_runs() -> None:
    called: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        called.append(1)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/up", app)
    with override_settings(BOLT_MAX_UPLOAD_SIZE=1000), TestClient(api) as client:
        refused = client.post("/up", content=b"x" * 2000)
        accepted = client.post("/up", content=b"x" * 500)
    assert refused.status_code == 413
    assert accepted.status_code == 200
    assert called == [1]


def test_after_its_response_an_app_waiting_on_receive_gets_a_disconnect() -> None:
    after: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        message = await asyncio.wait_for(receive(), 10)
        after.append(message["type"])

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/w", app)
    with TestClient(api) as client:
        assert client.get("/w").text == "done"
        assert client.get("/w").text == "done"
        # The app goes on after its response, on the client's loop: give it time to get there.
        deadline = time.monotonic() + 10
        while not after and time.monotonic() < deadline:
            time.sleep(0.01)
    assert after[:1] == ["http.disconnect"]
