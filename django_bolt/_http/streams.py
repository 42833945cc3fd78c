"""Response streams as the server pulls them: never blocking the loop, closed when abandoned.

A handler's stream may be a sync iterable (a generator from a ``def`` handler, a QuerySet), an
async iterable, or a list already in memory. The server pulls chunks on the event loop, so:

* **sync iterables** are stepped in the bounded pool, one ``next()`` per pool call
  (:func:`pulled_in_pool`); a generator that sleeps or queries between items never holds the
  loop. Each call goes through ``run_in_pool``, so database connections are settled after a
  step that used them, as after a ``def`` handler.
* **lists and tuples** are iterated inline: they are in memory and cannot block.
* **async iterables** are iterated as they are, and ``aclose()``d when the stream ends early.

The server gives up on a stream (client gone, worker stopping) by cancelling the task that
awaits the next chunk and then calling ``aclose()`` on the iterator it got. :class:`ClosingStream`
is that iterator: its ``aclose()`` first lets a cancelled ``__anext__`` finish unwinding (an
async generator cannot be closed while it runs), then closes the layers below, each of which
closes its own source in ``finally``: the user's async generator gets ``aclose()``, the user's
sync generator gets ``close()`` in the pool as soon as a ``next()`` still running there returns
(a generator cannot be closed while it executes). A stream dropped without ``aclose()`` is
closed the same way when the loop finalizes its async generators.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from django_bolt._http.sse import encode_event, with_keepalive
from django_bolt.concurrency import run_in_pool

if TYPE_CHECKING:
    from django_bolt.server.contract import SpooledBody

__all__ = ("ClosingStream", "body_chunks", "encoded_stream", "event_stream")

# Returned by a step for "no more items": StopIteration cannot cross an asyncio Future.
_EXHAUSTED: Final[Any] = object()
# Sources iterated inline: already in memory, so stepping them cannot block.
_IN_MEMORY: Final = (list, tuple)
_PULLED_AS_THEY_ARE: Final = (AsyncIterable, *_IN_MEMORY)


class _SyncSource:
    """A sync iterable stepped from pool threads, one step at a time (the lock)."""

    __slots__ = ("closed", "context", "iterator", "lock", "source")

    def __init__(self, source: Iterable[Any]) -> None:
        self.source = source
        self.iterator: Iterator[Any] | None = None
        self.lock = threading.Lock()
        self.closed = False
        # One context for every step: the generator sees the variables it set on an earlier
        # step, as it would running on one thread.
        self.context = contextvars.copy_context()

    def step(self) -> Any:
        with self.lock:
            if self.closed:
                return _EXHAUSTED
            try:
                iterator = self.iterator
                if iterator is None:
                    # iter() may run user code too (a QuerySet runs its query): here as well.
                    iterator = self.iterator = self.context.run(iter, self.source)
                item = self.context.run(next, iterator, _EXHAUSTED)
            except BaseException:
                self.closed = True  # a generator that raised is finished: nothing to close
                raise
            if item is _EXHAUSTED:
                self.closed = True
            return item

    def close(self) -> None:
        # Waits for a step still running in another pool thread: a running generator cannot
        # be closed.
        with self.lock:
            self.closed = True
            target = self.iterator if self.iterator is not None else self.source
            close = getattr(target, "close", None)
            if close is not None:
                self.context.run(close)


async def pulled_in_pool(source: Iterable[Any]) -> AsyncIterator[Any]:
    """Return the items of a sync iterable, each ``next()`` run in the pool; closed in the pool
    too."""
    state = _SyncSource(source)
    try:
        while True:
            item = await run_in_pool(state.step, {})
            if item is _EXHAUSTED:
                return
            yield item
    finally:
        if not state.closed:
            state.closed = True
            try:
                closing = run_in_pool(state.close, {})
            except RuntimeError:  # the pool is shut down (the worker is stopping)
                state.close()
            else:
                # Shielded: a second cancellation must not cancel the close itself.
                await asyncio.shield(closing)


async def _encoded_async(
    source: AsyncIterable[Any], encode: Callable[[Any], bytes]
) -> AsyncIterator[bytes]:
    iterator = aiter(source)
    try:
        async for item in iterator:
            yield encode(item)
    finally:
        # ``async for`` leaves its iterator open when the loop is left early.
        await aclose_quietly(iterator)


def _encoded_inline(source: Iterable[Any], encode: Callable[[Any], bytes]) -> Iterator[bytes]:
    for item in source:
        yield encode(item)


def encoded_stream(
    source: AsyncIterable[Any] | Iterable[Any], encode: Callable[[Any], bytes]
) -> ClosingStream | Iterator[bytes]:
    """Return ``source``'s items as bytes, pulled without blocking the loop (see the module doc)."""
    if isinstance(source, _IN_MEMORY):
        return _encoded_inline(source, encode)
    items = source if isinstance(source, AsyncIterable) else pulled_in_pool(source)
    return ClosingStream(_encoded_async(items, encode))


def event_stream(
    source: AsyncIterable[Any] | Iterable[Any],
    ping_interval_s: float | None,
    encode: Callable[[Any], bytes] = encode_event,
) -> ClosingStream:
    """Server-Sent Events from ``source`` with keep-alive pings (``_http.sse.with_keepalive``)."""
    items = source if isinstance(source, _PULLED_AS_THEY_ARE) else pulled_in_pool(source)
    return ClosingStream(with_keepalive(items, ping_interval_s, encode))


async def aclose_quietly(iterator: object) -> None:
    """``aclose()`` an async iterator that has one."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class ClosingStream:
    """The async iterator handed to the server; ``aclose()`` is safe at any moment.

    ``aclose()`` called while a cancelled ``__anext__`` is still unwinding in its task waits for
    it, then closes the stream below (see the module docstring).
    """

    __slots__ = ("_inner", "_running", "_unwound")

    def __init__(self, inner: AsyncIterator[bytes]) -> None:
        self._inner = inner
        self._running = False
        self._unwound: asyncio.Future[None] | None = None

    def __aiter__(self) -> ClosingStream:
        return self

    async def __anext__(self) -> bytes:
        self._running = True
        try:
            return await self._inner.__anext__()
        finally:
            self._running = False
            unwound = self._unwound
            if unwound is not None and not unwound.done():
                unwound.set_result(None)

    async def aclose(self) -> None:
        if self._running:
            unwound = self._unwound = asyncio.get_running_loop().create_future()
            await unwound
        await aclose_quietly(self._inner)


async def body_chunks(body_file: SpooledBody | None, request: Any) -> AsyncIterator[bytes]:
    """Yield a request's body in pieces (``Request.stream``): its bytes at once when they are in
    memory, else 64 KiB reads of the spooled file, never loading that whole."""
    if body_file is None:
        body = request.body
        if body:
            yield body
        return
    for chunk in body_file.chunks():
        yield chunk
