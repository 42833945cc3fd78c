"""The request's text formats, each read by one function: query strings, headers, cookies.

``Request``'s views (``query``, ``headers``, ``cookies``), urlencoded form bodies and the
parameter binders all read through these, so a value decodes the same whichever of them asks.
Each reader takes an optional ``wanted`` set: a binder names the keys a route declares and the
others are skipped undecoded, which is what makes binding a few parameters cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django_bolt._http.fields import (
    parse_cookie_headers,
    parse_cookies,
    parse_query,
    pick_headers,
)

__all__ = (
    "Headers",
    "QueryParams",
    "parse_cookie_headers",
    "parse_cookies",
    "parse_query",
    "pick_headers",
)


class _MultiDict(Mapping[str, str]):
    """An immutable mapping that keeps every value of a repeated key; ``[]`` gives the last."""

    __slots__ = ("_items", "_last")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._last: dict[str, str] = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._last[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def getlist(self, key: str) -> list[str]:
        """Every value given for ``key``, in order (empty if absent)."""
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """All (key, value) pairs in the order received."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._items!r})"


class QueryParams(_MultiDict):
    """Query string values, URL-decoded; ``getlist`` for repeated keys."""

    __slots__ = ()


class Headers(_MultiDict):
    """Request headers with case-insensitive names; ``getlist`` for repeated fields."""

    __slots__ = ()

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        super().__init__([(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw])

    def __getitem__(self, key: str) -> str:
        return self._last[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._last

    def get(self, key: str, default: Any = None) -> Any:
        return self._last.get(key.lower(), default)

    def getlist(self, key: str) -> list[str]:
        return super().getlist(key.lower())
