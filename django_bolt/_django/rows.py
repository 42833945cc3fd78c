"""A QuerySet read as Structs whose fields are all columns: ``models.py``'s projection, made cheap.

``.values(*fields)`` followed by ``msgspec.convert`` spends most of its time per row in Python:
Django runs each column's converters through a generic loop, row by row, builds a dict per row,
and msgspec reads each dict back. :func:`read_columns` runs the same query, compiled and
executed by Django's compiler: the QuerySet's own SELECT when the Struct names every column of
the model and the QuerySet selects exactly those (nothing deferred, joined, annotated or
combined: the same columns, with no ``values()`` clone to build and compile), else
``values_list(*fields)``. Then it works a column at a time:

* Each column's converters run over the column, in the order Django runs them, one list
  comprehension per converter. A converter is skipped when the column holds only values it
  provably gives back unchanged (:data:`_IDENTITY`, checked by the exact types present, at run
  time), and SQLite's datetime converter on a naive datetime does only what it would do there,
  ``value.replace(tzinfo=connection.timezone)`` (Django's ``make_aware``). Everything else
  (Decimal quantizing, JSON decoding, UUIDs, a field's ``from_db_value``) is Django's own call.
* When every column holds exactly the types its Struct field accepts as they are (``int`` for
  ``int``, ``datetime`` for ``datetime``, ``None`` too for ``X | None``, anything for ``Any``),
  ``msgspec.convert`` would hand each value over unchanged, so the Structs are built
  positionally, one C call per row (:func:`accepted_types` says which types those are). Any
  other column gives dicts keyed by the fields' JSON names, which ``msgspec.convert`` checks
  exactly as before.

tests/serializers/test_row_reader.py holds the output equal to ``.values()`` + ``msgspec.convert``
on SQLite and PostgreSQL, column types and time zone settings included.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
import uuid
import zoneinfo
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

import msgspec
from django.conf import settings
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import MAX_GET_RESULTS
from django.db.models.query_utils import DeferredAttribute
from django.db.models.sql.constants import MULTI

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db.models import Model, QuerySet

__all__ = ("RowPlan", "accepted_types", "read_columns", "read_one")

_NONE: Final = type(None)
# Types msgspec.convert returns unchanged for a field of exactly that type (strict mode).
_PLAIN_TYPES: Final = frozenset(
    {
        int, float, str, bool, bytes, datetime.datetime, datetime.date, datetime.time,
        datetime.timedelta, decimal.Decimal, uuid.UUID,
    }
)  # fmt: skip
# Anything goes (a field typed Any): msgspec.convert does not look at the value.
ANY_TYPE: Final[frozenset[type]] = frozenset({object})

# Django's converters that return their value unchanged for values of these exact types, by the
# function's module and qualified name (a backend subclass overriding one is not matched).
_SQLITE_OPS: Final = "django.db.backends.sqlite3.operations"
_IDENTITY: Final[dict[tuple[str, str], frozenset[type]]] = {
    # bool(value) if value in (1, 0) else value: True and False come back as themselves.
    (_SQLITE_OPS, "DatabaseOperations.convert_booleanfield_value"): frozenset({bool, _NONE}),
    # Parsed only when not a date already (sqlite3 parses a "date" column itself).
    (_SQLITE_OPS, "DatabaseOperations.convert_datefield_value"): frozenset(
        {datetime.date, datetime.datetime, _NONE}
    ),
    (_SQLITE_OPS, "DatabaseOperations.convert_timefield_value"): frozenset({datetime.time, _NONE}),
}
_SQLITE_DATETIME: Final = (_SQLITE_OPS, "DatabaseOperations.convert_datetimefield_value")
# Time zones whose make_aware() is ``replace(tzinfo=...)`` in every Django we support.
_PLAIN_ZONES: Final = (datetime.timezone, zoneinfo.ZoneInfo)
_DATETIME_OR_NONE: Final = frozenset({datetime.datetime, _NONE})
# The descriptors that give an instance's column value as loaded.
_PLAIN_DESCRIPTORS: Final = (DeferredAttribute, ForeignKeyDeferredAttribute)

Converter = Any  # Django's (value, expression, connection) -> value


def accepted_types(tp: Any) -> frozenset[type] | None:
    """Return the exact types ``msgspec.convert`` hands over unchanged for a field typed ``tp``
    (:data:`ANY_TYPE` for ``Any``), or None when that is not known (constraints, containers,
    nested Structs, literals...: such a field always goes through ``msgspec.convert``)."""
    if tp is Any or tp is object:
        return ANY_TYPE
    if tp in _PLAIN_TYPES:
        return frozenset({tp})
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        found: set[type] = set()
        for arg in typing.get_args(tp):
            if arg is _NONE:
                found.add(_NONE)
                continue
            if arg not in _PLAIN_TYPES or found - {_NONE}:
                return None  # only ``X | None``: msgspec picks among several types by rules
            found.add(arg)
        return frozenset(found)
    return None


class RowPlan:
    """How one Struct is read from one model's columns, decided once per pair."""

    __slots__ = ("accepted", "attnames", "keys", "plain_attributes", "struct_type")

    def __init__(
        self,
        struct_type: type[msgspec.Struct],
        keys: Sequence[str],
        model: type[Model],
        projection: Sequence[str],
    ) -> None:
        self.struct_type = struct_type
        # The fields' JSON names, for rows that go through msgspec.convert as dicts.
        self.keys = tuple(keys)
        fields = msgspec.structs.fields(struct_type)
        accepted = tuple(accepted_types(info.type) for info in fields)
        # A direct call equals msgspec.convert only without a __post_init__ (convert wraps its
        # errors) and with every field positional.
        positional = (
            getattr(struct_type, "__post_init__", None) is None
            and getattr(struct_type, "__match_args__", ()) == struct_type.__struct_fields__
            and all(types_ is not None for types_ in accepted)
        )
        self.accepted: tuple[frozenset[type], ...] | None = (
            tuple(t for t in accepted if t is not None) if positional else None
        )
        # The columns of ``projection`` by attribute name when they are all the model's columns:
        # then a plain QuerySet's own SELECT (every column) is read as it is, with no
        # values_list() clone and no second compilation of the field names.
        meta = model._meta
        attnames = tuple(
            meta.pk.attname if name == "pk" else meta.get_field(name).attname for name in projection
        )
        every = {field.attname for field in meta.concrete_fields}
        self.attnames = attnames if set(attnames) == every else None
        # Whether an instance's attributes are its column values (Django's plain descriptors,
        # not a FileField's): then one object may be read as a row too (:func:`read_one`).
        self.plain_attributes = all(
            type(getattr(model, name, None)) in _PLAIN_DESCRIPTORS for name in attnames
        )


def read_columns(queryset: QuerySet[Any], projection: Sequence[str], plan: RowPlan) -> list[Any]:
    """Return the rows of ``queryset``'s ``values_list(*projection)``, every name a column of
    its model, as Structs of ``plan`` or as dicts for ``msgspec.convert`` (module docstring)."""
    read = None
    if plan.attnames is not None and _whole_rows(queryset.query):
        read = _read_whole_rows(queryset, plan.attnames)
    if read is None:
        read = _read_projection(queryset, projection)
    if isinstance(read, _DictRows):
        return [dict(zip(plan.keys, row, strict=True)) for row in read.rows]
    columns = read
    if not columns:
        return []
    accepted = plan.accepted
    if accepted is not None and all(
        kinds is ANY_TYPE or set(map(type, column)) <= kinds
        for kinds, column in zip(accepted, columns, strict=True)
    ):
        return list(map(plan.struct_type, *columns))
    keys = plan.keys
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


def read_one(
    queryset: QuerySet[Any], lookups: dict[str, Any], projection: Sequence[str], plan: RowPlan
) -> list[Any]:
    """Return the rows ``queryset.get(**lookups)`` looks at, read as :func:`read_columns` reads
    them: the QuerySet filtered, unordered and cut at Django's ``MAX_GET_RESULTS``, as
    ``QuerySet.get()`` does before it counts them (the caller decides what 0, 1 or more rows
    mean, and leaves combined and locking QuerySets to ``get()`` itself)."""
    clone = queryset.filter(**lookups)
    query = clone.query
    if query.can_filter() and not query.distinct_fields:
        # What clone.order_by() does, on the clone filter() made (no second clone).
        query.clear_ordering(force=True, clear_default=False)
    query.set_limits(high=MAX_GET_RESULTS)
    return read_columns(clone, projection, plan)


class _DictRows:
    """Rows Django read its own way (columns this module does not expect): tuples in the
    projection's order."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows


def _whole_rows(query: Any) -> bool:
    """Return whether ``query`` selects exactly its model's columns (Django's default SELECT:
    nothing deferred, joined, annotated or combined)."""
    deferred, defer = query.deferred_loading
    return bool(
        query.default_cols
        and not query.select_related
        and not query.annotation_select
        and not query.extra_select
        and not deferred
        and defer
        and not query.combinator
    )


def _fetch(query: Any, database: str) -> tuple[Any, list[Any], list[Any]]:
    """Run ``query`` with Django's compiler; return it, its rows and its selected columns."""
    compiler = query.get_compiler(using=database)
    rows = list(chain.from_iterable(compiler.execute_sql(MULTI, chunked_fetch=False)))
    if not rows:
        # (An empty ``__in`` is not even run: the compiler may have selected nothing.)
        return compiler, rows, []
    return compiler, rows, [selected[0] for selected in compiler.select[0 : compiler.col_count]]


def _read_whole_rows(
    queryset: QuerySet[Any], attnames: Sequence[str]
) -> list[Sequence[Any]] | None:
    """Return the columns ``attnames`` names, read with the QuerySet's own SELECT; None when
    its columns are not the ones expected (the caller then reads the projection)."""
    compiler, rows, fields = _fetch(queryset.query, queryset.db)
    if not rows:
        return []
    position = {
        getattr(getattr(f, "target", None), "attname", None): i for i, f in enumerate(fields)
    }
    if len(position) != len(fields) or not all(name in position for name in attnames):
        return None
    columns = _converted_columns(compiler, rows, fields)
    return [columns[position[name]] for name in attnames]


def _read_projection(queryset: QuerySet[Any], projection: Sequence[str]) -> Any:
    """Return the columns of ``values_list(*projection)`` (or, for columns this module does
    not expect, Django's own rows as :class:`_DictRows`)."""
    query = queryset.values_list(*projection).query
    compiler, rows, fields = _fetch(query, queryset.db)
    if not rows:
        return []
    if query.extra_select or query.annotation_select or len(fields) != len(projection):
        return _DictRows(list(compiler.results_iter(results=[rows], tuple_expected=True)))
    return _converted_columns(compiler, rows, fields)


def _converted_columns(compiler: Any, rows: list[Any], fields: list[Any]) -> list[Sequence[Any]]:
    """Return ``rows`` as columns, each converted as Django converts it (module docstring)."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    connection = compiler.connection
    for position, (converters, expression) in compiler.get_converters(fields).items():
        column = columns[position]
        for converter in converters:
            column = _converted(converter, column, expression, connection)
        columns[position] = column
    return columns


def _name(converter: Converter) -> tuple[str, str]:
    function = getattr(converter, "__func__", converter)
    return getattr(function, "__module__", ""), getattr(function, "__qualname__", "")


def _converted(
    converter: Converter, column: Sequence[Any], expression: Any, connection: Any
) -> Sequence[Any]:
    """Return ``column`` with ``converter`` applied to each value, as Django would."""
    name = _name(converter)
    identity = _IDENTITY.get(name)
    if identity is not None and set(map(type, column)) <= identity:
        return column
    if name == _SQLITE_DATETIME:
        return _sqlite_datetimes(converter, column, expression, connection)
    return [converter(value, expression, connection) for value in column]


def _sqlite_datetimes(
    converter: Converter, column: Sequence[Any], expression: Any, connection: Any
) -> Sequence[Any]:
    """SQLite's ``convert_datetimefield_value`` over a column.

    Django's steps: ``None`` stays; a value that is not a datetime is parsed; with ``USE_TZ``,
    a naive datetime becomes ``make_aware(value, ops.connection.timezone)``, which for the time
    zones of :data:`_PLAIN_ZONES` is ``value.replace(tzinfo=zone)``. Those steps are taken here
    for ``None`` and datetimes; any other value gets Django's call.
    """
    if not settings.USE_TZ:
        if set(map(type, column)) <= _DATETIME_OR_NONE:
            return column  # nothing to parse, nothing to make aware
        return [converter(value, expression, connection) for value in column]
    zone = converter.__self__.connection.timezone
    if not isinstance(zone, _PLAIN_ZONES):
        return [converter(value, expression, connection) for value in column]
    naive = datetime.datetime
    return [
        value
        if value is None
        else value.replace(tzinfo=zone)
        if value.__class__ is naive and value.tzinfo is None
        else converter(value, expression, connection)
        for value in column
    ]
