"""The outbox (server/outbox.py): while the loop is busy, small answers wait for its turn's end.

What is held must never be overtaken, lost on a close, or written to a connection that is gone;
what is large or streamed is not held at all. Most tests here put the batch in its holding mode
(``holding``); the last ones check how it goes in and out of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_bolt.server.outbox import HOLD_BYTES, HOLD_MIN_BATCH, OutputBatch
from django_bolt.server.protocol import HttpProtocol
from tests.server.conftest import FakeTransport
from tests.server.test_protocol_security import answers

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from tests.server.conftest import Driver

GET = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
GET_B = b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n"
GET_CLOSE = b"GET /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


def holding(d: Driver, min_batch: int = 1) -> OutputBatch:
    """Put the connection's batch in its holding mode, kept while turns flush ``min_batch``."""
    batch = d.state.batch_for(d.loop)
    batch.holding = True
    batch.min_batch = min_batch
    return batch


def another_connection(
    d: Driver, loop: asyncio.AbstractEventLoop
) -> tuple[HttpProtocol, FakeTransport]:
    """A second client of ``d``'s server: same state, same loop, hence the same batch."""
    transport = FakeTransport(loop)

    async def connect() -> HttpProtocol:
        conn = HttpProtocol(d.state)
        transport.protocol = conn
        conn.connection_made(transport)
        return conn

    conn: HttpProtocol = d.run(connect)
    return conn, transport


def count_writes(d: Driver) -> list[bytes]:
    """Record each write call's bytes (the fake transport only keeps their concatenation)."""
    calls: list[bytes] = []
    write = d.transport.write

    def recording(data: Any) -> None:
        calls.append(bytes(data))
        write(data)

    d.replace_write(recording)
    return calls


def test_an_answer_goes_out_when_the_turn_ends(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)
    during: list[bytes] = []

    def deliver() -> None:
        d.conn.data_received(GET)
        during.append(bytes(d.transport.written))  # the answer is made, and held

    d.run(deliver)
    assert during == [b""]
    assert [status for status, _, _ in answers(d.out)] == [200]
    assert d.app.seen[0].target == b"/a"


def test_answers_of_several_connections_go_out_together(
    make: Callable[..., Driver], loop: asyncio.AbstractEventLoop
) -> None:
    d = make()
    holding(d)
    second, other = another_connection(d, loop)
    during: list[tuple[bytes, bytes]] = []

    def deliver() -> None:
        d.conn.data_received(GET)
        second.data_received(GET_B)
        during.append((bytes(d.transport.written), bytes(other.written)))

    d.run(deliver)
    assert during == [(b"", b"")]
    assert len(answers(d.out)) == 1
    assert len(answers(bytes(other.written))) == 1
    assert [r.target for r in d.app.seen] == [b"/a", b"/b"]


def test_pipelined_answers_are_written_in_order_in_one_write(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)
    calls = count_writes(d)
    d.feed(GET + GET_B + GET)
    assert len(calls) == 1
    assert [status for status, _, _ in answers(d.out)] == [200, 200, 200]
    assert [r.target for r in d.app.seen] == [b"/a", b"/b", b"/a"]
    assert [answer[2].count(b"/b") for answer in answers(d.out)] == [0, 1, 0]


def test_a_close_sends_what_is_held_before_it(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)
    d.feed(GET + GET_CLOSE)
    assert [status for status, _, _ in answers(d.out)] == [200, 200]
    assert answers(d.out)[1][1][b"connection"] == b"close"
    assert d.transport.closed
    assert d.transport.writes_after_close == b""


def test_an_error_after_a_held_answer_comes_after_it(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)
    d.feed(GET + b"GET /x HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n")
    assert [status for status, _, _ in answers(d.out)] == [200, 400]
    assert d.transport.closed
    assert d.transport.writes_after_close == b""


def test_a_large_answer_is_written_at_once(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)
    during: list[int] = []
    size = HOLD_BYTES + 1

    def deliver() -> None:
        d.conn.data_received(b"GET /big?%d HTTP/1.1\r\nHost: t\r\n\r\n" % size)
        during.append(len(d.transport.written))

    d.run(deliver)
    assert during[0] > size
    assert answers(d.out)[0][0] == 200
    assert len(answers(d.out)[0][2]) == size


def test_a_held_answer_then_a_large_one_keep_their_order(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)
    size = HOLD_BYTES + 1
    d.feed(GET + b"GET /big?%d HTTP/1.1\r\nHost: t\r\n\r\n" % size + GET_B)
    statuses = [(status, len(body)) for status, _, body in answers(d.out)]
    assert [status for status, _ in statuses] == [200, 200, 200]
    assert statuses[1][1] == size
    assert [r.target for r in d.app.seen][::2] == [b"/a", b"/b"]


def test_a_client_that_leaves_gets_nothing_written(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)

    def deliver_then_leave() -> None:
        d.conn.data_received(GET)
        d.transport.closed = True
        d.transport._lost = True
        d.conn.connection_lost(ConnectionResetError())

    d.run(deliver_then_leave)
    assert d.out == b""
    assert d.transport.writes_after_close == b""
    assert d.conn.transport is None


def test_an_abort_drops_what_is_held(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)

    def deliver_then_abort() -> None:
        d.conn.data_received(GET)
        d.state.force_close()

    d.run(deliver_then_abort)
    assert d.transport.aborted
    assert d.out == b""
    assert d.transport.writes_after_close == b""


def test_a_write_that_fails_does_not_stop_the_others(
    make: Callable[..., Driver], loop: asyncio.AbstractEventLoop
) -> None:
    d = make()
    holding(d)
    second, other = another_connection(d, loop)

    def broken(data: Any) -> None:
        raise RuntimeError("unable to perform operation: the handler is closed")

    d.replace_write(broken)

    def deliver() -> None:
        d.conn.data_received(GET)
        second.data_received(GET_B)

    d.run(deliver)
    assert [status for status, _, _ in answers(bytes(other.written))] == [200]


def test_drain_closes_an_idle_connection_after_its_answer(make: Callable[..., Driver]) -> None:
    d = make()
    holding(d)

    def deliver_then_shut_down() -> None:
        d.conn.data_received(GET)
        assert not d.conn.responding  # answered (and held): idle, as the drain finds it
        d.state.begin_shutdown()

    d.run(deliver_then_shut_down)
    assert [status for status, _, _ in answers(d.out)] == [200]
    assert d.transport.closed
    assert d.transport.writes_after_close == b""


# --- when the batch holds ----------------------------------------------------------------------


def answered_during_the_turn(d: Driver, request: bytes = GET) -> bool:
    """Deliver ``request``; tell whether its answer was written before the turn ended."""
    before = len(d.transport.written)
    during: list[int] = []

    def deliver() -> None:
        d.conn.data_received(request)
        during.append(len(d.transport.written))

    d.run(deliver)
    assert len(d.transport.written) > before  # answered by the end of the turn in any case
    return during[0] > before


def test_a_quiet_loop_writes_each_answer_at_once(make: Callable[..., Driver]) -> None:
    d = make()
    batch = d.state.batch_for(d.loop)
    assert not batch.holding
    assert [answered_during_the_turn(d) for _ in range(5)] == [True] * 5
    assert [status for status, _, _ in answers(d.out)] == [200] * 5


def test_a_probe_holds_one_turn_and_a_small_turn_ends_the_holding(
    make: Callable[..., Driver],
) -> None:
    d = make()
    batch = d.state.batch_for(d.loop)
    batch.probe_every = batch.until_probe = 3
    # The third answer probes: held to the end of its turn, which flushed one connection.
    assert [answered_during_the_turn(d) for _ in range(6)] == [True, True, False] * 2
    assert not batch.holding
    assert batch.min_batch == HOLD_MIN_BATCH > 1  # a one-connection turn is a small one
    assert [status for status, _, _ in answers(d.out)] == [200] * 6


def test_turns_that_answer_enough_connections_keep_the_holding(
    make: Callable[..., Driver], loop: asyncio.AbstractEventLoop
) -> None:
    d = make()
    batch = holding(d, min_batch=2)
    second, other = another_connection(d, loop)
    for _ in range(3):
        during: list[tuple[int, int]] = []
        sizes = (len(d.transport.written), len(other.written))

        def deliver(during: list[tuple[int, int]] = during) -> None:
            d.conn.data_received(GET)
            second.data_received(GET_B)
            during.append((len(d.transport.written), len(other.written)))

        d.run(deliver)
        assert during == [sizes]  # both held to the turn's end
        assert batch.holding
    # A turn with one answer (below min_batch) ends it.
    assert not answered_during_the_turn(d)
    assert not batch.holding
    assert answered_during_the_turn(d)
    assert len(answers(d.out)) == 5
    assert len(answers(bytes(other.written))) == 3
