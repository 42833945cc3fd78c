"""Server-Sent Events: field encoding, headers, keep-alive pings."""

import asyncio

import pytest

from django_bolt import BoltAPI, StreamingResponse
from django_bolt._http.sse import PING_COMMENT, encode_event
from django_bolt.responses import EventSourceResponse, ServerSentEvent, format_sse_event
from django_bolt.testing import TestClient


@pytest.mark.parametrize(
    ("item", "wire"),
    [
        pytest.param("hello", b"data: hello\n\n", id="str"),
        pytest.param("a\nb", b"data: a\ndata: b\n\n", id="multiline"),
        pytest.param(
            ServerSentEvent(data={"n": 1}, event="tick", id="7"),
            b'event: tick\ndata: {"n":1}\nid: 7\n\n',
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


def test_a_server_sent_event_sends_its_data_as_json_and_raw_data_as_it_is():
    # 0.13's topics/sse.md: data="plain text line" is sent quoted, raw_data as written; a str
    # yielded on its own is the event's text.
    assert encode_event(ServerSentEvent(data="plain text line")) == b'data: "plain text line"\n\n'
    assert encode_event(ServerSentEvent(raw_data="plain text line")) == b"data: plain text line\n\n"
    assert encode_event("plain text line") == b"data: plain text line\n\n"


def test_a_carriage_return_in_data_cannot_start_a_field():
    # A lone CR ends a line for an EventSource client: left inside one data line, the text
    # after it would become a field of the sender's choosing (here an event name).
    wire = encode_event(ServerSentEvent(raw_data="x\revent: admin\r\ny"))
    assert wire == b"data: x\ndata: event: admin\ndata: y\n\n"
    assert encode_event("a\r\nb") == b"data: a\ndata: b\n\n"


def test_format_sse_event_writes_the_fields_in_0_13_order():
    frame = format_sse_event(data_str="payload", event="update", id="42", retry=5000)
    assert frame == b"event: update\ndata: payload\nid: 42\nretry: 5000\n\n"
    assert format_sse_event(data_bytes=b'{"count": 1}') == b'data: {"count": 1}\n\n'


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"data": {"n": 1}, "raw_data": "n"}, "not both", id="data-and-raw-data"),
        pytest.param({"data": "x", "id": "a\0b"}, "NUL", id="nul-in-id"),
        pytest.param({"retry": -1}, "non-negative", id="negative-retry"),
    ],
)
def test_a_server_sent_event_refuses_what_0_13_refuses(fields, message):
    with pytest.raises(ValueError, match=message):
        ServerSentEvent(**fields)


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
