"""The checks of framework settings, each applied to a value as written in Django's settings.

A check returns the value as :class:`~django_bolt._conf.framework.FrameworkConfig` stores it
(lists as tuples, paths as strings) or raises ``ValueError`` saying what was expected; the reader
adds the setting's name and the value. Django's own flags are read as Django reads them (by
truthiness: ``DEBUG = int(os.environ["DEBUG"])`` is common); the framework's are checked for
their type.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = (
    "api_specs",
    "csp_policy",
    "django_debug",
    "entries",
    "flag",
    "int_at_least",
    "optional_int_at_least",
    "optional_path",
    "optional_text",
    "origins",
    "parse_origin",
    "passthrough",
    "path",
    "paths",
    "positive_number",
    "regexes",
    "samesite",
    "secret",
    "static_dirs",
    "strings",
    "text",
    "truthy",
)


def passthrough(value: Any) -> Any:
    """Return ``value`` as it is (checked where it is used, e.g. ``BOLT_COMPRESSION``)."""
    return value


def truthy(value: Any) -> bool:
    """Return ``value`` as Django reads a flag of its own: by its truth."""
    return bool(value)


def django_debug(value: Any) -> bool:
    """Return ``DEBUG`` as a bool; refuse what is neither a bool nor an int.

    ``DEBUG = "False"`` (a str, typically read from the environment unparsed) is true to
    Django, so it would turn on tracebacks in responses: stopping start-up names the mistake.
    """
    if not isinstance(value, int):
        raise ValueError("a bool or an int")
    return bool(value)


def flag(value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False``."""
    if type(value) is not bool:
        raise ValueError("True or False")
    return value


def int_at_least(minimum: int) -> Callable[[Any], int]:
    """Make a check for an int (not a bool) of at least ``minimum``."""

    def check(value: Any) -> int:
        if type(value) is not int or value < minimum:
            raise ValueError(f"an int >= {minimum}")
        return value

    return check


def positive_number(value: Any) -> float:
    """Return an int or float (not a bool) above 0 as a float: a number of seconds."""
    if type(value) not in (int, float) or not value > 0 or value == float("inf"):
        raise ValueError("a number of seconds > 0")
    return float(value)


def optional_int_at_least(minimum: int) -> Callable[[Any], int | None]:
    """Make a check for None or an int of at least ``minimum`` (Django's upload limits)."""

    def check(value: Any) -> int | None:
        if value is not None and (type(value) is not int or value < minimum):
            raise ValueError(f"an int >= {minimum}, or None")
        return value

    return check


def text(value: Any) -> str:
    """Return ``value`` if it is a str."""
    if not isinstance(value, str):
        raise ValueError("a str")
    return value


def broadcast_backend(value: Any) -> str:
    """Return ``value`` if it is ``"memory"`` or a ``redis://`` / ``rediss://`` URL."""
    if not isinstance(value, str) or not (
        value == "memory" or value.startswith(("redis://", "rediss://", "unix://"))
    ):
        raise ValueError('"memory" or a redis:// URL')
    return value


def optional_text(value: Any) -> str | None:
    """Return ``value`` if it is a str or None."""
    if value is not None and not isinstance(value, str):
        raise ValueError("a str, or None")
    return value


def path(value: Any) -> str:
    """Return a str or ``pathlib.Path`` as a str."""
    if not isinstance(value, str | os.PathLike):
        raise ValueError("a path (str or pathlib.Path)")
    return os.fspath(value)


def optional_path(value: Any) -> str | None:
    """Return a path as a str; None or ``""`` (Django's "unset" for these) as None."""
    return None if value is None or value == "" else path(value)


def _sequence(value: Any, expected: str) -> list[Any] | tuple[Any, ...]:
    # A str is iterable too; CORS_ALLOWED_ORIGINS = "https://a.example" is a mistake to name.
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ValueError(expected)
    return value


def strings(value: Any) -> tuple[str, ...]:
    """Return a list (or tuple) of strings as a tuple."""
    items = _sequence(value, "a list of strings")
    if not all(isinstance(item, str) for item in items):
        raise ValueError("a list of strings")
    return tuple(items)


def paths(value: Any) -> tuple[str, ...]:
    """Return a list of directories (str or ``pathlib.Path``) as a tuple of strings; ``None``
    is an empty one."""
    if value is None:
        return ()
    expected = "a list of directories (str or pathlib.Path)"
    items = _sequence(value, expected)
    if not all(isinstance(item, str | os.PathLike) for item in items):
        raise ValueError(expected)
    return tuple(os.fspath(item) for item in items)


def static_dirs(value: Any) -> tuple[tuple[str, str], ...]:
    """Return ``STATICFILES_DIRS`` as ``(prefix, directory)`` pairs, ``""`` for no prefix.

    An entry is a directory or a ``(prefix, directory)`` pair, as Django's ``FileSystemFinder``
    takes them; a prefix ending in ``/`` is refused, as Django's check refuses it.
    """
    expected = "a list of directories or (prefix, directory) pairs"
    out: list[tuple[str, str]] = []
    for item in _sequence(value, expected):
        prefix, directory = "", item
        if isinstance(item, list | tuple):
            if len(item) != 2 or not isinstance(item[0], str) or not item[0]:
                raise ValueError(expected)
            prefix, directory = item
            if prefix.endswith("/"):
                raise ValueError("a (prefix, directory) pair whose prefix does not end with /")
        if not isinstance(directory, str | os.PathLike):
            raise ValueError(expected)
        out.append((prefix, os.fspath(directory)))
    return tuple(out)


def entries(value: Any) -> tuple[Any, ...]:
    """Return a list of auth classes or guards (resolved when an API compiles) as a tuple."""
    if not value:
        return ()
    return tuple(
        _sequence(value, "a list of auth classes or guards (instances, classes or dotted paths)")
    )


def api_specs(value: Any) -> tuple[str, ...]:
    """Return ``BOLT_API``'s ``'module:attr'`` entries (one string is a list of one)."""
    specs = strings([value] if isinstance(value, str) else value)
    for spec in specs:
        module, sep, attr = spec.partition(":")
        if not sep or not module or not attr:
            raise ValueError(f"entries that look like 'module:attr' ({spec!r} does not)")
    return specs


def parse_origin(origin: object) -> str:
    """Return ``origin`` lower-cased if it is a serialized origin, ``scheme://host[:port]``.

    Raise ``ValueError`` saying what is wrong otherwise. An origin never has a path (not even
    ``/``), so an entry with one could never equal what a browser sends and can only be a
    mistake; ``*`` and ``null`` are refused too (see ``docs/cors.md``).
    """
    if not isinstance(origin, str):
        raise ValueError(f"{origin!r} is not a string")
    if origin == "*":
        raise ValueError("use CORS_ALLOW_ALL_ORIGINS, not '*' in the origin list")
    parts = urlsplit(origin)
    try:
        parts.port  # noqa: B018 - reading it raises for a port that is no number in range
    except ValueError:
        shaped = False
    else:
        shaped = bool(parts.scheme and parts.hostname) and not (
            parts.username or parts.path or parts.query or parts.fragment
        )
    if not shaped:
        raise ValueError(
            f"{origin!r} must look like 'https://example.com' (scheme and host, optionally a "
            "port; no path or trailing slash)"
        )
    return origin.lower()


def origins(value: Any) -> tuple[str, ...]:
    """Return a list of origins, each checked by :func:`parse_origin`, as a tuple."""
    items = _sequence(value, "a list of origins (scheme://host[:port])")
    try:
        return tuple(parse_origin(origin) for origin in items)
    except ValueError as exc:
        raise ValueError(f"a list of origins: {exc}") from None


def regexes(value: Any) -> tuple[str, ...]:
    """Return a list of regular expressions that compile, as a tuple."""
    patterns = strings(value)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"a list of regular expressions ({pattern!r}: {exc})") from None
    return patterns


# Django 6's CSP.NONCE: a placeholder its middleware swaps for the request's nonce.
_CSP_NONCE: Final = "<CSP_NONCE_SENTINEL>"
_CSP_HEADER_BAD: Final = re.compile(r"[^\t\x20-\x7e]")


def _csp_directive(directive: Any, values: Any) -> str | None:
    """Return one rendered directive of ``SECURE_CSP`` (None: left out), by Django 6's rules."""
    if values is None or values is False or (values == 0 and not isinstance(values, str)):
        return None  # Django skips a value equal to None or False (0 included)
    if not isinstance(directive, str) or not directive:
        raise ValueError("a dict of CSP directives named by str")
    if values is True:
        return directive
    if isinstance(values, set | frozenset):
        values = sorted(values)
    elif not isinstance(values, list | tuple):
        values = [values]
    # A file cannot carry a per-request nonce: the placeholder is dropped, as Django does
    # when it has no nonce to put there.
    kept = [value for value in values if value != _CSP_NONCE]
    if not kept:
        return None
    if not all(isinstance(value, str) for value in kept):
        raise ValueError("a dict of CSP directives whose values are str, lists or sets of str")
    return f"{directive} {' '.join(kept)}".rstrip()


def csp_policy(value: Any) -> str | None:
    """Return Django 6's ``SECURE_CSP`` dict as the ``Content-Security-Policy`` value it gives;
    None when it gives none (unset, empty, or every directive left out)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("a dict of CSP directives")
    rendered = [_csp_directive(directive, values) for directive, values in value.items()]
    policy = "; ".join(item for item in rendered if item is not None)
    if _CSP_HEADER_BAD.search(policy):
        raise ValueError("a dict of CSP directives that gives a valid header (printable ASCII)")
    return policy or None


def secret(value: Any) -> str | bytes:
    """Return a key that is a str (Django also signs with bytes)."""
    if not isinstance(value, str | bytes):
        raise ValueError("a str")
    return value


def samesite(value: Any) -> str | None:
    """Return Django's ``SESSION_COOKIE_SAMESITE``: ``"Lax"``, ``"Strict"``, ``"None"``;
    None for False (no attribute)."""
    if value is None or value is False:
        return None
    if not isinstance(value, str) or value.lower() not in ("lax", "strict", "none"):
        raise ValueError("'Lax', 'Strict', 'None' or False")
    return value
