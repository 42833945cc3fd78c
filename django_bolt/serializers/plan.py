"""What a serializer class does, compiled once per class: its validators, its output and its
nested serializers.

Two plans per class. The :class:`ValidationPlan` is built when the class is created (it needs no
type hints) and drives ``__post_init__``. The :class:`OutputPlan` needs the fields' resolved
types (nested serializers, computed fields' return types), so it is built on first use, when
every name the annotations mention exists.
"""

from __future__ import annotations

import operator
import threading
import types
import typing
from collections.abc import Callable
from typing import Any, Final

import msgspec

from django_bolt.serializers.fields import (
    COMPUTED_MARK,
    FIELD_VALIDATOR_MARK,
    MODEL_VALIDATOR_MARK,
    ComputedFieldConfig,
    FieldConfig,
)

__all__ = (
    "NESTED_MANY",
    "NESTED_ONE",
    "OutputPlan",
    "ValidationPlan",
    "collect_validation",
    "config_validators",
    "declared_config_validators",
    "nested_kind",
    "output_plan",
    "strip_type",
)

NESTED_ONE: Final = "one"
NESTED_MANY: Final = "many"
# What a validator may raise to reject a value (anything else is a bug, and propagates).
REJECTIONS: Final = (ValueError, TypeError, AssertionError)

FieldValidator = Callable[[type, Any], Any]


class ValidationPlan:
    """A class's validators in the order they run (see ``base.Serializer``)."""

    __slots__ = ("field_validators", "model_after", "model_before")

    def __init__(
        self,
        field_validators: tuple[tuple[str, str, tuple[FieldValidator, ...]], ...],
        model_before: tuple[Callable[[Any], Any], ...],
        model_after: tuple[Callable[[Any], Any], ...],
    ) -> None:
        # (attribute name, JSON name, validators): "before" ones first, definition order kept.
        self.field_validators = field_validators
        self.model_before = model_before
        self.model_after = model_after

    def __bool__(self) -> bool:
        return bool(self.field_validators or self.model_before or self.model_after)


def _marked(cls: type) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    """Return the marked functions of ``cls`` and its bases, a subclass's overriding its base's."""
    by_name: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            function = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            if callable(function) and (
                hasattr(function, FIELD_VALIDATOR_MARK)
                or hasattr(function, MODEL_VALIDATOR_MARK)
                or hasattr(function, COMPUTED_MARK)
            ):
                by_name[name] = function
            elif name in by_name:
                del by_name[name]  # overridden by something that is not a validator
    fields: dict[str, Any] = {}
    models: list[Any] = []
    computed: dict[str, Any] = {}
    for name, function in by_name.items():
        if hasattr(function, FIELD_VALIDATOR_MARK):
            fields[name] = function
        elif hasattr(function, MODEL_VALIDATOR_MARK):
            models.append(function)
        else:
            computed[name] = function
    return fields, models, computed


def collect_validation(cls: type[msgspec.Struct]) -> ValidationPlan:
    """Return the validation plan of ``cls`` (its own validators and its bases', then the
    ``Config.validators`` of each field after its decorated ones)."""
    field_functions, model_functions, _ = _marked(cls)
    encode = dict(zip(cls.__struct_fields__, cls.__struct_encode_fields__, strict=True))
    per_field: dict[str, tuple[list[Any], list[Any]]] = {}
    for function in field_functions.values():
        names, mode = getattr(function, FIELD_VALIDATOR_MARK)
        for name in names:
            if name not in encode:
                raise TypeError(
                    f"{cls.__name__}: @field_validator({name!r}) names no field of the class"
                )
            before, after = per_field.setdefault(name, ([], []))
            (before if mode == "before" else after).append(function)
    for name, functions in config_validators(cls).items():
        per_field.setdefault(name, ([], []))[1].extend(functions)
    field_validators = tuple(
        (name, encode[name], (*before, *after))
        for name in cls.__struct_fields__
        if name in per_field
        for before, after in [per_field[name]]
    )
    model_before = tuple(f for f in model_functions if getattr(f, MODEL_VALIDATOR_MARK) == "before")
    model_after = tuple(f for f in model_functions if getattr(f, MODEL_VALIDATOR_MARK) == "after")
    return ValidationPlan(field_validators, model_before, model_after)


def declared_config_validators(config: Any) -> dict[str, Any]:
    """Return the ``validators`` mapping a ``Config`` class declares (``{}`` without one)."""
    declared = getattr(config, "validators", None) or {}
    if not isinstance(declared, dict):
        raise TypeError(
            f"Config.validators must be a dict of field name to validators, not {declared!r}"
        )
    return declared


def config_validators(cls: type[msgspec.Struct]) -> dict[str, list[FieldValidator]]:
    """Return ``Config.validators`` of ``cls`` as field validators, by field name.

    Each entry names a field (its attribute name) and gives one callable or a list of them,
    each called with the value: it returns the value to keep (``None`` keeps the value as it
    was) or raises ``ValueError``/``TypeError``/``AssertionError`` to reject it, as a
    ``@field_validator`` does.
    """
    declared = declared_config_validators(getattr(cls, "Config", None))
    found: dict[str, list[FieldValidator]] = {}
    for name, given in declared.items():
        if name not in cls.__struct_fields__:
            raise TypeError(
                f"{cls.__name__}: Config.validators names no field of the class: {name!r}"
            )
        functions = list(given) if isinstance(given, list | tuple) else [given]
        for function in functions:
            if not callable(function):
                raise TypeError(
                    f"{cls.__name__}: Config.validators[{name!r}] holds {function!r}, "
                    "which is not callable"
                )
        found[name] = [_plain_validator(function) for function in functions]
    return found


def _plain_validator(function: Callable[[Any], Any]) -> FieldValidator:
    """Return ``function(value)`` called the way the class's field validators are."""

    def validate(owner: type, value: Any) -> Any:
        return function(value)

    return validate


# --- types ----------------------------------------------------------------------------------------


def strip_type(tp: Any) -> Any:
    """Return ``tp`` without ``Annotated`` and without ``| None``."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return strip_type(args[0])
    return tp


def _is_serializer(tp: Any) -> bool:
    return isinstance(tp, type) and getattr(tp, "__bolt_serializer__", False) is True


def nested_kind(tp: Any) -> tuple[str, type] | None:
    """Return (``"one"`` or ``"many"``, the serializer) when ``tp`` nests serializers."""
    tp = strip_type(tp)
    if _is_serializer(tp):
        return NESTED_ONE, tp
    if typing.get_origin(tp) in (list, tuple, set, frozenset):
        args = [arg for arg in typing.get_args(tp) if arg is not Ellipsis]
        if len(args) == 1 and _is_serializer(strip_type(args[0])):
            return NESTED_MANY, strip_type(args[0])
    return None


# --- output ---------------------------------------------------------------------------------------


class OutputPlan:
    """How instances of one serializer become output dicts (``dump``, responses).

    ``names``/``keys``: the sent fields' attribute and JSON names (write-only and excluded
    fields left out); ``nested``: ``(key, kind, serializer)`` for the fields holding
    serializers; ``computed``: the computed fields. ``plain`` when output is what msgspec would
    encode from the instance itself: then responses encode it directly.
    """

    __slots__ = (
        "computed",
        "defaults",
        "get_values",
        "keys",
        "names",
        "nested",
        "plain",
        "python_keys",
    )

    def __init__(
        self,
        names: tuple[str, ...],
        keys: tuple[str, ...],
        nested: tuple[tuple[str, str, type], ...],
        computed: tuple[ComputedFieldConfig, ...],
        defaults: dict[str, Any],
        plain: bool,
    ) -> None:
        self.names = names
        self.keys = keys
        self.python_keys = dict(zip(keys, names, strict=True))
        self.nested = nested
        self.computed = computed
        self.defaults = defaults
        self.plain = plain
        # All sent values in one C call (a tuple, also for one field).
        if not names:
            self.get_values: Callable[[Any], tuple[Any, ...]] = lambda instance: ()
        elif len(names) == 1:
            only = operator.attrgetter(names[0])
            self.get_values = lambda instance: (only(instance),)
        else:
            self.get_values = operator.attrgetter(*names)


# Reentrant: a plan asks for its nested serializers' plans. ``_BUILDING`` stops a serializer
# that nests itself from building forever (it is then not plain).
_LOCK: Final = threading.RLock()
_BUILDING: Final[set[type]] = set()


def _defaults(cls: type[msgspec.Struct]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for info in msgspec.structs.fields(cls):
        if info.default is not msgspec.NODEFAULT:
            found[info.name] = info.default
        elif info.default_factory is not msgspec.NODEFAULT:
            found[info.name] = info.default_factory()
    return found


def _computed(cls: type) -> tuple[ComputedFieldConfig, ...]:
    _, _, functions = _marked(cls)
    configs = []
    for name, function in functions.items():
        options = getattr(function, COMPUTED_MARK)
        try:
            hints = typing.get_type_hints(function, include_extras=True)
        except Exception:
            hints = {}
        configs.append(ComputedFieldConfig(name, hints.get("return", Any), **options))
    return tuple(configs)


def output_plan(cls: Any) -> OutputPlan:
    """Return the output plan of a serializer class, built on first use."""
    plan: OutputPlan | None = cls.__dict__.get("__bolt_output__")
    if plan is not None:
        return plan
    with _LOCK:
        plan = cls.__dict__.get("__bolt_output__")
        if plan is None:
            _BUILDING.add(cls)
            try:
                plan = _build_output(cls)
            finally:
                _BUILDING.discard(cls)
            cls.__bolt_output__ = plan
    return plan


def _build_output(cls: Any) -> OutputPlan:
    configs: dict[str, FieldConfig] = cls.__bolt_field_configs__
    hidden = set(cls.__bolt_write_only__) | {n for n, c in configs.items() if c.exclude}
    names: list[str] = []
    keys: list[str] = []
    nested: list[tuple[str, str, type]] = []
    for info in msgspec.structs.fields(cls):
        if info.name in hidden:
            continue
        names.append(info.name)
        keys.append(info.encode_name)
        found = nested_kind(info.type)
        if found is not None:
            nested.append((info.encode_name, found[0], found[1]))
    computed = _computed(cls)
    plain = (
        not hidden
        and not computed
        and all(
            serializer not in _BUILDING and output_plan(serializer).plain
            for _, _, serializer in nested
        )
    )
    return OutputPlan(tuple(names), tuple(keys), tuple(nested), computed, _defaults(cls), plain)
