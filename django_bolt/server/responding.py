"""The parts of a connection's answer that wait: streaming, background work, WebSocket handshakes.

:class:`~django_bolt.server.protocol.HttpProtocol` answers a response that is ready in one
synchronous step. What has to wait on the client or the application (a stream written as the
client takes it, a background task after the answer, a handler that suspended, a WebSocket
handshake) runs here, as coroutines over the connection, in the Task the protocol starts.

They live apart from the protocol because the protocol may be compiled with mypyc
(django_bolt/_compiled.py), which keeps no exception state per coroutine: an ``await`` inside an
``except`` or ``finally`` block of a compiled coroutine would leave its exception visible as the
one being handled to whatever the loop runs next (httptools then reported a later refusal as
that stale error). Interpreted coroutines keep that state per frame, as Python defines it.
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import AsyncIterable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from django_bolt.server.http11 import InvalidResponseField, parse_declared_length
from django_bolt.server.reader import CLOSE as _CLOSE, KEEP_ALIVE_10 as _KEEP_ALIVE_10
from django_bolt.server.wire import (
    NO_BODY_STATUSES as _NO_BODY_STATUSES,
    STATUS_LINES as _STATUS_LINES,
    status_line,
)

if TYPE_CHECKING:
    from django_bolt.server.contract import RawRequest, ResponseLike
    from django_bolt.server.protocol import HttpProtocol
    from django_bolt.server.websocket import ServerWebSocket

__all__ = ("close_unsent", "complete", "drain", "finish", "handshake", "release", "resume")

logger = logging.getLogger("django_bolt.server")

_CHUNKED = b"transfer-encoding: chunked\r\n"
_LAST_CHUNK = b"0\r\n\r\n"


async def drain(conn: HttpProtocol) -> None:
    """Wait until the transport's buffer is below its low-water mark."""
    if conn.transport is None:
        raise ConnectionResetError("client disconnected")
    if conn.write_paused:
        waiter = conn._drain_waiter
        if waiter is None:
            waiter = conn._drain_waiter = conn.loop.create_future()
        await waiter


async def complete(
    conn: HttpProtocol,
    request: RawRequest,
    coro: Coroutine[Any, Any, ResponseLike],
    pending: Any,
    keep_alive: bool,
) -> None:
    try:
        response = await resume(coro, pending)
    except asyncio.CancelledError:
        release(request)
        raise
    except BaseException:
        logger.exception("dispatch raised; the application must turn errors into responses")
        conn._fail(request)
        return
    await finish(conn, request, response, keep_alive)


async def finish(
    conn: HttpProtocol, request: RawRequest, response: ResponseLike, keep_alive: bool
) -> None:
    # The work of this request goes on after its answer (background tasks), while the
    # connection may already run the next one: noted for whoever waits for it to end.
    conn.finishing = finishing = asyncio.current_task()
    try:
        if response.stream is None:
            conn._write_response(request, response, keep_alive)
        else:
            await stream_response(conn, request, response, keep_alive)
        if response.background is not None:
            try:
                await response.background()
            except Exception:
                logger.exception("background task after the response failed")
    finally:
        release(request)
        if conn.finishing is finishing:
            conn.finishing = None


async def stream_response(
    conn: HttpProtocol, request: RawRequest, response: ResponseLike, keep_alive: bool
) -> None:
    transport = conn.transport
    if transport is None:
        conn.responding = False
        return
    status = response.status_code
    head = [_STATUS_LINES.get(status) or status_line(status)]
    try:
        conn._fields(response.raw_headers, head)
        declared = _declared_length(response.raw_headers)
    except InvalidResponseField as error:
        conn._refuse_response(request, error)
        return
    head.append(conn.state.fixed_headers)
    keep_alive = keep_alive and (conn.keep_alive or len(conn.pipeline) > 0)
    # A stream that declares its length (a file) is sent as is; otherwise HTTP/1.1 uses the
    # chunked coding, and HTTP/1.0 (which has none) ends the body by closing.
    chunked = request.http_version == "1.1" and declared < 0
    if request.http_version != "1.1" and declared < 0:
        keep_alive = False
    if not keep_alive:
        head.append(_CLOSE)
    elif request.http_version == "1.0":
        head.append(_KEEP_ALIVE_10)
    no_body = request.method == "HEAD" or status in _NO_BODY_STATUSES or status < 200
    if declared >= 0 and not (status in _NO_BODY_STATUSES or status < 200):
        head.append(b"content-length: %d\r\n" % declared)
    elif chunked and not no_body:
        head.append(_CHUNKED)
    head.append(b"\r\n")
    transport.write(b"".join(head))
    sent = 0
    stream = response.stream
    if not no_body and stream is not None:
        conn.streaming = True
        try:
            sent = await send_chunks(conn, stream, declared, chunked)
        except (ConnectionError, asyncio.CancelledError):
            conn._log(request, status, sent)
            conn.abort()
            raise
        except Exception:
            # Headers are gone already: the only honest signal left is to cut the body.
            logger.exception("streaming response failed after it started")
            conn._log(request, status, sent)
            conn.abort()
            return
        finally:
            conn.streaming = False
        if chunked and conn.transport is not None:
            conn.transport.write_now(_LAST_CHUNK)
    else:
        # No body for HEAD, 204 or 304: the stream is closed unread (a file it holds, say).
        await close_unsent(stream)
    conn._log(request, status, sent)
    conn._cycle_done(keep_alive)


async def send_chunks(conn: HttpProtocol, stream: Any, declared: int, chunked: bool) -> int:
    """Write the stream's chunks as the client takes them; return the bytes sent.

    An async iterator is closed (``aclose()``) however the loop ends, so a generator that
    was waiting on a database or a timer is stopped as soon as the client has gone. A sync
    iterable is iterated here, on the loop: the application hands over only ones that
    cannot block (the framework turns sync generators into async iterators that run in its
    thread pool).
    """
    sent = 0
    if isinstance(stream, AsyncIterable):
        iterator = stream.__aiter__()
        try:
            while True:
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                sent = await send_chunk(conn, chunk, sent, declared, chunked)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for chunk in stream:
            sent = await send_chunk(conn, chunk, sent, declared, chunked)
    if declared >= 0 and sent != declared:
        raise ValueError(f"stream ended at {sent} of its content-length {declared}")
    return sent


async def send_chunk(
    conn: HttpProtocol, chunk: bytes, sent: int, declared: int, chunked: bool
) -> int:
    if not chunk:
        return sent
    transport = conn.transport
    if transport is None:
        raise ConnectionResetError("client disconnected")
    size = len(chunk)
    if declared >= 0 and sent + size > declared:
        raise ValueError(f"stream longer than its content-length {declared}")
    transport.write_now(b"%x\r\n%s\r\n" % (size, chunk) if chunked else chunk)
    await drain(conn)
    return sent + size


async def handshake(
    conn: HttpProtocol,
    hook: Callable[[RawRequest, ServerWebSocket], Coroutine[Any, Any, ResponseLike]],
    request: RawRequest,
    socket: ServerWebSocket,
) -> None:
    """Run the application on the handshake; answer HTTP unless it accepted."""
    try:
        response = await hook(request, socket)
    except asyncio.CancelledError:
        raise
    except BaseException:
        logger.exception("dispatch_websocket raised; the application must answer errors")
        if not socket.accepted:
            conn._fail(request)
            return
        response = None
    if socket.accepted:
        await socket.finish()
    elif response is not None:
        await finish(conn, request, response, False)


@types.coroutine
def resume(
    coro: Coroutine[Any, Any, ResponseLike], pending: Any
) -> Generator[Any, Any, ResponseLike]:
    """Continue a coroutine that was stepped once outside a Task, inside the current Task.

    ``pending`` is what its first step yielded (a future it waits on); yielding it up lets the
    Task wait on it exactly as if the coroutine had been run by the Task from the start.
    """
    while True:
        try:
            sent = yield pending
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                pending = coro.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            try:
                pending = coro.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


async def close_unsent(stream: Any) -> None:
    """Close a response stream whose body is not sent; a failure is logged, not raised."""
    if stream is None:
        return
    try:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
            return
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    except Exception:
        logger.exception("closing an unsent response stream failed")


def release(request: RawRequest) -> None:
    """Free a request's spooled body once nothing will read it any more."""
    body_file = request.body_file
    if body_file is not None:
        body_file.close()


def _declared_length(raw_headers: list[tuple[bytes, bytes]]) -> int:
    """Return the Content-Length a streamed response declares (then sent as the framing), or -1."""
    for name, value in raw_headers:
        if name.lower() == b"content-length":
            return parse_declared_length(value)
    return -1
