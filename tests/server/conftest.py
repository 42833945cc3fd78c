"""A fake transport and a driver that run one HttpProtocol on a real event loop, byte-exact.

The driver feeds bytes through ``data_received`` inside the loop and then lets the loop run
until the connection has nothing left to do (bounded), so tests assert on the exact bytes
written and on the transport calls, never on timing.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, Final

import pytest

import django_bolt.server.protocol as protocol_module
from django_bolt.conf import ServerConfig
from django_bolt.server.loops import new_event_loop
from django_bolt.server.protocol import HttpProtocol, ServerState
from tests.server.apps import EchoApp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PEER = ("127.0.0.1", 50000)
SOCK = ("127.0.0.1", 8000)
# Upper bound on loop iterations while waiting for a connection to settle.
_SETTLE_STEPS = 2000


class FakeTransport(asyncio.Transport):
    """Collects written bytes and records flow-control and close calls."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, peername: Any = PEER, sockname: Any = SOCK
    ) -> None:
        super().__init__()
        self.loop = loop
        self.extra = {"peername": peername, "sockname": sockname, "sslcontext": None}
        self.written = bytearray()
        self.writes_after_close = bytearray()
        self.calls: list[str] = []
        self.closed = False
        self.aborted = False
        self.reading = True
        self.protocol: asyncio.Protocol | None = None
        self._lost = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            self.writes_after_close += data
        else:
            self.written += data

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def pause_reading(self) -> None:
        self.calls.append("pause_reading")
        self.reading = False

    def resume_reading(self) -> None:
        self.calls.append("resume_reading")
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.calls.append("close")
        if not self.closed:
            self.closed = True
            # As a real transport does: the protocol hears about it on a later loop turn.
            self.loop.call_soon(self._connection_lost)

    def abort(self) -> None:
        self.calls.append("abort")
        self.aborted = True
        if not self.closed:
            self.closed = True
            self.loop.call_soon(self._connection_lost)

    def _connection_lost(self) -> None:
        if not self._lost and self.protocol is not None:
            self._lost = True
            self.protocol.connection_lost(None)

    def get_write_buffer_size(self) -> int:
        return 0


class Driver:
    """One protocol, its state and its fake transport on a real loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app: EchoApp | None = None,
        peername: Any = PEER,
        **config: Any,
    ) -> None:
        self.loop = loop
        self.app = app if app is not None else EchoApp()
        self.state = ServerState(self.app, ServerConfig(**config))
        self.transport = FakeTransport(loop, peername=peername)
        self.conn: HttpProtocol = self.run(self._make)

    async def _make(self) -> HttpProtocol:
        conn = HttpProtocol(self.state)
        self.transport.protocol = conn
        conn.connection_made(self.transport)
        return conn

    def replace_write(self, write: Callable[[Any], None]) -> None:
        """Make ``write`` the fake transport's ``write``, for the connection too: its outbox
        bound the transport's method when the connection was made."""
        self.transport.write = write  # type: ignore[method-assign]
        outbox = self.conn.transport
        assert outbox is not None
        outbox.raw_write = write

    def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` (sync or async) inside the loop, then settle."""

        async def main() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            await self._settle()
            return result

        return self.loop.run_until_complete(main())

    async def _settle(self) -> None:
        """Let tasks run until the connection is quiet (or a bounded number of turns)."""
        conn = getattr(self, "conn", None)
        for _ in range(_SETTLE_STEPS):
            await asyncio.sleep(0)
            if conn is None:
                return
            busy = conn.responding or conn.pipeline or (conn.task and not conn.task.done())
            if not busy:
                # A few more turns so call_soon callbacks (connection_lost) run too.
                for _ in range(3):
                    await asyncio.sleep(0)
                return
            if conn.task is not None and not conn.task.done():
                await asyncio.sleep(0.001)

    def feed(self, *chunks: bytes) -> bytes:
        """Deliver each chunk with data_received (in one loop turn), settle, return all output."""

        def deliver() -> None:
            for chunk in chunks:
                self.conn.data_received(chunk)

        self.run(deliver)
        return bytes(self.transport.written)

    def feed_nowait(self, *chunks: bytes) -> None:
        """Deliver chunks without waiting for the handlers to finish."""

        async def deliver() -> None:
            for chunk in chunks:
                self.conn.data_received(chunk)
            await asyncio.sleep(0)

        self.loop.run_until_complete(deliver())

    def lose(self) -> None:
        """The client disconnects."""

        async def lost() -> None:
            self.transport.closed = True
            self.transport._lost = True
            self.conn.connection_lost(ConnectionResetError())
            for _ in range(5):
                await asyncio.sleep(0)

        self.loop.run_until_complete(lost())

    @property
    def out(self) -> bytes:
        return bytes(self.transport.written)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = new_event_loop()
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def make(loop: asyncio.AbstractEventLoop, drive_mode: str) -> Callable[..., Driver]:
    def factory(**kwargs: Any) -> Driver:
        return Driver(loop, **kwargs)

    return factory


# The protocol drives dispatch by hand on Python 3.11 and with an eager Task on 3.12+; every
# protocol test runs against each mode this interpreter has.
DRIVE_MODES: Final = ("manual", "eager") if sys.version_info >= (3, 12) else ("manual",)


@pytest.fixture(params=DRIVE_MODES)
def drive_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    mode: str = request.param
    monkeypatch.setattr(protocol_module, "_EAGER_TASKS", mode == "eager")
    return mode
