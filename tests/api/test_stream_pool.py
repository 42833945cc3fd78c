"""Streams from sync iterables run in the pool; abandoned streams are closed promptly.

Issue 12, defect 9: a sync generator streamed from a ``def`` handler ran on the event loop, so
``time.sleep()`` between chunks stalled every other request of the worker, and a stream the
client left was never closed. The server gives up on a stream by cancelling the task that awaits
the next chunk and then calling ``aclose()`` on the iterator; the tests here drive
``BoltAPI.dispatch`` (what the server and the TestClient both call) under that contract.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from django_bolt import BoltAPI, Request, StreamingResponse
from django_bolt.responses import EventSourceResponse
from django_bolt.testing import AsyncTestClient

WAIT = 5.0  # seconds a test waits for a thread before failing instead of hanging

# Each way a handler can stream: (path, first chunk on the wire).
KINDS = [
    pytest.param("generator", id="def-handler-generator"),
    pytest.param("streaming", id="StreamingResponse"),
    pytest.param("event-source", id="EventSourceResponse"),
    pytest.param("sse-streaming", id="StreamingResponse-event-stream"),
    pytest.param("ndjson", id="typed-Iterator-ndjson"),
]


class Producer:
    """A sync generator that reports where it runs and blocks until the test lets it go."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.second_started = threading.Event()
        self.release = threading.Event()
        self.closed = threading.Event()
        self.threads: list[str] = []
        self.close_error: BaseException | None = None

    def items(self, kind: str) -> Iterator[Any]:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        try:
            self.release.wait(WAIT)
            yield self.item(kind, 1)
            self.threads.append(threading.current_thread().name)
            self.second_started.set()
            self.release.wait(WAIT)
            yield self.item(kind, 2)
        finally:
            self.threads.append(threading.current_thread().name)
            self.closed.set()

    @staticmethod
    def item(kind: str, n: int) -> Any:
        if kind == "ndjson":
            return {"n": n}
        if kind == "event-source":
            return f"n={n}"
        if kind == "sse-streaming":
            return f"data: n={n}\n\n"
        return f"n={n};"


def stream_api(producer: Producer) -> BoltAPI:
    api = BoltAPI(compression=None)

    @api.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"pong": True}

    @api.get("/stream/generator")
    def generator() -> Iterator[Any]:
        yield from producer.items("generator")

    @api.get("/stream/streaming")
    def streaming() -> StreamingResponse:
        return StreamingResponse(producer.items("streaming"))

    @api.get("/stream/event-source")
    def event_source() -> EventSourceResponse:
        return EventSourceResponse(producer.items("event-source"), ping_interval=30)

    @api.get("/stream/sse-streaming")
    def sse_streaming() -> StreamingResponse:
        return StreamingResponse(producer.items("sse-streaming"), media_type="text/event-stream")

    @api.get("/stream/ndjson")
    def ndjson() -> Iterator[dict[str, int]]:
        return producer.items("ndjson")

    return api


async def wait_in_thread(event: threading.Event) -> bool:
    return await asyncio.to_thread(event.wait, WAIT)


@pytest.mark.parametrize("kind", KINDS)
def test_a_blocking_sync_stream_does_not_hold_the_event_loop(kind: str) -> None:
    producer = Producer()
    api = stream_api(producer)

    async def main() -> tuple[bool, bytes]:
        async with AsyncTestClient(api) as client:

            async def read() -> bytes:
                async with client.stream("GET", f"/stream/{kind}") as response:
                    return b"".join([chunk async for chunk in response.aiter_raw()])

            reading = asyncio.create_task(read())
            assert await wait_in_thread(producer.started)
            # The producer is blocked in its first next(): the loop must still answer.
            pong = await client.get("/ping")
            answered_while_blocked = pong.status_code == 200 and not reading.done()
            producer.release.set()
            return answered_while_blocked, await reading

    answered_while_blocked, body = asyncio.run(main())
    assert answered_while_blocked
    assert b"1" in body and b"2" in body
    assert producer.closed.is_set()
    assert all(name.startswith("bolt-sync") for name in producer.threads), producer.threads


def get(path: str) -> Request:
    return Request("GET", path.encode(), [(b"host", b"testserver")], b"", None, "http", None, "1.1")


async def first_chunk(api: BoltAPI, path: str) -> AsyncIterator[bytes]:
    response = await api.dispatch(get(path))
    assert response.status_code == 200
    stream = response.stream
    assert stream is not None
    iterator = aiter(stream)  # type: ignore[arg-type]
    assert await anext(iterator)
    return iterator


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "await_cancelled_first",
    [pytest.param(True, id="cancel-await-then-aclose"), pytest.param(False, id="cancel-aclose")],
)
def test_a_stream_abandoned_mid_item_closes_the_generator_in_the_pool(
    kind: str, await_cancelled_first: bool
) -> None:
    producer = Producer()
    api = stream_api(producer)

    async def main() -> None:
        producer.release.set()
        iterator = await first_chunk(api, f"/stream/{kind}")
        producer.release.clear()
        # The server awaits the next chunk while the producer is busy making it...
        pulling = asyncio.ensure_future(anext(iterator))
        assert await wait_in_thread(producer.second_started)
        # ...and the client goes away: the server cancels that wait, then closes the stream.
        pulling.cancel()
        # Either the server waits for the cancelled task before aclose(), or it does not.
        closing = pulling if await_cancelled_first else iterator.aclose()  # type: ignore[attr-defined]
        closed = asyncio.ensure_future(closing)
        await asyncio.sleep(0.05)
        # A generator cannot be closed while next() runs it: the close waits for that step.
        assert not producer.closed.is_set()
        producer.release.set()
        await asyncio.wait([closed], timeout=WAIT)
        assert producer.closed.is_set()
        await iterator.aclose()  # type: ignore[attr-defined]
        with pytest.raises(asyncio.CancelledError):
            await pulling

    asyncio.run(main())
    assert all(name.startswith("bolt-sync") for name in producer.threads), producer.threads


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_abandoned_between_items_is_closed_by_aclose(kind: str) -> None:
    producer = Producer()
    api = stream_api(producer)

    async def main() -> None:
        producer.release.set()
        iterator = await first_chunk(api, f"/stream/{kind}")
        await iterator.aclose()  # type: ignore[attr-defined]
        # Closed by the time aclose() returns: not left to the garbage collector.
        assert producer.closed.is_set()

    asyncio.run(main())
    assert producer.threads[-1].startswith("bolt-sync"), producer.threads


def closing_generator(
    finished: list[str], step: asyncio.Event, first: Any, second: Any
) -> Callable[[], AsyncIterator[Any]]:
    """An async generator function that notes when its generator is closed."""

    async def produce() -> AsyncIterator[Any]:
        try:
            yield first
            await step.wait()
            yield second
        finally:
            finished.append("closed")

    return produce


def async_api(finished: list[str], step: asyncio.Event) -> BoltAPI:
    """Each route's own async generator notes when it is closed."""
    api = BoltAPI(compression=None)
    items = closing_generator(finished, step, "one;", "two;")

    @api.get("/streaming")
    async def streaming() -> StreamingResponse:
        return StreamingResponse(items())

    @api.get("/event-source")
    async def event_source() -> EventSourceResponse:
        return EventSourceResponse(items(), ping_interval=30)

    # The handlers themselves are the generators: plain chunks, and typed JSON lines.
    api.get("/generator")(items)
    ndjson = closing_generator(finished, step, {"n": 1}, {"n": 2})
    ndjson.__annotations__["return"] = AsyncIterator[dict[str, int]]
    api.get("/ndjson")(ndjson)
    return api


@pytest.mark.parametrize("path", ["/streaming", "/generator", "/event-source", "/ndjson"])
@pytest.mark.parametrize(
    "mid_item", [pytest.param(True, id="mid-item"), pytest.param(False, id="between-items")]
)
def test_an_abandoned_async_stream_is_aclosed(path: str, mid_item: bool) -> None:
    finished: list[str] = []

    async def main() -> None:
        step = asyncio.Event()
        iterator = await first_chunk(async_api(finished, step), path)
        if mid_item:
            pulling = asyncio.ensure_future(anext(iterator))
            await asyncio.sleep(0.01)
            pulling.cancel()
        await iterator.aclose()  # type: ignore[attr-defined]
        assert finished == ["closed"]

    asyncio.run(main())


def test_lists_are_sent_inline_without_the_pool() -> None:
    api = BoltAPI(compression=None)

    @api.get("/list")
    async def listed() -> StreamingResponse:
        return StreamingResponse([b"a", "b"])

    async def main() -> Any:
        return (await api.dispatch(get("/list"))).stream

    stream = asyncio.run(main())
    assert list(stream) == [b"a", b"b"]
