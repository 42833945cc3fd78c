"""Broadcast groups: a message published on a channel reaches every subscriber of it.

``BOLT_BROADCAST_BACKEND`` picks where subscribers are found: ``"memory"`` (every event loop of
this process) or a ``redis://`` / ``rediss://`` URL (every process on every host that uses the
same Redis, through its pub/sub). The shape is the same either way::

    from django_bolt.websocket.broadcast import broadcast

    @api.websocket("/ws/room/{room}")
    async def room(websocket: WebSocket, room: str):
        await websocket.accept()
        async with broadcast.subscribe(f"room:{room}") as messages:
            relay = asyncio.create_task(forward(messages, websocket))
            try:
                async for text in websocket.iter_text():
                    await broadcast.publish(f"room:{room}", text)
            finally:
                relay.cancel()

Each subscriber has its own queue of ``BROADCAST_QUEUE`` messages; one that falls further behind
loses its oldest messages (counted in ``Subscription.dropped``) rather than growing the worker's
memory. Messages are ``str`` or ``bytes`` and arrive as they were published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from django_bolt._conf.read import framework_config

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ("BROADCAST_QUEUE", "Broadcast", "Subscription", "broadcast")

logger: Final = logging.getLogger("django_bolt")

BROADCAST_QUEUE: Final = 1024
_TEXT: Final = b"t"
_BINARY: Final = b"b"


class Subscription:
    """One subscriber of a channel: an async context manager and an async iterator."""

    def __init__(self, hub: Broadcast, channel: str) -> None:
        self.hub = hub
        self.channel = channel
        self.dropped = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[str | bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Subscription:
        self.loop = asyncio.get_running_loop()
        await self.hub._join(self)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.hub._leave(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> str | bytes:
        return await self.get()

    async def get(self) -> str | bytes:
        """Return the next message published on the channel."""
        while not self._queue:
            if self.loop is None:
                raise RuntimeError("use the subscription as `async with broadcast.subscribe(...)`")
            waiter = self._waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    def deliver(self, message: str | bytes) -> None:
        """Queue ``message`` (on the subscriber's own loop)."""
        queue = self._queue
        if len(queue) >= BROADCAST_QUEUE:
            queue.popleft()
            self.dropped += 1
        queue.append(message)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Memory:
    """Subscribers of this process, on any of its event loops."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.channels: dict[str, set[Subscription]] = {}

    async def join(self, subscription: Subscription) -> None:
        with self.lock:
            self.channels.setdefault(subscription.channel, set()).add(subscription)

    async def leave(self, subscription: Subscription) -> None:
        with self.lock:
            members = self.channels.get(subscription.channel)
            if members is not None:
                members.discard(subscription)
                if not members:
                    del self.channels[subscription.channel]

    async def publish(self, channel: str, message: str | bytes) -> None:
        with self.lock:
            members = list(self.channels.get(channel, ()))
        _fan_out(members, message)

    async def aclose(self) -> None:
        return None


def _fan_out(members: list[Subscription], message: str | bytes) -> None:
    try:
        current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    for member in members:
        loop = member.loop
        if loop is None or loop.is_closed():
            continue
        if loop is current:
            member.deliver(message)
        else:
            loop.call_soon_threadsafe(member.deliver, message)


class _RedisLink:
    """One event loop's connection to Redis: the publisher, one pub/sub and its reader."""

    def __init__(self, url: str) -> None:
        import redis.asyncio  # an optional dependency: only this backend needs it

        self.client: Any = redis.asyncio.Redis.from_url(url)
        self.pubsub: Any = self.client.pubsub()
        self.local = _Memory()
        self.reader: asyncio.Task[None] | None = None

    async def join(self, subscription: Subscription) -> None:
        first = subscription.channel not in self.local.channels
        await self.local.join(subscription)
        if first:
            await self.pubsub.subscribe(subscription.channel)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(self._read())

    async def leave(self, subscription: Subscription) -> None:
        await self.local.leave(subscription)
        if subscription.channel not in self.local.channels:
            await self.pubsub.unsubscribe(subscription.channel)

    async def publish(self, channel: str, message: str | bytes) -> None:
        if isinstance(message, str):
            payload = _TEXT + message.encode("utf-8")
        else:
            payload = _BINARY + bytes(message)
        await self.client.publish(channel, payload)

    async def _read(self) -> None:
        while self.local.channels:
            try:
                item = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except Exception:
                logger.exception("broadcast: reading from Redis failed; retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            if item is None or item.get("type") != "message":
                continue
            channel = item["channel"]
            name = channel.decode("utf-8") if isinstance(channel, bytes) else str(channel)
            data: bytes = item["data"]
            message: str | bytes = data[1:].decode("utf-8") if data[:1] == _TEXT else data[1:]
            with self.local.lock:
                members = list(self.local.channels.get(name, ()))
            _fan_out(members, message)

    async def aclose(self) -> None:
        reader = self.reader
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        await self.pubsub.aclose()
        await self.client.aclose()


class Broadcast:
    """Channels of subscribers; ``backend`` is ``"memory"`` or a Redis URL (None: the
    ``BOLT_BROADCAST_BACKEND`` setting, read on first use)."""

    def __init__(self, backend: str | None = None) -> None:
        self._backend = backend
        self._memory = _Memory()
        # Redis connections belong to the event loop that opened them: one link per loop.
        self._links: dict[asyncio.AbstractEventLoop, _RedisLink] = {}

    @property
    def backend(self) -> str:
        """Return where subscribers are found: ``"memory"`` or the Redis URL."""
        if self._backend is None:
            self._backend = framework_config().bolt_broadcast_backend
        return self._backend

    def _target(self) -> _Memory | _RedisLink:
        backend = self.backend
        if backend == "memory":
            return self._memory
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is None:
            link = self._links[loop] = _RedisLink(backend)
        return link

    def subscribe(self, channel: str) -> Subscription:
        """Return a subscription to ``channel`` (enter it with ``async with``)."""
        return Subscription(self, channel)

    async def publish(self, channel: str, message: str | bytes) -> None:
        """Send ``message`` to every subscriber of ``channel``."""
        if not isinstance(message, str | bytes):
            raise TypeError("a broadcast message is str or bytes")
        await self._target().publish(channel, message)

    async def _join(self, subscription: Subscription) -> None:
        await self._target().join(subscription)

    async def _leave(self, subscription: Subscription) -> None:
        await self._target().leave(subscription)

    async def aclose(self) -> None:
        """Close this event loop's Redis connection (nothing to do in memory)."""
        link = self._links.pop(asyncio.get_running_loop(), None)
        if link is not None:
            await link.aclose()


# The process's broadcast, configured by BOLT_BROADCAST_BACKEND.
broadcast: Final = Broadcast()
