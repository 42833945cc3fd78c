"""WebSockets on a real socket: our server on uvloop (or asyncio) and the ``websockets`` client.

Covers what the in-memory client cannot show: permessage-deflate negotiated with a real client,
pings both ways, a pong that never comes (1011), unmasked frames (1002), invalid UTF-8 (1007),
read back-pressure while the handler lags, 1012 when the worker drains, and a send to a client
that left raising WebSocketDisconnect(1006) without an error logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import zlib
from typing import Any

import pytest
import websockets
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from django_bolt import BoltAPI, WebSocket, WebSocketDisconnect
from tests.websocket.realserver import Server, run

EVENTS: dict[str, Any] = {}


def make_api() -> BoltAPI:
    api = BoltAPI()

    @api.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        async for message in websocket.iter_text():
            await websocket.send_text(message)

    @api.websocket("/plain", compression=False)
    async def plain(websocket: WebSocket) -> None:
        await websocket.accept()
        async for message in websocket.iter_text():
            await websocket.send_text(message)

    @api.websocket("/lazy")
    async def lazy(websocket: WebSocket) -> None:
        await websocket.accept()
        await asyncio.sleep(0.5)  # does not read: the queue fills, reading stops
        EVENTS["lazy_first"] = await websocket.receive_text()

    @api.websocket("/leaves")
    async def leaves(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        await asyncio.sleep(0.3)  # the client has gone by now
        try:
            for _ in range(50):
                await websocket.send_text("anyone?")
                await asyncio.sleep(0.01)
        except WebSocketDisconnect as gone:
            EVENTS["leaves_code"] = gone.code

    return api


def test_echo_with_permessage_deflate() -> None:
    async def main() -> None:
        async with Server(make_api()) as server, websockets.connect(server.url("/echo")) as ws:
            assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
            text = "compressible " * 2000
            await ws.send(text)
            assert await ws.recv() == text
            pong = await ws.ping(b"abc")
            await asyncio.wait_for(pong, 2)

    run(main())


def test_sent_messages_are_deflated_once_negotiated() -> None:
    text = "compressible " * 2000

    async def main() -> tuple[bytes, bytes, bytes]:
        async with Server(make_api()) as server:
            offer = b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
            reader, writer, head = await _raw_handshake(server.port, "/echo", offer)
            # An uncompressed frame is allowed after the negotiation; the echo is deflated.
            client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
            client.send_text(text.encode())
            writer.write(b"".join(client.data_to_send()))
            first = await asyncio.wait_for(reader.readexactly(2), 5)
            size = first[1] & 0x7F
            if size == 126:
                size = int.from_bytes(await reader.readexactly(2), "big")
            payload = await asyncio.wait_for(reader.readexactly(size), 5)
            writer.close()
            return head, first, payload

    head, first, payload = run(main())
    assert b"sec-websocket-extensions: permessage-deflate" in head.lower()
    assert first[0] == 0x80 | 0x40 | 0x1  # FIN, RSV1 (compressed), text
    assert len(payload) < len(text) // 10
    inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload + b"\x00\x00\xff\xff")
    assert inflated.decode() == text


def test_compression_off_per_route() -> None:
    async def main() -> None:
        async with Server(make_api()) as server, websockets.connect(server.url("/plain")) as ws:
            assert ws.protocol.extensions == []
            await ws.send("x")
            assert await ws.recv() == "x"

    run(main())


async def _raw_handshake(
    port: int, path: str, extra: bytes = b""
) -> tuple[asyncio.StreamReader, Any, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16))
    head = (
        b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path.encode(), key)
    )
    writer.write(head + extra + b"\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 "), head
    return reader, writer, head


async def _close_code(reader: asyncio.StreamReader) -> int | None:
    """Read until EOF as a client; return the server's close code."""
    client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    while data := await reader.read(65536):
        client.receive_data(data)
    client.receive_eof()
    for event in client.events_received():
        if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
            assert client.close_rcvd is not None
            return client.close_rcvd.code
    return None


def test_unanswered_ping_closes_with_1011() -> None:
    async def main() -> None:
        options = {"websocket_ping_interval_s": 0.2, "websocket_ping_timeout_s": 0.3}
        async with Server(make_api(), **options) as server:
            reader, writer, _ = await _raw_handshake(server.port, "/echo")
            # This client never answers the server's pings.
            assert await _close_code(reader) == 1011
            writer.close()

    run(main())


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x81\x02hi", 1002),  # unmasked
        (b"\x81\x82\x00\x00\x00\x00\xff\xfe", 1007),  # masked (with zeros), invalid UTF-8
    ],
)
def test_protocol_violations(frame: bytes, code: int) -> None:
    async def main() -> None:
        async with Server(make_api()) as server:
            reader, writer, _ = await _raw_handshake(server.port, "/echo")
            writer.write(frame)
            assert await _close_code(reader) == code
            writer.close()

    run(main())


def test_reading_stops_while_the_handler_lags() -> None:
    async def main() -> None:
        async with (
            Server(make_api(), websocket_max_queue=4) as server,
            websockets.connect(server.url("/lazy")) as ws,
        ):
            for index in range(8):
                await ws.send(f"m{index}")
                await asyncio.sleep(0.02)  # one read each: the bound is then exact
            await asyncio.sleep(0.1)
            (sock,) = server.sockets()
            assert sock.reading_paused
            assert len(sock.queue) == 4
            await asyncio.sleep(0.5)
        assert EVENTS["lazy_first"] == "m0"

    run(main())


def test_drain_closes_with_1012() -> None:
    async def main() -> None:
        async with Server(make_api()) as server, websockets.connect(server.url("/echo")) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            server.state.begin_shutdown()
            # 1012 is an abnormal close to the client library (not 1000 or 1001): reconnect.
            with pytest.raises(websockets.ConnectionClosedError):
                await ws.recv()
            assert ws.close_code == 1012
            assert ws.close_reason == "server restarting"
            await asyncio.sleep(0.1)
            assert not server.sockets()

    run(main())


def test_send_after_the_client_left_is_1006_and_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        async with Server(make_api()) as server:
            ws = await websockets.connect(server.url("/leaves"))
            await ws.send("bye")
            ws.transport.abort()  # gone without a close frame
            for _ in range(100):
                if "leaves_code" in EVENTS:
                    break
                await asyncio.sleep(0.02)

    with caplog.at_level(logging.ERROR, logger="django_bolt"):
        run(main())
    assert EVENTS["leaves_code"] == 1006
    assert not [r for r in caplog.records if "failed" in r.getMessage()]


def test_plain_http_still_answered_beside_websockets() -> None:
    async def main() -> None:
        async with Server(make_api()) as server, websockets.connect(server.url("/echo")) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                raw.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                raw.settimeout(5)
                data = await asyncio.get_running_loop().run_in_executor(None, raw.recv, 4096)
            assert data.startswith(b"HTTP/1.1 426 ")

    run(main())


def test_bytes_after_a_refused_handshake_are_never_a_request() -> None:
    async def main() -> bytes:
        async with Server(make_api()) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
                b"Sec-WebSocket-Version: 8\r\n\r\n"
                b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            data = await reader.read()  # until the server closes
            writer.close()
            return data

    data = run(main())
    assert data.startswith(b"HTTP/1.1 426 ")
    assert b"sec-websocket-version: 13" in data
    assert data.count(b"HTTP/1.1 ") == 1


def test_access_log_has_the_handshake_and_the_close() -> None:
    async def main() -> list[tuple[Any, ...]]:
        async with Server(make_api()) as server:
            async with websockets.connect(server.url("/echo")) as ws:
                await ws.send("x")
                await ws.recv()
                await ws.close(code=4000)
            for _ in range(50):
                if len(server.log) >= 2:
                    break
                await asyncio.sleep(0.02)
            return server.log

    log = run(main())
    assert [(entry[0], entry[1], entry[2]) for entry in log] == [
        ("GET", b"/echo", 101),
        ("WEBSOCKET", b"/echo", 4000),
    ]


def test_fragments_with_a_ping_between_them() -> None:
    async def main() -> list[tuple[Opcode, bytes]]:
        async with Server(make_api()) as server:
            reader, writer, _ = await _raw_handshake(server.port, "/echo")
            client = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
            client.send_text("hé".encode(), fin=False)
            client.send_ping(b"between")
            client.send_continuation(b"l", fin=False)
            client.send_continuation(b"lo", fin=True)
            writer.write(b"".join(client.data_to_send()))
            frames: list[tuple[Opcode, bytes]] = []
            while not any(opcode is Opcode.TEXT for opcode, _ in frames):
                client.receive_data(await asyncio.wait_for(reader.read(65536), 5))
                frames += [
                    (event.opcode, bytes(event.data))
                    for event in client.events_received()
                    if isinstance(event, Frame)
                ]
            writer.close()
            return frames

    frames = run(main())
    assert frames == [(Opcode.PONG, b"between"), (Opcode.TEXT, "héllo".encode())]


def test_a_def_handler_is_refused_at_registration() -> None:
    api = BoltAPI()

    @api.websocket("/sync")
    def sync_handler(websocket: WebSocket) -> None:
        pass

    with pytest.raises(TypeError, match="async"):
        api.compile()


def test_idle_timeout_closes_with_1001() -> None:
    async def main() -> tuple[int | None, str]:
        options = {"websocket_idle_timeout_s": 0.3, "websocket_ping_interval_s": 0.1}
        async with (
            Server(make_api(), **options) as server,
            websockets.connect(server.url("/echo")) as ws,
        ):
            # Pings and pongs go on meanwhile: they are no messages.
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code, ws.close_reason or ""

    assert run(main()) == (1001, "idle timeout")
