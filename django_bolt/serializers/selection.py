"""Choosing a serializer's fields: views (``only``, ``exclude``, ``use``) and subset classes
(``subset``, ``fields``).

A :class:`SerializerView` dumps instances of its serializer with fewer fields; it is not a type.
A subset is a real serializer class with only the chosen fields (their types, defaults, options,
and the validators and computed fields that concern them), usable as a response model and
built once per distinct selection.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt.serializers.fields import (
    COMPUTED_MARK,
    FIELD_VALIDATOR_MARK,
)
from django_bolt.serializers.output import dump_instance
from django_bolt.serializers.plan import output_plan

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("SerializerView", "field_set", "make_subset")


def field_set(cls: Any, name: str) -> list[str]:
    """Return the fields of ``Config.field_sets[name]``; a KeyError names the known sets."""
    sets: dict[str, list[str]] = cls.__bolt_field_sets__
    if name not in sets:
        known = ", ".join(sorted(sets)) or "none"
        raise KeyError(f"{cls.__name__} has no field set {name!r} (known: {known})")
    return list(sets[name])


def _known_names(cls: Any) -> set[str]:
    plan = output_plan(cls)
    names = set(cls.__struct_fields__)
    for computed in plan.computed:
        names.add(computed.method_name)
        names.add(computed.output_name)
    return names


def _check(cls: Any, names: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(names)
    unknown = chosen - _known_names(cls)
    if unknown:
        raise ValueError(f"{cls.__name__} has no field {', '.join(sorted(unknown))}")
    return chosen


class SerializerView:
    """A serializer with a chosen set of output fields: ``Serializer.only(...)`` and friends."""

    __slots__ = ("selected", "serializer")

    def __init__(self, serializer: Any, selected: frozenset[str]) -> None:
        self.serializer = serializer
        self.selected = selected

    def __repr__(self) -> str:
        return f"<{self.serializer.__name__} view: {', '.join(sorted(self.selected))}>"

    def only(self, *names: str) -> SerializerView:
        """Return a view keeping only ``names`` of this view's fields."""
        return SerializerView(self.serializer, self.selected & _check(self.serializer, names))

    def exclude(self, *names: str) -> SerializerView:
        """Return a view without ``names``; a name the serializer lacks is already left out
        (as in Django-Bolt 0.13, where shared code excludes sensitive names from any class)."""
        return SerializerView(self.serializer, self.selected - frozenset(names))

    def use(self, name: str) -> SerializerView:
        """Return a view keeping only the fields of the field set ``name``."""
        return self.only(*field_set(self.serializer, name))

    def from_model(self, instance: Any, **options: Any) -> Any:
        """Return the serializer's ``from_model(instance)`` (the view applies on output)."""
        return self.serializer.from_model(instance, **options)

    async def afrom_model(self, instance: Any, **options: Any) -> Any:
        """Return the serializer's ``afrom_model(instance)``."""
        return await self.serializer.afrom_model(instance, **options)

    def dump(
        self,
        instance: Any,
        *,
        exclude_none: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        by_alias: bool = True,
    ) -> dict[str, Any]:
        """Return ``instance`` (a serializer instance, a model instance or a dict) dumped with
        this view's fields."""
        item = self.serializer._coerce(instance)
        return dump_instance(
            item, output_plan(type(item)), self.selected, exclude_none,
            exclude_defaults or exclude_unset, by_alias,
        )  # fmt: skip

    def dump_many(self, instances: Iterable[Any], **options: Any) -> list[dict[str, Any]]:
        """Return :meth:`dump` of each instance."""
        return [self.dump(item, **options) for item in instances]

    def dump_json(self, instance: Any, **options: Any) -> bytes:
        """Return :meth:`dump` as JSON bytes."""
        return msgspec.json.encode(self.dump(instance, **options))

    def dump_many_json(self, instances: Iterable[Any], **options: Any) -> bytes:
        """Return :meth:`dump_many` as JSON bytes."""
        return msgspec.json.encode(self.dump_many(instances, **options))


# --- subsets --------------------------------------------------------------------------------------

_SUBSETS: Final[dict[tuple[Any, tuple[str, ...], str | None], Any]] = {}
_SUBSETS_LOCK: Final = threading.Lock()


def _struct_options(cls: Any) -> dict[str, Any]:
    config = cls.__struct_config__
    return {
        "frozen": config.frozen,
        "forbid_unknown_fields": config.forbid_unknown_fields,
        "omit_defaults": config.omit_defaults,
        "kw_only": True,
    }


def _methods(cls: Any, names: frozenset[str]) -> dict[str, Any]:
    """Return the class's methods a subset keeps: plain ones, and the validators and computed
    fields whose fields all stay."""
    kept: dict[str, Any] = {}
    stop = {klass for klass in cls.__mro__ if not getattr(klass, "__bolt_serializer__", False)}
    for klass in reversed(cls.__mro__):
        if klass in stop or klass.__name__ == "Serializer":
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("__") or attr == "Config":
                continue
            function = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            if not callable(function):
                continue
            mark = getattr(function, FIELD_VALIDATOR_MARK, None)
            if mark is not None and not set(mark[0]) <= names:
                continue
            if hasattr(function, COMPUTED_MARK) and attr not in names:
                # A computed field not chosen stays a plain method (others may call it).
                value = _unmarked(function)
            kept[attr] = value  # model validators stay: they see the instance as it is
    return kept


def _unmarked(function: Any) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return function(self, *args, **kwargs)

    method.__name__ = function.__name__
    method.__qualname__ = function.__qualname__
    return method


def make_subset(cls: Any, names: Iterable[str], name: str | None = None) -> Any:
    """Return a serializer class with only ``names`` of ``cls``'s fields (and computed fields),
    built once per distinct selection; its ``from_parent(instance)`` converts a ``cls`` instance.
    """
    chosen = _check(cls, names)
    key = (cls, tuple(sorted(chosen)), name)
    with _SUBSETS_LOCK:
        found = _SUBSETS.get(key)
        if found is not None:
            return found
        subset = _build_subset(cls, chosen, name)
        _SUBSETS[key] = subset
        return subset


def _build_subset(cls: Any, chosen: frozenset[str], name: str | None) -> Any:
    configs = cls.__bolt_field_configs__
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for info in msgspec.structs.fields(cls):
        if info.name not in chosen:
            continue
        annotations[info.name] = info.type
        option = configs.get(info.name)
        if option is not None:
            namespace[info.name] = option
        elif info.default is not msgspec.NODEFAULT or info.default_factory is not msgspec.NODEFAULT:
            options: dict[str, Any] = {"name": info.encode_name}
            if info.default is not msgspec.NODEFAULT:
                options["default"] = info.default
            else:
                options["default_factory"] = info.default_factory
            namespace[info.name] = msgspec.field(**options)
        elif info.encode_name != info.name:
            namespace[info.name] = msgspec.field(name=info.encode_name)
    namespace.update(_methods(cls, chosen))
    config = getattr(cls, "Config", None)

    namespace["Config"] = type(
        "Config",
        (),
        {
            "write_only": set(getattr(config, "write_only", ()) or ()) & chosen,
            "read_only": set(getattr(config, "read_only", ()) or ()) & chosen,
            "field_sets": {},
            "validators": {
                key: value
                for key, value in (getattr(config, "validators", {}) or {}).items()
                if key in chosen
            },
            "annotations": {
                key: value
                for key, value in (getattr(config, "annotations", {}) or {}).items()
                if key in chosen
            },
            "model": getattr(config, "model", None),
        },
    )
    namespace["__annotations__"] = annotations
    namespace["__module__"] = cls.__module__
    serializer_base = next(
        klass
        for klass in cls.__mro__
        if klass.__name__ == "Serializer" and klass.__bolt_serializer__
    )
    subset_name = name or f"{cls.__name__}Subset_{'_'.join(sorted(chosen))}"
    subset = type(cls)(subset_name, (serializer_base,), namespace, **_struct_options(cls))
    subset.__bolt_parent__ = cls
    return subset
