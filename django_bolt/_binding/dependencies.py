"""``Depends()``: calling a dependency where it must run, and finishing generator dependencies.

A dependency is compiled like a handler (its own binder: its arguments come from the same
request), called after its own dependencies, and its value cached per request unless
``use_cache=False``. A generator dependency yields its value once; the code after ``yield`` runs
after the response (:func:`run_exits`), with the handler's exception thrown in when it failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from django_bolt.concurrency import run_in_pool

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("Callee", "call_dependency", "run_exits")


class Callee(Protocol):
    """What calling a dependency needs to know of it (a ``Binder`` is one)."""

    fn: Callable[..., Any]
    is_async: bool
    is_async_gen: bool
    is_gen: bool
    inline: bool


async def call_dependency(binder: Callee, kwargs: dict[str, Any], exits: list[Any]) -> Any:
    """Call a dependency (async, inline or in the pool); a generator's is noted in ``exits``."""
    fn = binder.fn
    if binder.is_async_gen:
        agen = fn(**kwargs)
        value = await agen.__anext__()
        exits.append(agen)
        return value
    if binder.is_gen:
        # Creating a generator runs none of its code; only stepping it may block.
        gen = fn(**kwargs)
        value = next(gen) if binder.inline else await run_in_pool(_first, {"gen": gen})
        exits.append((gen, binder.inline))
        return value
    if binder.is_async:
        return await fn(**kwargs)
    if binder.inline:
        return fn(**kwargs)
    return await run_in_pool(fn, kwargs)


def _first(gen: Any) -> Any:
    return next(gen)


def _next_or_none(gen: Any) -> None:
    try:
        next(gen)
    except StopIteration:
        return
    raise RuntimeError("a dependency generator must yield only once")


async def run_exits(exits: list[Any], error: BaseException | None = None) -> None:
    """Finish the generator dependencies, newest first; ``error`` is thrown into them."""
    for item in reversed(exits):
        if isinstance(item, tuple):
            gen, inline = item
            if error is not None:
                try:
                    gen.throw(error)
                except StopIteration:
                    pass
                except BaseException as exc:
                    if exc is not error:
                        raise
                continue
            if inline:
                _next_or_none(gen)
            else:
                await run_in_pool(_next_or_none, {"gen": gen})
        else:
            if error is not None:
                try:
                    await item.athrow(error)
                except StopAsyncIteration:
                    pass
                except BaseException as exc:
                    if exc is not error:
                        raise
                continue
            try:
                await item.__anext__()
            except StopAsyncIteration:
                continue
            raise RuntimeError("a dependency generator must yield only once")
