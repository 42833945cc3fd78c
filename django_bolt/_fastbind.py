"""A specialised argument builder for the commonest routes, made once per route.

Most handlers take a few single-valued ``str`` or ``int`` parameters from the path, the query
string, headers and cookies, and nothing else. For those, :func:`compile_fast_bind` returns a
closure that reads exactly those values and converts them inline: no generic per-source views,
no per-field dispatch on kinds, no ``msgspec.convert``. It only ever accepts input that the
general binder would accept with the same result; anything else (a missing required value, an
int that is not written canonically) is handed to the general binder, which alone decides what
is wrong and how the 422 reads. So there is one source of truth for validation and errors, and
this module is only a shortcut in front of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_plus

from django_bolt.request import parse_cookies

if TYPE_CHECKING:
    from django_bolt.binding import Binder
    from django_bolt.request import Request

__all__ = ("canonical_int", "compile_fast_bind")

# Longest decimal that surely fits msgspec's 64-bit int; longer ones go to the general binder.
_MAX_INT_DIGITS: Final = 18

BindFn = Callable[["Request", "dict[str, str] | None"], "dict[str, Any]"]
# (argument name, whether it is an int)
_Target = tuple[str, bool]


def canonical_int(value: str) -> int | None:
    """``int(value)`` when msgspec would read ``value`` as that same int, else None.

    ``int()`` alone is laxer than msgspec (it takes ``+5``, `` 5``, ``1_0`` and non-ASCII
    digits), so only plain ASCII decimals without a leading zero pass here.
    """
    digits = value[1:] if value[:1] == "-" else value
    if (
        digits.isdigit()
        and digits.isascii()
        and len(digits) <= _MAX_INT_DIGITS
        and (digits[0] != "0" or len(digits) == 1)
    ):
        return int(value)
    return None


def compile_fast_bind(binder: Binder) -> BindFn | None:
    """The shortcut binder for ``binder``'s route, or None when the route needs more than it does.

    Eligible: every parameter is a single ``str`` or ``int`` (optional or not) read from the
    path, query, headers or cookies; besides them only ``request`` arguments. Bodies, forms,
    files, lists, grouped Structs and constraints all go through the general binder.
    """
    plan = binder.fast_plan()
    if plan is None:
        return None
    path: list[tuple[str, str, bool]] = []
    query: dict[str, _Target] = {}
    headers: dict[bytes, _Target] = {}
    cookies: dict[str, _Target] = {}
    required: list[str] = []
    for name, source, wire, is_int, is_required in plan:
        if is_required:
            required.append(name)
        if source == "path":
            path.append((name, wire, is_int))
        elif source == "query":
            query[wire] = (name, is_int)
        elif source == "header":
            headers[wire.encode("latin-1")] = (name, is_int)
        elif source == "cookie":
            cookies[wire] = (name, is_int)
        else:
            return None
    slow = binder.bind
    request_names = tuple(binder.request_names)
    path_fields = tuple(path)
    required_names = tuple(required)
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
                    kwargs[name] = int(value)  # the common case, without a call
                else:
                    number = canonical_int(value)
                    if number is None:
                        return slow(request, path_values)
                    kwargs[name] = number
        if query:
            qs = request.query_string
            if qs:
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
        if headers or cookies:
            for raw_name, raw_value in request.raw_headers:
                lower = raw_name.lower()
                target = headers.get(lower)
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
