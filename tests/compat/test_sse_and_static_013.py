"""Django-Bolt 0.13 code that streams plain dicts over SSE, or keeps static files in
STATICFILES_DIRS, behaves here as it does there."""

from __future__ import annotations

from collections.abc import AsyncIterable  # noqa: TC003 (handlers resolve it at runtime)

import msgspec

from django_bolt import BoltAPI
from django_bolt.responses import EventSourceResponse, ServerSentEvent
from django_bolt.testing import TestClient


class Price(msgspec.Struct):
    symbol: str
    price: float


def _events(body: bytes) -> list[str]:
    return [block for block in body.decode().split("\n\n") if block]


def test_implicit_generator_of_dicts_sends_each_dict_as_json_data() -> None:
    api = BoltAPI(compression=None)

    @api.get("/events", response_class=EventSourceResponse)
    async def events() -> AsyncIterable[dict[str, object]]:
        yield {"message": "stream started"}
        for i in range(3):
            yield {"count": i}

    with TestClient(api) as client:
        response = client.get("/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert _events(response.content) == [
        'data: {"message":"stream started"}',
        'data: {"count":0}',
        'data: {"count":1}',
        'data: {"count":2}',
    ]


def test_explicit_response_of_a_sync_generator_mixing_every_kind() -> None:
    api = BoltAPI(compression=None)

    @api.get("/stream")
    async def stream() -> EventSourceResponse:
        def generate():
            yield "plain text"
            yield {"status": "started"}
            yield Price(symbol="AAPL", price=1.5)
            yield [1, 2]
            yield ServerSentEvent(data={"n": 1}, event="tick", id="1")
            yield ServerSentEvent(raw_data="raw line", retry=2000)
            yield ServerSentEvent(comment="keepalive")

        return EventSourceResponse(generate(), ping_interval=None)

    with TestClient(api) as client:
        response = client.get("/stream")
    assert _events(response.content) == [
        "data: plain text",
        'data: {"status":"started"}',
        'data: {"symbol":"AAPL","price":1.5}',
        "data: [1,2]",
        'id: 1\nevent: tick\ndata: {"n":1}',
        "retry: 2000\ndata: raw line",
        ": keepalive",
    ]


def test_a_dict_with_event_field_names_is_still_data() -> None:
    # Only a ServerSentEvent sets event/id/retry; a dict that happens to use those keys is the
    # payload, so it can never inject an event type or id the handler did not mean.
    api = BoltAPI(compression=None)

    @api.get("/lookalike", response_class=EventSourceResponse)
    async def lookalike() -> AsyncIterable[dict[str, object]]:
        yield {"event": "admin", "id": "9", "data": "x", "retry": 1}

    with TestClient(api) as client:
        response = client.get("/lookalike")
    assert _events(response.content) == ['data: {"event":"admin","id":"9","data":"x","retry":1}']
