"""Pagination over lists through the TestClient: envelopes, parameters, errors, OpenAPI."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
import pytest

from django_bolt import (
    BoltAPI,
    LimitOffsetPagination,
    PageNumberPagination,
    PaginatedResponse,
    PaginationBase,
    paginate,
)
from django_bolt.testing import TestClient
from django_bolt.views import ViewSet

T = TypeVar("T")
ROWS = [{"id": i, "name": f"n{i}", "secret": "x"} for i in range(1, 46)]


class Item(msgspec.Struct):
    id: int
    name: str


class Small(PageNumberPagination):
    page_size = 10
    max_page_size = 20


class Window(LimitOffsetPagination):
    page_size = 5
    max_page_size = 8


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/pages")
    @paginate(Small)
    async def pages(request: Any) -> list[Item]:
        return ROWS

    @api.get("/pages-model", response_model=list[Item])
    @paginate(Small)
    def pages_sync() -> list[dict[str, Any]]:
        return ROWS

    @api.get("/window")
    @paginate(Window)
    async def window(kind: str = "all") -> list[Item]:
        return ROWS if kind == "all" else ROWS[:3]

    @api.get("/untyped")
    @paginate(Small)
    async def untyped() -> Any:
        return tuple(ROWS[:3])

    @api.get("/not-a-list")
    @paginate(Small)
    async def not_a_list() -> list[Item]:
        return {"id": 1}  # type: ignore[return-value]

    return api


@pytest.fixture
def client() -> Any:
    with TestClient(_api(), raise_server_exceptions=False) as client:
        yield client


def test_page_number_envelope_and_items(client: TestClient) -> None:
    first = client.get("/pages").json()
    assert first == {
        "items": [{"id": i, "name": f"n{i}"} for i in range(1, 11)],
        "total": 45,
        "has_next": True,
        "has_previous": False,
        "page": 1,
        "page_size": 10,
        "total_pages": 5,
        "next_page": 2,
    }
    second = client.get("/pages?page=2").json()
    assert [i["id"] for i in second["items"]] == list(range(11, 21))
    assert second["previous_page"] == 1
    last = client.get("/pages?page=5").json()
    assert [i["id"] for i in last["items"]] == list(range(41, 46))
    assert last["has_next"] is False
    assert "next_page" not in last
    sync = client.get("/pages-model?page=3&page_size=4").json()
    assert [i["id"] for i in sync["items"]] == [9, 10, 11, 12]
    assert sync["total_pages"] == 12


def test_page_size_is_the_clients_up_to_the_maximum(client: TestClient) -> None:
    assert client.get("/pages?page_size=3").json()["page_size"] == 3
    capped = client.get("/pages?page_size=500").json()
    assert capped["page_size"] == 20
    assert len(capped["items"]) == 20


@pytest.mark.parametrize(
    ("query", "status", "where"),
    [
        ("page=0", 422, "page"),
        ("page=-1", 422, "page"),
        ("page=abc", 422, "page"),
        ("page=1.5", 422, "page"),
        ("page_size=0", 422, "page_size"),
        ("page_size=x", 422, "page_size"),
        ("page=6", 404, None),
        # Beyond a signed 64-bit int: a 422, as every int parameter (Django-Bolt 0.13).
        ("page=99999999999999999999", 422, "page"),
        ("page=9223372036854775807", 404, None),
    ],
)
def test_bad_page_values(client: TestClient, query: str, status: int, where: str | None) -> None:
    response = client.get(f"/pages?{query}")
    assert response.status_code == status
    if where is not None:
        assert response.json()["detail"][0]["loc"] == ["query", where]
    else:
        assert "Invalid page" in response.json()["detail"]


def test_limit_offset(client: TestClient) -> None:
    default = client.get("/window").json()
    assert default["limit"] == 5
    assert default["offset"] == 0
    assert default["total"] == 45
    assert default["has_previous"] is False
    middle = client.get("/window?limit=3&offset=10").json()
    assert [i["id"] for i in middle["items"]] == [11, 12, 13]
    assert middle["has_next"] is True
    assert middle["has_previous"] is True
    assert client.get("/window?limit=100").json()["limit"] == 8
    past = client.get("/window?offset=1000").json()
    assert past["items"] == []
    assert past["has_next"] is False
    small = client.get("/window?kind=few").json()
    assert small["total"] == 3
    for bad in ("limit=0", "limit=-3", "offset=-1", "offset=x", "limit=1.5"):
        assert client.get(f"/window?{bad}").status_code == 422, bad


def test_untyped_items_and_wrong_return(client: TestClient) -> None:
    untyped = client.get("/untyped").json()
    assert untyped["items"] == ROWS[:3]
    assert client.get("/not-a-list").status_code == 500


class DRFPage(msgspec.Struct, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


class DRFPagination(PageNumberPagination):
    page_size = 20
    response_class = DRFPage

    def build_response(
        self,
        items: list[Any],
        *,
        total: int,
        request: Any,
        page: int,
        page_size: int,
        has_next: bool,
        has_previous: bool,
        **info: Any,
    ) -> Any:
        base = f"{request.path}?page_size={page_size}&page="
        return DRFPage(
            count=total,
            next=f"{base}{page + 1}" if has_next else None,
            previous=f"{base}{page - 1}" if has_previous else None,
            results=items,
        )


def test_custom_envelope_and_its_schema() -> None:
    from openapi_spec_validator import validate

    api = BoltAPI()

    @api.get("/drf")
    @paginate(DRFPagination)
    async def drf() -> list[Item]:
        return ROWS

    with TestClient(api) as client:
        body = client.get("/drf?page=2").json()
        document = client.get("/openapi.json").json()
    assert body["count"] == 45
    assert body["next"] == "/drf?page_size=20&page=3"
    assert body["previous"] == "/drf?page_size=20&page=1"
    assert [i["id"] for i in body["results"]] == list(range(21, 41))
    validate(document)
    operation = document["paths"]["/drf"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"count", "next", "previous", "results"}


def test_openapi_documents_paginated_routes() -> None:
    from openapi_spec_validator import validate

    with TestClient(_api()) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    operation = document["paths"]["/pages"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"page", "page_size"}
    assert params["page"]["schema"]["minimum"] == 1
    window = {p["name"] for p in document["paths"]["/window"]["get"]["parameters"]}
    assert window == {"kind", "limit", "offset"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    envelope = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"items", "total", "has_next", "has_previous", "page"} <= set(envelope["properties"])
    items = envelope["properties"]["items"]["items"]
    assert items["$ref"].endswith("/Item")


def test_viewset_pagination_class_and_paginate_on_a_method() -> None:
    api = BoltAPI()

    @api.viewset("/things")
    class ThingViewSet(ViewSet):
        pagination_class = Window

        async def list(self, request: Any) -> list[Item]:
            return ROWS

    @api.viewset("/others")
    class OtherViewSet(ViewSet):
        pagination_class = Window

        @paginate(Small)
        def list(self, request: Any) -> list[Item]:
            return ROWS

    with TestClient(api) as client:
        things = client.get("/things?limit=2&offset=4").json()
        assert [i["id"] for i in things["items"]] == [5, 6]
        others = client.get("/others?page=2").json()
        assert others["page"] == 2
        assert [i["id"] for i in others["items"]] == list(range(11, 21))


def test_paginate_refuses_what_it_cannot_use() -> None:
    with pytest.raises(TypeError):
        paginate(dict)  # type: ignore[arg-type]
    assert PaginatedResponse(items=[], total=0, has_next=False, has_previous=False).page is None


class Fixed(PageNumberPagination):
    page_size = 7
    page_size_query_param = None


def test_a_page_size_the_client_cannot_choose() -> None:
    api = BoltAPI()

    @api.get("/fixed")
    @paginate(Fixed)
    async def fixed() -> list[Item]:
        return ROWS

    with TestClient(api) as client:
        body = client.get("/fixed?page=2&page_size=3").json()
        document = client.get("/openapi.json").json()
    assert body["page_size"] == 7
    assert [i["id"] for i in body["items"]] == list(range(8, 15))
    assert [p["name"] for p in document["paths"]["/fixed"]["get"]["parameters"]] == ["page"]


def test_calling_a_paginator_directly() -> None:
    import asyncio

    envelope = asyncio.run(Window().paginate_queryset(ROWS, None, limit=2, offset=1))
    assert envelope.total == 45
    assert [row["id"] for row in envelope.items] == [2, 3]
    assert envelope.limit == 2


class OnlyAsync(PaginationBase):
    """A scheme written as Django-Bolt 0.13 documents custom ones: paginate_queryset() alone."""

    async def paginate_queryset(self, queryset: Any, request: Any, **params: Any) -> Any:
        first = int(request.query.get("first", "0"))
        items = list(queryset)[first : first + 2]
        more = first + 2 < len(queryset)
        return self.build_response(
            items, total=len(queryset), request=request, has_next=more, has_previous=first > 0
        )


def test_a_scheme_with_only_the_async_method() -> None:
    from django.core.exceptions import ImproperlyConfigured

    api = BoltAPI()

    @api.get("/custom")
    @paginate(OnlyAsync)
    async def custom() -> Any:
        return ROWS[:5]

    with TestClient(api) as client:
        body = client.get("/custom?first=3").json()
        assert body == {"items": ROWS[3:5], "total": 5, "has_next": False, "has_previous": True}

    def sync_handler() -> Any:
        return ROWS

    with pytest.raises(ImproperlyConfigured, match="paginate_sync"):
        api.get("/custom-sync")(paginate(OnlyAsync)(sync_handler))
