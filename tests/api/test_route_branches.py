"""Dynamic routes split by their leading literal segments (``RouteTable``'s branches).

The first route added that matches a path must win, whichever branch the path's walk ends in,
and the cost of a match must not grow with the number of routes under a shared prefix.
"""

from __future__ import annotations

import random
from urllib.parse import unquote

import pytest

from django_bolt import BoltAPI
from django_bolt._dispatch.table import PathTemplate, RouteTable
from django_bolt.testing import TestClient

_LITERALS = ("api", "v1", "v2", "users", "items", "caf\u00e9", "a b", "x")
_PARAMS = ("{p}", "{p:int}", "{p:path}", "v{p}", "{p}.json")


def _template(rng: random.Random) -> str:
    parts = [
        rng.choice(_PARAMS) if rng.random() < 0.3 else rng.choice(_LITERALS)
        for _ in range(rng.randint(1, 5))
    ]
    path = "/" + "/".join(parts)
    # Parameter names must differ within one template.
    count = 0
    while "{p" in path:
        path = path.replace("{p", "{q" + str(count), 1)
        count += 1
    return path + ("/" if rng.random() < 0.1 else "")


def _request_path(rng: random.Random) -> str:
    words = [*_LITERALS, "5", "42", "v3", "f.json", "caf%C3%A9", "a%20b", "u%2Fv", "", "zz"]
    segments = [rng.choice(words) for _ in range(rng.randint(0, 6))]
    quoted = [s.replace(" ", "%20").replace("\u00e9", "%C3%A9") for s in segments]
    return "/" + "/".join(quoted) + ("/" if rng.random() < 0.1 else "")


def _first_in_order(table: RouteTable[int], path: str) -> tuple[object, tuple[str, ...]] | None:
    """The reference: each dynamic shape's own regex, tried in the order they were added."""
    for regex, entry in table._each:
        m = regex.match(path)
        if m is not None:
            values = tuple(unquote(v) if "%" in v else v for v in m.groups())
            return entry, values
    return None


@pytest.mark.parametrize("seed", range(40))
def test_the_branches_find_what_trying_every_route_in_order_finds(seed: int) -> None:
    rng = random.Random(seed)
    table: RouteTable[int] = RouteTable()
    shapes: set[str] = set()
    for index in range(rng.randint(3, 60)):
        template = PathTemplate(_template(rng))
        if template.is_static or template.shape in shapes:
            continue
        shapes.add(template.shape)
        table.add("GET", template, index, f"h{index}")
    table.compile()
    paths = [_request_path(rng) for _ in range(300)]
    # Paths made from the templates themselves, so that many of them match something.
    for template in list(shapes)[:30]:
        filled = template.replace("{str}", "5").replace("{int}", "42").replace("{path}", "a/b")
        paths.append(filled.replace("{uuid}", "0" * 32).replace(" ", "%20"))
    matched = 0
    for path in paths:
        expected = _first_in_order(table, path)
        assert table.match_dynamic(path) == expected, path
        matched += expected is not None
    assert matched > 0


def _many_routes(count: int, first: str | None = None) -> BoltAPI:
    api = BoltAPI()
    if first is not None:

        @api.get(first)
        async def wildcard(kind: str, item: str):
            return {"route": "wildcard", "kind": kind, "item": item}

    for index in range(count):
        api.get(f"/api/v1/r{index}/{{item}}")(_handler(index))
    return api


def _handler(index: int):
    async def one(item: int):
        return {"route": index, "item": item}

    return one


def test_every_one_of_300_routes_under_one_prefix_is_served() -> None:
    with TestClient(_many_routes(300)) as client:
        for index in (0, 1, 150, 298, 299):
            response = client.get(f"/api/v1/r{index}/7")
            assert response.status_code == 200
            assert response.json() == {"route": index, "item": 7}
        assert client.get("/api/v1/r300/7").status_code == 404
        assert client.get("/api/v1/r1/7/more").status_code == 404
        assert client.get("/api/v2/r1/7").status_code == 404


def test_a_route_added_first_wins_over_a_deeper_literal_one() -> None:
    # Registered before the 300, "/api/v1/{kind}/{item}" matches their paths first.
    with TestClient(_many_routes(300, first="/api/v1/{kind}/{item}")) as client:
        response = client.get("/api/v1/r5/7")
    assert response.json() == {"route": "wildcard", "kind": "r5", "item": "7"}


def test_a_route_added_last_is_reached_only_where_no_other_matches() -> None:
    api = _many_routes(300)

    @api.get("/api/v1/{kind}/{item}")
    async def wildcard(kind: str, item: str):
        return {"route": "wildcard", "kind": kind, "item": item}

    with TestClient(api) as client:
        assert client.get("/api/v1/r5/7").json() == {"route": 5, "item": 7}
        other = client.get("/api/v1/other/7").json()
        # A literal segment that is no route's still reaches the shapes that take any segment.
        unknown = client.get("/api/v1/r5x/7").json()
    assert other == {"route": "wildcard", "kind": "other", "item": "7"}
    assert unknown == {"route": "wildcard", "kind": "r5x", "item": "7"}
