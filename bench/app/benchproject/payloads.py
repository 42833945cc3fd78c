"""The ~10 KB documents the benchmark sends and serves, built once, shared by every server."""

from __future__ import annotations

from typing import Any, Final

ITEM_COUNT: Final = 64


def make_document() -> dict[str, Any]:
    """A nested JSON document of about 10 KB (an order with 64 line items)."""
    return {
        "id": 12345,
        "customer": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "address": {"street": "12 St James's Square", "city": "London", "zip": "SW1Y 4JH"},
        },
        "tags": ["priority", "gift", "export"],
        "items": [
            {
                "sku": f"SKU-{i:05d}",
                "name": f"Analytical engine part number {i}",
                "quantity": i % 7 + 1,
                "price_cents": 1999 + 37 * i,
                "attributes": {"color": "brass", "weight_g": 250 + i, "fragile": i % 3 == 0},
            }
            for i in range(ITEM_COUNT)
        ],
        "note": "Deliver between 9 and 17; ring twice. " * 4,
    }


DOCUMENT: Final = make_document()
