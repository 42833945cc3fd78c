"""A connection's transport whose small writes wait for the end of the loop's I/O step.

Under load one turn of the event loop reads many connections. Writing each answer the moment it
is made puts a ``write`` between every two requests' work, and each one delivers to a client
that has often gone back to sleep since the last: on loopback the wake-up is paid by the
writer, and it was the largest single cost of a small request here (BENCHMARKS.md, session
11). Held until the turn's reads are done, the answers go out back to back, the client reads
many per wake-up, and the server's own work of the turn stays together.

:class:`Outbox` stands in for the transport everywhere the server uses one, so nothing can
overtake what is held: every call that writes otherwise, closes, switches the protocol or
asks the buffer's size sends the held bytes first; an abort drops them with the connection.
What is held is bounded (:data:`HOLD_BYTES` a connection) and goes out at the latest on the
loop's next turn, before it waits for I/O again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import asyncio

__all__ = ("HOLD_BYTES", "Outbox", "OutputBatch")

logger = logging.getLogger("django_bolt.server")

# The most a connection holds for the end of the turn; a write that would take it over sends
# what is held and itself at once. Every small answer fits.
HOLD_BYTES: Final = 64 * 1024


class OutputBatch:
    """The connections of one event loop with bytes held, and the one call that sends them."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: list[Outbox] = []

    def add(self, outbox: Outbox) -> None:
        waiting = self.waiting
        if not waiting:
            # Ready callbacks run on the loop's next turn, before it polls for I/O again.
            self.loop.call_soon(self.flush)
        waiting.append(outbox)

    def flush(self) -> None:
        waiting = self.waiting
        self.waiting = []
        for outbox in waiting:
            outbox.send_held()


class Outbox:
    """The transport of one connection, holding small writes until the loop's turn ends."""

    def __init__(self, transport: asyncio.Transport, batch: OutputBatch) -> None:
        self.raw = transport
        self.batch = batch
        self.held = b""

    # --- writing -------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self.held
        if isinstance(data, bytes) and len(held) + len(data) <= HOLD_BYTES:
            if not held:
                if not data:
                    return
                self.held = data
                self.batch.add(self)
            else:
                self.held = held + data
            return
        if held:
            self.send_held()
        self.raw.write(data)

    def write_now(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at once, after anything held: for a stream, which waits on the
        transport's back-pressure after each piece and must see it as soon as it applies."""
        if self.held:
            self.send_held()
        self.raw.write(data)

    def writelines(self, list_of_data: Any) -> None:
        if self.held:
            self.send_held()
        self.raw.writelines(list_of_data)

    def send_held(self) -> None:
        """Write what is held now (the batch's flush, or before anything it must precede)."""
        held = self.held
        if not held:
            return  # sent already: a close, say, came first
        self.held = b""
        try:
            self.raw.write(held)
        except Exception:  # one dead connection must not stop the others
            # The client left in this turn (its connection_lost is still to come).
            logger.debug("held bytes not written: the connection is gone", exc_info=True)

    def drop_held(self) -> None:
        self.held = b""

    def get_write_buffer_size(self) -> int:
        if self.held:
            self.send_held()
        size: int = self.raw.get_write_buffer_size()
        return size

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.raw.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        limits: tuple[int, int] = self.raw.get_write_buffer_limits()
        return limits

    def can_write_eof(self) -> bool:
        return bool(self.raw.can_write_eof())

    def write_eof(self) -> None:
        if self.held:
            self.send_held()
        self.raw.write_eof()

    # --- the connection ------------------------------------------------------------------------

    def close(self) -> None:
        if self.held:
            self.send_held()
        self.raw.close()

    def abort(self) -> None:
        self.held = b""
        self.raw.abort()

    def is_closing(self) -> bool:
        return bool(self.raw.is_closing())

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def is_reading(self) -> bool:
        return bool(self.raw.is_reading())

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        if self.held:
            self.send_held()
        self.raw.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.raw.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.raw.get_extra_info(name, default)
