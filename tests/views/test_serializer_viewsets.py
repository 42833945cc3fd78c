"""ModelViewSets typed by ``Serializer`` classes, with relations, on SQLite and PostgreSQL.

The models are the serializer tests' (``tests/serializers/models.py``): books with an author
(a foreign key) and tags (many-to-many).
"""

from __future__ import annotations

from typing import Any

import pytest

from django_bolt import BoltAPI, CursorPagination, PageNumberPagination, paginate
from django_bolt.serializers import Serializer, computed_field, field_validator
from django_bolt.testing import TestClient
from django_bolt.views import ModelViewSet
from tests.serializers.conftest import db_alias  # noqa: F401 - the fixture
from tests.serializers.models import Author, Book, Tag


class AuthorOut(Serializer):
    id: int
    name: str


class TagOut(Serializer):
    name: str


class BookOut(Serializer):
    id: int
    title: str
    pages: int
    author: AuthorOut
    tags: list[TagOut]

    @computed_field
    def shout(self) -> str:
        return self.title.upper()


class BookRow(Serializer):
    id: int
    title: str


class BookIn(Serializer):
    title: str
    author_id: int
    pages: int = 0
    status: str = "draft"

    @field_validator("title")
    def tidy(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a title cannot be blank")
        return value

    @field_validator("pages")
    def positive(cls, value: int) -> int:
        if value < 0:
            raise ValueError("pages cannot be negative")
        return value


class Pages(PageNumberPagination):
    page_size = 5


@pytest.fixture
def books(db_alias: str) -> dict[str, Any]:  # noqa: F811 - the fixture
    author = Author.objects.using(db_alias).create(name="Ann")
    red = Tag.objects.using(db_alias).create(name="red")
    blue = Tag.objects.using(db_alias).create(name="blue")
    for i in range(1, 13):
        book = Book.objects.using(db_alias).create(title=f"b{i:02d}", pages=i, author=author)
        book.tags.set([red, blue] if i % 2 else [red])
    return {"alias": db_alias, "author": author.pk}


def _api(alias: str) -> BoltAPI:
    api = BoltAPI()

    @api.viewset("/books", name="book")
    class BookViewSet(ModelViewSet):
        queryset = Book.objects.using(alias).order_by("id")
        serializer_class = BookOut
        list_serializer_class = BookRow
        create_serializer_class = BookIn
        pagination_class = Pages

    @api.viewset("/full-books")
    class FullBookViewSet(ModelViewSet):
        queryset = Book.objects.using(alias).order_by("id")
        serializer_class = BookOut
        create_serializer_class = BookIn

    return api


def test_serializer_responses_and_pages(books: dict[str, Any]) -> None:
    with TestClient(_api(books["alias"])) as client:
        page = client.get("/books?page=3").json()
        assert page["items"] == [
            {"id": page["items"][0]["id"], "title": "b11"},
            {"id": page["items"][1]["id"], "title": "b12"},
        ]
        assert page["total"] == 12
        first = client.get(f"/books/{page['items'][0]['id']}").json()
        assert first["author"] == {"id": books["author"], "name": "Ann"}
        assert sorted(t["name"] for t in first["tags"]) == ["blue", "red"]
        assert first["shout"] == "B11"
        everything = client.get("/full-books").json()
        assert [b["title"] for b in everything] == [f"b{i:02d}" for i in range(1, 13)]
        assert everything[1]["tags"] == [{"name": "red"}]


def test_serializer_bodies_validate_and_write(books: dict[str, Any]) -> None:
    author = books["author"]
    with TestClient(_api(books["alias"])) as client:
        created = client.post("/books", json={"title": "  new  ", "author_id": author})
        assert created.status_code == 201
        body = created.json()
        assert body["title"] == "new"
        assert body["author"]["name"] == "Ann"
        assert body["tags"] == []

        bad = client.post("/books", json={"title": " ", "pages": -1, "author_id": author})
        assert bad.status_code == 422
        assert {tuple(e["loc"]) for e in bad.json()["detail"]} >= {
            ("body", "title"),
            ("body", "pages"),
        }
        wrong_choice = client.post(
            "/books", json={"title": "t", "author_id": author, "status": "lost"}
        )
        assert wrong_choice.status_code == 422
        assert wrong_choice.json()["detail"][0]["loc"] == ["body", "status"]

        book = body["id"]
        replaced = client.put(f"/books/{book}", json={"title": "again", "author_id": author})
        assert replaced.json()["title"] == "again"
        patched = client.patch(f"/books/{book}", json={"pages": 9})
        assert patched.json()["pages"] == 9
        assert patched.json()["title"] == "again"
        refused = client.patch(f"/books/{book}", json={"title": "   "})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"][-1] == "title"
        assert client.get(f"/books/{book}").json()["title"] == "again"
        assert client.delete(f"/books/{book}").status_code == 204


class ByPages(CursorPagination):
    page_size = 5
    ordering = ("-pages",)


class ByAuthor(CursorPagination):
    page_size = 5
    ordering = ("author", "title")


class NotAColumn(CursorPagination):
    ordering = "author__name"


def test_cursor_pages_of_serialized_rows_cost_the_same(
    books: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db.backends import utils

    alias = books["alias"]
    seen: list[str] = []
    original = utils.CursorWrapper._execute

    def recording(self: Any, sql: str, *args: Any) -> Any:
        seen.append(sql)
        return original(self, sql, *args)

    monkeypatch.setattr(utils.CursorWrapper, "_execute", recording)
    api = BoltAPI()

    @api.get("/by-pages")
    @paginate(ByPages)
    async def by_pages() -> list[BookOut]:
        return Book.objects.using(alias).all()

    @api.get("/by-author")
    @paginate(ByAuthor)
    def by_author() -> list[BookRow]:
        return Book.objects.using(alias).all()

    @api.get("/broken")
    @paginate(NotAColumn)
    def broken() -> list[BookRow]:
        return Book.objects.using(alias).all()

    with TestClient(api, raise_server_exceptions=False) as client:
        seen.clear()
        first = client.get("/by-pages").json()
        first_cost = len(seen)
        assert [b["pages"] for b in first["items"]] == [12, 11, 10, 9, 8]
        assert first["items"][0]["author"]["name"] == "Ann"
        seen.clear()
        second = client.get("/by-pages", params={"cursor": first["next_cursor"]}).json()
        assert [b["pages"] for b in second["items"]] == [7, 6, 5, 4, 3]
        # The relations are loaded per page (a join and one prefetch), never per row.
        assert len(seen) == first_cost <= 3
        titles: list[str] = []
        cursor = None
        while True:
            page = client.get("/by-author", params={"cursor": cursor} if cursor else {}).json()
            titles.extend(b["title"] for b in page["items"])
            cursor = page.get("next_cursor")
            if cursor is None:
                break
        assert titles == [f"b{i:02d}" for i in range(1, 13)]
        assert client.get("/broken").status_code == 500
