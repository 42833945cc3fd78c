"""The catalogue's rows, computed (not random) so the harness knows every response in advance."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

ROW_COUNT: Final = 100
PAGE: Final = 10
# The rows /orm/queryset-struct answers (a QuerySet through a Struct response model).
QUERYSET_ROWS: Final = 50
_EPOCH: Final = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def make_rows() -> list[dict[str, Any]]:
    """``ROW_COUNT`` products; ids are 1..ROW_COUNT in insertion order."""
    return [
        {
            "id": i,
            "name": f"Product {i:03d}",
            "price_cents": 250 + 13 * i,
            "in_stock": i % 4 != 0,
            "created": _EPOCH + dt.timedelta(hours=i),
        }
        for i in range(1, ROW_COUNT + 1)
    ]


def expected_page() -> list[dict[str, Any]]:
    """What ``/orm/async`` and ``/orm/sync`` answer, as parsed JSON (datetimes as ISO strings)."""
    page = []
    for row in make_rows()[:PAGE]:
        created: dt.datetime = row["created"]
        page.append({**row, "created": created.isoformat().replace("+00:00", "Z")})
    return page


def expected_rows(count: int) -> list[dict[str, Any]]:
    """The first ``count`` products as parsed JSON (datetimes as ISO strings)."""
    rows = []
    for row in make_rows()[:count]:
        created: dt.datetime = row["created"]
        rows.append({**row, "created": created.isoformat().replace("+00:00", "Z")})
    return rows


def expected_product(product_id: int) -> dict[str, Any]:
    """What ``/articles/{id}`` answers, as parsed JSON."""
    row = make_rows()[product_id - 1]
    created: dt.datetime = row["created"]
    return {**row, "created": created.isoformat().replace("+00:00", "Z")}


def expected_articles_page(page: int, size: int = 20) -> dict[str, Any]:
    """What ``/articles?page=N`` answers (the ModelViewSet's page-number envelope)."""
    pages = -(-ROW_COUNT // size)
    start = (page - 1) * size
    envelope: dict[str, Any] = {
        "items": [expected_product(i) for i in range(start + 1, min(start + size, ROW_COUNT) + 1)],
        "total": ROW_COUNT,
        "has_next": page < pages,
        "has_previous": page > 1,
        "page": page,
        "page_size": size,
        "total_pages": pages,
    }
    if page < pages:
        envelope["next_page"] = page + 1
    if page > 1:
        envelope["previous_page"] = page - 1
    return envelope
