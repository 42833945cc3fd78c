"""The route table: static paths in a dict, dynamic ones by their leading literal segments.

Each branch of the dynamic shapes holds one regular expression, built once, over the shapes a
path that reaches it can match, in the order they were added (the first added wins).

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
# A branch of the dynamic shapes splits by its next literal segment only when more than this
# many shapes lie below it (RouteTable.compile).
_BRANCH_SHAPES: Final = 6


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


def _literal_head(path: str) -> tuple[str, ...]:
    """Return the whole literal segments a template starts with, as a raw path spells them.

    ``/api/v1/users/{id}`` gives ``("api", "v1", "users")``: a path its regex matches starts
    with ``/api/v1/users/``. A segment holding a parameter ends the head.
    """
    if not path.startswith("/"):
        return ()
    return tuple(_quote_path(part) for part in path[: path.find("{")].split("/")[1:-1])


class _Branch(Generic[T]):
    """The dynamic shapes a raw path can still match once its first segments are known.

    ``children`` goes one literal segment deeper. ``regex`` tries, in the order they were
    added, every shape whose literal head is this branch's path or a prefix of it (and, when
    the branch has no children, every shape below it too): no other shape can match a path
    whose walk ends here, so the first match here is the first in the whole table.

    A branch with one child is left for it without reading the segment (``only``, ``skip``):
    the child tries every shape the branch would, and those it adds need that segment, so
    they cannot match a path that lacks it.
    """

    __slots__ = ("by_group", "children", "only", "regex", "skip")

    def __init__(self) -> None:
        self.children: dict[str, _Branch[T]] = {}
        self.only: _Branch[T] | None = None
        self.skip = 0
        self.regex: re.Pattern[str] | None = None
        self.by_group: dict[int, tuple[int, RouteMatch[T], int]] = {}

    def build(self, entries: list[RouteMatch[T]]) -> None:
        """Compile the alternation of ``entries`` (in order) as this branch's ``regex``."""
        if not entries:
            return
        parts: list[str] = []
        index = 1
        for entry in entries:
            count = re.compile(entry.pattern).groups
            parts.append(f"({entry.pattern})")
            self.by_group[index] = (index, entry, count)
            index += 1 + count
        self.regex = re.compile("(?:" + "|".join(parts) + r")\Z")


class RouteTable(Generic[T]):
    """Registered routes and the compiled matcher; ``compile`` must run after the last ``add``."""

    __slots__ = ("_dynamic", "_each", "_labels", "_root", "static")

    def __init__(self) -> None:
        self.static: dict[str, RouteMatch[T]] = {}
        self._dynamic: dict[str, RouteMatch[T]] = {}
        self._labels: dict[tuple[str, str], str] = {}
        # Dynamic shapes by their leading literal segments: one regex over every shape made the
        # last of 200 routes under /api/v1/ cost 27 us a match (each alternative is tried, and
        # each saves the groups); a branch holds only the shapes a path can still match.
        self._root: _Branch[T] = _Branch()
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
        """Build the branches of the dynamic shapes, each one's regex in registration order."""
        for entry in (*self.static.values(), *self._dynamic.values()):
            entry.seal()
        root: _Branch[T] = _Branch()
        # The shapes whose literal head ends at each branch (by id), with their place in order.
        own: dict[int, list[tuple[int, RouteMatch[T]]]] = {}
        for order, entry in enumerate(self._dynamic.values()):
            branch = root
            for segment in _literal_head(entry.path):
                branch = branch.children.setdefault(segment, _Branch())
            own.setdefault(id(branch), []).append((order, entry))

        def below(branch: _Branch[T]) -> list[tuple[int, RouteMatch[T]]]:
            found = list(own.get(id(branch), []))
            for child in branch.children.values():
                found += below(child)
            return found

        pending: list[tuple[_Branch[T], list[tuple[int, RouteMatch[T]]]]] = [(root, [])]
        while pending:
            branch, inherited = pending.pop()
            under = below(branch)
            if len(under) <= _BRANCH_SHAPES:
                # Few enough for one regex (a failed alternative costs less than a segment's
                # lookup): every shape below is tried here, and the walk stops.
                branch.children = {}
                reachable = [*inherited, *under]
            else:
                reachable = [*inherited, *own.get(id(branch), [])]
                pending.extend((child, reachable) for child in branch.children.values())
                if len(branch.children) == 1:
                    ((segment, branch.only),) = branch.children.items()
                    branch.skip = len(segment) + 1
            branch.build([entry for _, entry in sorted(reachable, key=lambda pair: pair[0])])
        self._root = root
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
        branch = self._root
        start = 1
        while branch.children:
            only = branch.only
            if only is not None:
                start += branch.skip
                branch = only
                continue
            # Down one whole segment (it ends with "/") while a branch has it.
            end = raw_path.find("/", start)
            if end < 0:
                break
            child = branch.children.get(raw_path[start:end])
            if child is None:
                break
            branch = child
            start = end + 1
        regex = branch.regex
        if regex is None:
            return None
        m = regex.match(raw_path)
        if m is None:
            return None
        # Each alternative's outer group closes last, so lastindex names the one that matched.
        start, entry, count = branch.by_group[m.lastindex or 0]
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
