"""``Serializer``: a msgspec Struct with validators, computed fields, field options, dynamic
field selection and Django model integration.

Per-class work happens once: the metaclass turns ``field()`` options into msgspec fields and
collects the validators when the class is created (and gives the class a ``__post_init__`` only
when it has validators, so a serializer without any is built at msgspec's speed); the output
plan (``plan.py``) is built on first use.

Validation order, for every way an instance is made (direct call, ``model_validate``, a
request body, ``msgspec.convert``): msgspec checks types and ``Meta`` constraints (not on a
direct call: msgspec's rule), then ``@model_validator(mode="before")``, then the field
validators (``mode="before"`` ones first), then the ``@model_validator``\\ s. Errors of
different fields are collected; one :class:`~django_bolt.exceptions.SerializerValidationError`
(a ``RequestValidationError``, 422) carries them all. Model validators after the fields run only
when every field passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, Optional, Self

import msgspec
from msgspec.structs import force_setattr

from django_bolt.exceptions import RequestValidationError, SerializerValidationError, body_errors
from django_bolt.serializers import orm
from django_bolt.serializers.fields import (
    COMPUTED_MARK,
    FIELD_VALIDATOR_MARK,
    MODEL_VALIDATOR_MARK,
    UNSET,
    FieldConfig,
)
from django_bolt.serializers.output import OUTPUT_SERIALIZERS, dump_instance
from django_bolt.serializers.plan import (
    REJECTIONS,
    ValidationPlan,
    collect_validation,
    declared_config_validators,
    output_plan,
)
from django_bolt.serializers.selection import SerializerView, field_set, make_subset

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ("Serializer", "dump_value")

_StructMeta: Final[Any] = type(msgspec.Struct)


def _error(loc: list[Any], error: BaseException) -> dict[str, Any]:
    return {"loc": loc, "msg": str(error) or error.__class__.__name__, "type": "value_error"}


def _validator_hook() -> tuple[Callable[[Any], None], Callable[[type, ValidationPlan], None]]:
    """Return a class's ``__post_init__`` and the function that gives it the class's plan.

    msgspec takes the hook when it creates the class, before the plan can be made (it needs
    the created class's fields): the hook is made first and bound to its plan just after, as
    closure variables, so a call costs no lookup of the plan.
    """
    owner: Any = None
    fields: tuple[tuple[str, str, tuple[Any, ...]], ...] = ()
    before: tuple[Callable[[Any], Any], ...] = ()
    after: tuple[Callable[[Any], Any], ...] = ()

    def __post_init__(self: Any) -> None:
        """Run the validators (see the module docstring); collect every error."""
        errors = _model_checks(self, before, None) if before else None
        for name, key, validators in fields:
            value = original = getattr(self, name)
            try:
                for validator in validators:
                    result = validator(owner, value)
                    if result is not None:
                        value = result
            except REJECTIONS as exc:
                # The field's later validators do not run; other fields' still do.
                errors = [*(errors or ()), _error([key], exc)]
                continue
            if value is not original:
                force_setattr(self, name, value)
        if errors is None and after:
            errors = _model_checks(self, after, None)
        if errors is not None:
            raise SerializerValidationError(errors)

    def bind(cls: type, plan: ValidationPlan) -> None:
        nonlocal owner, fields, before, after
        owner, fields = cls, plan.field_validators
        before, after = plan.model_before, plan.model_after

    return __post_init__, bind


def _model_checks(
    instance: Any, checks: tuple[Callable[[Any], Any], ...], errors: list[dict[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """Run model validators; return ``errors`` with theirs added (None while there is none)."""
    for check in checks:
        try:
            check(instance)
        except REJECTIONS as exc:
            errors = [*(errors or ()), _error([], exc)]
    return errors


_HOOK_MARK: Final = "__bolt_validator_hook__"


def _field_options(namespace: dict[str, Any]) -> dict[str, FieldConfig]:
    """Replace ``field()`` options in a class body by msgspec fields; return the options."""
    options: dict[str, FieldConfig] = {}
    for name, value in list(namespace.items()):
        if not isinstance(value, FieldConfig):
            continue
        options[name] = value
        default = value.default
        if default is UNSET and value.default_factory is None and value.read_only:
            default = None  # input never sets it
        kwargs: dict[str, Any] = {}
        if default is not UNSET:
            kwargs["default"] = default
        elif value.default_factory is not None:
            kwargs["default_factory"] = value.default_factory
        if value.alias is not None:
            kwargs["name"] = value.alias
        if kwargs:
            namespace[name] = msgspec.field(**kwargs)
        else:
            del namespace[name]  # a required field: only its annotation remains
    return options


def _document_options(namespace: dict[str, Any], options: dict[str, FieldConfig]) -> None:
    """Put each field's documentation options in its annotation, where msgspec's schema reads
    them (``Annotated[<type>, Meta(description=..., ...)]``)."""
    annotations = namespace.get("__annotations__", {})
    for name, option in options.items():
        if option.read_only and not option.has_default() and name in annotations:
            annotations[name] = Optional[annotations[name]]  # noqa: UP045 - it may be a string
        extra = option.schema_extra()
        if not extra or name not in annotations:
            continue
        meta = msgspec.Meta(
            title=extra.pop("title", None),
            description=extra.pop("description", None),
            examples=extra.pop("examples", None),
            extra_json_schema=extra or None,
        )
        annotations[name] = Annotated[annotations[name], meta]


def _declares_validators(namespace: dict[str, Any], bases: tuple[type, ...]) -> bool:
    """Return whether a class body or its bases declare any validator (``Config.validators``
    included: a class without a Config of its own reads its base's)."""
    if any(getattr(base, "__bolt_validation__", None) for base in bases):
        return True
    config = namespace.get("Config")
    if config is None:
        config = next((b.Config for b in bases if hasattr(b, "Config")), None)
    if declared_config_validators(config):
        return True
    for value in namespace.values():
        function = value.__func__ if isinstance(value, classmethod | staticmethod) else value
        if hasattr(function, FIELD_VALIDATOR_MARK) or hasattr(function, MODEL_VALIDATOR_MARK):
            return True
    return False


def _declares_output(cls: Any, configs: dict[str, FieldConfig]) -> bool:
    """Return whether the class's output differs from its fields (computed or excluded ones)."""
    if any(config.exclude for config in configs.values()):
        return True
    return any(
        hasattr(getattr(value, "__func__", value), COMPUTED_MARK)
        for klass in cls.__mro__
        for value in vars(klass).values()
    )


def _config_set(config: Any, name: str) -> frozenset[str]:
    return frozenset(getattr(config, name, ()) or ())


class _SerializerMeta(_StructMeta):  # type: ignore[misc]
    """Compiles a serializer class's options and validators once, at class creation."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> Any:
        options = _field_options(namespace)
        _document_options(namespace, options)
        # Keyword-only, as Django-Bolt 0.13's serializers are: fields may be declared in any
        # order (a required field after an optional one), and a read-only field without a
        # default (it gets None) may precede required ones.
        kwargs.setdefault("kw_only", True)
        if "__post_init__" in namespace and not hasattr(namespace["__post_init__"], _HOOK_MARK):
            raise TypeError(
                f"{name}: a Serializer runs its validators in __post_init__; "
                "use @model_validator instead of defining __post_init__"
            )
        if _declares_validators(namespace, bases):
            # msgspec reads the hook when it creates the class: it must be there already.
            hook, bind = _validator_hook()
            setattr(hook, _HOOK_MARK, True)
            namespace["__post_init__"] = hook
        else:
            bind = None
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        inherited: dict[str, FieldConfig] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(getattr(base, "__bolt_field_configs__", {}))
        configs = {
            key: value for key, value in {**inherited, **options}.items()
            if key in cls.__struct_fields__
        }  # fmt: skip
        config = getattr(cls, "Config", None)
        cls.__bolt_field_configs__ = configs
        cls.__bolt_write_only__ = _config_set(config, "write_only") | {
            key for key, value in configs.items() if value.write_only
        }
        cls.__bolt_read_only__ = _config_set(config, "read_only") | {
            key for key, value in configs.items() if value.read_only
        }
        cls.__bolt_field_sets__ = dict(getattr(config, "field_sets", {}) or {})
        cls.__bolt_validation__ = collect_validation(cls)
        if bind is not None:
            bind(cls, cls.__bolt_validation__)
        if cls.__bolt_write_only__ or _declares_output(cls, configs):
            OUTPUT_SERIALIZERS.add(cls)
        return cls


def dump_value(value: Any, by_alias: bool = True) -> Any:
    """Return ``value`` with the serializers in it (at its top, or in a list) dumped."""
    if getattr(type(value), "__bolt_serializer__", False):
        return value.dump(by_alias=by_alias)
    if type(value) is list and value and getattr(type(value[0]), "__bolt_serializer__", False):
        return [item.dump(by_alias=by_alias) for item in value]
    return value


class Serializer(msgspec.Struct, metaclass=_SerializerMeta):
    """A msgspec Struct with validators, computed fields, field options and model integration.

    Configure it with a nested ``class Config``: ``write_only`` and ``read_only`` (sets of field
    names), ``validators`` (field name to validators called with the value, after the field's
    ``@field_validator`` ones), ``field_sets`` (named lists of fields for :meth:`use` and
    :meth:`fields`),
    ``annotations`` (``{name: expression}`` added to QuerySets by :meth:`from_models`), and
    ``model`` (the Django model :meth:`create` makes).
    """

    __bolt_serializer__: ClassVar[bool] = True
    __bolt_field_configs__: ClassVar[dict[str, FieldConfig]]
    __bolt_write_only__: ClassVar[frozenset[str]]
    __bolt_read_only__: ClassVar[frozenset[str]]
    __bolt_field_sets__: ClassVar[dict[str, list[str]]]
    __bolt_validation__: ClassVar[ValidationPlan]

    # --- validation ------------------------------------------------------------------------------
    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """Return an instance parsed from ``data`` (a mapping or an object with attributes).

        Every error is collected, ``Meta`` constraints included (each field is checked on its
        own once the whole fails), and raised as one
        :class:`~django_bolt.exceptions.RequestValidationError`. Read-only fields in the input
        are ignored.
        """
        if type(data) is dict:
            if cls.__bolt_read_only__:
                read_only = _read_only_keys(cls)
                data = {key: value for key, value in data.items() if key not in read_only}
            try:
                return msgspec.convert(data, cls)
            except msgspec.ValidationError as exc:
                raise RequestValidationError(_collect_errors(cls, data, exc)) from None
        if isinstance(data, cls):
            return data
        try:
            return msgspec.convert(data, cls, from_attributes=not isinstance(data, dict))
        except msgspec.ValidationError as exc:
            raise RequestValidationError(_collect_errors(cls, data, exc)) from None

    @classmethod
    def model_validate_json(cls, data: str | bytes) -> Self:
        """Return an instance parsed from JSON, every error collected (see model_validate)."""
        raw = data.encode() if isinstance(data, str) else data
        try:
            parsed = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise RequestValidationError(body_errors(exc, raw)) from None
        return cls.model_validate(parsed)

    def validate(self) -> Self:
        """Run the validators again (after the instance was changed); return the instance."""
        if type(self).__bolt_validation__:
            type(self).__post_init__(self)
        return self

    # --- output ----------------------------------------------------------------------------------
    def dump(
        self,
        *,
        exclude_none: bool = False,
        exclude_unset: bool = False,
        exclude_defaults: bool = False,
        by_alias: bool = True,
    ) -> dict[str, Any]:
        """Return the instance as output: write-only fields left out, computed fields added,
        nested serializers dumped.

        ``exclude_none`` drops ``None`` values, ``exclude_defaults`` (and its older name
        ``exclude_unset``) values equal to the field's default. Keys are the JSON names
        (aliases, renames); ``by_alias=False`` gives the attribute names.
        """
        return dump_instance(
            self, output_plan(type(self)), None, exclude_none,
            exclude_defaults or exclude_unset, by_alias,
        )  # fmt: skip

    def dump_json(self, **options: Any) -> bytes:
        """Return :meth:`dump`'s output as JSON bytes."""
        return msgspec.json.encode(self.dump(**options))

    @classmethod
    def dump_many(cls, instances: Iterable[Any], **options: Any) -> list[dict[str, Any]]:
        """Return :meth:`dump` of each instance (model instances are read with from_model)."""
        return [cls._coerce(item).dump(**options) for item in instances]

    @classmethod
    def dump_many_json(cls, instances: Iterable[Any], **options: Any) -> bytes:
        """Return :meth:`dump_many`'s output as JSON bytes."""
        return msgspec.json.encode(cls.dump_many(instances, **options))

    def to_dict(self, *, exclude_unset: bool = False) -> dict[str, Any]:
        """Return every field by attribute name (write-only ones included; nothing computed).

        ``exclude_unset`` leaves out fields equal to their default.
        """
        values = {name: getattr(self, name) for name in self.__struct_fields__}
        if exclude_unset:
            defaults = output_plan(type(self)).defaults
            values = {
                name: value
                for name, value in values.items()
                if name not in defaults or value != defaults[name]
            }
        return values

    # --- field selection -------------------------------------------------------------------------
    @classmethod
    def only(cls, *names: str) -> SerializerView:
        """Return a view of the serializer sending only ``names`` (fields or computed fields)."""
        return SerializerView(cls, _all_names(cls)).only(*names)

    @classmethod
    def exclude(cls, *names: str) -> SerializerView:
        """Return a view of the serializer sending everything but ``names``."""
        return SerializerView(cls, _all_names(cls)).exclude(*names)

    @classmethod
    def use(cls, field_set_name: str) -> SerializerView:
        """Return a view sending the fields of ``Config.field_sets[field_set_name]``."""
        return SerializerView(cls, _all_names(cls)).use(field_set_name)

    @classmethod
    def subset(cls, *names: str, name: str | None = None) -> Any:
        """Return a serializer class with only ``names`` (a real class: a response model, a
        request body); made once per distinct selection."""
        return make_subset(cls, names, name)

    @classmethod
    def fields(cls, field_set_name: str, *, name: str | None = None) -> Any:
        """Return :meth:`subset` of the fields of ``Config.field_sets[field_set_name]``."""
        return make_subset(cls, field_set(cls, field_set_name), name)

    @classmethod
    def from_parent(cls, instance: Any) -> Self:
        """Return an instance of this (subset) class with the values of ``instance``."""
        return cls(
            **{
                name: getattr(instance, name)
                for name in cls.__struct_fields__
                if hasattr(instance, name)
            }
        )

    # --- Django models ---------------------------------------------------------------------------
    @classmethod
    def from_model(cls, instance: Any) -> Self:
        """Return an instance filled from a model instance, without querying.

        Relations must be loaded (``select_related``/``prefetch_related``); an unloaded one
        keeps the field's default, or raises ``SerializationError`` naming the load to add.
        """
        return cls.build_from_model(instance, False)

    @classmethod
    async def afrom_model(cls, instance: Any) -> Self:
        """Return :meth:`from_model` read in the pool, missing relations loaded there."""
        found: Self = await orm.afrom_model(cls, instance)
        return found

    @classmethod
    def from_models(cls, objects: Iterable[Any]) -> list[Self]:
        """Return an instance per model instance; a QuerySet first gets the loads the
        serializer reads (:meth:`loading_plan`)."""
        return orm.from_models(cls, objects)

    @classmethod
    async def afrom_models(cls, objects: Iterable[Any]) -> list[Self]:
        """Return :meth:`from_models` read in the pool, without blocking the event loop."""
        return await orm.afrom_models(cls, objects)

    @classmethod
    def loading_plan(cls, model: Any) -> orm.LoadingPlan:
        """Return the ``select_related``, ``prefetch_related`` and annotations the serializer
        needs from ``model``."""
        return orm.loading_plan(cls, model)

    @classmethod
    def build_from_model(cls, instance: Any, lazy: bool) -> Self:
        """Return an instance filled from ``instance``; ``lazy`` lets relations load."""
        found: Self = orm.from_model(cls, instance, lazy)
        return found

    def to_model(self, model: Any) -> Any:
        """Return an unsaved ``model`` instance with this serializer's column values."""
        return orm.to_model(self, model)

    def update_instance(self, instance: Any) -> Any:
        """Set this serializer's column values on ``instance`` (not saved); return it."""
        return orm.update_instance(self, instance, self.__struct_config__.omit_defaults)

    @classmethod
    def __bolt_from_models__(cls, objects: Any) -> list[dict[str, Any]]:
        # For the responses of routes declaring this serializer (_django/models.py).
        return [item.dump() for item in orm.from_models(cls, objects, lazy=True)]

    @classmethod
    def _coerce(cls, item: Any) -> Self:
        if isinstance(item, cls):
            return item
        if hasattr(item, "_meta") and hasattr(item, "pk"):
            return cls.from_model(item)
        return cls.model_validate(item)


def _all_names(cls: Any) -> frozenset[str]:
    plan = output_plan(cls)
    return frozenset(plan.names) | {computed.method_name for computed in plan.computed}


def _read_only_keys(cls: Any) -> frozenset[str]:
    encode = dict(zip(cls.__struct_fields__, cls.__struct_encode_fields__, strict=True))
    return frozenset(cls.__bolt_read_only__) | {encode[n] for n in cls.__bolt_read_only__}


def _collect_errors(cls: Any, data: Any, exc: msgspec.ValidationError) -> list[dict[str, Any]]:
    """Return every error of ``data``: each field converted on its own, then its validators.

    When the types were right and the validators failed, their errors are the answer.
    """
    if not isinstance(data, dict) or isinstance(exc.__cause__, SerializerValidationError):
        return body_errors(exc, b"")
    errors: list[dict[str, Any]] = []
    converted: dict[str, Any] = {}
    for info in msgspec.structs.fields(cls):
        key = info.encode_name
        if key not in data:
            if info.required:
                errors.append(
                    {"loc": ["body", key], "msg": "Field required", "type": "missing_field"}
                )
            continue
        try:
            converted[info.name] = msgspec.convert(data[key], info.type)
        except msgspec.ValidationError as field_exc:
            errors.extend(_nested(body_errors(field_exc, b""), key))
    plan: ValidationPlan = cls.__bolt_validation__
    for name, key, validators in plan.field_validators:
        if name not in converted:
            continue
        value = converted[name]
        for validator in validators:
            try:
                result = validator(cls, value)
            except REJECTIONS as validator_exc:
                errors.append(_error(["body", key], validator_exc))
                break
            if result is not None:
                value = result
    return errors or body_errors(exc, b"")


def _nested(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Return a field's own errors with the field's name put after ``"body"``."""
    return [{**item, "loc": ["body", key, *item["loc"][1:]]} for item in items]
