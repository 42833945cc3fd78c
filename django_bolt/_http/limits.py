"""``DJANGO_BOLT_MAX_PARAM_LENGTH``: the longest path, query or form value, as a 422.

Django-Bolt 0.13 refuses a parameter value longer than this many bytes (UTF-8, after
percent-decoding) with a 422, before the handler runs. The check costs one comparison per
request: only a path, query string or form body longer than the limit can hold such a value,
and only then are the values looked at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from django_bolt.exceptions import RequestValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ("DEFAULT_PARAM_LENGTH", "MAX_PARAM_LENGTH_CAP", "check_values", "configure", "limit")

DEFAULT_PARAM_LENGTH: Final = 8192
# A larger value stops start-up: a misconfiguration can never turn the limit off.
MAX_PARAM_LENGTH_CAP: Final = 1024 * 1024


class _Limit:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = DEFAULT_PARAM_LENGTH


_LIMIT: Final = _Limit()


def configure(value: int) -> None:
    """Set the limit for this process (``BoltAPI.startup`` reads the variable)."""
    if not 1 <= value <= MAX_PARAM_LENGTH_CAP:
        raise ValueError(f"the parameter length limit must be 1 to {MAX_PARAM_LENGTH_CAP}")
    _LIMIT.value = value


def limit() -> int:
    """Return the longest value allowed, in bytes."""
    return _LIMIT.value


def check_values(pairs: Iterable[tuple[str, str]], source: str) -> None:
    """Raise a 422 naming every value of ``pairs`` longer than the limit."""
    most = _LIMIT.value
    errors = [
        {
            "loc": [source, name],
            "msg": f"Value is longer than {most} bytes",
            "type": "string_too_long",
        }
        for name, value in pairs
        if len(value) * 4 > most and len(value.encode("utf-8", "surrogatepass")) > most
    ]
    if errors:
        raise RequestValidationError(errors)
