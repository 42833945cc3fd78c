"""api.mount_asgi() serving WebSocket scopes: a real Starlette app, in memory and on a socket."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets
from django.test import override_settings
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket as StarletteWebSocket, WebSocketDisconnect

from django_bolt import BoltAPI, WebSocket, WebSocketDisconnect as BoltDisconnect
from django_bolt.server.websocket import ServerWebSocket
from django_bolt.testing import HandshakeRejected, TestClient, WebSocketTestClient
from tests.websocket.realserver import Server, run

EVENTS: dict[str, Any] = {}


def _record(name: str, value: Any) -> None:
    EVENTS[name] = value


async def echo(websocket: StarletteWebSocket) -> None:
    offered = websocket.scope["subprotocols"]
    await websocket.accept(subprotocol="chat" if "chat" in offered else None)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                _record("echo_disconnect", message["code"])
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    finally:
        _record("echo_ended", True)


async def scope(websocket: StarletteWebSocket) -> None:
    await websocket.accept()
    raw = websocket.scope
    await websocket.send_json(
        {
            "type": raw["type"],
            "asgi": raw["asgi"],
            "http_version": raw["http_version"],
            "scheme": raw["scheme"],
            "path": raw["path"],
            "raw_path": raw["raw_path"].decode(),
            "root_path": raw["root_path"],
            "route_path": websocket.url.path,
            "query_string": raw["query_string"].decode(),
            "probe": websocket.headers.get("x-probe"),
            "client": list(raw["client"]),
            "server": list(raw["server"]) if raw["server"] else None,
            "subprotocols": raw["subprotocols"],
            "extensions": sorted(raw["extensions"]),
            "state": raw.get("state"),
        }
    )
    await websocket.close()


async def refuse(websocket: StarletteWebSocket) -> None:
    await websocket.close(code=1008)


async def deny(websocket: StarletteWebSocket) -> None:
    await websocket.send_denial_response(PlainTextResponse("members only", status_code=401))


async def boom(websocket: StarletteWebSocket) -> None:
    raise RuntimeError("broken before the accept")


async def boom_after(websocket: StarletteWebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    raise RuntimeError("broken after the accept")


async def closes(websocket: StarletteWebSocket) -> None:
    await websocket.accept()
    await websocket.receive_text()
    await websocket.close(code=4001, reason="enough")


async def returns(websocket: StarletteWebSocket) -> None:
    return  # neither accepts nor closes


async def watch(websocket: StarletteWebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect as gone:
        _record("watch_code", gone.code)


async def lazy(websocket: StarletteWebSocket) -> None:
    await websocket.accept()
    await asyncio.sleep(0.5)  # does not read: the server's queue fills, reading stops
    _record("lazy_first", await websocket.receive_text())


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/scope", scope),
            WebSocketRoute("/refuse", refuse),
            WebSocketRoute("/deny", deny),
            WebSocketRoute("/boom", boom),
            WebSocketRoute("/boom-after", boom_after),
            WebSocketRoute("/closes", closes),
            WebSocketRoute("/returns", returns),
            WebSocketRoute("/watch", watch),
            WebSocketRoute("/lazy", lazy),
        ]
    )


async def deep_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": f"deep:{scope['path']}:{scope['root_path']}"})
    await send({"type": "websocket.close", "code": 1000})


def make_api() -> BoltAPI:
    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/star", starlette_app())
    api.mount_asgi("/star/deep", deep_app)

    @api.websocket("/star/echo-bolt")
    async def bolt_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("bolt")
        await websocket.close()

    @api.get("/star/http")
    async def http_route() -> dict[str, str]:
        return {"served": "by the API"}

    return api


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    EVENTS.clear()


def test_echo_text_and_bytes_with_a_subprotocol() -> None:
    with (
        TestClient(make_api()) as client,
        client.websocket_connect("/star/echo", subprotocols=["other", "chat"]) as ws,
    ):
        assert ws.accepted_subprotocol == "chat"
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
        ws.send_bytes(b"\x00\xff")
        assert ws.receive_bytes() == b"\x00\xff"
        ws.close(4002)
    assert EVENTS["echo_disconnect"] == 4002


def test_the_websocket_scope() -> None:
    with (
        TestClient(make_api()) as client,
        client.websocket_connect(
            "/star/scope?room=a%20b", subprotocols=["x"], headers={"X-Probe": "p"}
        ) as ws,
    ):
        seen = ws.receive_json()
    assert seen["type"] == "websocket"
    assert seen["asgi"] == {"version": "3.0", "spec_version": "2.4"}
    assert seen["http_version"] == "1.1"
    assert seen["scheme"] == "ws"
    # The ASGI specification's form, as Django-Bolt 0.13: path keeps the prefix; Starlette
    # strips root_path to route it.
    assert seen["path"] == "/star/scope"
    assert seen["raw_path"] == "/star/scope"
    assert seen["root_path"] == "/star"
    assert seen["route_path"] == "/star/scope"
    assert seen["query_string"] == "room=a%20b"
    assert seen["probe"] == "p"
    assert seen["subprotocols"] == ["x"]
    assert seen["extensions"] == ["websocket.http.response"]
    assert seen["state"] == {}  # Starlette's default lifespan leaves the state empty


def test_bolt_routes_first_then_the_longest_prefix() -> None:
    with TestClient(make_api()) as client:
        with client.websocket_connect("/star/echo-bolt") as ws:
            assert ws.receive_text() == "bolt"
        with client.websocket_connect("/star/deep/x") as ws:
            assert ws.receive_text() == "deep:/star/deep/x:/star/deep"
        # A plain GET is still HTTP: the route answers it.
        assert client.get("/star/http").json() == {"served": "by the API"}


def test_mount_django_without_an_app_is_passed_by() -> None:
    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/", deep_app)
    api.mount_django("/dj")  # Django's own handler: HTTP only
    api.mount_django("/chan", deep_app, clear_root_path=True)  # e.g. a Channels router
    with TestClient(api) as client:
        with client.websocket_connect("/dj/x") as ws:
            assert ws.receive_text() == "deep:/dj/x:"  # the "/" mount, the longest serving one
        with client.websocket_connect("/chan/room") as ws:
            assert ws.receive_text() == "deep:/chan/room:"  # clear_root_path: no root_path


def test_the_async_websocket_test_client_reaches_a_mount() -> None:
    async def main() -> str:
        api = make_api()
        async with WebSocketTestClient(api, "/star/echo") as ws:
            await ws.send_text("hello")
            return await ws.receive_text()

    assert run(main()) == "hello"


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/star/refuse", 403, b'{"detail":"WebSocket connection refused"}'),
        ("/star/returns", 403, b'{"detail":"WebSocket connection refused"}'),
        ("/star/boom", 500, b'{"detail":"Internal Server Error"}'),
        ("/star/deny", 401, b"members only"),
    ],
)
def test_handshakes_refused_by_the_application(path: str, status: int, body: bytes) -> None:
    with (
        TestClient(make_api()) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect(path),
    ):
        pass
    assert rejected.value.status_code == status
    assert rejected.value.body == body


def test_unoffered_subprotocol_is_a_500() -> None:
    async def picky(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return  # no lifespan
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "never-offered"})

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/p", picky)
    with (
        TestClient(api) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/p"),
    ):
        pass
    assert rejected.value.status_code == 500


def test_a_denial_with_an_interim_status_is_a_500() -> None:
    async def interim(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return  # no lifespan
        await send({"type": "websocket.http.response.start", "status": 101, "headers": []})

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/i", interim)
    with (
        TestClient(api) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/i"),
    ):
        pass
    assert rejected.value.status_code == 500


def test_close_codes_from_the_application() -> None:
    with TestClient(make_api()) as client:
        with client.websocket_connect("/star/closes") as ws:
            ws.send_text("go")
            with pytest.raises(BoltDisconnect) as closed:
                ws.receive_text()
        assert closed.value.code == 4001
        assert closed.value.reason == "enough"
        with client.websocket_connect("/star/boom-after") as ws:
            ws.send_text("go")
            with pytest.raises(BoltDisconnect) as failed:
                ws.receive_text()
        assert failed.value.code == 1011


def test_cross_site_origin_is_refused() -> None:
    with (
        TestClient(make_api()) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/star/echo", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert rejected.value.status_code == 403
    assert rejected.value.json() == {"detail": "Origin not allowed"}


def test_allowed_hosts_apply_to_a_mount() -> None:
    with (
        override_settings(ALLOWED_HOSTS=["good.example"]),
        TestClient(make_api()) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/star/echo"),
    ):
        pass
    assert rejected.value.status_code == 400
    assert "echo_ended" not in EVENTS


def test_broken_handshake_is_the_servers_verdict() -> None:
    with (
        TestClient(make_api()) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/star/echo", headers={"Sec-WebSocket-Version": "8"}),
    ):
        pass
    assert rejected.value.status_code == 426
    assert "echo_ended" not in EVENTS  # the application never ran


def test_a_handshake_that_is_never_answered_is_a_504() -> None:
    async def silent(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return  # no lifespan
        await receive()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            _record("silent_cancelled", True)
            raise

    api = BoltAPI(django_fallthrough=False)
    api.mount_asgi("/s", silent)
    with (
        override_settings(BOLT_ASGI_MOUNT_TIMEOUT=0.2),
        TestClient(api) as client,
        pytest.raises(HandshakeRejected) as rejected,
        client.websocket_connect("/s"),
    ):
        pass
    assert rejected.value.status_code == 504
    assert EVENTS["silent_cancelled"]


# --- over a real socket -------------------------------------------------------------------------


async def _until(name: str) -> Any:
    for _ in range(200):
        if name in EVENTS:
            return EVENTS[name]
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never recorded")


def test_socket_echo_with_subprotocol_and_compression() -> None:
    async def main() -> None:
        async with (
            Server(make_api()) as server,
            websockets.connect(server.url("/star/echo"), subprotocols=["chat"]) as ws,
        ):
            assert ws.subprotocol == "chat"
            assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
            text = "compressible " * 1000
            await ws.send(text)
            assert await ws.recv() == text
            await ws.send(b"\x01\x02")
            assert await ws.recv() == b"\x01\x02"
            await ws.close(4003, "done")
            assert await _until("echo_disconnect") == 4003

    run(main())


def test_socket_client_leaving_is_seen_by_the_application() -> None:
    async def main() -> None:
        async with Server(make_api()) as server:
            ws = await websockets.connect(server.url("/star/watch"))
            await ws.send("hi")
            ws.transport.abort()  # gone without a close frame
            assert await _until("watch_code") == 1006

    run(main())


def test_socket_drain_is_1012_for_both_sides() -> None:
    async def main() -> None:
        async with (
            Server(make_api()) as server,
            websockets.connect(server.url("/star/watch")) as ws,
        ):
            await ws.send("hi")
            await asyncio.sleep(0.05)
            server.state.begin_shutdown()
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 1012
            assert await _until("watch_code") == 1012

    run(main())


def test_socket_message_size_limit_applies() -> None:
    async def main() -> None:
        options = {"websocket_max_message_size": 1024}
        async with (
            Server(make_api(), **options) as server,
            websockets.connect(server.url("/star/watch"), compression=None) as ws,
        ):
            await ws.send("x" * 2048)
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 1009
            assert await _until("watch_code") == 1009

    run(main())


def test_socket_back_pressure_while_the_application_lags() -> None:
    async def main() -> None:
        async with (
            Server(make_api(), websocket_max_queue=4, websocket_close_timeout_s=60) as server,
            # Patient on both sides: the close must complete by itself, not by a deadline
            # (reading resumes once the application has ended), within run()'s 20 s.
            websockets.connect(server.url("/star/lazy"), close_timeout=60) as ws,
        ):
            for index in range(8):
                await ws.send(f"m{index}")
                await asyncio.sleep(0.02)  # one read each: the bound is then exact
            await asyncio.sleep(0.1)
            (sock,) = [c for c in server.state.connections if isinstance(c, ServerWebSocket)]
            assert sock.reading_paused
            assert len(sock.queue) == 4
            assert await _until("lazy_first") == "m0"
            with pytest.raises(websockets.ConnectionClosedOK):
                await ws.recv()
            assert ws.close_code == 1000

    run(main())


def test_socket_refusal_is_http_403() -> None:
    async def main() -> None:
        async with Server(make_api()) as server:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(server.url("/star/refuse"))
            assert refused.value.response.status_code == 403

    run(main())
