"""The ways Django-Bolt 0.13 projects write class-based views, each served through the client."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from django_bolt import BoltAPI
from django_bolt.middleware import no_compress
from django_bolt.param_functions import Cookie, Header
from django_bolt.responses import HTML, PlainText, Redirect, StreamingResponse
from django_bolt.testing import TestClient
from django_bolt.views import APIView, ViewSet


class Item(msgspec.Struct):
    name: str
    price: float
    is_offer: bool | None = None


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.view("/cbv-simple", tags=["CBV"])
    class SimpleView(APIView):
        async def get(self, request):
            """A docstring that becomes the description."""
            return {"message": "Hello from APIView"}

        async def post(self, request, data: Item):
            return {"name": data.name, "price": data.price}

    @api.view("/cbv-items/{item_id}")
    class ItemView(APIView):
        async def get(self, request, item_id: int, q: str | None = None):
            return {"item_id": item_id, "q": q}

    @api.view("/cbv-response")
    class ResponseTypes(ViewSet):
        async def get(self, request, response_type: str = "json"):
            if response_type == "plain":
                return PlainText("plain")
            if response_type == "html":
                return HTML("<h1>html</h1>")
            if response_type == "redirect":
                return Redirect("/", status_code=302)
            return {"type": "json"}

    @api.view("/cbv-header")
    class HeaderView(ViewSet):
        async def get(self, request, x: Annotated[str, Header(alias="x-test")]):
            return PlainText(f"Header: {x}")

    @api.view("/cbv-cookie")
    class CookieView(ViewSet):
        async def post(self, request, val: Annotated[str, Cookie(alias="session")]):
            return PlainText(f"Cookie: {val}")

    @api.view("/cbv-stream")
    class StreamView(ViewSet):
        @no_compress
        async def get(self, request):
            def chunks() -> Any:
                yield from ("x" for _ in range(100))

            return StreamingResponse(chunks(), media_type="text/plain")

    return api


def test_upstream_style_views() -> None:
    with TestClient(_api()) as client:
        assert client.get("/cbv-simple").json() == {"message": "Hello from APIView"}
        assert client.post("/cbv-simple", json={"name": "a", "price": 2}).json() == {
            "name": "a",
            "price": 2.0,
        }
        assert client.get("/cbv-items/4?q=z").json() == {"item_id": 4, "q": "z"}
        assert client.get("/cbv-response?response_type=plain").text == "plain"
        assert client.get("/cbv-response?response_type=html").text == "<h1>html</h1>"
        redirect = client.get("/cbv-response?response_type=redirect", follow_redirects=False)
        assert redirect.status_code == 302
        assert client.get("/cbv-response").json() == {"type": "json"}
        assert client.get("/cbv-header", headers={"x-test": "v"}).text == "Header: v"
        assert client.get("/cbv-header").status_code == 422
        client.cookies.set("session", "s1")
        assert client.post("/cbv-cookie").text == "Cookie: s1"
        streamed = client.get("/cbv-stream", headers={"accept-encoding": "gzip"})
        assert streamed.text == "x" * 100
        assert "content-encoding" not in streamed.headers
        document = client.get("/openapi.json").json()
    simple = document["paths"]["/cbv-simple"]["get"]
    assert simple["tags"] == ["CBV"]
    assert simple["summary"] == "A docstring that becomes the description."
    header = document["paths"]["/cbv-header"]["get"]["parameters"][0]
    assert (header["name"], header["in"]) == ("x-test", "header")
