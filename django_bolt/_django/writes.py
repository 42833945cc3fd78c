"""Writing a request body to a model instance, as the CRUD mixins of ``views.py`` do.

A body's fields are set on the instance (a ``Serializer`` writes its column values, read-only
fields left out), the model's own validation runs in the pool (``full_clean`` and the unique
constraints, checked on the database the instance is saved to), and a save that still meets a
unique constraint (a row written meanwhile) is a 422 as well, in the framework's error shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, router

from django_bolt.concurrency import sync_to_thread
from django_bolt.exceptions import RequestValidationError
from django_bolt.serializers import Serializer

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ("assign", "saved", "validated", "write_fields")


def write_fields(data: Any) -> dict[str, Any]:
    """Return the fields a request body sets (those left out of a PATCH are UNSET)."""
    return {
        name: value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


def assign(obj: Any, data: Any) -> Any:
    """Write a create or update body to ``obj``: a Serializer its column values (read-only
    fields left out), a Struct each field."""
    if isinstance(data, Serializer):
        return data.update_instance(obj)
    for name, value in write_fields(data).items():
        setattr(obj, name, value)
    return obj


async def validated(obj: Any) -> Any:
    """Run the model's validation on ``obj`` (a 422 when it fails); return it."""
    await sync_to_thread(_check_model, obj)
    return obj


def _check_model(obj: Any) -> None:
    """Raise a 422 for what the model's validation refuses, uniqueness included."""
    errors: dict[str, list[str]] = {}
    try:
        # Django's own unique check reads the default database whatever the object's is.
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        errors = {field: list(messages) for field, messages in exc.message_dict.items()}
    for field, message in _unique_clashes(obj):
        errors.setdefault(field, []).append(message)
    if errors:
        raise _body_errors(errors)


def _body_errors(errors: dict[str, list[str]]) -> RequestValidationError:
    return RequestValidationError(
        [
            {"loc": ["body", field], "msg": message, "type": "value_error"}
            for field, messages in errors.items()
            for message in messages
        ]
    )


def _unique_clashes(obj: Any) -> list[tuple[str, str]]:
    """Return ``(field, message)`` for each unique constraint another row already holds."""
    database = router.db_for_write(type(obj), instance=obj)
    unique_checks, _ = obj._get_unique_checks()
    clashes: list[tuple[str, str]] = []
    for model_class, fields in unique_checks:
        lookup = {}
        for name in fields:
            value = getattr(obj, model_class._meta.get_field(name).attname)
            if value is None:
                break  # NULLs never clash
            lookup[name] = value
        else:
            others = model_class._default_manager.using(database).filter(**lookup)
            if obj.pk is not None:
                others = others.exclude(pk=obj.pk)
            if others.exists():
                error = obj.unique_error_message(model_class, fields)
                field = fields[0] if len(fields) == 1 else NON_FIELD_ERRORS
                clashes.append((field, error.messages[0]))
    return clashes


async def saved(obj: Any, perform: Callable[[Any], Awaitable[None]]) -> Any:
    """Save through the viewset's hook; a row saved meanwhile with the same unique value is a
    422 as well (the database refused what the check before could not see)."""
    try:
        await perform(obj)
    except IntegrityError:
        clashes = await sync_to_thread(_unique_clashes, obj)
        if not clashes:
            raise
        errors: dict[str, list[str]] = {}
        for field, message in clashes:
            errors.setdefault(field, []).append(message)
        raise _body_errors(errors) from None
    return obj
