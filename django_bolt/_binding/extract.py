"""Reading a route's raw values from the request, and the conversions that need no msgspec.

One reader per source, chosen once per route from its plan and used by both binders (the
general one in ``binder`` and the shortcut in ``fast``): when every query, header or cookie
parameter of a route is a single value, only the named keys are decoded, through the same
functions the request's own views use (``_http.parse``); lists and grouped Structs read the full
views (``request.query``, ``request.headers``, ...).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from django_bolt._binding.plan import MANY, SINGLE, Plan
from django_bolt._http.parse import parse_cookie_headers, parse_query, pick_headers

if TYPE_CHECKING:
    from collections.abc import Container

    from django_bolt.request import Request

__all__ = (
    "MAX_INT_DIGITS",
    "Field",
    "Reader",
    "canonical_int",
    "cookie_values",
    "fast_convert",
    "gather",
    "header_values",
    "plan_readers",
    "query_values",
)

# Longest decimal that surely fits msgspec's 64-bit int; longer ones go to msgspec.
MAX_INT_DIGITS: Final = 18

# How a source is read: (request, the path's captured values) -> a mapping of wire names.
Reader = Callable[["Request", "dict[str, str] | None"], Any]
# (argument name, name in the request, SINGLE/MANY/GROUP, the group's fields)
Field = tuple[str, str, int, tuple[tuple[str, str, bool], ...]]


def query_values(request: Request, wanted: Container[str]) -> dict[str, str]:
    """Return the last value of each wanted query key, decoded as ``request.query`` decodes it."""
    return dict(parse_query(request.query_string, wanted))


def header_values(request: Request, wanted: Container[bytes]) -> dict[str, str]:
    """Return the last value of each wanted (lower-case) header, decoded as ``request.headers``
    does."""
    return pick_headers(request.raw_headers, wanted)


def cookie_values(request: Request, wanted: Container[str]) -> dict[str, str]:
    """Return the wanted cookies, decoded as ``request.cookies`` decodes them."""
    return parse_cookie_headers(request.raw_headers, wanted=wanted)


def _picked_query(wanted: frozenset[str], request: Request, _: dict[str, str] | None) -> Any:
    return query_values(request, wanted)


def _picked_headers(wanted: frozenset[bytes], request: Request, _: dict[str, str] | None) -> Any:
    return header_values(request, wanted)


def _picked_cookies(wanted: frozenset[str], request: Request, _: dict[str, str] | None) -> Any:
    return cookie_values(request, wanted)


# The full views, for sources whose parameters are lists or grouped Structs (and the others).
_VIEWS: Final[dict[str, Reader]] = {
    "path": lambda _, path_values: path_values or {},
    "query": lambda request, _: request.query,
    "header": lambda request, _: request.headers,
    "cookie": lambda request, _: request.cookies,
    "form": lambda request, _: request.form().fields,
}


class _FormWithFiles:
    """A form's fields and, under names no field has, its uploaded files (for a Form() Struct
    with ``UploadFile`` fields)."""

    __slots__ = ("_fields", "_files")

    def __init__(self, request: Request) -> None:
        form = request.form()
        self._fields = form.fields
        self._files = form.files

    def get(self, key: str) -> Any:
        value = self._fields.get(key)
        if value is None:
            files = self._files.get(key)
            if files:
                return files[0]
        return value

    def getlist(self, key: str) -> list[Any]:
        values: list[Any] = self._fields.getlist(key)
        return values or list(self._files.get(key, ()))


def _form_with_files(request: Request, _: dict[str, str] | None) -> Any:
    return _FormWithFiles(request)


def _reader_for(plan: Plan[Any], source: str) -> Reader:
    """How a request is read for ``source``: only the named keys when each is a single value."""
    if source == "form" and plan.form_files:
        return _form_with_files
    single = plan.single_wires(source)
    if single is not None:
        if source == "query":
            return functools.partial(_picked_query, single)
        if source == "header":
            return functools.partial(
                _picked_headers, frozenset(w.encode("latin-1") for w in single)
            )
        if source == "cookie":
            return functools.partial(_picked_cookies, single)
    return _VIEWS[source]


def plan_readers(plan: Plan[Any]) -> tuple[tuple[Reader, tuple[Field, ...]], ...]:
    """Per source, the reader and flat tuples of what to take from what it returns."""
    fields: dict[str, list[Field]] = {}
    for s in plan.scalars:
        fields.setdefault(s.source, []).append((s.name, s.wire, s.kind, s.group_fields))
    return tuple((_reader_for(plan, source), tuple(f)) for source, f in fields.items())


def gather(
    readers: tuple[tuple[Reader, tuple[Field, ...]], ...],
    request: Request,
    path_values: dict[str, str] | None,
) -> dict[str, Any]:
    """Return the raw values of every scalar argument present in the request, by argument name."""
    raw: dict[str, Any] = {}
    for read, fields in readers:
        mapping = read(request, path_values)
        for name, wire, kind, group_fields in fields:
            if kind == SINGLE:
                value = mapping.get(wire)
                if value is not None:
                    raw[name] = value
            elif kind == MANY:
                items = _all_values(mapping, wire)
                if items:
                    raw[name] = items
            else:
                raw[name] = _gather_group(mapping, group_fields)
    return raw


def _all_values(mapping: Any, wire: str) -> list[Any]:
    """Every value of ``wire``: a path value or a cookie (plain dicts) is a list of one."""
    if hasattr(mapping, "getlist"):
        items: list[Any] = mapping.getlist(wire)
        return items
    value = mapping.get(wire)
    return [] if value is None else [value]


def _gather_group(mapping: Any, fields: tuple[tuple[str, str, bool], ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, wire, is_list in fields:
        if is_list:
            items = _all_values(mapping, wire)
            if items:
                values[key] = items
        else:
            value = mapping.get(wire)
            if value is not None:
                values[key] = value
    return values


def canonical_int(value: str) -> int | None:
    """``int(value)`` when msgspec would read ``value`` as that same int, else None.

    ``int()`` alone is laxer than msgspec (it takes ``+5``, `` 5``, ``1_0`` and non-ASCII
    digits), so only plain ASCII decimals without a leading zero pass here.
    """
    digits = value[1:] if value[:1] == "-" else value
    if (
        digits.isdigit()
        and digits.isascii()
        and len(digits) <= MAX_INT_DIGITS
        and (digits[0] != "0" or len(digits) == 1)
    ):
        return int(value)
    return None


def fast_convert(raw: dict[str, Any], checks: tuple[tuple[str, bool, bool], ...]) -> bool:
    """Convert ``raw`` in place if every value is trivially valid; False means "ask msgspec"."""
    for name, is_int, required in checks:
        value = raw.get(name)
        if value is None:
            if required:
                return False
            continue
        if is_int:
            number = canonical_int(value)
            if number is None:
                return False
            raw[name] = number
    return True
