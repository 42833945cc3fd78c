"""The example's API, written the way a Django-Bolt user writes one.

Try it (after ``python3 dev.py example``):

    curl http://127.0.0.1:8000/hello/ada
    curl 'http://127.0.0.1:8000/products?in_stock=true&limit=5'
    curl -X POST http://127.0.0.1:8000/products -d '{"name": "kettle", "price_cents": 2500}'
    curl http://127.0.0.1:8000/products/1
    curl -X POST http://127.0.0.1:8000/products/1/sell
    curl -c jar -b jar http://127.0.0.1:8000/visits   # a Django session, kept in a cookie jar
    curl http://127.0.0.1:8000/me   # the session user: log in at /admin/ in a browser first

The admin (``python example/manage.py createsuperuser`` first) edits the same products.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from catalog.models import Product
from django.db import transaction

from django_bolt import BoltAPI, HTTPException, Path, Query, Request

api = BoltAPI()


# The limits of the model's columns, so a value the database would refuse is a 422, not a 500.
_PG_INT_MAX = 2_147_483_647


class ProductIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    price_cents: Annotated[int, msgspec.Meta(ge=0, le=_PG_INT_MAX)]
    in_stock: bool = True


class ProductOut(msgspec.Struct):
    id: int
    name: str
    price_cents: int
    in_stock: bool


def _out(product: Product) -> ProductOut:
    return ProductOut(product.pk, product.name, product.price_cents, product.in_stock)


@api.get("/hello/{name}")
async def hello(name: str) -> dict[str, str]:
    """Path parameter, async handler."""
    return {"message": f"Hello, {name}!"}


@api.get("/add")
def add(a: int, b: int = 0) -> dict[str, int]:
    """Query parameters with a default, plain (sync) handler."""
    return {"sum": a + b}


@api.post("/products", status_code=201)
async def create_product(product: ProductIn) -> ProductOut:
    """A msgspec Struct body, validated before the handler runs; saved with the async ORM."""
    created = await Product.objects.acreate(
        name=product.name, price_cents=product.price_cents, in_stock=product.in_stock
    )
    return _out(created)


@api.get("/products")
async def list_products(
    in_stock: bool | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[ProductOut]:
    """Async ORM endpoint with optional query filters."""
    queryset = Product.objects.all()
    if in_stock is not None:
        queryset = queryset.filter(in_stock=in_stock)
    return [_out(product) async for product in queryset[:limit]]


@api.get("/products/{product_id}")
def get_product(product_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> ProductOut:
    """Sync ORM endpoint: runs in the thread pool, where Django's ORM may block."""
    try:
        return _out(Product.objects.get(pk=product_id))
    except Product.DoesNotExist:
        raise HTTPException(404, f"no product {product_id}") from None


@api.post("/products/{product_id}/sell")
def sell_product(product_id: int) -> ProductOut:
    """Sync ORM write in one transaction: the row is locked (on databases that can) while read."""
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise HTTPException(404, f"no product {product_id}")
        if not product.in_stock:
            raise HTTPException(409, f"{product.name} is sold out")
        product.in_stock = False
        product.save(update_fields=["in_stock"])
    return _out(product)


@api.get("/visits")
def visits(request: Request) -> dict[str, int]:
    """Django's session: read and changed here, saved after the handler, cookie set for you."""
    count = request.session.get("visits", 0) + 1
    request.session["visits"] = count
    return {"visits": count}


@api.get("/me")
async def me(request: Request) -> dict[str, object]:
    """The Django user of the session cookie (log in through the admin first)."""
    user = await request.auser()
    return {"authenticated": user.is_authenticated, "username": user.get_username()}
