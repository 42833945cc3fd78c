"""Depends(): sync/async, nested, cached per request, yield-dependencies torn down late."""

# No "from __future__ import annotations": handlers here are local functions whose annotations
# name other locals, which get_type_hints can only resolve when they are real objects.

from typing import Annotated

import pytest

from django_bolt import BoltAPI, Depends, Request
from django_bolt.exceptions import Unauthorized
from django_bolt.testing import TestClient


def test_sync_async_nested_and_cached():
    calls: list[str] = []
    api = BoltAPI()

    async def get_token(request: Request) -> str:
        calls.append("token")
        return request.headers.get("authorization", "anon")

    def get_user(token: Annotated[str, Depends(get_token)], lang: str = "en") -> dict[str, str]:
        calls.append("user")
        return {"token": token, "lang": lang}

    @api.get("/me")
    async def me(user: Annotated[dict, Depends(get_user)], token: str = Depends(get_token)):
        return {"user": user, "token": token}

    with TestClient(api) as client:
        response = client.get("/me?lang=fr", headers={"authorization": "t1"})
        assert response.json() == {"user": {"token": "t1", "lang": "fr"}, "token": "t1"}
        # get_token is used twice but runs once per request.
        assert calls == ["token", "user"]
        client.get("/me")
        assert calls == ["token", "user", "token", "user"]


def test_use_cache_false_runs_each_time():
    counter = {"n": 0}
    api = BoltAPI()

    async def tick() -> int:
        counter["n"] += 1
        return counter["n"]

    @api.get("/t")
    async def t(a: int = Depends(tick, use_cache=False), b: int = Depends(tick, use_cache=False)):
        return [a, b]

    with TestClient(api) as client:
        assert client.get("/t").json() == [1, 2]


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_yield_dependency_teardown_runs_after_the_response(kind):
    events: list[str] = []
    api = BoltAPI()

    if kind == "async":

        async def resource():
            events.append("open")
            yield "res"
            events.append("close")

    else:

        def resource():
            events.append("open")
            yield "res"
            events.append("close")

    @api.get("/r")
    async def use(res: str = Depends(resource)):
        events.append(f"handler:{res}")
        return {"res": res}

    @api.get("/fail")
    async def fail(res: str = Depends(resource)):
        raise RuntimeError("boom")

    with TestClient(api, raise_server_exceptions=False) as client:
        transport = client._transport
        request = client.build_request("GET", "/r")
        bolt_request = transport_request(transport, request)
        response = transport.start().run(api.dispatch(bolt_request))
        # The response exists, and the teardown has not run yet: it is the response's background.
        assert events == ["open", "handler:res"]
        assert response.background is not None
        transport.start().run(response.background())
        assert events == ["open", "handler:res", "close"]

        events.clear()
        assert client.get("/r").json() == {"res": "res"}
        assert events == ["open", "handler:res", "close"]

        events.clear()
        assert client.get("/fail").status_code == 500
        # The error was thrown into the generator, which did not catch it: no "close".
        assert events == ["open"]


def transport_request(transport, request):
    """The request object the server would hand ``dispatch`` for ``request`` (no body)."""
    return transport.server.app.request_class(
        request.method,
        request.url.raw_path,
        list(request.headers.raw),
        b"",
        ("127.0.0.1", 50000),
        request.url.scheme,
        (request.url.host, 80),
        "1.1",
    )


def test_dependency_can_reject_the_request():
    api = BoltAPI()

    async def require_key(
        x_api_key: Annotated[str | None, __import__("django_bolt").Header()] = None,
    ):
        if x_api_key != "secret":
            raise Unauthorized(detail="bad key", headers={"WWW-Authenticate": "Key"})
        return x_api_key

    @api.get("/guarded")
    async def guarded(key: str = Depends(require_key)):
        return {"ok": True}

    with TestClient(api) as client:
        response = client.get("/guarded")
        assert response.status_code == 401
        assert response.json() == {"detail": "bad key"}
        assert response.headers["www-authenticate"] == "Key"
        assert client.get("/guarded", headers={"x-api-key": "secret"}).json() == {"ok": True}


def test_dependency_validation_errors_are_422():
    api = BoltAPI()

    def paging(page: int = 1, size: int = 10) -> tuple[int, int]:
        return page, size

    @api.get("/list")
    async def listing(p: tuple = Depends(paging)):
        return {"page": p[0], "size": p[1]}

    with TestClient(api) as client:
        assert client.get("/list?page=2").json() == {"page": 2, "size": 10}
        (item,) = client.get("/list?page=x").json()["detail"]
        assert item["loc"] == ["query", "page"]


def test_a_callable_object_is_a_dependency() -> None:
    # A configured filter object, as Django-Bolt 0.13's example passes to Depends().
    class Filter:
        def __init__(self, fields: tuple[str, ...]) -> None:
            self.fields = fields

        def __call__(self, ordering: str = "id", q: str | None = None) -> dict[str, object]:
            return {"fields": list(self.fields), "ordering": ordering, "q": q}

    class AsyncLimit:
        async def __call__(self, limit: int = 10) -> int:
            return limit

    api = BoltAPI()

    @api.get("/items")
    async def items(
        found: Annotated[dict, Depends(Filter(fields=("name",)))],
        limit: Annotated[int, Depends(AsyncLimit())],
    ) -> dict:
        return {**found, "limit": limit}

    with TestClient(api) as client:
        assert client.get("/items?q=kettle&limit=3").json() == {
            "fields": ["name"],
            "ordering": "id",
            "q": "kettle",
            "limit": 3,
        }
        assert client.get("/items?limit=x").status_code == 422
