"""What a serializer class declares besides its annotations: ``field()`` options and the
``@field_validator``, ``@model_validator`` and ``@computed_field`` decorators.

The decorators only mark functions; the serializer's metaclass (``base.py``) collects the marks
once, when the class is created, into the plan every instance then follows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "ComputedFieldConfig",
    "FieldConfig",
    "computed_field",
    "field",
    "field_validator",
    "model_validator",
)

_F = TypeVar("_F")
ValidatorMode = Literal["before", "after"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final[Any] = _Unset()

# The attributes the decorators put on a function (read by base.py).
FIELD_VALIDATOR_MARK: Final = "__bolt_field_validator__"
MODEL_VALIDATOR_MARK: Final = "__bolt_model_validator__"
COMPUTED_MARK: Final = "__bolt_computed_field__"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldConfig:
    """A serializer field's options, made by :func:`field`.

    ``read_only`` fields are sent but not read from input (``model_validate`` ignores them);
    ``write_only`` fields are read but never sent (``dump``, responses). ``source`` names the
    model attribute ``from_model`` reads (dots follow relations: ``"author.name"``). ``alias``
    is the field's name in JSON, both ways. ``description``, ``title``, ``examples`` and
    ``deprecated`` go to the OpenAPI schema; ``exclude`` leaves the field out of every output.
    """

    read_only: bool = False
    write_only: bool = False
    source: str | None = None
    alias: str | None = None
    default: Any = UNSET
    default_factory: Callable[[], Any] | None = None
    description: str | None = None
    title: str | None = None
    examples: list[Any] | None = None
    deprecated: bool = False
    exclude: bool = False
    include_in_schema: bool = True

    def has_default(self) -> bool:
        """Return whether the field may be left out of input."""
        return self.default is not UNSET or self.default_factory is not None

    def schema_extra(self) -> dict[str, Any]:
        """Return the JSON Schema keywords the options add to the field's schema."""
        extra: dict[str, Any] = {}
        if self.description is not None:
            extra["description"] = self.description
        if self.title is not None:
            extra["title"] = self.title
        if self.examples is not None:
            extra["examples"] = list(self.examples)
        if self.deprecated:
            extra["deprecated"] = True
        if self.read_only:
            extra["readOnly"] = True
        if self.write_only:
            extra["writeOnly"] = True
        return extra


def field(
    *,
    read_only: bool = False,
    write_only: bool = False,
    source: str | None = None,
    alias: str | None = None,
    default: Any = UNSET,
    default_factory: Callable[[], Any] | None = None,
    description: str | None = None,
    title: str | None = None,
    examples: list[Any] | None = None,
    deprecated: bool = False,
    exclude: bool = False,
    include_in_schema: bool = True,
) -> Any:
    """Declare a serializer field's options (see :class:`FieldConfig`); used as its default.

    ``default`` and ``default_factory`` are exclusive, as in msgspec. A ``read_only`` field
    without a default gets ``None``: input never sets it.
    """
    if default is not UNSET and default_factory is not None:
        raise TypeError("field(): give default or default_factory, not both")
    if read_only and write_only:
        raise TypeError("field(): a field cannot be both read_only and write_only")
    return FieldConfig(
        read_only=read_only,
        write_only=write_only,
        source=source,
        alias=alias,
        default=default,
        default_factory=default_factory,
        description=description,
        title=title,
        examples=examples,
        deprecated=deprecated,
        exclude=exclude,
        include_in_schema=include_in_schema,
    )


# --- decorators -----------------------------------------------------------------------------------


def _function(candidate: Any, decorator: str, *, classmethod_ok: bool) -> Any:
    """Return the plain function under ``candidate``; refuse the descriptors that cannot work."""
    if isinstance(candidate, staticmethod):
        raise TypeError(f"@{decorator} cannot decorate a staticmethod")
    if isinstance(candidate, classmethod):
        if not classmethod_ok:
            raise TypeError(f"@{decorator} receives the instance: it cannot be a classmethod")
        return candidate.__func__
    if not callable(candidate):
        raise TypeError(f"@{decorator} decorates a function, not {candidate!r}")
    return candidate


def field_validator(
    field_name: str, *more_fields: str, mode: ValidatorMode = "after"
) -> Callable[[_F], _F]:
    """Validate (and possibly transform) one or more fields; the function gets ``(cls, value)``.

    Raise ``ValueError`` (or ``TypeError``) to reject the value; return the value to keep
    (a transformed one replaces it). Several validators of a field run in definition order,
    ``mode="before"`` ones first, and stop at the first error of that field; errors of
    different fields are all collected. May be stacked over ``@classmethod``.
    """
    names = (field_name, *more_fields)
    if mode not in ("before", "after"):
        raise ValueError("field_validator mode must be 'before' or 'after'")

    def mark(fn: _F) -> _F:
        target = _function(fn, "field_validator", classmethod_ok=True)
        setattr(target, FIELD_VALIDATOR_MARK, (names, mode))
        return fn

    return mark


def model_validator(fn: Any = None, *, mode: ValidatorMode = "after") -> Any:
    """Validate the whole instance after its fields (``mode="before"``: before the field
    validators); the function gets ``self``, may change it, and raises ``ValueError`` to reject.
    """
    if mode not in ("before", "after"):
        raise ValueError("model_validator mode must be 'before' or 'after'")

    def mark(target: Any) -> Any:
        function = _function(target, "model_validator", classmethod_ok=False)
        setattr(function, MODEL_VALIDATOR_MARK, mode)
        return target

    return mark if fn is None else mark(fn)


@dataclasses.dataclass(frozen=True, slots=True)
class ComputedFieldConfig:
    """A computed field: a method whose value is added to every output."""

    method_name: str
    return_type: Any
    alias: str | None = None
    description: str | None = None
    deprecated: bool = False
    include_in_schema: bool = True

    @property
    def output_name(self) -> str:
        """Return the key of the value in output."""
        return self.alias or self.method_name


def computed_field(
    fn: Any = None,
    *,
    alias: str | None = None,
    description: str | None = None,
    deprecated: bool = False,
    include_in_schema: bool = True,
) -> Any:
    """Add a method's value to the output (``dump``, responses) under its name or ``alias``.

    The method stays callable (``self.total()``), so computed fields may use each other. Its
    return annotation documents the value in OpenAPI, where it is read-only.
    """

    def mark(method: Any) -> Any:
        function = _function(method, "computed_field", classmethod_ok=False)
        setattr(
            function,
            COMPUTED_MARK,
            {
                "alias": alias,
                "description": description,
                "deprecated": deprecated,
                "include_in_schema": include_in_schema,
            },
        )
        return method

    return mark if fn is None else mark(fn)
