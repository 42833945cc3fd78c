"""``@action``: a viewset method served on a route of its own, beside the standard actions.

The decorator only records what was asked (:class:`ActionHandler`); ``api.viewset()`` reads
the records when it registers the class (``django_bolt.views.viewset_routes``) and turns each
into routes declared like any other. A method marked with ``@action`` on a class registered with
``api.view()`` is a ``ValueError`` there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Final

__all__ = ("ActionHandler", "ActionOptions", "action")

_VALID_METHODS: Final = frozenset(
    {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "QUERY"}
)
# ``response_model=`` not given: the method's return annotation declares the type.
RESPONSE_MODEL_UNSET: Final[Any] = object()


@dataclasses.dataclass(frozen=True, slots=True)
class ActionOptions:
    """The route options ``@action(...)`` was given (see :func:`action` for each one).

    ``action()``'s keyword parameters are these fields, in this order (a test holds the two
    equal): the decorator passes what it was called with through, field by field.
    """

    name: str | None
    auth: list[Any] | None
    guards: list[Any] | None
    response_model: Any
    status_code: int | None
    validate_response: bool | None
    tags: list[str] | None
    summary: str | None
    description: str | None
    include_in_schema: bool | None


_OPTION_NAMES: Final = tuple(option.name for option in dataclasses.fields(ActionOptions))


class ActionHandler:
    """A viewset method marked with ``@action``, and the route options it asked for.

    Read through an instance it is the bound method (``self.publish(...)`` calls the function);
    read through the class it is this record.
    """

    __slots__ = ("detail", "fn", "methods", "options", "path")

    def __init__(
        self,
        fn: Callable[..., Any],
        methods: Sequence[str],
        detail: bool,
        path: str | None,
        options: ActionOptions,
    ) -> None:
        self.fn = fn
        self.methods = tuple(dict.fromkeys(m.upper() for m in methods))
        self.detail = detail
        self.path = (path if path is not None else fn.__name__).strip("/")
        self.options = options

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return self.fn.__get__(instance, owner)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself (``self`` first, as through the class)."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        scope = "detail" if self.detail else "list"
        methods = "|".join(self.methods)
        return f"<ActionHandler {methods} {scope} {self.path!r} -> {self.fn.__qualname__}>"


def action(
    methods: Sequence[str],
    detail: bool,
    path: str | None = None,
    *,
    name: str | None = None,
    auth: list[Any] | None = None,
    guards: list[Any] | None = None,
    response_model: Any = RESPONSE_MODEL_UNSET,
    status_code: int | None = None,
    validate_response: bool | None = None,
    tags: list[str] | None = None,
    summary: str | None = None,
    description: str | None = None,
    include_in_schema: bool | None = None,
) -> Callable[[Callable[..., Any]], ActionHandler]:
    """Serve a viewset method on ``{base}/{path}`` (``detail=False``) or
    ``{base}/{lookup}/{path}`` (``detail=True``) for each of ``methods``.

    ``path`` defaults to the method's name; ``name`` is the URL name's suffix
    (``{viewset name}-{name}``, the method's name by default). ``auth``, ``guards`` and
    ``validate_response`` given here win over the class's; the other options are the route
    decorators'.
    """
    given = locals()
    options = ActionOptions(*(given[option] for option in _OPTION_NAMES))
    if isinstance(methods, str) or not isinstance(methods, Sequence) or not methods:
        raise ValueError(f"@action needs a list of HTTP methods, not {methods!r}")
    for method in methods:
        if not isinstance(method, str) or method.upper() not in _VALID_METHODS:
            valid = ", ".join(sorted(_VALID_METHODS))
            raise ValueError(f"Invalid HTTP method {method!r} for @action; valid: {valid}")
    if not isinstance(detail, bool):
        raise TypeError(f"@action(detail=...) must be True or False, not {detail!r}")
    if path is not None and (not isinstance(path, str) or not path.strip("/")):
        raise ValueError(f"@action(path=...) must be a non-empty path segment, not {path!r}")

    def decorator(fn: Callable[..., Any]) -> ActionHandler:
        if not callable(fn):
            raise TypeError(f"@action decorates a method, not {fn!r}")
        return ActionHandler(fn, methods, detail, path, options)

    return decorator
