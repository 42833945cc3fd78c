"""Decide, once at registration, whether a ``def`` function may run on the event loop thread.

Running a sync handler inline saves a thread hop (tens of microseconds) but is only safe when it
cannot block and does not touch the Django ORM (which refuses to run on a thread with a running
loop). We cannot prove that in general, so the rule is an allow-list over the bytecode: every
global it loads must resolve to a known-harmless object and every attribute it reads must be on a
short list of pure methods. Anything else, including any import, sends it to the pool.
"""

from __future__ import annotations

import builtins
import dataclasses
import dis
import types
from typing import TYPE_CHECKING, Any, Final

import msgspec

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("is_inline_safe",)

_SAFE_BUILTINS: Final = frozenset(
    {
        "abs", "all", "any", "bool", "bytes", "dict", "divmod", "enumerate", "filter", "float",
        "frozenset", "hash", "int", "isinstance", "issubclass", "len", "list", "map", "max",
        "min", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum",
        "tuple", "zip", "None", "True", "False", "ValueError", "KeyError", "TypeError",
        "IndexError", "Exception", "StopIteration", "iter", "next", "hex", "ord", "chr",
    }
)  # fmt: skip

# Methods of str/bytes/dict/list/set and the request's lazy views: pure, in-memory.
_SAFE_ATTRIBUTES: Final = frozenset(
    {
        "get", "items", "keys", "values", "append", "extend", "insert", "pop", "copy", "update",
        "setdefault", "add", "discard", "remove", "index", "count", "sort", "join", "split",
        "rsplit", "strip", "lstrip", "rstrip", "lower", "upper", "title", "replace", "format",
        "startswith", "endswith", "encode", "decode", "partition", "isdigit", "getlist",
        "headers", "query", "cookies", "path", "method", "body", "json", "path_params", "state",
        "client", "scheme", "GET", "META", "url", "get_host", "is_secure", "build_absolute_uri",
        "status_code", "detail", "set_cookie", "delete_cookie", "content", "media_type",
    }
)  # fmt: skip

_LOAD_GLOBAL: Final = frozenset({"LOAD_GLOBAL", "LOAD_NAME"})
_LOAD_ATTR: Final = frozenset({"LOAD_ATTR", "LOAD_METHOD"})
_LOAD_DEREF: Final = frozenset({"LOAD_DEREF", "LOAD_CLASSDEREF"})
_IMPORTS: Final = frozenset({"IMPORT_NAME", "IMPORT_FROM", "IMPORT_STAR"})


def _safe_global(value: Any) -> bool:
    from django_bolt import exceptions, responses

    if isinstance(value, type):
        if issubclass(value, msgspec.Struct) or dataclasses.is_dataclass(value):
            return True
        module = value.__module__
        return module in (responses.__name__, exceptions.__name__)
    return isinstance(value, str | int | float | bytes | bool | frozenset | tuple)


def _code_is_safe(code: types.CodeType, namespace: dict[str, Any], depth: int) -> bool:
    if depth > 4:  # nested closures this deep: not worth proving
        return False
    for ins in dis.get_instructions(code):
        op = ins.opname
        if op in _IMPORTS:
            return False
        if op in _LOAD_GLOBAL:
            name = ins.argval
            if name in namespace:
                if not _safe_global(namespace[name]):
                    return False
            elif name not in _SAFE_BUILTINS or not hasattr(builtins, name):
                return False
        elif op in _LOAD_ATTR and ins.argval not in _SAFE_ATTRIBUTES:
            return False
        elif op in _LOAD_DEREF and ins.argval not in code.co_cellvars:
            # A free variable could be anything (a connection, a client): assume it blocks.
            return False
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and not _code_is_safe(const, namespace, depth + 1):
            return False
    return True


def is_inline_safe(fn: Callable[..., Any]) -> bool:
    """True when ``fn`` provably neither blocks nor touches the ORM (by the rules above)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    namespace = getattr(fn, "__globals__", {})
    try:
        return _code_is_safe(code, namespace, 0)
    except Exception:
        return False
