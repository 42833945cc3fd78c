"""A connection's transport whose small writes, while the loop is busy, wait for its turn's end.

Under load one turn of the event loop reads many connections. Writing each answer the moment it
is made puts a ``write`` between every two requests' work, and each one delivers to a client
that has often gone back to sleep since the last: on loopback the wake-up is paid by the
writer, and it was the largest single cost of a small request here (BENCHMARKS.md, session
11). Held until the turn's reads are done, the answers go out back to back, the client reads
many per wake-up, and the server's own work of the turn stays together. When the loop is not
busy, answers go out at once (see :class:`OutputBatch`).

:class:`Outbox` stands in for the transport everywhere the server uses one, so nothing can
overtake what is held: every call that writes otherwise, closes or switches the protocol sends
the held bytes first; an abort drops them with the connection. It offers only what the server
calls, so a new use of the transport has to be added here, and decide about what is held.
What is held is bounded (:data:`HOLD_BYTES` a connection) and goes out at the latest on the
loop's next turn, before it waits for I/O again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

__all__ = ("HOLD_BYTES", "HOLD_MIN_BATCH", "HOLD_PROBE_EVERY", "Outbox", "OutputBatch")

logger = logging.getLogger("django_bolt.server")

# The most a connection holds for the end of the turn; a write that would take it over sends
# what is held and itself at once. Every small answer fits.
HOLD_BYTES: Final = 64 * 1024
# Holding goes on while each turn it flushes answered at least this many connections.
HOLD_MIN_BATCH: Final = 8
# While not holding, one answer in this many holds its turn's answers, to measure the turn.
HOLD_PROBE_EVERY: Final = 256


class OutputBatch:
    """The connections of one event loop with bytes held, and the one call that sends them.

    Holding pays only while the loop is busy: with a few clients, each would wait for answers
    made after its own instead of working on it (holding every answer cost a fifth to a third
    of the throughput with four connections; BENCHMARKS.md, session 11). So the batch holds
    while the turns it flushes are large: a turn that sent fewer than ``min_batch`` connections'
    answers ends the holding, and while not holding, every ``probe_every``-th answer holds its
    turn's answers from there on, to measure the turn again. A lone client's answer is then
    held once in ``probe_every``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        min_batch: int = HOLD_MIN_BATCH,
        probe_every: int = HOLD_PROBE_EVERY,
    ) -> None:
        self.loop = loop
        self.min_batch = min_batch
        self.probe_every = probe_every
        self.holding = False
        self.until_probe = probe_every
        self.scheduled = False
        self.waiting: list[Outbox] = []
        self._flush = self.flush

    def hold(self) -> bool:
        """Tell whether an answer made now is held (its turn's flush is then scheduled)."""
        if not self.holding:
            self.until_probe -= 1
            if self.until_probe > 0:
                return False
            self.until_probe = self.probe_every
            self.holding = True
        if not self.scheduled:
            self.scheduled = True
            # Ready callbacks run on the loop's next turn, before it polls for I/O again.
            self.loop.call_soon(self._flush)
        return True

    def flush(self) -> None:
        self.scheduled = False
        waiting = self.waiting
        self.waiting = []
        for outbox in waiting:
            outbox.send_held()
        self.holding = len(waiting) >= self.min_batch


class Outbox:
    """The transport of one connection, holding small writes while the loop is busy."""

    def __init__(self, transport: asyncio.Transport, batch: OutputBatch) -> None:
        self.raw = transport
        # Bound once: compiled code would look ``write`` up on the transport at every call.
        self.raw_write: Callable[[bytes | bytearray | memoryview], object] = transport.write
        self.batch = batch
        self.held = b""

    # --- writing -------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self.held
        if isinstance(data, bytes) and len(held) + len(data) <= HOLD_BYTES:
            if held:
                self.held = held + data
                return
            if not data:
                return
            batch = self.batch
            if batch.hold():
                self.held = data
                batch.waiting.append(self)
                return
        else:
            self.send_held()
        self.raw_write(data)

    def write_now(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at once, after anything held: for a stream, which waits on the
        transport's back-pressure after each piece and must see it as soon as it applies."""
        self.send_held()
        self.raw_write(data)

    def writelines(self, list_of_data: Any) -> None:
        self.send_held()
        self.raw.writelines(list_of_data)

    def send_held(self) -> None:
        """Write what is held now (the batch's flush, or before anything it must precede)."""
        held = self.held
        if not held:
            return  # nothing held, or sent already (a close, say, came before the flush)
        self.held = b""
        try:
            self.raw_write(held)
        except Exception:  # one dead connection must not stop the others
            # The client left in this turn (its connection_lost is still to come).
            logger.debug("held bytes not written: the connection is gone", exc_info=True)

    def drop_held(self) -> None:
        self.held = b""

    # --- the connection ------------------------------------------------------------------------

    def close(self) -> None:
        self.send_held()
        self.raw.close()

    def abort(self) -> None:
        self.drop_held()
        self.raw.abort()

    def is_closing(self) -> bool:
        return bool(self.raw.is_closing())

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.send_held()
        self.raw.set_protocol(protocol)
