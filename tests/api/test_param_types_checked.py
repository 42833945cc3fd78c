"""A parameter type msgspec could never convert a request's text to is refused when the API is
compiled (at start-up), not answered with a 500 on every request."""

from __future__ import annotations

import decimal
from typing import Annotated

import msgspec
import pytest

from django_bolt import BoltAPI
from django_bolt.params import Header
from django_bolt.testing import TestClient


def test_a_constraint_msgspec_cannot_apply_is_refused_at_start_up() -> None:
    api = BoltAPI()

    @api.get("/prices")
    async def prices(floor: Annotated[decimal.Decimal, msgspec.Meta(ge=1)] = decimal.Decimal(1)):
        return {"floor": str(floor)}

    with pytest.raises(TypeError, match=r"prices: parameter 'floor': Can only set `ge`"):
        api.compile()


def test_supported_constraints_and_types_still_register() -> None:
    api = BoltAPI()

    @api.get("/items/{item_id}")
    async def item(
        item_id: Annotated[int, msgspec.Meta(ge=1)],
        price: decimal.Decimal = decimal.Decimal("0.5"),
        x_page: Annotated[int, Header(), msgspec.Meta(le=100)] = 10,
    ):
        return {"id": item_id, "price": str(price), "page": x_page}

    with TestClient(api) as client:
        got = client.get("/items/3?price=1.25", headers={"x-page": "7"})
        assert got.json() == {"id": 3, "price": "1.25", "page": 7}
        assert client.get("/items/0").status_code == 422
