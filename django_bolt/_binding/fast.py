"""A specialised argument builder for the commonest routes, made once per route.

Most handlers take a few single-valued ``str`` or ``int`` parameters from the path, the query
string, headers and cookies, and nothing else. For those, :func:`compile_fast_bind` returns a
closure that reads exactly those values and converts them inline: no per-source readers, no
per-field dispatch on kinds, no ``msgspec.convert``. It only ever accepts input that the general
binder would accept with the same result; anything else (a missing required value, an int that
is not written canonically) is handed to the general binder, which alone decides what is wrong
and how the 422 reads. So there is one source of truth for validation and errors, and this
module is only a shortcut in front of it.

The closure reads the query string and the header block with its own loops: the readings of
``_http.parse.parse_query`` and ``pick_headers`` written out, and cookies through the one
``parse_cookies``. Calling the shared readers instead costs about 2,000 instructions per request
(2.4 % of a whole path+query request, 2.7 % for header+cookie: a call, a list and a tuple per
value, measured with callgrind), so the loops stay written out and
``tests/api/test_scalar_fast_path.py`` holds them equal to the general binder, which does call
the shared readers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from django_bolt._binding.extract import MAX_INT_DIGITS as _MAX_INT_DIGITS, canonical_int
from django_bolt._http.fields import parse_cookies

if TYPE_CHECKING:
    from django_bolt._binding.binder import Binder
    from django_bolt.request import Request

__all__ = ("canonical_int", "compile_fast_bind")

BindFn = Callable[["Request", "dict[str, str] | None"], "dict[str, Any]"]
# Wire name -> (argument name, whether it is an int)
_Targets = dict[str, tuple[str, bool]]


def compile_fast_bind(binder: Binder) -> BindFn | None:
    """Return the shortcut binder for ``binder``'s route, or None when the route needs more than it
    does.

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
    required_names = tuple(name for name, _, _, _, is_required in plan if is_required)
    slow = binder.bind
    request_names = tuple(binder.request_names)
    total = len(plan)

    def bind(request: Request, path_values: dict[str, str] | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if path_fields and path_values is not None:
            for name, wire, is_int in path_fields:
                value = path_values.get(wire)
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
                    kwargs[name] = int(value)  # canonical_int's commonest case, without a call
                else:
                    number = canonical_int(value)
                    if number is None:
                        return slow(request, path_values)
                    kwargs[name] = number
        if query:
            qs = request.query_string
            if qs:
                # parse_query's reading, written out (see the module docstring).
                for chunk in qs.split("&"):
                    key, _, value = chunk.partition("=")
                    if "%" in key or "+" in key:
                        key = unquote_plus(key)
                    target = query.get(key)
                    if target is None:
                        continue
                    if "%" in value or "+" in value:
                        value = unquote_plus(value)
                    # The last occurrence wins, as in the general binder.
                    if target[1]:
                        number = canonical_int(value)
                        if number is None:
                            return slow(request, path_values)
                        kwargs[target[0]] = number
                    else:
                        kwargs[target[0]] = value
        if header_targets or cookies:
            # pick_headers' reading, written out, with the Cookie fields in the same pass.
            for raw_name, raw_value in request.raw_headers:
                lower = raw_name.lower()
                target = header_targets.get(lower)
                if target is not None:
                    value = raw_value.decode("latin-1")
                    if target[1]:
                        number = canonical_int(value)
                        if number is None:
                            return slow(request, path_values)
                        kwargs[target[0]] = number
                    else:
                        kwargs[target[0]] = value
                if cookies and lower == b"cookie":
                    # The one cookie parser, so quoting and escapes read as request.cookies.
                    found = parse_cookies(raw_value.decode("latin-1"), wanted=cookies)
                    for name, (argument, is_int) in cookies.items():
                        value = found.get(name)
                        if value is None:
                            continue
                        if is_int:
                            number = canonical_int(value)
                            if number is None:
                                return slow(request, path_values)
                            kwargs[argument] = number
                        else:
                            kwargs[argument] = value
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
