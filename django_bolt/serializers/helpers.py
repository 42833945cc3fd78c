"""Serializer classes made from Django models: ``create_serializer`` and
``create_serializer_set``.

Each concrete field of the model becomes a typed serializer field: its Python type from the
column type, ``max_length`` as a constraint, ``choices`` as a ``Literal`` of the stored values,
``null=True`` as ``| None``, a default (or ``blank``) as optional. A foreign key is its id
(``<name>`` typed as the related primary key).
"""

from __future__ import annotations

import datetime
import decimal
import typing
import uuid
from typing import Annotated, Any, Final

import msgspec
from django.db import models

from django_bolt.serializers.base import Serializer
from django_bolt.serializers.fields import field

__all__ = ("create_serializer", "create_serializer_set", "django_field_type")

# Column types in order: a subclass (PositiveIntegerField, SlugField) before its base class.
_COLUMN_TYPES: Final[tuple[tuple[type[models.Field[Any, Any]], Any], ...]] = (
    (models.BooleanField, bool),
    (models.PositiveBigIntegerField, Annotated[int, msgspec.Meta(ge=0)]),
    (models.PositiveIntegerField, Annotated[int, msgspec.Meta(ge=0)]),
    (models.PositiveSmallIntegerField, Annotated[int, msgspec.Meta(ge=0)]),
    (models.IntegerField, int),
    (models.AutoField, int),
    (models.BigAutoField, int),
    (models.SmallAutoField, int),
    (models.FloatField, float),
    (models.DecimalField, decimal.Decimal),
    (models.DateTimeField, datetime.datetime),
    (models.DateField, datetime.date),
    (models.TimeField, datetime.time),
    (models.DurationField, datetime.timedelta),
    (models.UUIDField, uuid.UUID),
    (models.JSONField, Any),
    (models.BinaryField, bytes),
)
_LITERAL: Final[Any] = typing.Literal
_ANNOTATED: Final[Any] = Annotated
# Serializer's metaclass, which makes the classes (as a class statement would).
_META: Final[Any] = type(Serializer)


def django_field_type(django_field: Any) -> Any:
    """Return the Python type of a concrete model field's value, with its constraints."""
    if django_field.is_relation:
        return django_field_type(django_field.target_field)
    if django_field.choices:
        values = tuple(value for value, _ in django_field.flatchoices)
        tp: Any = _LITERAL[values]
    else:
        tp = str
        for column, python_type in _COLUMN_TYPES:
            if isinstance(django_field, column):
                tp = python_type
                break
        max_length = getattr(django_field, "max_length", None)
        if tp is str and max_length:
            tp = _ANNOTATED[str, msgspec.Meta(max_length=max_length)]
    return tp | None if django_field.null else tp


def _field_spec(django_field: Any, read_only: bool, write_only: bool) -> tuple[Any, Any]:
    """Return (annotation, default) of the serializer field for ``django_field``."""
    tp = django_field_type(django_field)
    options: dict[str, Any] = {"read_only": read_only, "write_only": write_only}
    if django_field.help_text:
        options["description"] = str(django_field.help_text)
    if django_field.has_default():
        default = django_field.default
        if callable(default):
            options["default_factory"] = default
        else:
            # A choices enum member is stored (and sent) as its value.
            options["default"] = getattr(default, "value", default)
    elif django_field.null:
        options["default"] = None
    elif django_field.primary_key and not write_only:
        options["read_only"] = True  # the database assigns it
    return tp, field(**options)


def create_serializer(
    model: type[models.Model],
    *,
    fields: list[str] | None = None,
    exclude: list[str] | None = None,
    write_only: set[str] | None = None,
    read_only: set[str] | None = None,
    serializer_name: str | None = None,
) -> Any:
    """Return a serializer class with ``model``'s concrete fields (``fields`` only, when given,
    in that order; ``exclude`` left out). The primary key is read-only unless said otherwise."""
    concrete = {django_field.name: django_field for django_field in model._meta.concrete_fields}
    names = list(fields) if fields is not None else list(concrete)
    unknown = [name for name in names if name not in concrete]
    if unknown:
        raise ValueError(f"{model.__name__} has no concrete field {', '.join(unknown)}")
    skipped = set(exclude or ())
    write_only = set(write_only or ())
    read_only = set(read_only or ())
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": model.__module__}
    for name in names:
        if name in skipped:
            continue
        tp, spec = _field_spec(concrete[name], name in read_only, name in write_only)
        annotations[name] = tp
        namespace[name] = spec
    namespace["__annotations__"] = annotations
    namespace["Config"] = type("Config", (), {"model": model})
    name = serializer_name or f"{model.__name__}Serializer"
    return _META(name, (Serializer,), namespace, kw_only=True)


def create_serializer_set(
    model: type[models.Model],
    *,
    create_fields: list[str] | None = None,
    update_fields: list[str] | None = None,
    public_fields: list[str] | None = None,
    write_only: set[str] | None = None,
    read_only: set[str] | None = None,
) -> tuple[Any, Any, Any]:
    """Return (create, update, public) serializers for ``model``.

    The create serializer takes the writable fields; the update one the same fields, every one
    optional (a partial update); the public one everything, write-only fields hidden.
    """
    concrete = [django_field.name for django_field in model._meta.concrete_fields]
    pk_name = model._meta.pk.name if model._meta.pk is not None else "id"
    writable = [name for name in concrete if name != pk_name and name not in (read_only or ())]
    create = create_serializer(
        model,
        fields=create_fields or writable,
        write_only=write_only,
        serializer_name=f"{model.__name__}CreateSerializer",
    )
    update_names = update_fields or writable
    update = _all_optional(
        create_serializer(
            model,
            fields=update_names,
            write_only=write_only,
            serializer_name=f"{model.__name__}UpdateSerializer",
        )
    )
    public = create_serializer(
        model,
        fields=public_fields or concrete,
        write_only=write_only,
        read_only=read_only,
        serializer_name=f"{model.__name__}PublicSerializer",
    )
    return create, update, public


def _all_optional(cls: Any) -> Any:
    """Return a copy of ``cls`` whose fields all default to None (and so may be left out)."""
    annotations = {info.name: info.type | None for info in msgspec.structs.fields(cls)}
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__annotations__": annotations}
    for info in msgspec.structs.fields(cls):
        namespace[info.name] = None
    namespace["Config"] = cls.Config
    return _META(cls.__name__, (Serializer,), namespace, kw_only=True, omit_defaults=True)
