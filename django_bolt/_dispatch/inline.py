"""Call an ``async def`` handler that cannot suspend as the plain function it amounts to.

A coroutine function whose code has no ``await``, ``async for`` or ``async with`` runs to its
end on the first ``send``: driving it is a coroutine object made, a ``send``, and a
``StopIteration`` raised and caught to read the result, about 0.4 µs a request (three times
the call itself; bench/inprocess.py stages). Its code differs from a ``def`` function's only
in its flags and in a two-instruction prologue (``RETURN_GENERATOR``, ``POP_TOP``) that makes
the coroutine object. :func:`as_function` returns a function running the same code with that
prologue replaced by no-ops: same globals, defaults, closure, names and line table, so a
traceback, a breakpoint and coverage see the handler's own lines.

Only that exact prologue is rewritten (CPython 3.11 to 3.13 all compile it so); any other shape,
or an interpreter that is not CPython, keeps the coroutine. ``compile.answers_at_once`` decides
beforehand that the code cannot suspend. One difference remains visible: a ``StopIteration``
escaping the body. A coroutine turns it into ``RuntimeError("coroutine raised
StopIteration")``; :func:`escaped` does the same for the plain function's exception.
"""

from __future__ import annotations

import dis
import inspect
import platform
import types
from typing import Any, Final

__all__ = ("SUSPENDING_OPS", "as_function", "can_suspend", "escaped")

# Opcodes with which a coroutine's own code can suspend (await, async for, async with).
SUSPENDING_OPS: Final = frozenset(
    {"GET_AWAITABLE", "SEND", "YIELD_VALUE", "GET_AITER", "GET_ANEXT", "BEFORE_ASYNC_WITH"}
)

_PROLOGUE: Final = ("RETURN_GENERATOR", "POP_TOP")
# What may come before the prologue: a closure's cells are set up first.
_BEFORE: Final = frozenset({"COPY_FREE_VARS", "MAKE_CELL"})
_NOP: Final = dis.opmap["NOP"]
_MESSAGE: Final = "coroutine raised StopIteration"


def can_suspend(code: types.CodeType) -> bool:
    """Tell whether a coroutine's own code has an await, async for or async with."""
    return any(op.opname in SUSPENDING_OPS for op in dis.get_instructions(code))


def as_function(fn: Any) -> types.FunctionType | None:
    """Return ``fn`` (a coroutine function that cannot suspend) as a plain function, or None.

    None when ``fn`` is not a plain Python coroutine function, when its code can suspend, or
    when its prologue is not the one this module knows: the caller then keeps driving the
    coroutine.
    """
    if platform.python_implementation() != "CPython" or type(fn) is not types.FunctionType:
        return None
    code = fn.__code__
    if not code.co_flags & inspect.CO_COROUTINE or can_suspend(code):
        return None
    ops = list(dis.get_instructions(code))
    start = 0
    while start < len(ops) and ops[start].opname in _BEFORE:
        start += 1
    prologue = ops[start : start + len(_PROLOGUE)]
    if tuple(op.opname for op in prologue) != _PROLOGUE:
        return None
    raw = bytearray(code.co_code)
    for op in prologue:
        # Each is one code unit (opcode, argument) with no inline cache after it.
        raw[op.offset] = _NOP
        raw[op.offset + 1] = 0
    plain = code.replace(co_code=bytes(raw), co_flags=code.co_flags & ~inspect.CO_COROUTINE)
    function = types.FunctionType(
        plain, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    function.__kwdefaults__ = fn.__kwdefaults__
    function.__qualname__ = fn.__qualname__
    function.__module__ = fn.__module__
    function.__doc__ = fn.__doc__
    function.__dict__.update(fn.__dict__)
    function.__wrapped__ = fn  # type: ignore[attr-defined]
    return function


def escaped(exc: Exception) -> Exception:
    """Return the exception the coroutine would have raised where the plain function raised
    ``exc``: a ``StopIteration`` becomes ``RuntimeError`` (3.11 lets it through; 3.12 and
    later word the ``RuntimeError`` for a generator). Anything else is itself."""
    if isinstance(exc, StopIteration):
        stopped: BaseException = exc
    elif (
        type(exc) is RuntimeError
        and isinstance(exc.__cause__, StopIteration)
        and exc.args == ("generator raised StopIteration",)
    ):
        stopped = exc.__cause__
    else:
        return exc
    error = RuntimeError(_MESSAGE)
    error.__cause__ = stopped
    error.__traceback__ = exc.__traceback__
    return error
