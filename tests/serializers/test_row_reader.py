"""A QuerySet read as Structs column by column (``_django/rows.py``) gives exactly what
``.values()`` followed by ``msgspec.convert`` gave, on SQLite and PostgreSQL.

Each case encodes the same QuerySet both ways and compares the bytes: time zones (UTC, a
database TIME_ZONE, USE_TZ off), decimals, JSON, UUIDs, durations, nullable foreign keys and
booleans, SQLite tables whose column types sqlite3 does not parse, Structs built positionally and
Structs that still go through ``msgspec.convert`` (constraints, renames, keyword-only fields),
and the 500 a value of the wrong type is.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import uuid
import zoneinfo
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import pytest
from django.db.models import Value
from django.db.models.signals import post_init

from django_bolt import BoltAPI
from django_bolt._django.models import ModelResults, ObjectQuery, row_reader
from django_bolt._django.rows import RowPlan
from django_bolt.exceptions import NotFound, ResponseValidationError
from django_bolt.testing import TestClient
from tests.serializers.models import Attachment, Author, LegacyReading, Reading

if TYPE_CHECKING:
    from collections.abc import Iterator

UTC = datetime.UTC
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")


class ReadingRow(msgspec.Struct):
    """Every field of a type msgspec takes as it is: built positionally."""

    id: int
    taken: datetime.datetime
    day: datetime.date | None
    at: datetime.time | None
    amount: decimal.Decimal | None
    data: Any
    uid: uuid.UUID | None
    ratio: float | None
    ok: bool
    maybe: bool | None
    label: str | None
    count: int
    elapsed: datetime.timedelta | None
    author_id: int | None


class ReadingShuffled(msgspec.Struct):
    """Every column too, in another order than the model's (and the key named ``pk``)."""

    author_id: int | None
    label: str | None
    ok: bool
    taken: datetime.datetime
    pk: int
    elapsed: datetime.timedelta | None
    count: int
    data: Any
    day: datetime.date | None
    at: datetime.time | None
    uid: uuid.UUID | None
    maybe: bool | None
    amount: decimal.Decimal | None
    ratio: float | None


class ReadingChecked(msgspec.Struct, rename="camel"):
    """Constraints, containers, a rename and ``pk``: rows go through msgspec.convert."""

    pk: int
    taken: Annotated[datetime.datetime, msgspec.Meta(tz=True)]
    data: dict[str, Any] | list[Any] | None
    ratio: Annotated[float, msgspec.Meta(ge=0)] | None
    author: int | None
    author_id: int | None


class ReadingKeywords(msgspec.Struct, kw_only=True):
    id: int
    ok: bool
    label: str | None = None


class ReadingAsFloat(msgspec.Struct):
    count: float  # an int column: msgspec.convert makes floats of it


class ReadingWrong(msgspec.Struct):
    id: int
    label: int


def _fill(alias: str) -> None:
    author = Author.objects.using(alias).create(name="Ann")
    Reading.objects.using(alias).bulk_create(
        [
            Reading(
                taken=datetime.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
                day=datetime.date(2026, 3, 29),
                at=datetime.time(13, 5, 7, 123),
                amount=decimal.Decimal("12.30"),
                data={"a": [1, 2.5], "b": None, "c": "é"},
                uid=uuid.UUID("12345678-1234-5678-1234-567812345678"),
                ratio=0.25,
                ok=True,
                maybe=None,
                label="first",
                count=2**40,
                elapsed=datetime.timedelta(hours=1, microseconds=5),
                author=author,
            ),
            Reading(taken=datetime.datetime(2026, 10, 25, 1, 30, tzinfo=KOLKATA), ok=False),
            Reading(
                taken=datetime.datetime(1999, 12, 31, 23, 0, tzinfo=UTC),
                amount=decimal.Decimal("-0.01"),
                data=[1, "two", {"three": 3}],
                ratio=1.0,
                maybe=True,
                label="",
                count=-7,
            ),
        ]
    )


def _through_values(queryset: Any, struct_type: Any) -> bytes:
    """What a QuerySet became before: ``.values()`` of the fields, renamed, converted."""
    fields = msgspec.structs.fields(struct_type)
    renames = {info.name: info.encode_name for info in fields}
    rows = [
        {renames[key]: value for key, value in row.items()} for row in queryset.values(*renames)
    ]
    return msgspec.json.encode(msgspec.convert(rows, list[struct_type]))


def _both_ways(queryset: Any, struct_type: Any) -> tuple[bytes, bytes]:
    return _through_values(queryset, struct_type), ModelResults(list[struct_type], "test").encode(
        queryset
    )


@contextlib.contextmanager
def _database_time_zone(alias: str, zone: str | None) -> Iterator[None]:
    """Give the connection ``alias`` a TIME_ZONE (SQLite stores naive datetimes in it)."""
    from django.db import connections

    connection = connections[alias]
    before = connection.settings_dict.get("TIME_ZONE")
    connection.settings_dict["TIME_ZONE"] = zone
    for cached in ("timezone", "timezone_name"):
        connection.__dict__.pop(cached, None)
    try:
        yield
    finally:
        connection.settings_dict["TIME_ZONE"] = before
        for cached in ("timezone", "timezone_name"):
            connection.__dict__.pop(cached, None)


# Structs built positionally (every column, in the model's order and another) and Structs
# whose rows go through msgspec.convert (constraints and renames, keyword-only fields).
STRUCTS = [
    pytest.param(ReadingRow, id="positional"),
    pytest.param(ReadingShuffled, id="positional-shuffled"),
    pytest.param(ReadingChecked, id="converted"),
    pytest.param(ReadingKeywords, id="keyword-only"),
]


@pytest.mark.parametrize("struct_type", [*STRUCTS, pytest.param(ReadingAsFloat, id="int-to-float")])
def test_rows_are_what_values_and_convert_gave(db_alias: str, struct_type: Any) -> None:
    _fill(db_alias)
    queryset = Reading.objects.using(db_alias).order_by("id")
    expected, read = _both_ways(queryset, struct_type)
    assert read == expected
    assert msgspec.json.decode(read)[0]  # three rows, not an empty list
    assert len(msgspec.json.decode(read)) == 3


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda qs: qs.select_related("author"), id="select-related"),
        pytest.param(lambda qs: qs.only("id", "ok"), id="only"),
        pytest.param(lambda qs: qs.defer("data"), id="defer"),
        pytest.param(lambda qs: qs.annotate(extra=Value(1)), id="annotated"),
        pytest.param(lambda qs: qs.extra(select={"two": "1 + 1"}), id="extra-select"),
        pytest.param(lambda qs: qs.filter(ok=False).order_by("-taken"), id="filtered"),
        pytest.param(
            lambda qs: qs.order_by().union(qs.order_by().filter(ok=True)).order_by("id"),
            id="union",
        ),
        pytest.param(lambda qs: qs.distinct()[1:3], id="distinct-sliced"),
    ],
)
def test_every_queryset_shape_reads_the_same(db_alias: str, shape: Any) -> None:
    # ReadingRow names every column: a plain QuerySet's own SELECT is read; other shapes
    # (joins, deferred or extra columns, combined queries) go through values_list().
    _fill(db_alias)
    queryset = shape(Reading.objects.using(db_alias).order_by("id"))
    expected, read = _both_ways(queryset, ReadingRow)
    assert read == expected
    assert msgspec.json.decode(read)


def test_plain_fields_build_the_structs_directly(db_alias: str) -> None:
    _fill(db_alias)
    rows = ModelResults(list[ReadingRow], "test").to_data(Reading.objects.using(db_alias))
    assert [type(row) for row in rows] == [ReadingRow] * 3
    first = rows[0]
    assert first.taken == datetime.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)
    assert first.taken.utcoffset() == datetime.timedelta(0)
    assert first.amount == decimal.Decimal("12.30")
    assert first.data == {"a": [1, 2.5], "b": None, "c": "é"}
    assert (first.ok, first.maybe, rows[1].ok, rows[2].maybe) == (True, None, False, True)
    assert rows[1].author_id is None
    # Slices, filters that match nothing, and an empty IN (never even run) read as Django does.
    results = ModelResults(list[ReadingRow], "test")
    assert len(results.to_data(Reading.objects.using(db_alias).order_by("id")[1:])) == 2
    assert results.to_data(Reading.objects.using(db_alias).filter(label="none")) == []
    assert results.to_data(Reading.objects.using(db_alias).filter(id__in=[])) == []


@pytest.mark.parametrize(
    ("use_tz", "zone"),
    [
        pytest.param(True, "Asia/Kolkata", id="database-time-zone"),
        pytest.param(False, None, id="use-tz-off"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_time_zone_settings_on_sqlite(
    settings: Any, one_pool_thread: None, use_tz: bool, zone: str | None
) -> None:
    settings.USE_TZ = use_tz
    with _database_time_zone("default", zone):
        naive = not use_tz
        Reading.objects.bulk_create(
            [
                Reading(taken=datetime.datetime(2026, 1, 1, 12, tzinfo=None if naive else UTC)),
                Reading(taken=datetime.datetime(2026, 7, 1, 0, 0, 0, 1, tzinfo=None)
                        if naive else datetime.datetime(2026, 7, 1, tzinfo=KOLKATA)),
            ]
        )  # fmt: skip
        queryset = Reading.objects.order_by("id")
        expected, read = _both_ways(queryset, ReadingRow)
        assert read == expected
        taken = [row["taken"] for row in msgspec.json.decode(read)]
        if use_tz:
            assert all(value.endswith("+05:30") for value in taken)
        else:
            assert taken == ["2026-01-01T12:00:00", "2026-07-01T00:00:00.000001"]


@pytest.mark.django_db(transaction=True)
def test_sqlite_columns_sqlite3_leaves_unparsed(one_pool_thread: None) -> None:
    from django.db import connection

    class LegacyRow(msgspec.Struct):
        id: int
        flag: bool
        stamp: datetime.datetime

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bolt_legacy_reading (id integer PRIMARY KEY, flag integer, stamp text)"
        )
        cursor.execute(
            "INSERT INTO bolt_legacy_reading VALUES "
            "(1, 1, '2026-01-02 03:04:05'), (2, 0, '2026-01-02T03:04:05.5+02:00')"
        )
    try:
        queryset = LegacyReading.objects.order_by("id")
        expected, read = _both_ways(queryset, LegacyRow)
        assert read == expected
        assert msgspec.json.decode(read) == [
            {"id": 1, "flag": True, "stamp": "2026-01-02T03:04:05Z"},
            {"id": 2, "flag": False, "stamp": "2026-01-02T03:04:05.500000+02:00"},
        ]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bolt_legacy_reading")


def test_a_wrong_type_is_the_same_500(db_alias: str) -> None:
    _fill(db_alias)
    queryset = Reading.objects.using(db_alias).order_by("id")
    with pytest.raises(msgspec.ValidationError) as before:
        _through_values(queryset, ReadingWrong)
    with pytest.raises(ResponseValidationError) as now:
        ModelResults(list[ReadingWrong], "test").encode(queryset)
    assert now.value.message == str(before.value)


def test_routes_send_the_same_bytes(db_alias: str) -> None:
    _fill(db_alias)
    api = BoltAPI()

    @api.get("/async")
    async def readings_async() -> list[ReadingRow]:
        return Reading.objects.using(db_alias).order_by("id")  # type: ignore[return-value]

    @api.get("/sync")
    def readings_sync() -> list[ReadingChecked]:
        return Reading.objects.using(db_alias).order_by("-id")  # type: ignore[return-value]

    with TestClient(api) as client:
        queryset = Reading.objects.using(db_alias)
        assert client.get("/async").content == _through_values(queryset.order_by("id"), ReadingRow)
        assert client.get("/sync").content == _through_values(
            queryset.order_by("-id"), ReadingChecked
        )


@pytest.mark.parametrize("struct_type", STRUCTS)
def test_one_object_reads_as_its_instance_did(db_alias: str, struct_type: Any) -> None:
    # A viewset's retrieve (an ObjectQuery) reads one row the way QuerySets are read; before,
    # the instance was fetched and read attribute by attribute.
    _fill(db_alias)
    queryset = Reading.objects.using(db_alias).order_by("-id")
    results = ModelResults(struct_type, "test")
    for instance in queryset:
        before = msgspec.json.encode(
            msgspec.convert(row_reader(struct_type, Reading)(instance), struct_type)
        )
        assert results.encode(ObjectQuery(queryset, {"pk": instance.pk})) == before
        assert results.encode(ObjectQuery(queryset, {"pk": str(instance.pk)})) == before
    for missing in ({"pk": 10**9}, {"pk": "abc"}, {"label": "nobody"}):
        with pytest.raises(NotFound):
            results.encode(ObjectQuery(queryset, missing))
    # No model instance in between (counted by Django's post_init signal).
    made: list[Any] = []

    def count(sender: Any, instance: Any, **kwargs: Any) -> None:
        made.append(instance)

    post_init.connect(count, sender=Reading)
    try:
        results.encode(ObjectQuery(queryset, {"pk": instance.pk}))
    finally:
        post_init.disconnect(count, sender=Reading)
    assert made == []
    # Several rows: QuerySet.get()'s own error, as before.
    with pytest.raises(Reading.MultipleObjectsReturned):
        results.encode(ObjectQuery(queryset, {"ok": False}))


def test_a_column_whose_attribute_is_not_its_value_is_read_from_the_instance() -> None:
    class AttachmentRow(msgspec.Struct):
        id: int
        upload: str

    class ReadingShort(msgspec.Struct):
        id: int
        ok: bool

    assert not RowPlan(
        AttachmentRow, ["id", "upload"], Attachment, ["id", "upload"]
    ).plain_attributes
    assert RowPlan(ReadingShort, ["id", "ok"], Reading, ["id", "ok"]).plain_attributes
