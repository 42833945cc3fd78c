"""The split of api.py: old import paths keep working, the layers import only downwards, and
every kind of route (plain, guarded, rate-limited, wrapped in middleware, with dependencies)
takes the one dispatch sequence."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

from django_bolt import BoltAPI, Depends, Request, api, router, routing
from django_bolt._dispatch import table
from django_bolt.auth import BasePermission
from django_bolt.middleware import middleware, rate_limit
from django_bolt.openapi import routes, schema
from django_bolt.responses import PlainText, Response
from django_bolt.testing import TestClient

PACKAGE = Path(__file__).resolve().parents[2] / "django_bolt"
# The modules of the split: what each may not import, at run time, inside a function, or
# for the type checker alike (an import the type checker follows is a cycle waiting to happen).
LOWER: dict[str, tuple[str, ...]] = {
    "router.py": ("django_bolt.api", "django_bolt.openapi", "django_bolt._dispatch"),
    "_dispatch": ("django_bolt.api", "django_bolt.openapi"),
    "openapi": ("django_bolt.api",),
}
# Optional third-party dependencies, imported where they are used (the only imports allowed
# inside a function).
OPTIONAL: frozenset[str] = frozenset({"msgspec.yaml"})


def _modules(where: str) -> list[Path]:
    path = PACKAGE / where
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node) for alias in node.names)
    return found


def _in_function_imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.extend(name for name, _ in _imports(node))
    return names


@pytest.mark.parametrize("where", sorted(LOWER))
def test_a_layer_imports_nothing_above_it(where: str) -> None:
    wrong = []
    for module in _modules(where):
        tree = ast.parse(module.read_text())
        for name, node in _imports(tree):
            if name.startswith(LOWER[where]):
                wrong.append(f"{module.relative_to(PACKAGE)}:{node.lineno} imports {name}")
    assert wrong == []


@pytest.mark.parametrize("where", ["api.py", "router.py", "routing.py", "_dispatch", "openapi"])
def test_no_import_inside_a_function(where: str) -> None:
    wrong = [
        f"{module.relative_to(PACKAGE)} imports {name} in a function"
        for module in _modules(where)
        for name in _in_function_imports(ast.parse(module.read_text()))
        if name not in OPTIONAL
    ]
    assert wrong == []


def test_the_old_import_paths_still_import() -> None:
    for name in (
        "ANNOTATED",
        "BoltAPI",
        "ExceptionHandler",
        "F",
        "Policy",
        "RouteInfo",
        "RouteOptions",
        "Router",
        "declared_model",
        "logger",
        "send_got_request_exception",
    ):
        assert hasattr(api, name), name
    assert api.Router is router.Router
    assert api.RouteInfo is router.RouteInfo
    for name in routing.__all__:
        assert getattr(routing, name) is getattr(table, name)
    assert callable(routes.effective_config)
    assert callable(routes.docs_routes)
    assert callable(schema.to_yaml)


class _PathGuard(BasePermission):
    """Lets through only item 1: a guard sees the path values, as a handler does."""

    def has_permission(self, request: Request) -> bool:
        return request.path_params.get("item_id") == "1"


class _Tag:
    def __init__(self, get_response):
        self.get_response = get_response

    async def __call__(self, request):
        response = await self.get_response(request)
        response.headers["x-tag"] = "1"
        return response


def _dependency(request: Request) -> str:
    return request.method


def make_api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/plain/{item_id}")
    async def plain(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @api.get("/sync")
    def sync() -> dict[str, str]:
        return {"kind": "sync"}

    @api.get("/guarded/{item_id}", guards=[_PathGuard()])
    async def guarded(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @api.get("/limited")
    @rate_limit(rps=1, burst=1)
    async def limited() -> dict[str, str]:
        return {"kind": "limited"}

    @api.get("/wrapped/{item_id}")
    @middleware(_Tag)
    async def wrapped(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @api.get("/depends")
    async def depends(method: str = Depends(_dependency)) -> dict[str, str]:
        return {"method": method}

    return api


def test_every_kind_of_route_is_answered_through_one_sequence() -> None:
    api = make_api()
    table = api.compile()
    endpoints = {path: table.match(path)[0].methods["GET"] for path in ("/sync", "/limited")}
    assert endpoints["/sync"].guard is None
    assert endpoints["/sync"].policy is None
    assert endpoints["/limited"].guard is not None
    assert endpoints["/limited"].policy is not None
    with TestClient(api) as client:
        assert client.get("/plain/7").json() == {"id": 7}
        assert client.get("/sync").json() == {"kind": "sync"}
        assert client.get("/guarded/1").json() == {"id": 1}
        assert client.get("/guarded/2").status_code == 401  # refused, and nobody logged in
        assert client.get("/limited").status_code == 200
        assert client.get("/limited").status_code == 429
        wrapped = client.get("/wrapped/3")
        assert (wrapped.json(), wrapped.headers["x-tag"]) == ({"id": 3}, "1")
        assert client.get("/depends").json() == {"method": "GET"}
        assert client.head("/sync").status_code == 200


class _PassThrough:
    def __init__(self, get_response):
        self.get_response = get_response

    async def __call__(self, request):
        return await self.get_response(request)


async def _async_bare() -> dict[str, str]:
    return {"kind": "async"}


def _sync_bare() -> dict[str, str]:
    return {"kind": "sync"}


async def _async_bound(item_id: int, q: str = "-") -> dict[str, object]:
    return {"id": item_id, "q": q}


def _sync_bound(item_id: int, q: str = "-") -> dict[str, object]:
    return {"id": item_id, "q": q}


async def _response(item_id: int) -> Response:
    return Response({"id": item_id}, status_code=201, headers={"x-made": "here"})


def _text(item_id: int) -> PlainText:
    return PlainText(f"item {item_id}")


async def _invalid(item_id: int) -> dict[str, int]:
    return {"id": "not an int"}  # type: ignore[dict-item]


def _copy(fn):
    """Another function with ``fn``'s code: @middleware marks the function object it is given."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__)
    copy.__annotations__ = dict(fn.__annotations__)
    return copy


@pytest.mark.parametrize(
    "handler",
    [_async_bare, _sync_bare, _async_bound, _sync_bound, _response, _text, _invalid],
    ids=lambda fn: fn.__name__.strip("_"),
)
def test_the_fast_path_and_a_chains_innermost_layer_answer_alike(handler) -> None:
    """dispatch runs a simple handler itself; under middleware compile.invoke does the same."""
    api = BoltAPI()
    path = "/{item_id}" if "item_id" in handler.__code__.co_varnames else ""
    api.get("/plain" + path)(handler)
    api.get("/wrapped" + path)(middleware(_PassThrough)(_copy(handler)))
    table = api.compile()
    plain = table.match("/plain" + ("/7" if path else ""))[0].methods["GET"]
    wrapped = table.match("/wrapped" + ("/7" if path else ""))[0].methods["GET"]
    assert plain.simple and plain.call is None
    assert wrapped.simple and wrapped.call is not None
    suffix = "/7?q=x" if path else ""
    with TestClient(api, raise_server_exceptions=False) as client:
        direct = client.get("/plain" + suffix)
        chained = client.get("/wrapped" + suffix)
    assert (chained.status_code, chained.content) == (direct.status_code, direct.content)
    # Date is the clock's: the two answers may fall on either side of a second.
    assert {**chained.headers, "date": ""} == {**direct.headers, "date": ""}
