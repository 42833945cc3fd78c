"""Parameter markers: where a handler argument comes from, and what it must satisfy.

Use them as ``Annotated[int, Query(ge=1)]`` or as the default value (``page: int = Query(1)``).
Arguments without a marker are inferred: a name in the path template is a path parameter,
``request`` is the request, a msgspec Struct / dataclass / TypedDict is the JSON body, anything
else is a query parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ("Body", "Cookie", "Depends", "File", "Form", "Header", "Param", "Path", "Query")

Source = Literal["path", "query", "header", "cookie", "body", "form", "file"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class Param:
    """Common base of the markers; ``source`` says where the value is read."""

    __slots__ = (
        "alias",
        "default",
        "deprecated",
        "description",
        "example",
        "ge",
        "gt",
        "le",
        "lt",
        "max_length",
        "min_length",
        "multiple_of",
        "pattern",
    )
    source: Source = "query"

    def __init__(
        self,
        default: Any = UNSET,
        *,
        alias: str | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        multiple_of: float | None = None,
        example: Any = None,
        deprecated: bool = False,
    ) -> None:
        # ``...`` is how FastAPI and Django-Bolt code spells "required".
        self.default = UNSET if default is Ellipsis else default
        self.alias = alias
        self.description = description
        self.gt = gt
        self.ge = ge
        self.lt = lt
        self.le = le
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern
        self.multiple_of = multiple_of
        # Documentation only (OpenAPI): an example value and whether the value is deprecated.
        self.example = example
        self.deprecated = deprecated

    def constraints(self) -> dict[str, Any]:
        """Return the msgspec ``Meta`` keyword arguments this marker asks for."""
        names = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(default={self.default!r}, alias={self.alias!r})"


class Query(Param):
    """A query-string value (``list[T]`` collects repeated keys)."""

    __slots__ = ()
    source = "query"


class Path(Param):
    """A value captured from the path template."""

    __slots__ = ()
    source = "path"


class Header(Param):
    """A request header; by default the argument kebab-cased (``x_api_key`` is ``x-api-key``)."""

    __slots__ = ()
    source = "header"


class Cookie(Param):
    __slots__ = ()
    source = "cookie"


class Body(Param):
    """The JSON body, decoded and validated into the annotated type.

    With several body arguments in one handler, or ``embed=True``, the body is a JSON object
    with one key per argument (its name, or ``alias``), each validated as its own type.
    """

    __slots__ = ("embed",)
    source = "body"

    def __init__(
        self,
        default: Any = UNSET,
        *,
        embed: bool = False,
        alias: str | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        multiple_of: float | None = None,
        example: Any = None,
        deprecated: bool = False,
    ) -> None:
        super().__init__(
            default,
            alias=alias,
            description=description,
            gt=gt,
            ge=ge,
            lt=lt,
            le=le,
            min_length=min_length,
            max_length=max_length,
            pattern=pattern,
            multiple_of=multiple_of,
            example=example,
            deprecated=deprecated,
        )
        self.embed = embed


class Form(Param):
    """A field of an ``application/x-www-form-urlencoded`` body."""

    __slots__ = ()
    source = "form"


class File(Param):
    """An uploaded file (multipart), with limits checked while the body is parsed."""

    __slots__ = ("allowed_types", "max_files", "max_size", "min_size")
    source = "file"

    def __init__(
        self,
        default: Any = UNSET,
        *,
        alias: str | None = None,
        description: str | None = None,
        max_size: int | None = None,
        min_size: int | None = None,
        allowed_types: Iterable[str] | None = None,
        max_files: int | None = None,
        example: Any = None,
        deprecated: bool = False,
    ) -> None:
        super().__init__(
            default, alias=alias, description=description, example=example, deprecated=deprecated
        )
        self.max_size = max_size
        self.min_size = min_size
        self.allowed_types = _allowed_types(allowed_types)
        self.max_files = max_files


def _allowed_types(allowed: Iterable[str] | None) -> tuple[str, ...] | None:
    """Check ``File(allowed_types=...)`` once, when the marker is made, and freeze it.

    A str is refused rather than read as its characters, an empty iterable rather than taken to
    allow each type, and a one-shot iterator is copied so every request sees the same types.
    """
    if allowed is None:
        return None
    if isinstance(allowed, str):
        raise TypeError(
            f"File(allowed_types=...) takes an iterable of MIME type strings, not the str "
            f"{allowed!r}: write [{allowed!r}]"
        )
    try:
        types = tuple(allowed)
    except TypeError:
        raise TypeError(
            "File(allowed_types=...) takes an iterable of MIME type strings, "
            f"not {type(allowed).__name__}"
        ) from None
    for item in types:
        if not isinstance(item, str):
            raise TypeError(
                f"File(allowed_types=...) items must be str, got {type(item).__name__} {item!r}"
            )
    if not types:
        raise ValueError(
            "File(allowed_types=...) is empty: list at least one MIME type, "
            "or leave allowed_types out to accept any type"
        )
    return types


class Depends:
    """A value computed by ``dependency`` for each request (once, unless ``use_cache=False``).

    The dependency's own arguments are bound like a handler's. A dependency that ``yield``\\ s
    gets the code after its ``yield`` run once the response has been sent.
    """

    __slots__ = ("dependency", "use_cache")

    def __init__(
        self, dependency: Callable[..., Any] | None = None, *, use_cache: bool = True
    ) -> None:
        self.dependency = dependency
        self.use_cache = use_cache

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__qualname__", self.dependency)
        return f"Depends({name}, use_cache={self.use_cache})"
