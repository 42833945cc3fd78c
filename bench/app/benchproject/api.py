"""The benchmark API: identical code for our django_bolt and for Django-Bolt 0.13 from PyPI."""

from __future__ import annotations

import datetime  # noqa: TC003 - msgspec reads the Structs' hints at run time
import enum
import importlib.util
import inspect
import time
from typing import Annotated, Any

import msgspec

from benchproject.catalog.models import Product
from benchproject.catalog.rows import QUERYSET_ROWS
from benchproject.orders import Order  # noqa: TC001 - the binder reads the hints at run time
from benchproject.payloads import DOCUMENT
from django_bolt import BoltAPI
from django_bolt.auth import IsAuthenticated, JWTAuthentication
from django_bolt.pagination import PageNumberPagination
from django_bolt.views import ModelViewSet, ViewSet

try:  # our package exports the markers at the top level ...
    from django_bolt import Cookie, Header
except ImportError:  # ... Django-Bolt 0.13 keeps them in param_functions.
    from django_bolt.param_functions import Cookie, Header  # type: ignore[no-redef]

# Access logs off on both sides: Django-Bolt 0.13 logs every request unless the API is built
# with enable_logging=False; ours logs from the server, turned off by --no-access-log.
_API_OPTIONS = (
    {"enable_logging": False} if "enable_logging" in inspect.signature(BoltAPI).parameters else {}
)
api = BoltAPI(**_API_OPTIONS)


@api.get("/json-async")
async def json_async() -> dict[str, str]:
    return {"message": "Hello, World!"}


@api.get("/json-sync")
def json_sync() -> dict[str, str]:
    return {"message": "Hello, World!"}


@api.get("/items/{item_id}")
async def item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@api.get("/headers")
async def headers(
    x_token: Annotated[str, Header(alias="x-token")],
    session: Annotated[str, Cookie(alias="session")],
) -> dict[str, str]:
    return {"token": x_token, "session": session}


@api.post("/echo")
async def echo(order: Order) -> Order:
    return order


@api.get("/document")
async def document() -> dict[str, object]:
    return DOCUMENT


# Only for the benchmark's pre-signed token (see BENCH_JWT in bench/run.py).
JWT_SECRET = "bench-only-jwt-secret-long-enough-for-hs256-0123456789"


@api.get(
    "/me",
    auth=[JWTAuthentication(secret=JWT_SECRET, algorithms=["HS256"])],
    guards=[IsAuthenticated()],
)
async def me(request: Any) -> dict[str, object]:
    context = request.context
    return {"user_id": context["user_id"], "claims": context["auth_claims"]}


# The ORM endpoints: 10 rows of the SQLite catalogue, the way the async-ORM guide of Django-Bolt
# suggests (iterate the queryset, build a dict per instance), once with the async ORM and once
# with the sync ORM in a plain ``def`` handler.


def _product(product: Product) -> dict[str, object]:
    return {
        "id": product.id,
        "name": product.name,
        "price_cents": product.price_cents,
        "in_stock": product.in_stock,
        "created": product.created,
    }


@api.get("/orm/async")
async def orm_async() -> list[dict[str, object]]:
    return [_product(p) async for p in Product.objects.order_by("id")[:10]]


@api.get("/orm/sync")
def orm_sync() -> list[dict[str, object]]:
    return [_product(p) for p in Product.objects.order_by("id")[:10]]


# The same handlers as users write them, without return annotations (the README's and
# Django-Bolt's documentation's style). With an annotation Django-Bolt 0.13 validates each
# result against it; without one it does not, so both shapes are measured.
SMALL = {"message": "Hello, World!"}


@api.get("/plain/json-async")
async def json_async_plain():
    return {"message": "Hello, World!"}


@api.get("/plain/json-sync")
def json_sync_plain():
    return {"message": "Hello, World!"}


@api.get("/plain/json-sync-constant")
def json_sync_constant():
    return SMALL


class Health(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"


# A status endpoint as users write one: an Enum member and the server's clock.
@api.get("/plain/status")
def status_plain():
    return {"status": Health.OK, "at": int(time.time())}


# Handlers made by a factory, one per API version, as a project that mounts the same views
# under several prefixes writes them: each closes over its version.
def _versioned_hello(version: str):  # type: ignore[no-untyped-def]
    def hello():  # type: ignore[no-untyped-def]
        return {"message": "Hello, World!", "version": version}

    async def hello_async():  # type: ignore[no-untyped-def]
        return {"message": "Hello, World!", "version": version}

    return hello, hello_async


for _version in ("v1", "v2"):
    _sync, _async = _versioned_hello(_version)
    api.get(f"/plain/{_version}/hello-sync")(_sync)
    api.get(f"/plain/{_version}/hello-async")(_async)


@api.get("/plain/items/{item_id}")
async def item_plain(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@api.get("/plain/headers")
async def headers_plain(
    x_token: Annotated[str, Header(alias="x-token")],
    session: Annotated[str, Cookie(alias="session")],
):
    return {"token": x_token, "session": session}


@api.get("/plain/orm/async")
async def orm_async_plain():
    return [_product(p) async for p in Product.objects.order_by("id")[:10]]


@api.get("/plain/orm/sync")
def orm_sync_plain():
    return [_product(p) for p in Product.objects.order_by("id")[:10]]


# The ORM pair on PostgreSQL (the "pg" alias, set when BENCH_PG_DB is), as users write them.
@api.get("/plain/orm-pg/async")
async def orm_pg_async_plain():
    return [_product(p) async for p in Product.objects.using("pg").order_by("id")[:10]]


@api.get("/plain/orm-pg/sync")
def orm_pg_sync_plain():
    return [_product(p) for p in Product.objects.using("pg").order_by("id")[:10]]


# A QuerySet returned as it is, through a Struct response model (issue 15): 50 rows of the
# SQLite catalogue, read as .values() of the Struct's fields by both frameworks.
class ProductRow(msgspec.Struct):
    id: int
    name: str
    price_cents: int
    in_stock: bool
    created: datetime.datetime


@api.get("/orm/queryset-struct")
async def orm_queryset_struct() -> list[ProductRow]:
    return Product.objects.order_by("id")[:QUERYSET_ROWS]  # type: ignore[return-value]


@api.get("/orm/queryset-struct-sync")
def orm_queryset_struct_sync() -> list[ProductRow]:
    return Product.objects.order_by("id")[:QUERYSET_ROWS]  # type: ignore[return-value]


# A ModelViewSet with page-number pagination (issue 16): GET /articles?page=2 (20 rows of the
# 100) and a retrieve by primary key, the same class on both sides.
class ProductOut(msgspec.Struct):
    id: int
    name: str
    price_cents: int
    in_stock: bool
    created: datetime.datetime


class ProductPages(PageNumberPagination):
    page_size = 20


@api.viewset("/articles")
class ProductViewSet(ModelViewSet):
    queryset = Product.objects.order_by("id")
    serializer_class = ProductOut
    pagination_class = ProductPages


# The same pages and retrieve as def methods of a plain ViewSet (ours only: Django-Bolt 0.13
# leaves def CRUD methods of a viewset out, so the class would have no routes there).
if importlib.util.find_spec("django_bolt._dispatch") is not None:

    @api.viewset("/sync-articles")
    class SyncProductViewSet(ViewSet):
        queryset = Product.objects.order_by("id")
        serializer_class = ProductOut
        pagination_class = ProductPages

        def list(self, request):  # type: ignore[no-untyped-def]
            return Product.objects.order_by("id")

        def retrieve(self, request, pk: int):  # type: ignore[no-untyped-def]
            return Product.objects.get(pk=pk)


# A larger API: 200 routes under one prefix, added last, as a project with a few dozen ViewSets
# has. bench/run.py's route-200 asks for the last of them, /big/v1/r199/{item}. Each handler is
# a module-level function, as if written out by hand (the factory-made handlers above are
# measured on their own).
BIG_ROUTES = 200
exec(  # the source is made here, from constants
    compile(
        "".join(
            f"@api.get('/big/v1/r{index}/{{item}}')\n"
            f"async def big_{index}(item: int):\n"
            f"    return {{'route': {index}, 'item': item}}\n"
            for index in range(BIG_ROUTES)
        ),
        f"{__file__}:big-routes",
        "exec",
    )
)
