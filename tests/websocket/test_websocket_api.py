"""WebSocket routes through the TestClient: the same server code path (handshake, framing) as
the network, driven over an in-memory transport."""

from __future__ import annotations

import asyncio
from typing import Annotated

import pytest

from django_bolt import (
    BoltAPI,
    CloseCode,
    Depends,
    IsAuthenticated,
    JWTAuthentication,
    Router,
    WebSocket,
    WebSocketDisconnect,
    WebSocketState,
)
from django_bolt.param_functions import Header, Query
from django_bolt.testing import (
    HandshakeRejected,
    TestClient,
    WebSocketTestClient,
)

OPEN_ROOMS = {"lobby"}


def make_api() -> BoltAPI:
    api = BoltAPI()

    @api.websocket("/ws/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for message in websocket.iter_text():
            await websocket.send_text(f"Echo: {message}")

    @api.websocket("/ws/room/{room_id}")
    async def room(websocket: WebSocket, room_id: str) -> None:
        await websocket.accept()
        async for message in websocket.iter_text():
            await websocket.send_text(f"[{room_id}] {message}")

    @api.websocket("/ws/rooms/{room}")
    async def rooms(websocket: WebSocket, room: str) -> None:
        if room not in OPEN_ROOMS:
            await websocket.close()
            return
        await websocket.accept()
        await websocket.send_text("welcome")

    @api.websocket("/ws/returns")
    async def returns(websocket: WebSocket) -> None:
        return

    @api.websocket("/ws/raises")
    async def raises(websocket: WebSocket) -> None:
        raise RuntimeError("boom before accept")

    @api.websocket("/ws/feed")
    async def feed(
        websocket: WebSocket,
        limit: Annotated[int, Query()] = 10,
        agent: Annotated[str, Header(alias="x-agent")] = "none",
    ) -> None:
        await websocket.accept()
        await websocket.send_json({"limit": limit, "agent": agent})

    def prefix() -> str:
        return "dep"

    @api.websocket("/ws/dep")
    async def dep(websocket: WebSocket, value: str = Depends(prefix)) -> None:
        await websocket.accept()
        await websocket.send_text(value)

    @api.websocket("/graphql")
    async def graphql(websocket: WebSocket) -> None:
        if "graphql-transport-ws" not in websocket.subprotocols:
            await websocket.close()
            return
        await websocket.accept(subprotocol="graphql-transport-ws")
        await websocket.send_text(",".join(websocket.subprotocols))

    @api.websocket("/ws/bad-subprotocol")
    async def bad_subprotocol(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="not-offered")

    @api.websocket("/ws/bad-header")
    async def bad_header(websocket: WebSocket) -> None:
        await websocket.accept(headers=[(b"sec-websocket-accept", b"x")])

    @api.websocket("/ws/headers")
    async def extra_headers(websocket: WebSocket) -> None:
        await websocket.accept(headers=[(b"x-session-id", b"abc")])
        await websocket.send_text("ok")

    @api.websocket("/ws/states")
    async def states(websocket: WebSocket) -> None:
        first = await websocket.receive()
        before = websocket.state
        await websocket.accept()
        await websocket.send_json([first["type"], before.name, websocket.state.name])
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as gone:
            await asyncio.sleep(0)
            assert websocket.client_state is WebSocketState.DISCONNECTED
            STATE["code"] = gone.code

    @api.websocket("/ws/closes")
    async def closes(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(code=4001, reason="bye")

    @api.websocket("/ws/json")
    async def json_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_json():
            await websocket.send_json({"got": data})

    @api.websocket("/ws/bytes")
    async def bytes_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_bytes():
            await websocket.send_bytes(data[::-1])

    @api.websocket("/ws/after-accept-error")
    async def after_accept(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        raise RuntimeError("boom after accept")

    @api.websocket("/ws/small", max_message_size=16)
    async def small(websocket: WebSocket) -> None:
        await websocket.accept()
        async for message in websocket.iter_text():
            await websocket.send_text(message)

    @api.websocket(
        "/ws/protected", auth=[JWTAuthentication(secret="s3cret")], guards=[IsAuthenticated()]
    )
    async def protected(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"Welcome {websocket.user.username}")

    @api.get("/ws/echo-page")
    async def page() -> dict[str, str]:
        return {"page": "yes"}

    @api.get("/plain")
    async def plain() -> dict[str, str]:
        return {"plain": "http"}

    router = Router(prefix="/r")

    @router.websocket("/sock")
    async def routed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("routed")

    api.include_router(router)
    return api


STATE: dict[str, int] = {}


@pytest.fixture
def client() -> TestClient:
    with TestClient(make_api()) as client:
        yield client


def test_echo(client: TestClient) -> None:
    with client.websocket_connect("/ws/echo") as ws:
        ws.send_text("Hello")
        assert ws.receive_text() == "Echo: Hello"
        ws.send_text("again")
        assert ws.receive_text() == "Echo: again"


def test_path_parameter_is_decoded(client: TestClient) -> None:
    with client.websocket_connect("/ws/room/hello%20world") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "[hello world] hi"


def test_router_websocket(client: TestClient) -> None:
    with client.websocket_connect("/r/sock") as ws:
        assert ws.receive_text() == "routed"


@pytest.mark.parametrize("path", ["/ws/rooms/closed", "/ws/returns"])
def test_close_or_return_before_accept_is_403(client: TestClient, path: str) -> None:
    with pytest.raises(HandshakeRejected) as rejected, client.websocket_connect(path):
        pass
    assert rejected.value.status_code == 403


def test_open_room_accepts(client: TestClient) -> None:
    with client.websocket_connect("/ws/rooms/lobby") as ws:
        assert ws.receive_text() == "welcome"


def test_exception_before_accept_is_500() -> None:
    client = TestClient(make_api(), raise_server_exceptions=False)
    with (
        client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/ws/raises"),
    ):
        pass
    assert rejected.value.status_code == 500


def test_exception_before_accept_is_raised_in_the_test(client: TestClient) -> None:
    with (
        pytest.raises(RuntimeError, match="boom before accept"),
        client.websocket_connect("/ws/raises"),
    ):
        pass


def test_typed_query_and_header(client: TestClient) -> None:
    with client.websocket_connect("/ws/feed?limit=50", headers={"x-agent": "t"}) as ws:
        assert ws.receive_json() == {"limit": 50, "agent": "t"}


def test_value_that_does_not_convert_is_400_naming_it(client: TestClient) -> None:
    with (
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/ws/feed?limit=abc"),
    ):
        pass
    assert rejected.value.status_code == 400
    assert "limit" in rejected.value.body.decode()


def test_depends(client: TestClient) -> None:
    with client.websocket_connect("/ws/dep") as ws:
        assert ws.receive_text() == "dep"


def test_subprotocol_selected(client: TestClient) -> None:
    with client.websocket_connect("/graphql", subprotocols=["a", "graphql-transport-ws"]) as ws:
        assert ws.accepted_subprotocol == "graphql-transport-ws"
        assert ws.receive_text() == "a,graphql-transport-ws"


def test_subprotocol_missing_is_refused(client: TestClient) -> None:
    with pytest.raises(HandshakeRejected) as rejected, client.websocket_connect("/graphql"):
        pass
    assert rejected.value.status_code == 403


@pytest.mark.parametrize("path", ["/ws/bad-subprotocol", "/ws/bad-header"])
def test_accept_refuses_unoffered_subprotocol_and_owned_headers(path: str) -> None:
    client = TestClient(make_api())
    with client, pytest.raises(ValueError), client.websocket_connect(path, subprotocols=["x"]):
        pass


def test_accept_headers_reach_the_101(client: TestClient) -> None:
    with client.websocket_connect("/ws/headers") as ws:
        assert ws.headers["x-session-id"] == "abc"
        assert ws.receive_text() == "ok"


def test_states_and_connect_message(client: TestClient) -> None:
    with client.websocket_connect("/ws/states") as ws:
        assert ws.receive_json() == ["websocket.connect", "CONNECTING", "CONNECTED"]
        ws.close(code=4002)
    assert STATE["code"] == 4002


def test_server_close_code_reaches_the_client(client: TestClient) -> None:
    with client.websocket_connect("/ws/closes") as ws, pytest.raises(WebSocketDisconnect) as gone:
        ws.receive_text()
    assert gone.value.code == 4001
    assert gone.value.reason == "bye"


def test_json_and_bytes(client: TestClient) -> None:
    with client.websocket_connect("/ws/json") as ws:
        ws.send_json({"a": [1, 2]})
        assert ws.receive_json() == {"got": {"a": [1, 2]}}
    with client.websocket_connect("/ws/bytes") as ws:
        ws.send_bytes(b"\x00\x01\x02")
        assert ws.receive_bytes() == b"\x02\x01\x00"


def test_error_after_accept_closes_with_1011() -> None:
    with TestClient(make_api()) as client, client.websocket_connect("/ws/after-accept-error") as ws:
        ws.send_text("go")
        with pytest.raises(WebSocketDisconnect) as gone:
            ws.receive_text()
    assert gone.value.code == CloseCode.INTERNAL_ERROR


def test_message_over_the_route_limit_is_1009(client: TestClient) -> None:
    with client.websocket_connect("/ws/small") as ws:
        ws.send_text("short")
        assert ws.receive_text() == "short"
        ws.send_text("x" * 17)
        with pytest.raises(WebSocketDisconnect) as gone:
            ws.receive_text()
    assert gone.value.code == 1009


def test_auth_runs_on_the_handshake(client: TestClient) -> None:
    with pytest.raises(HandshakeRejected) as rejected, client.websocket_connect("/ws/protected"):
        pass
    assert rejected.value.status_code == 401


def test_plain_get_on_a_websocket_path_is_426(client: TestClient) -> None:
    response = client.get("/ws/echo")
    assert response.status_code == 426
    assert response.headers["sec-websocket-version"] == "13"


def test_upgrade_to_an_http_route_is_plain_http(client: TestClient) -> None:
    with pytest.raises(HandshakeRejected) as rejected, client.websocket_connect("/plain"):
        pass
    assert rejected.value.status_code == 200
    assert rejected.value.json() == {"plain": "http"}
    assert rejected.value.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"sec-websocket-version": "8"}, 426),
        ({"sec-websocket-key": "short"}, 400),
    ],
)
def test_broken_handshakes(client: TestClient, headers: dict[str, str], status: int) -> None:
    with (
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/ws/echo", headers=headers),
    ):
        pass
    assert rejected.value.status_code == status
    if status == 426:
        assert rejected.value.headers["sec-websocket-version"] == "13"


def test_cross_site_origin_is_403(client: TestClient) -> None:
    with (
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/ws/echo", headers={"origin": "http://evil.example"}),
    ):
        pass
    assert rejected.value.status_code == 403
    with client.websocket_connect("/ws/echo", headers={"origin": "http://testserver"}) as ws:
        ws.send_text("same")
        assert ws.receive_text() == "Echo: same"


def test_openapi_shows_websocket_routes_as_their_handshake(client: TestClient) -> None:
    # Shown as 0.13 shows them (test_websocket_openapi.py has the details).
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/ws/echo"]["x-websocket"] is True
    assert paths["/ws/echo"]["get"]["tags"] == ["WebSocket"]
    assert "x-websocket" not in paths["/plain"]


def test_websocket_test_client_async() -> None:
    asyncio.run(_async_client(make_api()))


async def _async_client(api: BoltAPI) -> None:
    async with WebSocketTestClient(api, "/ws/echo") as ws:
        await ws.send_text("Hello")
        assert await ws.receive_text() == "Echo: Hello"
    with pytest.raises(HandshakeRejected) as rejected:
        async with WebSocketTestClient(api, "/ws/rooms/closed"):
            pass
    assert rejected.value.status_code == 403


def test_broadcast_in_process_reaches_every_subscriber() -> None:
    from django_bolt.websocket.broadcast import Broadcast, Subscription

    hub = Broadcast("memory")
    api = BoltAPI()

    async def forward(messages: Subscription, websocket: WebSocket) -> None:
        async for message in messages:
            await websocket.send_text(str(message))

    @api.websocket("/ws/chat/{room}")
    async def chat(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        async with hub.subscribe(room) as messages:
            await websocket.send_text("joined")
            relay = asyncio.create_task(forward(messages, websocket))
            try:
                async for text in websocket.iter_text():
                    await hub.publish(room, text)
            finally:
                relay.cancel()

    with (
        TestClient(api) as client,
        client.websocket_connect("/ws/chat/a") as one,
        client.websocket_connect("/ws/chat/a") as two,
        client.websocket_connect("/ws/chat/b") as other,
    ):
        for ws in (one, two, other):
            assert ws.receive_text() == "joined"
        one.send_text("hi")
        assert one.receive_text() == "hi"
        assert two.receive_text() == "hi"
        other.send_text("elsewhere")
        assert other.receive_text() == "elsewhere"
        two.send_text("back")
        assert one.receive_text() == "back"
