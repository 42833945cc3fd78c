"""A specialised argument builder for the commonest routes, made once per route.

Most handlers take a few single-valued ``str`` or ``int`` parameters from the path, the query
string, headers and cookies, and nothing else. For those, :func:`compile_fast_bind` returns a
closure that reads exactly those values, through the same decoders the general binder and the
request's views use (``_http.parse``), and converts them inline: no per-field dispatch on kinds,
no ``msgspec.convert``.
It only ever accepts input that the general binder would accept with the same result; anything
else (a missing required value, an int that is not written canonically) is handed to the
general binder, which alone decides what is wrong and how the 422 reads. So there is one source
of truth for reading, validation and errors, and this module is only a shortcut in front of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django_bolt._binding.extract import MAX_INT_DIGITS as _MAX_INT_DIGITS, canonical_int
from django_bolt._http.parse import parse_cookies, parse_query, pick_headers

if TYPE_CHECKING:
    from django_bolt._binding.binder import Binder
    from django_bolt.request import Request

__all__ = ("canonical_int", "compile_fast_bind")

BindFn = Callable[["Request", "dict[str, str] | None"], "dict[str, Any]"]
# Wire name -> (argument name, whether it is an int)
_Targets = dict[str, tuple[str, bool]]


def compile_fast_bind(binder: Binder) -> BindFn | None:
    """The shortcut binder for ``binder``'s route, or None when the route needs more than it does.

    Eligible: every parameter is a single ``str`` or ``int`` (optional or not) read from the
    path, query, headers or cookies; besides them only ``request`` arguments. Bodies, forms,
    files, lists, grouped Structs and constraints all go through the general binder.
    """
    plan = binder.fast_plan()
    if plan is None:
        return None
    targets = _targets(plan)
    if targets is None:
        return None
    path, query, headers, cookies = targets
    path_fields = tuple((name, wire, is_int) for wire, (name, is_int) in path.items())
    header_targets = {wire.encode("latin-1"): target for wire, target in headers.items()}
    # One pass over the header block reads the wanted fields and the Cookie fields.
    header_names = frozenset([*header_targets, *([b"cookie"] if cookies else [])])
    required_names = tuple(name for name, _, _, _, is_required in plan if is_required)
    slow = binder.bind
    request_names = tuple(binder.request_names)
    total = len(plan)

    # Written out per source rather than through a helper: a call per source would cost more
    # than the reading itself on the routes this exists for. The int check is the same
    # canonical_int the general binder applies; a value it refuses goes to the general binder.
    def bind(request: Request, path_values: dict[str, str] | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if path_fields and path_values is not None:
            for name, wire, is_int in path_fields:
                value: Any = path_values.get(wire)
                if value is None:
                    continue
                if not is_int:
                    kwargs[name] = value
                elif (
                    value.isascii()
                    and value.isdigit()
                    and len(value) <= _MAX_INT_DIGITS
                    and (value[0] != "0" or len(value) == 1)
                ):
                    # canonical_int's unsigned case, without the call: ids in paths are the
                    # commonest int (tests/api/test_scalar_fast_path.py holds the two equal).
                    kwargs[name] = int(value)
                else:
                    value = canonical_int(value)
                    if value is None:
                        return slow(request, path_values)
                    kwargs[name] = value
        if query:
            qs = request.query_string
            for key, value in parse_query(qs, query) if qs else ():
                name, is_int = query[key]
                if is_int:
                    value = canonical_int(value)
                    if value is None:
                        return slow(request, path_values)
                kwargs[name] = value  # the last occurrence wins, as in the general binder
        if header_names:
            for field, value in pick_headers(request.raw_headers, header_names):
                if cookies and field == b"cookie":
                    for cookie, text in parse_cookies(value, wanted=cookies).items():
                        name, is_int = cookies[cookie]
                        if is_int:
                            number = canonical_int(text)
                            if number is None:
                                return slow(request, path_values)
                            kwargs[name] = number
                        else:
                            kwargs[name] = text
                target = header_targets.get(field)
                if target is not None:
                    name, is_int = target
                    if is_int:
                        value = canonical_int(value)
                        if value is None:
                            return slow(request, path_values)
                    kwargs[name] = value
        if len(kwargs) != total:
            for name in required_names:
                if name not in kwargs:
                    return slow(request, path_values)  # it names the missing parameter
        for name in request_names:
            kwargs[name] = request
        return kwargs

    return bind


def _targets(
    plan: tuple[tuple[str, str, str, bool, bool], ...],
) -> tuple[_Targets, _Targets, _Targets, _Targets] | None:
    """Per source (path, query, header, cookie), wire name -> (argument, is_int); None when a
    parameter comes from anywhere else."""
    by_source: dict[str, _Targets] = {"path": {}, "query": {}, "header": {}, "cookie": {}}
    for name, source, wire, is_int, _ in plan:
        targets = by_source.get(source)
        if targets is None:
            return None
        targets[wire] = (name, is_int)
    return by_source["path"], by_source["query"], by_source["header"], by_source["cookie"]
