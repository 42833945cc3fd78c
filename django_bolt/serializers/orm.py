"""Serializers and Django models: reading instances (``from_model``), loading QuerySets
(``from_models``, ``loading_plan``) and writing back (``to_model``, ``update_instance``).

A reader is compiled once per (serializer, model) pair: for each field, where its value comes
from (the field's name or its ``source``, dots following relations) and what kind of value it
is (a column, a foreign key's id, a nested serializer, a list of them).

``from_model`` never queries: a relation it needs must already be loaded (``select_related``,
``prefetch_related``); an unloaded one keeps the field's default, or raises
:class:`SerializationError` naming the load to add. ``afrom_model`` and ``afrom_models`` run the
reader in the thread pool of ``def`` handlers with lazy loading allowed, so nothing blocks the
event loop.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet

from django_bolt._django.models import add_loads
from django_bolt.concurrency import run_in_pool
from django_bolt.serializers.plan import NESTED_MANY, NESTED_ONE, nested_kind

__all__ = (
    "LoadingPlan",
    "SerializationError",
    "from_model",
    "from_models",
    "loading_plan",
    "prepare_queryset",
    "to_model",
    "update_instance",
)

_SKIP: Final[Any] = object()


class SerializationError(Exception):
    """A serializer could not be filled from a model instance (a relation was not loaded)."""


@dataclasses.dataclass(frozen=True)
class LoadingPlan:
    """What a serializer reads of a model: joins, prefetches and annotations to add."""

    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    annotations: dict[str, Any] = dataclasses.field(default_factory=dict)


def _relation(model: type[Model], name: str) -> Any:
    """Return the model's field or reverse relation reached as ``name``, or None."""
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        pass
    for rel in model._meta.related_objects:
        if rel.get_accessor_name() == name:
            return rel
    return None


def _accessor(django_field: Any) -> str:
    if django_field.concrete or not django_field.auto_created:
        return str(django_field.name)
    return str(django_field.get_accessor_name())


def _is_many(django_field: Any) -> bool:
    return bool(django_field.many_to_many or django_field.one_to_many)


def _loaded(instance: Any, django_field: Any) -> bool:
    """Return whether reading the relation on ``instance`` costs no query."""
    if _is_many(django_field):
        cache = getattr(instance, "_prefetched_objects_cache", {})
        names = {_accessor(django_field), django_field.name}
        if django_field.auto_created and not django_field.concrete:
            # A reverse relation (Django 6.1 no longer calls a forward many-to-many concrete).
            names.add(django_field.field.related_query_name())
        return any(name in cache for name in names)
    if django_field.concrete:
        return (
            bool(django_field.is_cached(instance))
            or getattr(instance, django_field.attname, None) is None
        )
    return bool(django_field.is_cached(instance))


# --- readers --------------------------------------------------------------------------------------

Reader = Callable[[Any, bool], Any]


def _hint(cls: Any, path: str, many: bool) -> str:
    load = "prefetch_related" if many else "select_related"
    return (
        f"{cls.__name__}.from_model() needs the relation {path!r} loaded: use "
        f"{load}({path!r}) on the QuerySet, from_models(), or afrom_model()"
    )


def _unloaded(cls: Any, path: str, many: bool, has_default: bool) -> Any:
    if has_default:
        return _SKIP
    raise SerializationError(_hint(cls, path, many))


def _field_reader(cls: Any, model: type[Model], info: Any, source: str) -> Reader:
    """Return the reader of one serializer field."""
    parts = source.split(".")
    has_default = not info.required
    if len(parts) > 1:
        return _path_reader(cls, model, parts, source, has_default)
    django_field = _relation(model, source)
    if django_field is None or not django_field.is_relation:

        def read_attribute(instance: Any, lazy: bool) -> Any:
            return getattr(instance, source, _SKIP)

        return read_attribute
    kind = nested_kind(info.type)
    nested: Any = None if kind is None else kind[1]
    if _is_many(django_field):
        return _many_reader(
            cls, django_field, nested if kind and kind[0] == NESTED_MANY else None, has_default
        )
    if kind is not None and kind[0] == NESTED_ONE:
        return _one_reader(cls, django_field, nested, has_default)
    attname = getattr(django_field, "attname", None)
    if attname is None:
        return _one_reader(cls, django_field, None, has_default)

    def read_column(instance: Any, lazy: bool) -> Any:
        # A foreign key typed as a scalar: its column, never the related row.
        return getattr(instance, attname)

    return read_column


def _many_reader(cls: Any, django_field: Any, nested: Any, has_default: bool) -> Reader:
    """Return the reader of a many relation: nested serializers, or primary keys."""
    accessor = _accessor(django_field)

    def read_many(instance: Any, lazy: bool) -> Any:
        if not lazy and not _loaded(instance, django_field):
            return _unloaded(cls, accessor, True, has_default)
        items = getattr(instance, accessor).all()
        if nested is None:
            return [item.pk for item in items]
        return [nested.build_from_model(item, lazy) for item in items]

    return read_many


def _one_reader(cls: Any, django_field: Any, nested: Any, has_default: bool) -> Reader:
    """Return the reader of a single relation: a nested serializer, or the related row's key."""
    accessor = _accessor(django_field)

    def read_one(instance: Any, lazy: bool) -> Any:
        if not lazy and not _loaded(instance, django_field):
            return _unloaded(cls, accessor, False, has_default)
        related = getattr(instance, accessor, None)
        if related is None:
            return None
        return related.pk if nested is None else nested.build_from_model(related, lazy)

    return read_one


def _path_reader(
    cls: Any, model: type[Model], parts: list[str], source: str, has_default: bool
) -> Reader:
    """Return the reader of a dotted ``source``: relations checked loaded, step by step."""
    steps: list[tuple[str, Any]] = []
    current: Any = model
    for part in parts:
        django_field = _relation(current, part) if current is not None else None
        relation = django_field if django_field is not None and django_field.is_relation else None
        steps.append((part, relation))
        current = relation.related_model if relation is not None else None

    def read_path(instance: Any, lazy: bool) -> Any:
        value = instance
        for index, (part, relation) in enumerate(steps):
            if value is None:
                return None
            if relation is not None and not lazy and not _loaded(value, relation):
                path = "__".join(parts[: index + 1])
                return _unloaded(cls, path, _is_many(relation), has_default)
            value = getattr(value, part, None)
        return value

    return read_path


_READERS: Final[dict[tuple[Any, type[Model]], Callable[[Any, bool], dict[str, Any]]]] = {}
_LOCK: Final = threading.Lock()


def model_reader(cls: Any, model: type[Model]) -> Callable[[Any, bool], dict[str, Any]]:
    """Return the compiled reader of ``model`` instances for ``cls``: ``(instance, lazy)`` to
    the keyword arguments of ``cls``."""
    key = (cls, model)
    reader = _READERS.get(key)
    if reader is not None:
        return reader
    configs = cls.__bolt_field_configs__
    readers = []
    for info in msgspec.structs.fields(cls):
        option = configs.get(info.name)
        source = option.source if option is not None and option.source else info.name
        readers.append((info.name, _field_reader(cls, model, info, source)))
    fields = tuple(readers)

    def read(instance: Any, lazy: bool) -> dict[str, Any]:
        kwargs = {}
        for name, field_reader in fields:
            value = field_reader(instance, lazy)
            if value is not _SKIP:
                kwargs[name] = value
        return kwargs

    with _LOCK:
        _READERS[key] = read
    return read


def from_model(cls: Any, instance: Model, lazy: bool = False) -> Any:
    """Return a ``cls`` instance filled from ``instance`` (``lazy``: relations may be loaded)."""
    kwargs = model_reader(cls, type(instance))(instance, lazy)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a field the model does not have, and no default
        model = type(instance).__name__
        raise SerializationError(f"{cls.__name__} from a {model}: {exc}") from exc


# --- QuerySets ------------------------------------------------------------------------------------


def loading_plan(cls: Any, model: type[Model]) -> LoadingPlan:
    """Return what ``cls`` reads of ``model``: the joins, prefetches and annotations to add."""
    joins: list[str] = []
    prefetches: list[str] = []
    _plan_into(cls, model, "", joins, prefetches, prefetched=False, depth=0)
    config = getattr(cls, "Config", None)
    annotations = dict(getattr(config, "annotations", {}) or {})
    # Each path once, in the order the fields name them.
    return LoadingPlan(tuple(dict.fromkeys(joins)), tuple(dict.fromkeys(prefetches)), annotations)


def _plan_into(
    cls: Any,
    model: type[Model],
    prefix: str,
    joins: list[str],
    prefetches: list[str],
    *,
    prefetched: bool,
    depth: int,
) -> None:
    if depth > 5:  # a serializer nesting itself: deeper levels are read as loaded
        return
    configs = cls.__bolt_field_configs__
    for info in msgspec.structs.fields(cls):
        option = configs.get(info.name)
        source = option.source if option is not None and option.source else info.name
        parts = source.split(".")
        if len(parts) > 1:
            crossed = _relation_path(model, parts)
            if crossed is not None:
                (prefetches if prefetched or crossed[1] else joins).append(prefix + crossed[0])
            continue
        django_field = _relation(model, source)
        if django_field is None or not django_field.is_relation:
            continue
        path = prefix + _accessor(django_field)
        kind = nested_kind(info.type)
        if _is_many(django_field):
            prefetches.append(path)
            if kind is not None:
                _plan_into(
                    kind[1], django_field.related_model, path + "__", joins, prefetches,
                    prefetched=True, depth=depth + 1,
                )  # fmt: skip
        elif kind is not None or not django_field.concrete:
            (prefetches if prefetched else joins).append(path)
            if kind is not None:
                _plan_into(
                    kind[1], django_field.related_model, path + "__", joins, prefetches,
                    prefetched=prefetched, depth=depth + 1,
                )  # fmt: skip


def _relation_path(model: type[Model], parts: list[str]) -> tuple[str, bool] | None:
    """Return the relations a dotted source crosses as a lookup path, and whether any is many."""
    relations: list[str] = []
    many = False
    current: Any = model
    for part in parts[:-1]:
        django_field = _relation(current, part)
        if django_field is None or not django_field.is_relation:
            break
        relations.append(_accessor(django_field))
        many = many or _is_many(django_field)
        current = django_field.related_model
    return ("__".join(relations), many) if relations else None


def prepare_queryset(cls: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """Return ``queryset`` with the loads ``cls`` needs added; loads it has are kept, not
    repeated."""
    plan = loading_plan(cls, queryset.model)
    if plan.annotations:
        missing = {
            key: value
            for key, value in plan.annotations.items()
            if key not in queryset.query.annotations
        }
        if missing:
            queryset = queryset.annotate(**missing)
    return add_loads(queryset, plan.select_related, plan.prefetch_related)


def from_models(
    cls: Any, objects: QuerySet[Any] | Iterable[Model], lazy: bool = False
) -> list[Any]:
    """Return a ``cls`` instance per object; a QuerySet gets the loads ``cls`` needs first."""
    if isinstance(objects, QuerySet):
        objects = prepare_queryset(cls, objects)
    return [cls.build_from_model(item, lazy) for item in objects]


async def afrom_models(cls: Any, objects: QuerySet[Any] | Iterable[Model]) -> list[Any]:
    """Return :func:`from_models` read in the pool (relations may load lazily)."""
    found: list[Any] = await run_in_pool(
        from_models, {"cls": cls, "objects": objects, "lazy": True}
    )
    return found


async def afrom_model(cls: Any, instance: Model) -> Any:
    """Return :func:`from_model` read in the pool, missing relations loaded."""
    return await run_in_pool(from_model, {"cls": cls, "instance": instance, "lazy": True})


# --- back to models -------------------------------------------------------------------------------


def _model_values(serializer: Any, model: type[Model]) -> dict[str, Any]:
    """Return the serializer's values that are columns of ``model`` (read-only ones left out)."""
    columns: dict[str, str] = {}
    for django_field in model._meta.concrete_fields:
        columns[django_field.name] = django_field.name
        columns[django_field.attname] = django_field.attname
    read_only = type(serializer).__bolt_read_only__
    return {
        columns[name]: getattr(serializer, name)
        for name in serializer.__struct_fields__
        if name in columns and name not in read_only
    }


def to_model(serializer: Any, model: type[Model]) -> Model:
    """Return an unsaved ``model`` instance with the serializer's column values."""
    return model(**_model_values(serializer, model))


def update_instance(serializer: Any, instance: Model, omit_defaults: bool = False) -> Model:
    """Set the serializer's column values on ``instance`` (not saved); return it.

    With ``omit_defaults``, fields still equal to their default are left as they are.
    """
    values = _model_values(serializer, type(instance))
    if omit_defaults:
        kept = serializer.to_dict(exclude_unset=True)
        values = {key: value for key, value in values.items() if key in kept}
    for name, value in values.items():
        setattr(instance, name, value)
    return instance
