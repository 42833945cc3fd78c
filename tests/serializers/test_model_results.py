"""Handlers returning model instances, lists of them and QuerySets (SQLite and PostgreSQL).

The rows are read in the pool whatever kind of handler returned them; a declared Struct reads
exactly its columns with ``.values()``, or field by field with the relations it names loaded
once per QuerySet (counted with a query counter on every thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from django.db.models import Count

from django_bolt import BoltAPI
from django_bolt.testing import TestClient
from tests.serializers.models import Author, Book, Tag

if TYPE_CHECKING:
    from tests.serializers.conftest import QueryCounter


class BookRow(msgspec.Struct):
    id: int
    title: str
    pages: int


class CamelBook(msgspec.Struct, rename="camel"):
    id: int
    book_title: int = 0
    author_id: int = 0


class AuthorOut(msgspec.Struct):
    id: int
    name: str


class TagOut(msgspec.Struct):
    name: str


class BookDeep(msgspec.Struct):
    id: int
    title: str
    author: AuthorOut
    tags: list[TagOut]


class AuthorCount(msgspec.Struct):
    name: str
    book_count: int


class AuthorWithBooks(msgspec.Struct):
    name: str
    books: list[BookRow] = []


def _seed(alias: str) -> list[Book]:
    ann = Author.objects.using(alias).create(name="Ann", email="ann@example.com", bio="long")
    bob = Author.objects.using(alias).create(name="Bob")
    red = Tag.objects.using(alias).create(name="red")
    blue = Tag.objects.using(alias).create(name="blue")
    books = [
        Book.objects.using(alias).create(title="One", pages=10, author=ann),
        Book.objects.using(alias).create(title="Two", pages=20, author=ann, status="published"),
        Book.objects.using(alias).create(title="Three", pages=30, author=bob),
    ]
    books[0].tags.add(red, blue)
    books[2].tags.add(blue)
    return books


@pytest.fixture
def seeded(db_alias: str) -> list[Book]:
    return _seed(db_alias)


def _api(alias: str) -> BoltAPI:
    books = Book.objects.using(alias)
    api = BoltAPI()

    @api.get("/async/plain")
    async def async_plain():  # type: ignore[no-untyped-def]
        return books.all()

    @api.get("/sync/plain")
    def sync_plain():  # type: ignore[no-untyped-def]
        return books.all()

    @api.get("/async/one/{pk}")
    async def async_one(pk: int):  # type: ignore[no-untyped-def]
        return await books.aget(pk=pk)

    @api.get("/async/deferred/{pk}")
    async def async_deferred(pk: int):  # type: ignore[no-untyped-def]
        return await Author.objects.using(alias).only("id", "name").aget(pk=pk)

    @api.get("/sync/deferred")
    def sync_deferred():  # type: ignore[no-untyped-def]
        return Author.objects.using(alias).only("name").order_by("id")

    @api.get("/async/loaded")
    async def async_loaded():  # type: ignore[no-untyped-def]
        return [book async for book in books.all()]

    @api.get("/async/values")
    async def async_values():  # type: ignore[no-untyped-def]
        return books.values_list("title", flat=True)

    @api.get("/async/rows")
    async def async_rows() -> list[BookRow]:
        return books.filter(pages__gte=20)  # type: ignore[return-value]

    @api.get("/sync/rows")
    def sync_rows() -> list[BookRow]:
        return books.all()[:2]  # type: ignore[return-value]

    @api.get("/async/row/{pk}", response_model=BookRow)
    async def async_row(pk: int) -> Any:
        return await books.aget(pk=pk)

    @api.get("/async/camel")
    async def async_camel() -> list[CamelBook]:
        return books.annotate(book_title=Count("id")).order_by("id")[:1]  # type: ignore[return-value]

    @api.get("/async/deep")
    async def async_deep() -> list[BookDeep]:
        return books.all()  # type: ignore[return-value]

    @api.get("/sync/deep-list")
    def sync_deep_list() -> list[BookDeep]:
        return list(books.select_related("author").prefetch_related("tags"))  # type: ignore[return-value]

    @api.get("/async/counts")
    async def async_counts() -> list[AuthorCount]:
        query = Author.objects.using(alias).annotate(book_count=Count("books"))
        return query.order_by("name")  # type: ignore[return-value]

    @api.get("/async/reverse")
    async def async_reverse() -> list[AuthorWithBooks]:
        return Author.objects.using(alias).order_by("name")  # type: ignore[return-value]

    @api.get("/async/wrong")
    async def async_wrong() -> BookRow:
        return books.all()  # type: ignore[return-value]

    @api.get("/async/dict-declared")
    async def async_dict_declared() -> list[dict[str, int]]:
        return books.all()  # type: ignore[return-value]

    return api


def test_no_declared_type_sends_concrete_fields(db_alias: str, seeded: list[Book]) -> None:
    ann = seeded[0].author
    expected_first = {
        "id": seeded[0].pk,
        "title": "One",
        "pages": 10,
        "status": "draft",
        "author_id": ann.pk,
    }
    with TestClient(_api(db_alias)) as client:
        for path in ("/async/plain", "/sync/plain", "/async/loaded"):
            response = client.get(path)
            assert response.status_code == 200, response.text
            body = response.json()
            assert len(body) == 3
            assert body[0] == expected_first
        assert client.get(f"/async/one/{seeded[1].pk}").json()["status"] == "published"
        # Deferred fields are left out, not loaded one query each.
        assert client.get(f"/async/deferred/{ann.pk}").json() == {"id": ann.pk, "name": "Ann"}
        assert client.get("/sync/deferred").json() == [
            {"id": ann.pk, "name": "Ann"},
            {"id": seeded[2].author.pk, "name": "Bob"},
        ]
        assert client.get("/async/values").json() == ["One", "Two", "Three"]


def test_a_struct_reads_exactly_its_columns(
    db_alias: str, seeded: list[Book], query_counter: QueryCounter
) -> None:
    with TestClient(_api(db_alias)) as client:
        before = query_counter.count
        assert client.get("/async/rows").json() == [
            {"id": seeded[1].pk, "title": "Two", "pages": 20},
            {"id": seeded[2].pk, "title": "Three", "pages": 30},
        ]
        assert query_counter.count - before == 1
        assert client.get("/sync/rows").json() == [
            {"id": seeded[0].pk, "title": "One", "pages": 10},
            {"id": seeded[1].pk, "title": "Two", "pages": 20},
        ]
        assert client.get(f"/async/row/{seeded[0].pk}").json() == {
            "id": seeded[0].pk,
            "title": "One",
            "pages": 10,
        }
        # Renamed fields, an annotation and a foreign key's id column.
        assert client.get("/async/camel").json() == [
            {"id": seeded[0].pk, "bookTitle": 1, "authorId": seeded[0].author.pk}
        ]
        assert client.get("/async/counts").json() == [
            {"name": "Ann", "book_count": 2},
            {"name": "Bob", "book_count": 1},
        ]


def test_relations_load_once_per_queryset(
    db_alias: str, seeded: list[Book], query_counter: QueryCounter
) -> None:
    with TestClient(_api(db_alias)) as client:
        before = query_counter.count
        body = client.get("/async/deep").json()
        # One query with the author joined, one for every book's tags: not one per row.
        assert query_counter.count - before == 2
        assert body[0] == {
            "id": seeded[0].pk,
            "title": "One",
            "author": {"id": seeded[0].author.pk, "name": "Ann"},
            "tags": body[0]["tags"],
        }
        assert sorted(tag["name"] for tag in body[0]["tags"]) == ["blue", "red"]
        assert body[1]["tags"] == []
        assert body[2]["author"]["name"] == "Bob"
        assert client.get("/sync/deep-list").json() == body
        before = query_counter.count
        reverse = client.get("/async/reverse").json()
        assert query_counter.count - before == 2
        assert [author["name"] for author in reverse] == ["Ann", "Bob"]
        assert [book["title"] for book in reverse[0]["books"]] == ["One", "Two"]


def test_results_that_do_not_fit_are_500(db_alias: str, seeded: list[Book]) -> None:
    with TestClient(_api(db_alias), raise_server_exceptions=False) as client:
        wrong = client.get("/async/wrong")
        assert wrong.status_code == 500
        # list[dict[...]] does not take model rows: msgspec says why.
        assert client.get("/async/dict-declared").status_code == 500


def _list_api(alias: str) -> BoltAPI:
    books = Book.objects.using(alias)
    api = BoltAPI()

    @api.get("/sync/instances")
    def sync_instances() -> list[BookDeep]:
        # Plain instances, relations not loaded: read in the pool, not on the event loop.
        return list(books.all())  # type: ignore[return-value]

    @api.get("/async/instances")
    async def async_instances() -> list[BookRow]:
        return [book async for book in books.all()]  # type: ignore[misc]

    @api.get("/sync/one/{pk}")
    def sync_one(pk: int) -> BookRow:
        return books.get(pk=pk)  # type: ignore[return-value]

    @api.delete("/async/gone", status_code=204)
    async def async_gone():  # type: ignore[no-untyped-def]
        return books.all()

    @api.get("/async/empty")
    async def async_empty() -> list[BookRow]:
        return books.none()  # type: ignore[return-value]

    return api


def test_lists_of_instances_and_single_instances(db_alias: str, seeded: list[Book]) -> None:
    with TestClient(_api(db_alias)) as deep, TestClient(_list_api(db_alias)) as client:
        assert client.get("/sync/instances").json() == deep.get("/async/deep").json()
        assert [row["title"] for row in client.get("/async/instances").json()] == [
            "One",
            "Two",
            "Three",
        ]
        assert client.get(f"/sync/one/{seeded[2].pk}").json() == {
            "id": seeded[2].pk,
            "title": "Three",
            "pages": 30,
        }
        gone = client.delete("/async/gone")
        assert (gone.status_code, gone.content) == (204, b"")
        assert client.get("/async/empty").json() == []


class _ThreadRecorder:
    """Records the name of the thread each query runs on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        import threading

        self.threads.append(threading.current_thread().name)
        return execute(sql, params, many, context)


def test_an_async_handlers_queryset_is_read_in_the_pool(db_alias: str, seeded: list[Book]) -> None:
    import asyncio

    from django.db import connections

    from django_bolt.concurrency import run_in_orm_pool

    recorder = _ThreadRecorder()

    def attach() -> None:
        connections[db_alias].execute_wrappers.append(recorder)

    def detach() -> None:
        connections[db_alias].execute_wrappers.remove(recorder)

    async def in_pool(fn: Any) -> None:
        await run_in_orm_pool(fn, {})

    asyncio.run(in_pool(attach))  # the one ORM pool thread of these tests
    try:
        # The ORM pool thread's own connection is the one observed.
        with TestClient(_api(db_alias), share_db_connection=False) as client:
            assert len(client.get("/async/rows").json()) == 2
    finally:
        asyncio.run(in_pool(detach))
    assert recorder.threads
    assert all(name.startswith("bolt-orm") for name in recorder.threads)
