"""The readers of the request's text formats: query strings, header fields and cookies.

Compiled (``compiled_modules.txt``): a route's header, cookie and query parameters, and the
request's views, read through these on every request that has them. ``_http/parse.py``
re-exports them beside the views' classes (``Headers``, ``QueryParams``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, unquote_plus

if TYPE_CHECKING:
    from collections.abc import Container

__all__ = ("parse_cookie_headers", "parse_cookies", "parse_query", "pick_headers")


def parse_query(query: str, wanted: Container[str] | None = None) -> list[tuple[str, str]]:
    """``a=1&b=x%20y&a=2`` → pairs in order, blank values kept; decoding only where needed.

    ``wanted`` keeps only those (decoded) keys; the values of the others are never decoded.
    """
    pairs: list[tuple[str, str]] = []
    if not query:
        return pairs
    for chunk in query.split("&"):
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if wanted is not None and key not in wanted:
            continue
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((key, value))
    return pairs


def pick_headers(raw: list[tuple[bytes, bytes]], wanted: Container[bytes]) -> dict[str, str]:
    """Return the last value of each wanted (lower-case) header name, decoded as :class:`Headers`
    decodes it (lower-case name, latin-1); the other fields are skipped undecoded."""
    found: dict[str, str] = {}
    for name, value in raw:
        key = name.lower()
        if key in wanted:
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


# A backslash escape inside a quoted cookie value: three octal digits or one character, read as
# Python's http.cookies reads them (Django's parse_cookie uses that reader).
_COOKIE_ESCAPE: Final = re.compile(r"\\(?:([0-3][0-7]{2})|(.))", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    octal = match[1]
    return chr(int(octal, 8)) if octal is not None else match[2]


def parse_cookies(
    header: str, *, decode: bool = True, wanted: Container[str] | None = None
) -> dict[str, str]:
    """Cookie header → dict, tolerant of malformed pairs the way browsers are.

    ``decode=False`` keeps percent-escapes as sent (``Request.raw_cookies``); ``wanted`` keeps
    only those names, the others left undecoded (a route's cookie parameters).
    """
    cookies: dict[str, str] = {}
    for chunk in header.split(";"):
        name, sep, value = chunk.partition("=")
        name = name.strip()
        if not sep or not name or (wanted is not None and name not in wanted):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
            if decode and "\\" in value:
                # The escapes Set-Cookie quoting wrote (SimpleCookie's, as set_cookie does).
                value = _COOKIE_ESCAPE.sub(_unescape, value)
        # unquote() of a value without "%" is the value itself: the call is skipped.
        cookies[name] = unquote(value) if decode and "%" in value else value
    return cookies


def parse_cookie_headers(
    raw: list[tuple[bytes, bytes]],
    *,
    decode: bool = True,
    wanted: Container[str] | None = None,
) -> dict[str, str]:
    """Return the cookies of every ``Cookie`` field of a header block (a later field's value wins).

    ``decode`` and ``wanted`` as for :func:`parse_cookies`.
    """
    cookies: dict[str, str] = {}
    for name, value in raw:
        if name.lower() == b"cookie":
            cookies.update(parse_cookies(value.decode("latin-1"), decode=decode, wanted=wanted))
    return cookies
