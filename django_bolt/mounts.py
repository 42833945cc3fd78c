"""ASGI applications served under a path prefix: ``api.mount_asgi()`` and ``api.mount_django()``.

A request no route matches, and that is no near miss of one (a 405, a trailing-slash 308), goes
to the mounted application with the longest matching prefix, before the project's URLconf. The
application gets an ASGI 3 HTTP scope: ``root_path`` is the prefix and ``path`` the rest (``/``
for the prefix itself), with ``raw_path``, ``query_string``, the headers as lower-case byte
pairs, ``client``, ``server``, ``scheme`` and, after its lifespan startup, a copy of ``state``.

``receive()`` gives the request body (in pieces for a spooled one), then waits and answers
``http.disconnect`` once the client has gone; after that, ``send()`` does nothing. The first
``http.response.start`` must come within ``BOLT_ASGI_MOUNT_TIMEOUT`` seconds (504 otherwise);
the body then streams for as long as it takes. An application that raises, or returns, before
starting its response is a 500. Body limits are the server's (``BOLT_MAX_UPLOAD_SIZE``: a 413
before the application runs). The route middleware, auth, guards and CORS of the API do not run
for a mounted application: it is its own.

Each event loop runs the applications' lifespan protocol at start-up and shutdown (an
application that does not speak it is served without). A WebSocket handshake no WebSocket route
serves gets a ``websocket`` scope (:meth:`AsgiMount.websocket_scope`); the message protocol
around it is ``websocket/mounted.py``'s.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import TYPE_CHECKING, Any, Final

from django.core.asgi import get_asgi_application

from django_bolt._http.wire import CT_JSON, WireResponse
from django_bolt.conf import framework_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Container, Iterable, MutableMapping

    from django_bolt.request import Request

__all__ = (
    "AsgiMount",
    "MountTable",
    "asgi_headers",
    "check_prefixes",
    "django_mount",
    "normalize_prefix",
)

logger: Final = logging.getLogger("django_bolt.mounts")

Scope = dict[str, Any]
ASGIApp = Any  # async (scope, receive, send) -> None

_ASGI: Final = {"version": "3.0", "spec_version": "2.3"}
_LIFESPAN_ASGI: Final = {"version": "3.0", "spec_version": "2.0"}
# 2.4: send() on a closed WebSocket raises an OSError.
_WEBSOCKET_ASGI: Final = {"version": "3.0", "spec_version": "2.4"}
_SERVER_OWNED: Final = frozenset({b"connection", b"keep-alive", b"transfer-encoding"})
_BODY_PIECE: Final = 64 * 1024
# Tasks of applications whose client left: kept referenced until they end.
_ORPHANS: Final[set[asyncio.Task[None]]] = set()
# Every mounted application's request task still running, on any loop.
_RUNNING: Final[set[asyncio.Task[None]]] = set()


def normalize_prefix(path: str) -> str:
    """Return a mount prefix as stored: one leading slash, no trailing slash (except ``/``)."""
    if not isinstance(path, str):
        raise TypeError(f"a mount path is a str, not {path!r}")
    if "{" in path or "}" in path:
        raise ValueError(f"a mount path is static: {path!r} has a {{parameter}}")
    return "/" + path.strip("/")


def _error(status: int, detail: bytes) -> WireResponse:
    return WireResponse(status, [CT_JSON], b'{"detail":"%s"}' % detail)


class _AppFailed(Exception):
    """The application ended (raised or returned) before starting its response."""


class _Exchange:
    """One request's ``receive`` and ``send``, and what the application sent so far."""

    def __init__(self, request: Request) -> None:
        loop = asyncio.get_running_loop()
        self.started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = loop.create_future()
        self.chunks: asyncio.Queue[bytes | _Failure | None] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.complete = False
        body_file = request.body_file
        if body_file is not None:
            self._pieces = iter(body_file.chunks(_BODY_PIECE))
            self._next: bytes | None = next(self._pieces, b"")
        else:
            self._pieces = iter(())
            self._next = request.body

    async def receive(self) -> dict[str, Any]:
        piece = self._next
        if piece is not None and not self.gone.is_set():
            following = next(self._pieces, None)
            self._next = following
            return {"type": "http.request", "body": piece, "more_body": following is not None}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if self.gone.is_set():
            return  # the client has gone: nothing to send to
        kind = message.get("type")
        if kind == "http.response.start":
            if self.started.done():
                raise RuntimeError("http.response.start sent twice")
            self.started.set_result((int(message["status"]), asgi_headers(message)))
        elif kind == "http.response.body":
            if not self.started.done():
                raise RuntimeError("http.response.body sent before http.response.start")
            if self.complete:
                raise RuntimeError("http.response.body sent after the last one")
            body = bytes(message.get("body", b""))
            if body:
                self.chunks.put_nowait(body)
            if not message.get("more_body", False):
                self.complete = True
                self.chunks.put_nowait(None)
                # As ASGI servers do: once the response is complete, receive() answers
                # http.disconnect (an application waiting for it may end).
                self.gone.set()
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r} for an HTTP request")

    def app_done(self, task: asyncio.Task[None]) -> None:
        """End the response however the application ended."""
        error = None if task.cancelled() else task.exception()
        if not self.started.done():
            self.started.set_exception(_AppFailed(error))
        elif not self.complete:
            self.complete = True
            # A failure mid-body: the stream raises, and the server cuts the connection.
            self.chunks.put_nowait(None if error is None else _Failure(error))
        if error is not None and not isinstance(error, _AppFailed):
            logger.error("mounted ASGI application raised", exc_info=error)

    def disconnect(self, task: asyncio.Task[None], grace_s: float) -> None:
        """Tell the application its client left; cancel it if it has not ended ``grace_s`` later."""
        self.gone.set()
        if not task.done():
            _ORPHANS.add(task)
            task.add_done_callback(_ORPHANS.discard)
            asyncio.get_running_loop().call_later(grace_s, task.cancel)


class _Failure:
    """A queue item that ends the body with an error (the application failed mid-body)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def asgi_headers(message: MutableMapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """Return an ASGI message's ``headers`` as byte pairs, without the fields the server owns."""
    headers = []
    for name, value in message.get("headers", ()):
        key = bytes(name).lower()
        if key not in _SERVER_OWNED:
            headers.append((key, bytes(value)))
    return headers


class AsgiMount:
    """One mounted application and how its requests are described to it."""

    def __init__(
        self,
        prefix: str,
        app: ASGIApp | Callable[[], ASGIApp],
        *,
        clear_root_path: bool = False,
        lazy: bool = False,
        django: bool = False,
    ) -> None:
        if not lazy and not callable(app):
            raise TypeError(f"an ASGI application is a callable, not {app!r}")
        self.prefix = normalize_prefix(prefix)
        self._app = None if lazy else app
        self._factory = app if lazy else None
        self.clear_root_path = clear_root_path
        # mount_django(): the scope's path keeps the prefix (see scope()).
        self.django = django
        # Django's own handler answers a lifespan scope with an exception: not asked.
        self.lifespan = not lazy
        # Nor does it serve WebSockets: a handshake passes it by (as in Django-Bolt 0.13).
        self.websocket = not lazy
        # Lifespan state per event loop (each worker thread runs the protocol once).
        self._lifespans: dict[int, _Lifespan] = {}

    def under(self, outer: str) -> AsgiMount:
        """Return this mount as seen from an API that mounts its API under ``outer``."""
        moved = copy.copy(self)
        moved.prefix = normalize_prefix(outer.rstrip("/") + self.prefix)
        return moved

    @property
    def app(self) -> ASGIApp:
        """Return the application (Django's ASGI handler is built on first use)."""
        if self._app is None:
            assert self._factory is not None  # noqa: S101 - set when lazy
            self._app = self._factory()
        return self._app

    def matches(self, path: str) -> bool:
        """Return whether ``path`` (decoded) lies under this mount's prefix."""
        prefix = self.prefix
        return prefix == "/" or path == prefix or path.startswith(prefix + "/")

    def scope(self, request: Request) -> Scope:
        """Return the ASGI HTTP scope of ``request`` for this application."""
        full = request.path
        target = request.target
        cut = target.find(b"?")
        raw_path = target if cut < 0 else target[:cut]
        if self.clear_root_path or self.prefix == "/":
            root_path, path = "", full
        elif self.django:
            # Django's ASGI handler takes the ASGI specification's form (``path`` keeps the
            # prefix) and removes ``root_path`` itself.
            root_path, path = self.prefix, full
        else:
            root_path, path = self.prefix, full[len(self.prefix) :] or "/"
        lifespan = self._lifespans.get(id(asyncio.get_running_loop()))
        scope: Scope = {
            "type": "http",
            "asgi": dict(_ASGI),
            "http_version": request.http_version,
            "method": request.method,
            "scheme": request.scheme,
            "path": path,
            "raw_path": raw_path,
            "query_string": b"" if cut < 0 else target[cut + 1 :],
            "root_path": root_path,
            "headers": [(name.lower(), value) for name, value in request.raw_headers],
            "client": request.client,
            "server": request.server,
            "extensions": {},
        }
        if lifespan is not None and lifespan.state is not None:
            scope["state"] = dict(lifespan.state)
        return scope

    def websocket_scope(self, request: Request, subprotocols: Iterable[str]) -> Scope:
        """Return the ASGI WebSocket scope of the handshake ``request`` for this application.

        ``path`` keeps the prefix (the ASGI specification's form, as Django-Bolt 0.13 gives a
        WebSocket scope: routers strip ``root_path`` themselves); the rest is the HTTP scope's.
        """
        scope = self.scope(request)
        del scope["method"]
        scope["type"] = "websocket"
        scope["asgi"] = dict(_WEBSOCKET_ASGI)
        scope["scheme"] = "wss" if request.scheme == "https" else "ws"
        scope["path"] = request.path
        scope["subprotocols"] = list(subprotocols)
        # The WebSocket Denial Response: websocket.http.response.* before the accept.
        scope["extensions"] = {"websocket.http.response": {}}
        return scope

    async def __call__(self, request: Request, timeout_s: float) -> WireResponse:
        """Answer ``request`` with the application's response."""
        exchange = _Exchange(request)
        task = asyncio.get_running_loop().create_task(
            self.app(self.scope(request), exchange.receive, exchange.send)
        )
        task.add_done_callback(exchange.app_done)
        # Kept until it ends, which may be after its response (Django's handler closes the
        # request's body file then): shutdown() lets such tasks finish.
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        try:
            status, headers = await asyncio.wait_for(asyncio.shield(exchange.started), timeout_s)
            first = await exchange.chunks.get()
        except TimeoutError:
            exchange.disconnect(task, 0)
            logger.error(
                "mounted ASGI application at %s: no response in %g s", self.prefix, timeout_s
            )
            return _error(504, b"Gateway Timeout")
        except _AppFailed:
            return _error(500, b"Internal Server Error")
        except asyncio.CancelledError:
            exchange.disconnect(task, timeout_s)
            raise
        if first is None or exchange.complete:
            # Everything is here already: one buffered body, whose length the server sets.
            body = _drain(exchange, first)
            if body is None:  # the application failed before its body was complete
                return _error(500, b"Internal Server Error")
            return WireResponse(status, _without_length(headers), body)
        return WireResponse(status, headers, b"", _stream(exchange, task, first, timeout_s))


def _without_length(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [pair for pair in headers if pair[0] != b"content-length"]


def _drain(exchange: _Exchange, first: bytes | _Failure | None) -> bytes | None:
    """Return the whole body of a finished response (None: the application failed)."""
    parts = []
    chunk = first
    while chunk is not None:
        if isinstance(chunk, _Failure):
            return None
        parts.append(bytes(chunk))
        chunk = exchange.chunks.get_nowait()
    return b"".join(parts)


async def _stream(
    exchange: _Exchange, task: asyncio.Task[None], first: bytes | _Failure | None, grace_s: float
) -> AsyncIterator[bytes]:
    chunk = first
    try:
        while chunk is not None:
            if isinstance(chunk, _Failure):
                raise RuntimeError("the mounted application failed mid-body") from chunk.error
            if chunk:
                yield bytes(chunk)
            chunk = await exchange.chunks.get()
    finally:
        if not exchange.complete:
            exchange.disconnect(task, grace_s)


class _Lifespan:
    """The lifespan protocol of one application on one event loop."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._replies: asyncio.Queue[MutableMapping[str, Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def startup(self, app: ASGIApp, name: str) -> None:
        state: dict[str, Any] = {}
        scope = {"type": "lifespan", "asgi": dict(_LIFESPAN_ASGI), "state": state}
        self._task = asyncio.get_running_loop().create_task(self._run(app, scope))
        await self._queue.put({"type": "lifespan.startup"})
        reply = await self._replies.get()
        if reply is None:
            self._task = None  # no lifespan support: served without
            return
        if reply["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"mounted ASGI application at {name}: {reply.get('message', '')}")
        self.state = state

    async def shutdown(self, timeout_s: float) -> None:
        task = self._task
        if task is None or task.done():
            return
        await self._queue.put({"type": "lifespan.shutdown"})
        try:
            reply = await asyncio.wait_for(self._replies.get(), timeout_s)
        except TimeoutError:
            task.cancel()
            return
        if reply is not None and reply["type"] == "lifespan.shutdown.failed":
            logger.error("mounted ASGI application shutdown failed: %s", reply.get("message", ""))

    async def _run(self, app: ASGIApp, scope: Scope) -> None:
        async def send(message: MutableMapping[str, Any]) -> None:
            await self._replies.put(message)

        try:
            await app(scope, self._queue.get, send)
        except Exception:
            logger.debug("mounted ASGI application has no lifespan support", exc_info=True)
        finally:
            await self._replies.put(None)


class MountTable:
    """The mounts of an API tree, longest prefix first; the dispatcher's last resort."""

    def __init__(self, mounts: list[AsgiMount]) -> None:
        self.mounts = sorted(mounts, key=lambda mount: len(mount.prefix), reverse=True)
        self.timeout_s: float = framework_config().bolt_asgi_mount_timeout

    def find(self, path: str) -> AsgiMount | None:
        """Return the mount serving ``path`` (decoded), or None."""
        for mount in self.mounts:
            if mount.matches(path):
                return mount
        return None

    def find_websocket(self, path: str) -> AsgiMount | None:
        """Return the mount serving WebSocket handshakes for ``path`` (decoded), or None."""
        for mount in self.mounts:
            if mount.websocket and mount.matches(path):
                return mount
        return None

    async def __call__(self, request: Request) -> WireResponse | None:
        """Return the mounted application's answer, or None when no mount serves the path."""
        mount = self.find(request.path)
        if mount is None:
            return None
        return await mount(request, self.timeout_s)

    async def startup(self) -> None:
        """Run each application's lifespan startup on this event loop."""
        loop = id(asyncio.get_running_loop())
        for mount in self.mounts:
            if not mount.lifespan or loop in mount._lifespans:
                continue
            lifespan = _Lifespan()
            await lifespan.startup(mount.app, mount.prefix)
            mount._lifespans[loop] = lifespan

    async def shutdown(self) -> None:
        """Let this loop's requests to the applications end (within the mount timeout), then
        run each application's lifespan shutdown on it (newest first)."""
        running = asyncio.get_running_loop()
        pending = [task for task in _RUNNING if task.get_loop() is running]
        if pending:
            _done, late = await asyncio.wait(pending, timeout=self.timeout_s)
            for task in late:
                task.cancel()
        loop = id(running)
        for mount in reversed(self.mounts):
            lifespan = mount._lifespans.pop(loop, None)
            if lifespan is not None:
                await lifespan.shutdown(self.timeout_s)


def django_mount(prefix: str, app: ASGIApp | None, clear_root_path: bool) -> AsgiMount:
    """Return the mount of ``mount_django()``: Django's ASGI handler unless ``app`` is given."""
    if app is None:
        return AsgiMount(
            prefix, get_asgi_application, clear_root_path=clear_root_path, lazy=True, django=True
        )
    return AsgiMount(prefix, app, clear_root_path=clear_root_path, django=True)


def check_prefixes(mounts: list[AsgiMount], static_paths: Container[str]) -> None:
    """Refuse two mounts on one prefix, and a mount on the exact path of a route."""
    seen: set[str] = set()
    for mount in mounts:
        if mount.prefix in seen:
            raise ValueError(f"two applications are mounted at {mount.prefix!r}")
        seen.add(mount.prefix)
        if mount.prefix in static_paths:
            raise ValueError(f"the mount at {mount.prefix!r} collides with a route of that path")
