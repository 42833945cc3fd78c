"""The shape of the benchmark's order document (payloads.py), as msgspec Structs.

Kept apart from payloads.py, which bench/run.py imports without msgspec installed; the bench API
and bench/ceiling_server.py validate the POSTed order against these.
"""

from __future__ import annotations

import msgspec


class Address(msgspec.Struct):
    street: str
    city: str
    zip: str


class Customer(msgspec.Struct):
    name: str
    email: str
    address: Address


class Attributes(msgspec.Struct):
    color: str
    weight_g: int
    fragile: bool


class Item(msgspec.Struct):
    sku: str
    name: str
    quantity: int
    price_cents: int
    attributes: Attributes


class Order(msgspec.Struct):
    id: int
    customer: Customer
    tags: list[str]
    items: list[Item]
    note: str
