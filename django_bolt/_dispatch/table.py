"""The route table: static paths in a dict, dynamic ones in one regular expression built once.

Matching runs on the raw (still percent-encoded) path so that an encoded ``/`` inside a value
cannot change which route matches; captured values are decoded afterwards. Templates that differ
only in parameter names (``/items/{id}`` and ``/items/{item_id}``) share one entry, so GET on one
and DELETE on the other give a correct 405/Allow and a duplicate check that sees through renames.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeVar
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = (
    "HTTP_METHODS",
    "PathTemplate",
    "RouteMatch",
    "RouteTable",
    "TrailingSlash",
    "normalize_path",
)

T = TypeVar("T")
TrailingSlash = Literal["strip", "append", "keep"]

HTTP_METHODS: Final[tuple[str, ...]] = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")
# Converters name the pattern only; types come from the handler's annotations.
_CONVERTERS: Final = {"str": "[^/]+", "int": "[0-9]+", "path": ".*", "uuid": "[0-9a-fA-F-]{32,36}"}


_PATH_SAFE: Final = "/:@!$&'()*+,;=-._~"


def _quote_path(path: str) -> str:
    return quote(path, safe=_PATH_SAFE)


def normalize_path(path: str, trailing_slash: TrailingSlash) -> str:
    """Apply the API's trailing-slash policy to a route path at registration."""
    if not path.startswith("/"):
        path = "/" + path
    path = re.sub("/{2,}", "/", path)
    if path == "/":
        return path
    if trailing_slash == "strip":
        return path.rstrip("/") or "/"
    if trailing_slash == "append" and not path.endswith("/") and not path.endswith(":path}"):
        return path + "/"
    return path


class PathTemplate:
    """One parsed template: its parameter names and the regex source that matches it."""

    __slots__ = ("names", "path", "pattern", "shape")

    def __init__(self, path: str) -> None:
        self.path = path
        names: list[str] = []
        pattern: list[str] = []
        shape: list[str] = []
        pos = 0
        for match in _PARAM.finditer(path):
            literal = path[pos : match.start()]
            pattern.append(re.escape(_quote_path(literal)))
            shape.append(literal)
            name, converter = match[1], match[2] or "str"
            if converter not in _CONVERTERS:
                raise ValueError(f"unknown path converter {converter!r} in {path!r}")
            if name in names:
                raise ValueError(f"parameter {name!r} appears twice in {path!r}")
            names.append(name)
            pattern.append(f"({_CONVERTERS[converter]})")
            shape.append("{" + converter + "}")
            pos = match.end()
        if "{" in path[pos:] or "}" in path[pos:]:
            raise ValueError(f"malformed path template {path!r}")
        pattern.append(re.escape(_quote_path(path[pos:])))
        shape.append(path[pos:])
        self.names = tuple(names)
        self.pattern = "".join(pattern)
        # Two templates with the same shape match exactly the same paths.
        self.shape = "".join(shape)

    @property
    def is_static(self) -> bool:
        """Whether the template has no parameter (its path is matched by one dict lookup)."""
        return not self.names


class RouteMatch(Generic[T]):
    """The routes registered for one path (by method) and the ``Allow`` value for it."""

    __slots__ = ("allow", "methods", "names", "path", "pattern")

    def __init__(self, path: str, pattern: str) -> None:
        self.path = path
        self.pattern = pattern
        self.methods: dict[str, T] = {}
        self.names: dict[str, tuple[str, ...]] = {}
        self.allow = ""

    @classmethod
    def merged(cls, entries: list[RouteMatch[T]]) -> RouteMatch[T]:
        """Merge entries that match the same path into one, for ``Allow`` and CORS."""
        union: RouteMatch[T] = cls(entries[0].path, entries[0].pattern)
        for entry in entries:
            for method, value in entry.methods.items():
                union.methods.setdefault(method, value)
                union.names.setdefault(method, entry.names[method])
        union.seal()
        return union

    def seal(self) -> None:
        methods: set[str] = set(self.methods)
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        ordered: list[str] = [m for m in HTTP_METHODS if m in methods]
        ordered += sorted(methods.difference(HTTP_METHODS))
        self.allow = ", ".join(ordered)


class RouteTable(Generic[T]):
    """Registered routes and the compiled matcher; ``compile`` must run after the last ``add``."""

    __slots__ = ("_by_group", "_dynamic", "_each", "_labels", "_regex", "static")

    def __init__(self) -> None:
        self.static: dict[str, RouteMatch[T]] = {}
        self._dynamic: dict[str, RouteMatch[T]] = {}
        self._labels: dict[tuple[str, str], str] = {}
        self._regex: re.Pattern[str] | None = None
        self._by_group: dict[int, tuple[int, RouteMatch[T], int]] = {}
        # Each dynamic shape on its own, for the rare search past the first match.
        self._each: list[tuple[re.Pattern[str], RouteMatch[T]]] = []

    def add(self, method: str, template: PathTemplate, value: T, label: str) -> None:
        """Register ``value``; a second route on the same method and path shape is an error."""
        key = (method, template.shape)
        previous = self._labels.get(key)
        if previous is not None:
            raise ValueError(
                f"duplicate route {method} {template.path}: {label} clashes with {previous}"
            )
        self._labels[key] = label
        if template.is_static:
            raw = _quote_path(template.path)
            entry = self.static.setdefault(raw, RouteMatch(template.path, template.pattern))
        else:
            entry = self._dynamic.setdefault(
                template.shape, RouteMatch(template.path, template.pattern)
            )
        entry.methods[method] = value
        entry.names[method] = template.names

    def compile(self) -> None:
        """Build the one regex for all dynamic shapes, in registration order."""
        for entry in (*self.static.values(), *self._dynamic.values()):
            entry.seal()
        if not self._dynamic:
            self._regex = None
            return
        parts: list[str] = []
        by_group: dict[int, tuple[int, RouteMatch[T], int]] = {}
        index = 1
        for entry in self._dynamic.values():
            count = re.compile(entry.pattern).groups
            parts.append(f"({entry.pattern})")
            by_group[index] = (index, entry, count)
            index += 1 + count
        self._regex = re.compile("(?:" + "|".join(parts) + r")\Z")
        self._by_group = by_group
        self._each = [(re.compile(e.pattern + r"\Z"), e) for e in self._dynamic.values()]

    def match(self, raw_path: str) -> tuple[RouteMatch[T], tuple[str, ...]] | None:
        """Find the entry for a raw path; values are URL-decoded."""
        entry = self.static.get(raw_path)
        if entry is not None:
            return entry, ()
        return self.match_dynamic(raw_path)

    def match_dynamic(self, raw_path: str) -> tuple[RouteMatch[T], tuple[str, ...]] | None:
        """Do :meth:`match`'s work for a path ``static`` does not hold as written (dispatch
        looks there first itself): a static path with other percent-escapes, or a dynamic one."""
        if "%" in raw_path and "%2f" not in raw_path.lower():
            # Percent-encoding is not unique (%7e vs ~ vs %7E): compare canonical forms.
            entry: RouteMatch[T] | None = self.static.get(_quote_path(unquote(raw_path)))
            if entry is not None:
                return entry, ()
        regex = self._regex
        if regex is None:
            return None
        m = regex.match(raw_path)
        if m is None:
            return None
        # Each alternative's outer group closes last, so lastindex names the one that matched.
        start, entry, count = self._by_group[m.lastindex or 0]
        # The groups of this alternative only: m.groups() would build a tuple of every
        # alternative's groups (most of them None) on each request.
        if count == 1:
            values: tuple[str, ...] = (m.group(start + 1),)
        else:
            values = tuple(m.group(index) for index in range(start + 1, start + 1 + count))
        if "%" in raw_path:
            values = tuple(unquote(v) if "%" in v else v for v in values)
        return entry, values

    def match_all(self, raw_path: str) -> list[tuple[RouteMatch[T], tuple[str, ...]]]:
        """Find every entry whose shape matches, the static one first, then in order added.

        :meth:`match` gives only the first; this is for when that one lacks the request's
        method (``GET /users/{id:int}`` and ``DELETE /users/{id}`` both match ``/users/5``).
        """
        found: list[tuple[RouteMatch[T], tuple[str, ...]]] = []
        first = self.match(raw_path)
        if first is not None and not first[1]:
            found.append(first)
        for regex, entry in self._each:
            m = regex.match(raw_path)
            if m is not None:
                values = m.groups()
                if "%" in raw_path:
                    values = tuple(unquote(v) if "%" in v else v for v in values)
                found.append((entry, values))
        return found

    def entries(self) -> Iterable[RouteMatch[T]]:
        """Return every entry, the static ones first."""
        return (*self.static.values(), *self._dynamic.values())

    def labels(self) -> dict[tuple[str, str], str]:
        """Return the handler's label for each (method, path shape) registered."""
        return dict(self._labels)


def params_for(entry: RouteMatch[Any], method: str, values: tuple[str, ...]) -> dict[str, str]:
    """Name the captured values the way the route registered for ``method`` spells them."""
    return dict(zip(entry.names[method], values, strict=True))
