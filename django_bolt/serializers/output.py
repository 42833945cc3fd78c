"""A serializer instance as output: the dict ``dump`` returns and responses send."""

from __future__ import annotations

import functools
import operator
import types
import typing
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt.exceptions import RequestValidationError, ResponseValidationError
from django_bolt.serializers.plan import NESTED_MANY, output_plan, strip_type

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from django_bolt.serializers.plan import OutputPlan

__all__ = (
    "OUTPUT_SERIALIZERS",
    "dump_instance",
    "dump_nested",
    "output_adapter",
    "output_type",
)


def dump_instance(
    instance: Any,
    plan: OutputPlan,
    selected: frozenset[str] | None,
    exclude_none: bool,
    exclude_defaults: bool,
    by_alias: bool,
) -> dict[str, Any]:
    """Return one instance's output dict (the work of ``Serializer.dump`` and the views').

    ``selected`` (attribute and computed names) limits the top level to those fields.
    """
    keys = plan.keys if by_alias else plan.names
    values = plan.get_values(instance)
    if selected is None:
        out = dict(zip(keys, values, strict=True))
    else:
        out = {
            key: value
            for key, name, value in zip(keys, plan.names, values, strict=True)
            if name in selected
        }
    for key, kind, serializer in plan.nested:
        if not by_alias:
            key = plan.python_keys[key]
        value = out.get(key)
        if value is None:
            continue
        nested_plan = output_plan(serializer)
        if kind == NESTED_MANY:
            out[key] = [
                dump_instance(item, nested_plan, None, exclude_none, exclude_defaults, by_alias)
                if isinstance(item, serializer)
                else item
                for item in value
            ]
        elif isinstance(value, serializer):
            out[key] = dump_instance(
                value, nested_plan, None, exclude_none, exclude_defaults, by_alias
            )
    for computed in plan.computed:
        if selected is None or computed.method_name in selected or computed.output_name in selected:
            out[computed.output_name] = getattr(instance, computed.method_name)()
    if exclude_none or exclude_defaults:
        out = _excluded(out, plan, exclude_none, exclude_defaults, by_alias)
    return out


def _excluded(
    out: dict[str, Any],
    plan: OutputPlan,
    exclude_none: bool,
    exclude_defaults: bool,
    by_alias: bool,
) -> dict[str, Any]:
    defaults = plan.defaults
    kept: dict[str, Any] = {}
    for key, value in out.items():
        if exclude_none and value is None:
            continue
        name = plan.python_keys.get(key, key) if by_alias else key
        if exclude_defaults and name in defaults and value == defaults[name]:
            continue
        kept[key] = value
    return kept


# --- responses -----------------------------------------------------------------------------------

# Serializer classes whose output differs from their fields (write-only or excluded fields,
# computed fields): while there is none, routes without a response type skip the check.
OUTPUT_SERIALIZERS: Final[set[type]] = set()


def _serializer_of(tp: Any) -> tuple[type | None, bool]:
    """Return (the serializer ``tp`` declares, whether as a list of them)."""
    tp = strip_type(tp)
    if getattr(tp, "__bolt_serializer__", False) is True:
        return tp, False
    if typing.get_origin(tp) in (list, tuple, set, frozenset):
        args = [arg for arg in typing.get_args(tp) if arg is not Ellipsis]
        item = strip_type(args[0]) if len(args) == 1 else None
        if getattr(item, "__bolt_serializer__", False) is True:
            return item, True
    return None, False


# Values the walk of :func:`dump_nested` never looks into.
_LEAVES: Final = frozenset({str, int, float, bool, type(None), bytes})


def dump_nested(value: Any) -> Any:
    """Return ``value`` with every serializer instance in it dumped, at any depth of dicts,
    lists and tuples (a serializer whose output is its fields is left to msgspec).

    msgspec encodes a Struct from its fields, a serializer's write-only ones included, and has
    no hook to leave one out: a serializer reached without a declared type must be turned into
    its ``dump()`` first. Containers without one are returned as they are (nothing is copied).
    """
    cls = value.__class__
    if cls in _LEAVES:
        return value
    if cls is dict:
        return _dump_items(value, value.items(), dict)
    if cls is list or cls is tuple:
        return _dump_items(value, enumerate(value), list)
    if getattr(cls, "__bolt_serializer__", False) and not output_plan(cls).plain:
        return value.dump()
    return value


def _dump_items(value: Any, items: Iterable[tuple[Any, Any]], copy: Callable[[Any], Any]) -> Any:
    """Return ``value`` (a dict or a sequence: its ``(key, item)`` pairs) with its items
    dumped; a copy (``copy(value)``) only when one of them changed."""
    changed: Any = None
    for key, item in items:
        if item.__class__ in _LEAVES:
            continue
        dumped = dump_nested(item)
        if dumped is not item:
            if changed is None:
                changed = copy(value)
            changed[key] = dumped
    return value if changed is None else changed


def _says_nothing(tp: Any) -> bool:
    """Return whether a declared type says no more than "some JSON" (nothing, ``Any``, a bare
    container, ``dict[str, Any]``, ``list[Any]``...): its values are sent unchecked."""
    if tp is None or tp is Any or tp is object or tp in (dict, list, tuple):
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return all(arg is type(None) or _says_nothing(arg) for arg in args)
    if origin is dict:
        return len(args) == 2 and args[1] is Any
    if origin in (list, tuple):
        return all(arg is Any or arg is Ellipsis for arg in args)
    return False


def _allows_none(tp: Any) -> bool:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in (
        typing.get_args(tp)
    )


def output_adapter(model: Any, handler_name: str) -> Callable[[Any], Any] | None:
    """Return how a route's results become output when its type involves serializers.

    A route declaring a serializer (or a list of them) whose output differs from its fields:
    each value becomes the serializer's ``dump()`` (dicts and other objects are converted to
    the serializer first, its validators included; a failure is a 500). A route declaring
    nothing (or only "some JSON": ``dict``, ``dict[str, Any]``...), while such serializers
    exist: the serializer instances in what it returns, at any depth, are dumped
    (:func:`dump_nested`). None when msgspec's own encoding of the values is already right.
    """
    if _says_nothing(model):
        return dump_nested if OUTPUT_SERIALIZERS else None
    cls, many = _serializer_of(model)
    if cls is None or output_plan(cls).plain:
        return None
    serializer: Any = cls
    optional = _allows_none(model)

    def one(value: Any) -> Any:
        if value is None and not optional:
            raise ResponseValidationError(f"Expected {serializer.__name__}, got None", handler_name)
        if not isinstance(value, serializer):
            try:
                value = msgspec.convert(
                    value, serializer, from_attributes=not isinstance(value, dict)
                )
            except (msgspec.ValidationError, RequestValidationError) as exc:
                raise ResponseValidationError(str(exc), handler_name) from None
        return value.dump()

    def adapt(value: Any) -> Any:
        if value is None and optional:
            return None
        if many and isinstance(value, list | tuple):
            return [one(item) for item in value]
        return one(value)

    return adapt


# --- OpenAPI: the shape of output ----------------------------------------------------------------

_OUTPUT_STRUCTS: Final[dict[type, Any]] = {}
# typing.Annotated built from values (a type checker only accepts it written out).
_ANNOTATED: Final[Any] = typing.Annotated


def output_type(tp: Any) -> Any:
    """Return ``tp`` with each serializer whose output differs from its fields replaced by a
    Struct of its output (``<Name>Output``: write-only fields left out, computed fields added
    as read-only), for the response schemas of OpenAPI."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        args = typing.get_args(tp)
        return _ANNOTATED[(output_type(args[0]), *args[1:])]
    if origin is not None:
        args = typing.get_args(tp)
        mapped = tuple(output_type(arg) for arg in args)
        if mapped == args:
            return tp
        if origin in (typing.Union, types.UnionType):
            return functools.reduce(operator.or_, mapped)
        return origin[mapped if len(mapped) > 1 else mapped[0]]
    if getattr(tp, "__bolt_serializer__", False) is not True or output_plan(tp).plain:
        return tp
    found = _OUTPUT_STRUCTS.get(tp)
    if found is None:
        found = _OUTPUT_STRUCTS[tp] = _output_struct(tp)
    return found


def _output_struct(cls: Any) -> Any:
    plan = output_plan(cls)
    hidden = set(cls.__bolt_write_only__) | {
        name for name, config in cls.__bolt_field_configs__.items() if config.exclude
    }
    fields: list[Any] = []
    for info in msgspec.structs.fields(cls):
        if info.name in hidden:
            continue
        spec: Any = msgspec.field(name=info.encode_name)
        if info.default is not msgspec.NODEFAULT:
            spec = msgspec.field(name=info.encode_name, default=info.default)
        elif info.default_factory is not msgspec.NODEFAULT:
            spec = msgspec.field(name=info.encode_name, default_factory=info.default_factory)
        fields.append((info.name, output_type(info.type), spec))
    for computed in plan.computed:
        if not computed.include_in_schema:
            continue
        extra: dict[str, Any] = {"readOnly": True}
        if computed.deprecated:
            extra["deprecated"] = True
        meta = msgspec.Meta(description=computed.description, extra_json_schema=extra)
        tp = _ANNOTATED[output_type(computed.return_type), meta]
        fields.append((computed.output_name, tp, msgspec.field(name=computed.output_name)))
    return msgspec.defstruct(f"{cls.__name__}Output", fields, module=cls.__module__, kw_only=True)
