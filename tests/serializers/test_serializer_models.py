"""Serializers and Django models on SQLite and PostgreSQL: from_model (non-querying), the async
forms (lazy loading in the pool), from_models with loading plans (queries counted), writing
back, and routes returning QuerySets through a serializer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
import pytest
from django.db.models import Count

from django_bolt import BoltAPI
from django_bolt.serializers import (
    SerializationError,
    Serializer,
    computed_field,
    field,
    field_validator,
)
from django_bolt.testing import TestClient
from tests.serializers.models import Author, Book, Profile, Tag

if TYPE_CHECKING:
    from tests.serializers.conftest import QueryCounter


class AuthorSerializer(Serializer):
    id: int
    name: str


class TagSerializer(Serializer):
    name: str


class BookSerializer(Serializer):
    id: int
    title: str
    status: str
    author: AuthorSerializer
    tags: list[TagSerializer] = msgspec.field(default_factory=list)
    author_email: str = field(source="author.email", default="")

    @computed_field
    def label(self) -> str:
        return f"{self.title} by {self.author.name}"


class BookIds(Serializer):
    title: str
    author: int
    tags: list[int] = msgspec.field(default_factory=list)


class BookTitle(Serializer):
    title: str


class AuthorWithBooks(Serializer):
    name: str
    books: list[BookTitle] = msgspec.field(default_factory=list)
    book_count: int = 0
    profile: ProfileSerializer | None = None

    class Config:
        annotations: ClassVar = {"book_count": Count("books")}


class ProfileSerializer(Serializer):
    website: str


class AuthorCreate(Serializer):
    name: str
    email: str = ""
    id: int = field(read_only=True)

    @field_validator("name")
    def strip(cls, value: str) -> str:
        return value.strip()


def _seed(alias: str) -> list[Book]:
    ann = Author.objects.using(alias).create(name="Ann", email="ann@example.com")
    bob = Author.objects.using(alias).create(name="Bob", email="bob@example.com")
    Profile.objects.using(alias).create(author=ann, website="https://ann.example")
    red = Tag.objects.using(alias).create(name="red")
    blue = Tag.objects.using(alias).create(name="blue")
    books = [
        Book.objects.using(alias).create(title=f"Book {i}", pages=i, author=ann if i % 2 else bob)
        for i in range(6)
    ]
    for book in books[:3]:
        book.tags.add(red, blue)
    return books


@pytest.fixture
def seeded(db_alias: str) -> list[Book]:
    return _seed(db_alias)


def test_from_model_reads_loaded_relations_without_queries(
    db_alias: str, seeded: list[Book], query_counter: QueryCounter
) -> None:
    books = Book.objects.using(db_alias)
    book = books.select_related("author").prefetch_related("tags").get(pk=seeded[1].pk)
    before = query_counter.count
    out = BookSerializer.from_model(book)
    assert query_counter.count == before
    assert out.dump() == {
        "id": seeded[1].pk,
        "title": "Book 1",
        "status": "draft",
        "author": {"id": seeded[1].author.pk, "name": "Ann"},
        "tags": [{"name": "red"}, {"name": "blue"}],
        "author_email": "ann@example.com",
        "label": "Book 1 by Ann",
    }
    # A required relation not loaded: an error that says what to load.
    plain = books.get(pk=seeded[1].pk)
    with pytest.raises(SerializationError, match=r"select_related\('author'\)"):
        BookSerializer.from_model(plain)
    # A relation with a default keeps it when not loaded.
    joined = books.select_related("author").get(pk=seeded[1].pk)
    assert BookSerializer.from_model(joined).tags == []
    assert BookIds.from_model(plain).dump() == {
        "title": "Book 1",
        "author": seeded[1].author.pk,
        "tags": [],
    }


def test_from_models_applies_the_loading_plan(
    db_alias: str, seeded: list[Book], query_counter: QueryCounter
) -> None:
    plan = BookSerializer.loading_plan(Book)
    assert plan.select_related == ("author",)
    assert plan.prefetch_related == ("tags",)
    before = query_counter.count
    rows = BookSerializer.from_models(Book.objects.using(db_alias).order_by("id"))
    # One query with the author joined, one for all the tags: not one per row.
    assert query_counter.count - before == 2
    assert [row.title for row in rows] == [f"Book {i}" for i in range(6)]
    assert [len(row.tags) for row in rows] == [2, 2, 2, 0, 0, 0]
    assert rows[0].author_email == "bob@example.com"
    # Loads already applied are kept, not doubled.
    already = Book.objects.using(db_alias).select_related("author").prefetch_related("tags")
    before = query_counter.count
    assert len(BookSerializer.from_models(already)) == 6
    assert query_counter.count - before == 2
    before = query_counter.count
    authors = AuthorWithBooks.from_models(Author.objects.using(db_alias).order_by("name"))
    assert query_counter.count - before == 2  # profile joined, books prefetched, count annotated
    assert [(a.name, a.book_count, len(a.books)) for a in authors] == [("Ann", 3, 3), ("Bob", 3, 3)]
    assert authors[0].profile is not None and authors[0].profile.website == "https://ann.example"
    assert authors[1].profile is None
    ids = BookIds.from_models(Book.objects.using(db_alias).order_by("id"))
    assert len(ids[0].tags) == 2
    with pytest.raises(SerializationError, match="TagSerializer from a Book"):
        TagSerializer.from_model(seeded[0])


async def _async_reads(alias: str, pk: int) -> tuple[Any, list[Any]]:
    book = await Book.objects.using(alias).aget(pk=pk)
    one = await BookSerializer.afrom_model(book)  # relations loaded lazily, in the pool
    many = await BookSerializer.afrom_models(Book.objects.using(alias).order_by("id"))
    return one, many


def test_async_forms_load_what_is_missing(db_alias: str, seeded: list[Book]) -> None:
    import asyncio

    one, many = asyncio.run(_async_reads(db_alias, seeded[2].pk))
    assert one.author.name == "Bob"
    assert [tag.name for tag in one.tags] == ["red", "blue"]
    assert len(many) == 6


def test_writing_back_to_models(db_alias: str, seeded: list[Book]) -> None:
    incoming = AuthorCreate.model_validate({"name": "  Cy ", "email": "cy@example.com", "id": 7})
    author = incoming.to_model(Author)
    assert author.pk is None  # read-only id not written
    author.save(using=db_alias)
    stored = Author.objects.using(db_alias).get(pk=author.pk)
    assert (stored.name, stored.email) == ("Cy", "cy@example.com")
    change = AuthorCreate(name="Cyd", email="new@example.com")
    change.update_instance(stored).save(using=db_alias)
    assert Author.objects.using(db_alias).get(pk=author.pk).email == "new@example.com"


def _api(alias: str) -> BoltAPI:
    books = Book.objects.using(alias)
    api = BoltAPI()

    @api.get("/async/books")
    async def async_books() -> list[BookSerializer]:
        return books.order_by("id")  # type: ignore[return-value]

    @api.get("/sync/books")
    def sync_books() -> list[BookSerializer]:
        return books.order_by("id")  # type: ignore[return-value]

    @api.get("/async/book/{pk}")
    async def async_book(pk: int) -> BookSerializer:
        return await books.aget(pk=pk)  # type: ignore[return-value]

    @api.get("/async/ids")
    async def async_ids() -> list[BookIds]:
        return books.order_by("id")[:2]  # type: ignore[return-value]

    @api.get("/async/handmade")
    async def handmade() -> list[BookSerializer]:
        query = books.select_related("author").prefetch_related("tags").order_by("id")
        return [BookSerializer.from_model(book) async for book in query]  # type: ignore[misc]

    return api


def test_routes_return_querysets_through_serializers(
    db_alias: str, seeded: list[Book], query_counter: QueryCounter
) -> None:
    with TestClient(_api(db_alias)) as client:
        before = query_counter.count
        body = client.get("/async/books").json()
        assert query_counter.count - before == 2
        assert len(body) == 6
        assert body[1]["label"] == "Book 1 by Ann"
        assert body[1]["author"] == {"id": seeded[1].author.pk, "name": "Ann"}
        assert client.get("/sync/books").json() == body
        assert client.get("/async/handmade").json() == body
        assert client.get(f"/async/book/{seeded[1].pk}").json() == body[1]
        ids = client.get("/async/ids").json()
        assert ids[0]["author"] == seeded[0].author.pk
        assert len(ids[0]["tags"]) == 2
