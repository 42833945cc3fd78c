"""The docs under each ``trailing_slash`` policy: pages, documents and assets stay reachable at
their own paths, the other spelling redirects to them, and a route of the API's own wins."""

from __future__ import annotations

import re

import pytest

from django_bolt import BoltAPI
from django_bolt.testing import TestClient

MODES = ("strip", "append", "keep")
PAGES = (
    "/docs",
    "/docs/swagger",
    "/docs/redoc",
    "/docs/scalar",
    "/docs/rapidoc",
    "/docs/stoplight",
)
DOCUMENTS = ("/openapi.json", "/openapi.yaml", "/docs/openapi.json", "/docs/openapi.yaml")


def make_api(mode: str) -> BoltAPI:
    api = BoltAPI(trailing_slash=mode)

    @api.get("/items")
    async def items() -> list[int]:
        return []

    return api


@pytest.mark.parametrize("mode", MODES)
def test_pages_documents_and_assets_are_reachable(mode: str) -> None:
    with TestClient(make_api(mode), follow_redirects=False) as client:
        for path in (*PAGES, *DOCUMENTS):
            assert client.get(path).status_code == 200, path
            # The other spelling is a permanent redirect to the one served.
            moved = client.get(path + "/?x=1")
            assert (moved.status_code, moved.headers["location"]) == (308, path + "?x=1")
        for page in PAGES:
            html = client.get(page).text
            (schema_url,) = set(re.findall(r"/docs/openapi\.json", html))
            assert client.get(schema_url).status_code == 200
            assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html)
            assert assets, page
            for url in assets:
                assert client.get(url).status_code == 200, url
        # The document lists the API's routes as the policy spells them.
        expected = "/items/" if mode == "append" else "/items"
        assert list(client.get("/openapi.json").json()["paths"]) == [expected]


@pytest.mark.parametrize(
    ("mode", "registered"),
    [
        pytest.param("strip", "/docs/", id="strip"),
        pytest.param("append", "/docs", id="append"),
        pytest.param("keep", "/docs/", id="keep-slash"),
        pytest.param("keep", "/docs", id="keep-bare"),
    ],
)
def test_a_route_of_the_api_at_either_spelling_replaces_the_page(
    mode: str, registered: str
) -> None:
    api = make_api(mode)

    @api.get(registered)
    async def mine() -> dict[str, bool]:
        return {"mine": True}

    with TestClient(api, follow_redirects=True) as client:  # through the 308, if any
        assert client.get("/docs").json() == {"mine": True}
        assert client.get("/docs/").json() == {"mine": True}
        # Only that page is the API's: the others and the document are still served.
        assert client.get("/docs/redoc").status_code == 200
        assert client.get("/openapi.json").json()["paths"].keys() >= {
            "/items/" if mode == "append" else "/items"
        }
