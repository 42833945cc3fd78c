"""Server-Sent Events: the wire format and a keep-alive that never cancels the producer."""

from __future__ import annotations

import asyncio
import contextlib
import re
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

    def __post_init__(self) -> None:
        if self.data is not None and self.raw_data is not None:
            raise ValueError("a ServerSentEvent takes data or raw_data, not both")
        if self.id is not None and "\0" in self.id:
            # A client ignores such an id (WHATWG HTML, 9.2.6): its reconnection would lie.
            raise ValueError("an SSE id must not contain a NUL character")
        if self.retry is not None and (type(self.retry) is not int or self.retry < 0):
            raise ValueError("an SSE retry must be a non-negative number of milliseconds")


# The line ends an EventSource client splits on (WHATWG HTML, 9.2.6): CRLF, a lone CR, a lone LF.
_LINE_END: Final = re.compile(r"\r\n|\r|\n")


def _field(name: bytes, value: str) -> bytes:
    # A CR or LF inside a value would start a new field (WHATWG HTML, 9.2.6): refuse it.
    if "\n" in value or "\r" in value:
        raise ValueError(f"SSE {name.decode()} must be a single line")
    return name + b": " + value.encode() + b"\n"


def encode_event(item: object) -> bytes:
    """Return the wire bytes of one item: a ServerSentEvent gives its fields, bytes go out as
    they are, a str is the event's text, and anything else (a dict, a Struct, a list) is the
    event's ``data``, as JSON.

    A dict is data even when its keys are ``event``/``id``/``data``, as in Django-Bolt 0.13:
    only a :class:`ServerSentEvent` sets the other fields. Its ``data`` is always JSON (a str
    too, quoted, as 0.13 documents); ``raw_data`` is sent as it is.
    """
    if isinstance(item, bytes):
        return item  # already in wire format: the producer knows what it does
    if isinstance(item, str):
        item = ServerSentEvent(raw_data=item)
    elif not isinstance(item, ServerSentEvent):
        item = ServerSentEvent(data=item)
    # The fields in Django-Bolt 0.13's order (event, data, id, retry); a client reads them the
    # same in any order, as the event is only dispatched at the blank line.
    out: list[bytes] = []
    if item.comment is not None:
        out.extend(b": " + line.encode() + b"\n" for line in _LINE_END.split(item.comment))
    if item.event is not None:
        out.append(_field(b"event", item.event))
    if item.raw_data is not None or item.data is not None:
        raw = item.raw_data
        text = raw if raw is not None else encode_json(item.data).decode()
        # Multi-line data is one "data:" line per line (a lone CR ends a line too, or it would
        # start a field of the client's choosing); the client joins them with "\n".
        out.extend(b"data: " + line.encode() + b"\n" for line in _LINE_END.split(text))
    if item.id is not None:
        out.append(_field(b"id", item.id))
    if item.retry is not None:
        out.append(b"retry: %d\n" % item.retry)
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
