"""Server-Sent Events: the wire format and a keep-alive that never cancels the producer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any, Final

import msgspec

from django_bolt._http.wire import encode_json

__all__ = ("PING_COMMENT", "ServerSentEvent", "encode_event", "with_keepalive")

# A comment line: ignored by EventSource, but it keeps proxies and load balancers from timing out.
PING_COMMENT: Final = b": ping\n\n"


class ServerSentEvent(msgspec.Struct):
    """One event; ``data`` that is not a string is sent as JSON, ``raw_data`` as it is.

    The fields' order is Django-Bolt's, so ``ServerSentEvent({"n": 1})`` is the data.
    """

    data: Any = None
    raw_data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None


def _field(name: bytes, value: str) -> bytes:
    # A CR or LF inside a value would start a new field (WHATWG HTML, 9.2.6): refuse it.
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE {name.decode()} must be a single line")
    return name + b": " + value.encode() + b"\n"


def encode_event(item: object) -> bytes:
    """Return the wire bytes of one item: a ServerSentEvent gives its fields, bytes go out as
    they are, and anything else (a str, a dict, a Struct, a list) is the event's ``data``.

    A dict is data even when its keys are ``event``/``id``/``data``, as in Django-Bolt 0.13:
    only a :class:`ServerSentEvent` sets the other fields.
    """
    if isinstance(item, bytes):
        return item  # already in wire format: the producer knows what it does
    if not isinstance(item, ServerSentEvent):
        item = ServerSentEvent(data=item)
    out: list[bytes] = []
    if item.comment is not None:
        out.extend(b": " + line.encode() + b"\n" for line in item.comment.splitlines())
    if item.id is not None:
        out.append(_field(b"id", item.id))
    if item.event is not None:
        out.append(_field(b"event", item.event))
    if item.retry is not None:
        out.append(b"retry: %d\n" % item.retry)
    if item.raw_data is not None or item.data is not None:
        if item.raw_data is not None:
            text = item.raw_data
        elif isinstance(item.data, str):
            text = item.data
        else:
            text = encode_json(item.data).decode()
        # Multi-line data is one "data:" line per line; the client joins them with "\n".
        out.extend(b"data: " + line.encode() + b"\n" for line in text.split("\n"))
    out.append(b"\n")
    return b"".join(out)


async def with_keepalive(
    source: AsyncIterable[Any] | Iterable[Any],
    ping_interval_s: float | None,
    encode: Callable[[Any], bytes] = encode_event,
) -> AsyncIterator[bytes]:
    """Encode events, sending a ping comment whenever the producer is quiet for the interval.

    A sync ``source`` is iterated inline: give only what cannot block (a list), anything else
    as an async iterable (``_http.streams`` steps sync generators in the pool). The pending
    ``__anext__`` is awaited through ``asyncio.wait`` (not ``wait_for``) so a timeout never
    cancels the producer half-way through an event. Left early (the client went away), the
    producer is cancelled if it is mid-item and ``aclose()``d.
    """
    if not isinstance(source, AsyncIterable):
        for item in source:
            yield encode(item)
        return
    iterator = aiter(source)
    pending: asyncio.Future[Any] | None = None
    try:
        if not ping_interval_s:
            async for item in iterator:
                yield encode(item)
            return
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=ping_interval_s)
            if not done:
                yield PING_COMMENT
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield encode(item)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()
