"""FastAPI reference with the same endpoints as bench/app (pydantic models instead of Structs)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from fastapi import Cookie, FastAPI, Header
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent / "app"))
from benchproject.payloads import DOCUMENT

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


class Address(BaseModel):
    street: str
    city: str
    zip: str


class Customer(BaseModel):
    name: str
    email: str
    address: Address


class Attributes(BaseModel):
    color: str
    weight_g: int
    fragile: bool


class Item(BaseModel):
    sku: str
    name: str
    quantity: int
    price_cents: int
    attributes: Attributes


class Order(BaseModel):
    id: int
    customer: Customer
    tags: list[str]
    items: list[Item]
    note: str


@app.get("/json-async")
async def json_async() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/json-sync")
def json_sync() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/items/{item_id}")
async def item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.get("/headers")
async def headers(
    x_token: Annotated[str, Header(alias="x-token")],
    session: Annotated[str, Cookie()],
) -> dict[str, str]:
    return {"token": x_token, "session": session}


@app.post("/echo")
async def echo(order: Order) -> Order:
    return order


@app.get("/document")
async def document() -> dict[str, object]:
    return DOCUMENT
