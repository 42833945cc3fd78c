"""TestClient / AsyncTestClient behave like a client on the network."""

import asyncio

import pytest

from django_bolt import JSON, BoltAPI, Request, StreamingResponse
from django_bolt.testing import AsyncTestClient, TestClient

api = BoltAPI()


@api.get("/login")
async def login():
    response = JSON({"ok": True})
    response.set_cookie("sid", "s-1")
    return response


@api.get("/whoami")
async def whoami(request: Request):
    return {"sid": request.cookies.get("sid"), "ua": request.headers.get("user-agent")}


@api.post("/echo")
async def echo(request: Request):
    return {"len": len(request.body), "json": request.json()}


@api.get("/stream")
async def stream():
    async def gen():
        for i in range(3):
            yield str(i)

    return StreamingResponse(gen())


def test_cookies_persist_across_requests():
    with TestClient(api) as client:
        client.get("/login")
        assert client.get("/whoami").json()["sid"] == "s-1"


def test_json_body_round_trip():
    with TestClient(api) as client:
        assert client.post("/echo", json={"a": [1, 2]}).json() == {"len": 11, "json": {"a": [1, 2]}}


def test_underscore_headers_are_dropped_like_the_server_does():
    seen = {}
    local = BoltAPI()

    @local.get("/h")
    async def h(request: Request):
        seen.update(request.headers)
        return {}

    with TestClient(local) as client:
        client.get("/h", headers={"x_bad": "1", "x-good": "2"})
    assert "x-good" in seen
    assert "x_bad" not in seen


def test_async_client():
    async def main():
        async with AsyncTestClient(api) as client:
            await client.get("/login")
            who = (await client.get("/whoami")).json()
            streamed = (await client.get("/stream")).content
            return who, streamed

    who, streamed = asyncio.run(main())
    assert who["sid"] == "s-1"
    assert streamed == b"012"


def test_fixture(bolt_client_factory):
    client = bolt_client_factory(api)
    assert client.get("/whoami").status_code == 200


def test_server_exceptions_are_raised_by_default():
    local = BoltAPI()

    @local.get("/bug")
    async def bug():
        raise ZeroDivisionError("server bug")

    @local.get("/teapot")
    async def teapot():
        from django_bolt.exceptions import InternalServerError

        raise InternalServerError("on purpose")

    with TestClient(local) as client:
        with pytest.raises(ZeroDivisionError, match="server bug"):
            client.get("/bug")
        # An HTTPException is an answer the app chose, not a bug: it is returned.
        assert client.get("/teapot").status_code == 500
    with TestClient(local, raise_server_exceptions=False) as client:
        assert client.get("/bug").json() == {"detail": "Internal Server Error"}
