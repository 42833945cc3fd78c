"""Routes answered at once (the API's dispatch_nowait, _dispatch/lane.py): which ones, and that
they answer alike.

A route qualifies when its handler cannot wait: a ``def`` handler that runs on the loop, or an
``async def`` one with no ``await`` that provably neither blocks nor reaches for the running
Task. Such a route is answered with no coroutine of ours and no Task; every step that must wait
(an error to format, a file, a session) still goes through a coroutine.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from django_bolt import BoltAPI, Depends, HTTPException, Request
from django_bolt.auth import AllowAny
from django_bolt.middleware import cors, middleware
from django_bolt.responses import FileResponse, Response
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from pathlib import Path


class Item(msgspec.Struct):
    id: int
    name: str


class _Stamp:
    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    async def __call__(self, request: Request) -> Any:
        response = await self.get_response(request)
        response.headers["X-Stamped"] = "1"
        return response


def build_api(tmp_path: Path | None = None) -> BoltAPI:
    api = BoltAPI()

    @api.get("/async-plain/{name}")
    async def async_plain(name: str, q: int = 1):
        return {"message": f"Hello, {name}!", "q": q}

    @api.get("/sync-plain")
    def sync_plain():
        return {"message": "Hello"}

    @api.get("/async-awaits")
    async def async_awaits():
        await asyncio.sleep(0)
        return {"awaited": True}

    @api.get("/async-impure")
    async def async_impure():
        time.sleep(0)
        return {"slept": True}

    @api.get("/sync-forced", inline=True)
    def sync_forced():
        return {"forced": time.monotonic() > 0}

    @api.get("/sync-pool")
    def sync_pool():
        time.sleep(0)
        return {"pool": True}

    @api.get("/guarded", guards=[AllowAny()])
    async def guarded():
        return {"ok": True}

    def dependency() -> int:
        return 7

    @api.get("/depends")
    async def depends(value: int = Depends(dependency)):
        return {"value": value}

    @api.get("/raises-http")
    async def raises_http():
        raise HTTPException(status_code=418, detail="teapot")

    @api.get("/raises-bug")
    def raises_bug():
        return {"x": 1 // 0}

    @api.get("/typed/{item_id}")
    async def typed(item_id: int):
        return Item(id=item_id, name="x")

    @api.get("/response")
    async def response():
        return Response({"made": True}, status_code=201, headers={"X-Made": "yes"})

    @api.get("/big")
    def big():
        return {"text": "a" * 5000}

    @api.get("/cors")
    @cors(origins=["https://app.example"])
    async def with_cors():
        return {"cors": True}

    if tmp_path is not None:
        document = tmp_path / "doc.txt"
        document.write_bytes(b"file body")
        path = str(document)

        @api.get("/file")
        def file():
            return FileResponse(path)

    @api.get("/wrapped")
    @middleware(_Stamp)
    async def wrapped():
        return {"wrapped": True}

    return api


def nowait_of(api: BoltAPI, path: str) -> bool:
    table = api.compile()
    entry = table.static.get(path)
    if entry is None:
        found = table.match_dynamic(path)
        assert found is not None, path
        entry = found[0]
    return bool(entry.methods["GET"].nowait)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/async-plain/x", True),
        ("/sync-plain", True),
        ("/typed/3", True),
        ("/response", True),
        ("/big", True),
        ("/cors", True),
        ("/sync-forced", True),
        ("/async-awaits", False),  # it can suspend: it needs a Task
        ("/async-impure", False),  # it calls time.sleep: it might block or look for a Task
        ("/sync-pool", False),  # it runs in the thread pool
        ("/guarded", False),
        ("/depends", False),
        ("/wrapped", False),
    ],
)
def test_which_routes_are_answered_at_once(path: str, expected: bool) -> None:
    assert nowait_of(build_api(), path) is expected


def test_only_the_routes_that_cannot_wait_skip_the_dispatch_coroutine() -> None:
    api = build_api()
    dispatched: list[str] = []
    original = api.dispatch

    def counting(request: Any) -> Any:
        dispatched.append(request.path)
        return original(request)

    api.dispatch = counting  # type: ignore[method-assign]
    with TestClient(api) as client:
        for path in ("/sync-plain", "/async-plain/x", "/sync-forced", "/big"):
            assert client.get(path).status_code == 200
        assert dispatched == []
        for path in ("/async-awaits", "/sync-pool", "/guarded"):
            client.get(path)
        assert dispatched == ["/async-awaits", "/sync-pool", "/guarded"]
        # A path that neither the API nor Django's URLconf has is a 404 made at once; one the
        # URLconf has goes to Django through the coroutine.
        assert client.get("/no/such/route").status_code == 404
        assert dispatched[3:] == []
        django = client.get("/django-view/")
        assert (django.status_code, django.text) == (200, "plain django view")
        assert dispatched[3:] == ["/django-view/"]


def test_answers_at_once_match_what_dispatch_gives(tmp_path: Path) -> None:
    with TestClient(build_api(tmp_path)) as client:
        answer = client.get("/async-plain/bolt?q=3")
        assert (answer.status_code, answer.json()) == (200, {"message": "Hello, bolt!", "q": 3})
        assert client.get("/async-plain/bolt?q=x").status_code == 422
        assert client.get("/typed/5").json() == {"id": 5, "name": "x"}
        assert client.get("/typed/five").status_code == 422
        teapot = client.get("/raises-http")
        assert (teapot.status_code, teapot.json()["detail"]) == (418, "teapot")
        made = client.get("/response")
        assert (made.status_code, made.headers["x-made"], made.json()) == (
            201,
            "yes",
            {"made": True},
        )
        file = client.get("/file")
        assert (file.status_code, file.content) == (200, b"file body")
        assert client.get("/wrapped").headers["x-stamped"] == "1"
        assert client.get("/async-awaits").json() == {"awaited": True}


def test_a_bug_in_a_route_answered_at_once_is_a_500_and_the_server_goes_on() -> None:
    with TestClient(build_api(), raise_server_exceptions=False) as client:
        assert client.get("/raises-bug").status_code == 500
        assert client.get("/sync-plain").json() == {"message": "Hello"}


def test_policies_apply_to_answers_made_at_once() -> None:
    with TestClient(build_api()) as client:
        allowed = client.get("/cors", headers={"Origin": "https://app.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "Origin" in allowed.headers["vary"]
        big = client.get("/big", headers={"Accept-Encoding": "gzip"})
        assert big.headers.get("content-encoding") == "gzip"


def test_a_refused_host_is_refused_on_the_path_answered_at_once(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["good.example"]
    settings.DEBUG = False
    api = build_api()
    assert nowait_of(api, "/sync-plain")
    with TestClient(api) as client:
        assert client.get("/sync-plain", headers={"Host": "evil.example"}).status_code == 400
        assert client.get("/sync-plain", headers={"Host": "good.example"}).status_code == 200
