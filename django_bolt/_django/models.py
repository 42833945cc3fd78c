"""Model instances and QuerySets as handler results: read where the ORM may run, sent as JSON.

A handler may return a model instance, a list of them or a QuerySet when its route declares a
``msgspec.Struct`` (a ``Serializer`` is one), ``list[...]`` of one, or no response type. The
route's converter (``results.build_result_converter``) sees such a value only on its slow
path, after dicts, lists and the declared Struct, and hands it to the route's
:class:`ModelResults`, built once at compile time. The rows are read in the pool of ``def``
handlers (:func:`~django_bolt.concurrency.run_in_pool`): the ORM refuses to run on a thread
with a running event loop, and the pool's threads follow the same connection rules as ``def``
handlers (``_django/db.py``), whether the handler was sync or async. One trip to the pool per
request: a ``def`` handler's result is read in the pool call that ran it (:func:`pool_reader`),
and a viewset's retrieve hands its route an :class:`ObjectQuery`, looked up, converted and
encoded in one pool call.

What a value becomes:

* **No declared type**: a model instance is a dict of its concrete fields keyed by attribute
  name (a foreign key as ``<name>_id``; deferred fields left out rather than loaded one query
  each). A QuerySet is a list of such dicts read with ``.values()`` (annotations included); a
  ``.values()``/``.values_list()`` QuerySet is sent as its rows.
* **A Struct** (or ``list[Struct]``): when every field of the Struct is a column of the model
  (a field name, a foreign key's ``<name>_id`` or name, ``pk``) or an annotation of the
  QuerySet, the QuerySet is read as ``.values(*fields)``, exactly those columns, and converted
  to the Struct by msgspec; without annotations, ``_django/rows.py`` reads the same rows a
  column at a time, for less (one object of a retrieve too). Otherwise each instance is read
  field by field (:func:`row_reader`): a field typed as a Struct follows a forward relation, a
  ``list[Struct]`` a many-to-many or reverse one; the loads that needs are added to the
  QuerySet first (:func:`loading_plan`: ``select_related`` for forward relations,
  ``prefetch_related`` for many ones), so a relation costs one query per QuerySet, never one
  per row.

A value that does not fit the declared type is a
:class:`~django_bolt.exceptions.ResponseValidationError` (500), as for any other result.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import msgspec
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

from django_bolt._django.db import run_orm
from django_bolt._django.rows import RowPlan, read_columns, read_one
from django_bolt._http.wire import WireResponse, encode_json
from django_bolt.exceptions import NotFound, ResponseValidationError

__all__ = (
    "MODEL_RESULTS",
    "NO_MODELS",
    "ModelResults",
    "ObjectQuery",
    "PendingModels",
    "ReadModels",
    "accepts_models",
    "add_loads",
    "apply_loading_plan",
    "instance_dict",
    "loading_plan",
    "model_hooks",
    "pool_reader",
    "row_reader",
)


_MISSING: Final[Any] = object()


class ObjectQuery:
    """One object to read where the ORM may run: ``queryset.get(**lookups)``.

    A viewset's retrieve returns one to its route instead of the object, so that the pool call
    that reads the object also converts and encodes it (one hop to the pool, not two).
    """

    __slots__ = ("lookups", "queryset")

    def __init__(self, queryset: QuerySet[Any], lookups: dict[str, Any]) -> None:
        self.queryset = queryset
        self.lookups = lookups

    def fetch(self) -> Any:
        """Return the object (call it where the ORM may run); a 404 when there is none, or when
        the lookup value is one the field cannot hold (a word for an integer key)."""
        try:
            return self.queryset.get(**self.lookups)
        except _NOT_FOUND:
            raise NotFound(detail="Not found") from None

    def fetch_row(self, projection: Sequence[str], plan: RowPlan) -> Any:
        """Return the object as a row of ``plan``'s Struct (read as QuerySets of it are, with no
        model instance in between), with :meth:`fetch`'s 404s; ``_MISSING`` where ``get()``
        itself must answer (a combined or locking QuerySet, or several rows: its error)."""
        query = self.queryset.query
        if query.combinator or query.select_for_update:
            return _MISSING
        try:
            rows = read_one(self.queryset, self.lookups, projection, plan)
        except _NOT_FOUND:
            raise NotFound(detail="Not found") from None
        if not rows:
            raise NotFound(detail="Not found")
        return rows[0] if len(rows) == 1 else _MISSING


# What a lookup raises for a value its field cannot hold (or no row): the 404 of get_object().
_NOT_FOUND: Final = (ObjectDoesNotExist, ValueError, TypeError, ValidationError)


# What the converter's slow path hands to ModelResults (a list of instances is recognised by
# its first item).
MODEL_RESULTS: Final = (Model, QuerySet, ObjectQuery)

# --- types ----------------------------------------------------------------------------------------


def _strip(tp: Any) -> Any:
    """Return ``tp`` without ``Annotated`` and without ``| None``."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _struct(tp: Any) -> type[msgspec.Struct] | None:
    tp = _strip(tp)
    return tp if isinstance(tp, type) and issubclass(tp, msgspec.Struct) else None


_FIELDS: dict[type[msgspec.Struct], tuple[Any, ...]] = {}
_RENAMES: dict[type[msgspec.Struct], dict[str, str]] = {}


def _fields(struct_type: type[msgspec.Struct]) -> tuple[Any, ...]:
    """Return ``msgspec.structs.fields(struct_type)``, computed once per type (it resolves the
    annotations each call: about half a millisecond for a five-field Struct)."""
    found = _FIELDS.get(struct_type)
    if found is None:
        found = _FIELDS[struct_type] = msgspec.structs.fields(struct_type)
    return found


def _renames(struct_type: type[msgspec.Struct]) -> dict[str, str]:
    """Return the Struct's attribute names whose JSON names differ, mapped to those."""
    found = _RENAMES.get(struct_type)
    if found is None:
        found = _RENAMES[struct_type] = {
            info.name: info.encode_name
            for info in _fields(struct_type)
            if info.name != info.encode_name
        }
    return found


def _item_type(tp: Any) -> Any:
    """Return the item type of ``list[X]``/``tuple[X, ...]``/``set[X]``, else ``_MISSING``."""
    tp = _strip(tp)
    if typing.get_origin(tp) in (list, tuple, set, frozenset, typing.Sequence):
        args = [arg for arg in typing.get_args(tp) if arg is not Ellipsis]
        return args[0] if len(args) == 1 else Any
    if tp in (list, tuple, set, frozenset):
        return Any
    return _MISSING


def accepts_models(model: Any) -> bool:
    """Return whether a route declaring ``model`` may return model instances and QuerySets."""
    if model is None or model is Any or model is object:
        return True
    if _struct(model) is not None:
        return True
    item = _item_type(model)
    return item is Any or _struct(item) is not None


# --- reading instances field by field -------------------------------------------------------------

Getter = Callable[[Any], Any]


def _forward_getter(name: str, nested: Getter) -> Getter:
    def read(instance: Any) -> Any:
        related = getattr(instance, name)
        return None if related is None else nested(related)

    return read


def _many_getter(name: str, nested: Getter | None) -> Getter:
    def read(instance: Any) -> Any:
        items = getattr(instance, name).all()
        if nested is None:
            return [item.pk for item in items]
        return [nested(item) for item in items]

    return read


def _attribute_getter(name: str) -> Getter:
    def read(instance: Any) -> Any:
        return getattr(instance, name, _MISSING)

    return read


def _relation_getter(django_field: Any, tp: Any) -> Getter | None:
    """Return how to read a relation field typed ``tp``; None when it is read as an attribute."""
    nested = _struct(tp)
    if django_field.many_to_many or django_field.one_to_many:
        item = _item_type(tp)
        if item is _MISSING:
            return None
        item_struct = _struct(item)
        reader = (
            None if item_struct is None else row_reader(item_struct, django_field.related_model)
        )
        return _many_getter(_accessor(django_field), reader)
    if nested is not None:
        return _forward_getter(
            _accessor(django_field), row_reader(nested, django_field.related_model)
        )
    if django_field.concrete:
        # A foreign key typed as a scalar: its id, never the related row.
        return _attribute_getter(django_field.attname)
    return None


def _accessor(django_field: Any) -> str:
    """Return the attribute name a relation is read through on an instance."""
    if django_field.concrete or not django_field.auto_created:
        return str(django_field.name)
    return str(django_field.get_accessor_name())


def _relations(model: type[Model]) -> dict[str, Any]:
    """Return the model's relation fields by the names a Struct field may use."""
    found: dict[str, Any] = {}
    for django_field in model._meta.get_fields():
        if not django_field.is_relation:
            continue
        found[django_field.name] = django_field
        if django_field.auto_created and not django_field.concrete:
            found[django_field.get_accessor_name()] = django_field
    return found


_READERS: dict[tuple[type[msgspec.Struct], type[Model]], Getter] = {}


def row_reader(struct_type: type[msgspec.Struct], model: type[Model]) -> Getter:
    """Return a function reading one ``model`` instance into a dict for ``struct_type``.

    Keys are the Struct's encoded names (ready for ``msgspec.convert``); a field the instance
    lacks is left out, so the Struct's default applies. Relations are read as loaded
    (:func:`apply_loading_plan` loads them for a QuerySet). Built once per pair.
    """
    key = (struct_type, model)
    reader = _READERS.get(key)
    if reader is not None:
        return reader
    relations = _relations(model)
    plan: list[tuple[str, Getter]] = []
    for info in _fields(struct_type):
        django_field = relations.get(info.name)
        getter = None if django_field is None else _relation_getter(django_field, info.type)
        plan.append((info.encode_name, getter or _attribute_getter(info.name)))

    def read(instance: Any) -> dict[str, Any]:
        row = {}
        for encoded, getter in plan:
            value = getter(instance)
            if value is not _MISSING:
                row[encoded] = value
        return row

    _READERS[key] = read
    return read


def loading_plan(
    struct_type: type[msgspec.Struct], model: type[Model]
) -> tuple[list[str], list[str]]:
    """Return the ``select_related`` and ``prefetch_related`` lookups ``struct_type`` reads.

    Forward relations typed as a Struct are joined (``select_related``), many-to-many and
    reverse ones typed as a list are prefetched, and a nested Struct's own relations follow with
    the ``__`` path of the relation that leads to it.
    """
    joins: list[str] = []
    prefetches: list[str] = []
    _plan_into(struct_type, model, "", joins, prefetches, 0, prefetched=False)
    return joins, prefetches


def _plan_into(
    struct_type: type[msgspec.Struct],
    model: type[Model],
    prefix: str,
    joins: list[str],
    prefetches: list[str],
    depth: int,
    *,
    prefetched: bool,
) -> None:
    if depth > 5:  # a Struct that nests itself: the rest is read as loaded
        return
    relations = _relations(model)
    for info in _fields(struct_type):
        django_field = relations.get(info.name)
        if django_field is None:
            continue
        path = prefix + _accessor(django_field)
        if django_field.many_to_many or django_field.one_to_many:
            item = _item_type(info.type)
            if item is _MISSING:
                continue
            prefetches.append(path)
            nested = _struct(item)
            if nested is not None:
                _plan_into(
                    nested, django_field.related_model, path + "__", joins, prefetches,
                    depth + 1, prefetched=True,
                )  # fmt: skip
            continue
        nested = _struct(info.type)
        if nested is None:
            continue
        # Under a prefetch, a join is expressed as a prefetch of the same path.
        (prefetches if prefetched else joins).append(path)
        _plan_into(
            nested, django_field.related_model, path + "__", joins, prefetches, depth + 1,
            prefetched=prefetched,
        )  # fmt: skip


def apply_loading_plan(queryset: QuerySet[Any], struct_type: type[msgspec.Struct]) -> QuerySet[Any]:
    """Return ``queryset`` with the loads ``struct_type`` needs added (none applied twice)."""
    joins, prefetches = loading_plan(struct_type, queryset.model)
    return add_loads(queryset, joins, prefetches)


def add_loads(
    queryset: QuerySet[Any], joins: Sequence[str], prefetches: Sequence[str]
) -> QuerySet[Any]:
    """Return ``queryset`` with the ``select_related`` joins and ``prefetch_related`` paths it
    does not have yet (a join already selected, or every relation selected, is not added)."""
    selected = queryset.query.select_related
    if joins and selected is not True:
        have = selected if isinstance(selected, dict) else {}
        missing = [path for path in joins if not _selected(have, path)]
        if missing:
            queryset = queryset.select_related(*missing)
    if prefetches:
        done = {
            getattr(item, "prefetch_through", item) for item in queryset._prefetch_related_lookups
        }
        todo = [path for path in prefetches if path not in done]
        if todo:
            queryset = queryset.prefetch_related(*todo)
    return queryset


def _selected(tree: dict[str, Any], path: str) -> bool:
    for part in path.split("__"):
        nested = tree.get(part)
        if not isinstance(nested, dict):
            return False
        tree = nested
    return True


# --- no declared type: concrete fields ------------------------------------------------------------


def instance_dict(instance: Model) -> dict[str, Any]:
    """Return ``instance``'s concrete fields by attribute name (deferred ones left out)."""
    loaded = instance.__dict__
    return {
        django_field.attname: loaded[django_field.attname]
        for django_field in instance._meta.concrete_fields
        if django_field.attname in loaded
    }


def _without_prefetches(queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Return ``queryset`` without prefetches (rows as dicts have nothing to prefetch into);
    a QuerySet without any is returned as it is (a clone costs more than the check)."""
    return queryset.prefetch_related(None) if queryset._prefetch_related_lookups else queryset


def _plain_rows(queryset: QuerySet[Any]) -> list[Any]:
    if queryset._iterable_class is not ModelIterable:
        return list(queryset)  # .values() / .values_list(): the rows as they are
    if queryset.query.deferred_loading[0]:
        # only()/defer(): the loaded fields of each instance, nothing fetched one by one.
        return [instance_dict(instance) for instance in queryset]
    return list(_without_prefetches(queryset).values())


# --- declared Structs: values() or field by field -------------------------------------------------


_VALUES_NAMES: dict[tuple[type[msgspec.Struct], type[Model]], tuple[str, ...] | None] = {}


def _column_names(struct_type: type[msgspec.Struct], model: type[Model]) -> tuple[str, ...] | None:
    """Return the Struct's field names when each is a column of ``model``; else None.

    The answer leaves annotations out: they belong to one QuerySet (checked per call).
    """
    key = (struct_type, model)
    if key in _VALUES_NAMES:
        return _VALUES_NAMES[key]
    columns = {"pk"}
    for django_field in model._meta.concrete_fields:
        columns.add(django_field.attname)
        if not django_field.is_relation:
            columns.add(django_field.name)
    relations = {
        django_field.name
        for django_field in model._meta.concrete_fields
        if django_field.is_relation and not django_field.many_to_many
    }
    names = []
    for info in _fields(struct_type):
        if info.name in columns or (info.name in relations and _struct(info.type) is None):
            names.append(info.name)
        else:
            names.append("")  # not a column: maybe an annotation of the QuerySet
    result = tuple(names)
    _VALUES_NAMES[key] = result
    return result


def _values_projection(
    queryset: QuerySet[Any], struct_type: type[msgspec.Struct]
) -> list[str] | None:
    names = _column_names(struct_type, queryset.model)
    if names is None or queryset._iterable_class is not ModelIterable:
        return None
    annotations = queryset.query.annotations
    fields = _fields(struct_type)
    projection = []
    for name, info in zip(names, fields, strict=True):
        if name:
            projection.append(name)
        elif info.name in annotations:
            projection.append(info.name)
        else:
            return None
    return projection


_ROW_PLANS: dict[tuple[type[msgspec.Struct], type[Model]], RowPlan] = {}


def _row_plan(
    struct_type: type[msgspec.Struct], model: type[Model], projection: Sequence[str]
) -> RowPlan:
    """Return the plan of a Struct whose fields are all columns (``projection``: their names,
    the same for every QuerySet of ``model``)."""
    key = (struct_type, model)
    plan = _ROW_PLANS.get(key)
    if plan is None:
        keys = [info.encode_name for info in _fields(struct_type)]
        plan = _ROW_PLANS[key] = RowPlan(struct_type, keys, model, projection)
    return plan


def _struct_rows(queryset: QuerySet[Any], struct_type: type[msgspec.Struct]) -> list[Any]:
    """Return the rows of ``queryset`` as ``struct_type`` instances or as dicts ready to
    convert to it."""
    projection = _values_projection(queryset, struct_type)
    if projection is not None:
        if (
            projection
            and not queryset.query.combinator
            and all(_column_names(struct_type, queryset.model) or ("",))
        ):
            # Every field a column (no annotation): read column by column (_django/rows.py).
            plan = _row_plan(struct_type, queryset.model, projection)
            return read_columns(queryset, projection, plan)
        rows = list(_without_prefetches(queryset).values(*projection))
        renames = _renames(struct_type)
        if renames:
            rows = [{renames.get(key, key): value for key, value in row.items()} for row in rows]
        return rows
    if queryset._iterable_class is not ModelIterable:
        return list(queryset)
    reader = row_reader(struct_type, queryset.model)
    return [reader(instance) for instance in apply_loading_plan(queryset, struct_type)]


class ModelResults:
    """How one route turns model instances, lists of them and QuerySets into a JSON body.

    Built once per route from its declared type (see the module docstring). :meth:`encode`
    reads the database and must run where the ORM may (a pool thread); :meth:`aencode` runs it
    there from the event loop.
    """

    __slots__ = ("_declared", "_handler", "_item_struct", "_list", "_many", "_struct")

    def __init__(self, model: Any, handler_name: str) -> None:
        self._declared = model
        self._handler = handler_name
        self._struct = _struct(model)
        item = _item_type(model)
        self._many = item is not _MISSING
        self._item_struct = _struct(item) if self._many else None
        # A list of the item Structs is what msgspec.convert would make of one (list[S]).
        self._list = self._item_struct is not None and typing.get_origin(_strip(model)) is list

    def to_data(self, value: Any) -> Any:
        """Return ``value`` (an instance, a list of them, a QuerySet, an :class:`ObjectQuery`)
        as JSON-ready data."""
        if value.__class__ is ObjectQuery:
            row = self._object_row(value)
            if row is not _MISSING:
                return self._converted(row)
            value = value.fetch()
        target = self._item_struct if self._many else self._struct
        if target is None:
            return self._plain(value)
        from_models = getattr(target, "__bolt_from_models__", None)
        if from_models is not None:
            # A serializer reads its instances itself (loads, sources, computed fields).
            return self._serialized(from_models, value)
        if isinstance(value, QuerySet):
            rows: Any = _struct_rows(value, target)
            if self._list and rows and rows[0].__class__ is target:
                return rows  # built from values msgspec.convert would have taken as they are
        elif isinstance(value, Model):
            rows = row_reader(target, type(value))(value)
        else:
            rows = [
                row_reader(target, type(item))(item) if isinstance(item, Model) else item
                for item in value
            ]
        return self._converted(rows)

    def _converted(self, rows: Any) -> Any:
        if rows.__class__ is self._declared:
            return rows  # a Struct built from values msgspec.convert takes as they are
        try:
            return msgspec.convert(rows, self._declared)
        except msgspec.ValidationError as exc:
            raise ResponseValidationError(str(exc), self._handler) from None

    def _object_row(self, query: ObjectQuery) -> Any:
        """Return the object ``query`` names read as a row of the declared Struct, when every
        field is a column whose attribute is its value; else ``_MISSING`` (read the instance)."""
        target = self._struct
        queryset = query.queryset
        if (
            self._many
            or target is None
            or hasattr(target, "__bolt_from_models__")
            or queryset._iterable_class is not ModelIterable
        ):
            return _MISSING
        names = _column_names(target, queryset.model)
        if not names or not all(names):
            return _MISSING
        plan = _row_plan(target, queryset.model, names)
        return query.fetch_row(names, plan) if plan.plain_attributes else _MISSING

    def _serialized(self, from_models: Callable[[Any], list[Any]], value: Any) -> Any:
        if isinstance(value, Model):
            rows = from_models([value])
            return rows[0] if not self._many else rows
        if self._many or not isinstance(value, QuerySet):
            return from_models(value)
        raise ResponseValidationError("Expected one object, got a QuerySet", self._handler)

    def _plain(self, value: Any) -> Any:
        if isinstance(value, QuerySet):
            return _plain_rows(value)
        if isinstance(value, Model):
            return instance_dict(value)
        return [instance_dict(item) if isinstance(item, Model) else item for item in value]

    def encode(self, value: Any) -> bytes:
        """Return ``value`` encoded as JSON (reads the database: call it in a pool thread)."""
        return encode_json(self.to_data(value))

    async def aencode(self, value: Any) -> bytes:
        """Return ``value`` encoded as JSON, read in the pool without blocking the event loop."""
        encoded: bytes = await run_orm(self.encode, {"value": value})
        return encoded

    def respond(
        self, value: Any, status_code: int, headers: list[tuple[bytes, bytes]]
    ) -> WireResponse:
        """Return the response whose body is ``value`` encoded (call it in a pool thread)."""
        return WireResponse(status_code, headers, encode_json(self.to_data(value)))

    def arespond(
        self, value: Any, status_code: int, headers: list[tuple[bytes, bytes]]
    ) -> Awaitable[WireResponse]:
        """Return :meth:`respond`'s response, made in the pool: the awaitable the pool gives,
        with no coroutine of ours around it."""
        kwargs = {"value": value, "status_code": status_code, "headers": headers}
        found: Awaitable[WireResponse] = run_orm(self.respond, kwargs)
        return found


# --- the route converter's hooks ------------------------------------------------------------------


# A declared type that never allows model results (a converter not made for a route).
NO_MODELS: Final[Any] = dict


def _reraise(result: Any) -> WireResponse:
    raise  # the TypeError the converter is handling


def model_hooks(
    model: Any,
    validate_value: Callable[[Any], Any] | None,
    handler_name: str,
    status_code: int,
    json_fields: tuple[tuple[bytes, bytes], ...],
) -> tuple[Callable[[Any], Any] | None, Callable[[Any], Any] | None, Callable[[Any], WireResponse]]:
    """Return a converter's model hooks: the check of dicts and lists, the slow path's check,
    and what a list msgspec could not encode becomes (see ``build_result_converter``)."""
    if not accepts_models(model):
        return validate_value, validate_value, _reraise
    models = ModelResults(model, handler_name)

    def other_value(result: Any) -> Any:
        if result.__class__ is ReadModels:
            return WireResponse(status_code, [*json_fields], result.body)
        if isinstance(result, MODEL_RESULTS):
            return PendingModels(models, result, status_code, json_fields)
        return result if validate_value is None else validate_value(result)

    def unencodable(result: Any) -> WireResponse:
        # A list of model instances (seen first, by the validator, or now by the encoder).
        if _is_model_list(result):
            return PendingModels(models, result, status_code, json_fields)
        raise  # the TypeError the converter is handling

    if validate_value is None:
        return None, other_value, unencodable
    check = validate_value

    def validate_list(result: Any) -> Any:
        if _is_model_list(result):
            return result  # read in the pool, not validated attribute by attribute here
        return check(result)

    return validate_list, other_value, unencodable


def _is_model_list(result: Any) -> bool:
    return type(result) is list and bool(result) and isinstance(result[0], Model)


class ReadModels:
    """A ``def`` handler's model result, read and encoded in the handler's own pool call
    (:func:`pool_reader`); the route's converter sends ``body`` as it is."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def pool_reader(model: Any, handler_name: str, status_code: int) -> Callable[[Any], Any] | None:
    """Return what the pool thread of a ``def`` handler does with its result: a model result
    read and encoded there, in the same pool call as the handler, instead of in a second one
    (:class:`ReadModels`); any other result passed on as it is.

    None when the route's converter takes no model results (its declared type allows none, or
    its status has no body): the handler's result then goes to the converter untouched.
    """
    if status_code in (204, 304) or status_code < 200 or not accepts_models(model):
        return None
    models = ModelResults(model, handler_name)

    def read(result: Any) -> Any:
        if isinstance(result, MODEL_RESULTS) or _is_model_list(result):
            return ReadModels(models.encode(result))
        return result

    return read


class PendingModels(WireResponse):
    """A converter's answer for a model result: the body is read in the pool, then sent.

    Dispatch sees that it is not a plain ``WireResponse`` and awaits what ``finish`` returns.
    """

    __slots__ = ("models", "value")

    def __init__(
        self,
        models: ModelResults,
        value: Any,
        status_code: int,
        fields: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        super().__init__(status_code, [*fields], b"")
        self.models = models
        self.value = value

    def finish(self, request: object) -> Awaitable[WireResponse]:
        """Return the response once the rows are read and encoded."""
        return self.models.arespond(self.value, self.status_code, self.raw_headers)
