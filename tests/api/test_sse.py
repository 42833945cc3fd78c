"""Server-Sent Events: field encoding, headers, keep-alive pings."""

import asyncio

import pytest

from django_bolt import BoltAPI, StreamingResponse
from django_bolt._http.sse import PING_COMMENT, encode_event
from django_bolt.responses import EventSourceResponse, ServerSentEvent
from django_bolt.testing import TestClient


@pytest.mark.parametrize(
    ("item", "wire"),
    [
        pytest.param("hello", b"data: hello\n\n", id="str"),
        pytest.param("a\nb", b"data: a\ndata: b\n\n", id="multiline"),
        pytest.param(
            ServerSentEvent(data={"n": 1}, event="tick", id="7"),
            b'id: 7\nevent: tick\ndata: {"n":1}\n\n',
            id="event",
        ),
        pytest.param(
            ServerSentEvent(retry=3000, comment="hi"), b": hi\nretry: 3000\n\n", id="retry-comment"
        ),
        pytest.param(b"data: raw\n\n", b"data: raw\n\n", id="bytes"),
    ],
)
def test_encode_event(item, wire):
    assert encode_event(item) == wire


def test_event_field_with_newline_is_refused():
    with pytest.raises(ValueError, match="single line"):
        encode_event(ServerSentEvent(data="x", event="a\nb"))


def test_event_source_response_headers_and_body():
    api = BoltAPI()

    @api.get("/events")
    async def events():
        async def gen():
            yield "one"
            yield ServerSentEvent(data=[1, 2], event="list")

        return EventSourceResponse(gen())

    with TestClient(api) as client:
        response = client.get("/events")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.content == b"data: one\n\nevent: list\ndata: [1,2]\n\n"


@pytest.mark.parametrize("kind", ["event-source", "streaming"])
def test_quiet_producer_gets_keepalive_pings(kind):
    # Uncompressed, so that a ping is the raw chunk PING_COMMENT.
    api = BoltAPI(compression=None)
    release = asyncio.Event()

    async def gen():
        # Blocks until the consumer has seen a ping: the test cannot pass without one.
        await release.wait()
        # EventSourceResponse formats events itself; StreamingResponse sends chunks as given.
        yield "done" if kind == "event-source" else "data: done\n\n"

    @api.get("/slow")
    async def slow():
        if kind == "event-source":
            return EventSourceResponse(gen(), ping_interval=0.01)
        response = StreamingResponse(gen(), media_type="text/event-stream")
        response.ping_interval = 0.01
        return response

    with TestClient(api) as client, client.stream("GET", "/slow") as response:
        chunks = []
        for chunk in response.iter_raw():
            chunks.append(chunk)
            if chunk == PING_COMMENT:
                release.set()
    assert chunks[0] == PING_COMMENT
    assert chunks[-1] == b"data: done\n\n"
