"""Per-request costs measured inside one process: the figures BENCHMARKS.md quotes as "in process".

wrk measures whole requests through the kernel; these measure our own code alone, with far less
noise, so a change can be compared before/after in one session:

    bench/.venv-ours/bin/python bench/inprocess.py dispatch [names]
    bench/.venv-ours/bin/python bench/inprocess.py wire [names]
    bench/.venv-ours/bin/python bench/inprocess.py orm
    bench/.venv-ours/bin/python bench/inprocess.py stages [names]
    bench/.venv-ours/bin/python bench/inprocess.py routes [counts]

``dispatch`` drives ``BoltAPI.dispatch`` by hand; ``wire`` feeds the request bytes to
``HttpProtocol`` with a fake transport (parsing, dispatch and the response head, no kernel);
``orm`` times the ORM handlers, the thread hops and a SQLite reconnect. ``stages`` splits one
request's cost by stage: each of the request object, the route lookup, the binding, the handler
call and the encoding timed alone, the rest of ``dispatch`` (host check, query split, session
and database checks, the response's finish) as what ``dispatch`` costs beyond them, and the
server's share (parsing, the protocol's bookkeeping, the response head and the write) as what a
``wire`` request costs beyond ``dispatch``. ``routes`` times the route lookup of an API with
``counts`` dynamic routes (default 4,20,50,200) under one prefix, ``/api/v1/rN/{item}``, for
its first route, its last and a path none has: what a larger project pays per request.

Run it pinned (``taskset -c 0``) after ``bench/run.py`` has built ``bench/.venv-ours`` and the
catalogue. ``BENCH_POLICIES=1`` turns on the policies settings, as for the ``-policies`` servers.
Each figure is the best of 7 rounds, in microseconds per request.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH / "app"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproject.settings")
os.environ.setdefault("BENCH_DB", str(BENCH / ".work" / "bench.sqlite3"))

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
import msgspec  # noqa: E402
from benchproject.api import JWT_SECRET  # noqa: E402
from benchproject.payloads import DOCUMENT  # noqa: E402

from django_bolt.conf import ServerConfig  # noqa: E402
from django_bolt.discovery import discover_application  # noqa: E402
from django_bolt.server.loops import new_event_loop  # noqa: E402
from django_bolt.server.protocol import HttpProtocol, ServerState  # noqa: E402

ROUNDS = 7
HOST = (b"Host", b"localhost:8000")
TOKEN = jwt.encode({"sub": "1", "exp": 4102444800}, JWT_SECRET, algorithm="HS256").encode()
ORDER = msgspec.json.encode(DOCUMENT)
# name -> (method, target, headers, body)
CASES: dict[str, tuple[str, bytes, list[tuple[bytes, bytes]], bytes]] = {
    "hello": ("GET", b"/json-async", [HOST], b""),
    "hello-sync": ("GET", b"/json-sync", [HOST], b""),
    "path-query": ("GET", b"/items/42?q=bolt", [HOST], b""),
    "header-cookie": (
        "GET",
        b"/headers",
        [HOST, (b"x-token", b"abc123"), (b"Cookie", b"session=s3ss10n")],
        b"",
    ),
    "jwt": ("GET", b"/me", [HOST, (b"Authorization", b"Bearer " + TOKEN)], b""),
    "get-10kb": ("GET", b"/document", [HOST], b""),
    "post-10kb": ("POST", b"/echo", [HOST, (b"Content-Type", b"application/json")], ORDER),
    # The handlers as users write them (no return annotation), and a path nobody has.
    "hello-plain": ("GET", b"/plain/json-async", [HOST], b""),
    "hello-sync-plain": ("GET", b"/plain/json-sync", [HOST], b""),
    "sync-constant": ("GET", b"/plain/json-sync-constant", [HOST], b""),
    "path-query-plain": ("GET", b"/plain/items/42?q=bolt", [HOST], b""),
    "header-cookie-plain": (
        "GET",
        b"/plain/headers",
        [HOST, (b"x-token", b"abc123"), (b"Cookie", b"session=s3ss10n")],
        b"",
    ),
    "not-found": ("GET", b"/no/such/path", [HOST], b""),
}
# The status each case answers with (200 unless listed).
STATUS: dict[str, int] = {"not-found": 404}


def best_of(run: Any, n: int) -> float:
    run(n // 10)  # warm-up
    return min(run(n) for _ in range(ROUNDS))


def measure_dispatch(names: list[str]) -> None:
    app = discover_application(config=ServerConfig())
    request_class = app.request_class
    for name in names:
        method, target, headers, body = CASES[name]

        def run(
            n: int,
            name: str = name,
            method: str = method,
            target: bytes = target,
            headers: Any = headers,
            body: bytes = body,
        ) -> float:
            dispatch = app.dispatch
            started = time.perf_counter()
            for _ in range(n):
                request = request_class(
                    method,
                    target,
                    headers,
                    body,
                    ("127.0.0.1", 1),
                    "http",
                    ("127.0.0.1", 8000),
                    "1.1",
                )
                coro = dispatch(request)
                try:
                    coro.send(None)
                except StopIteration as done:
                    response = done.value
            if response.status_code != STATUS.get(name, 200):
                raise SystemExit(f"{name}: status {response.status_code}: {response.body[:200]!r}")
            return (time.perf_counter() - started) / n * 1e6

        print(f"dispatch {name:14s} {best_of(run, 20000):7.2f} us", flush=True)


class _Transport:
    """Collects nothing: only what HttpProtocol calls on a transport."""

    def __init__(self) -> None:
        self.last = b""

    def write(self, data: bytes) -> None:
        self.last = data

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.last = chunk

    def get_extra_info(self, key: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8000)}.get(key, default)

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def _wire_bytes(name: str) -> bytes:
    method, target, headers, body = CASES[name]
    head = [b"%s %s HTTP/1.1" % (method.encode(), target)]
    head += [b"%s: %s" % pair for pair in headers]
    if body:
        head.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + body


async def _measure_wire(names: list[str]) -> None:
    app = discover_application(config=ServerConfig())
    await app.startup()
    state = ServerState(app, ServerConfig())
    for name in names:
        data = _wire_bytes(name)
        conn = HttpProtocol(state)
        transport = _Transport()
        conn.connection_made(transport)

        def run(n: int, conn: HttpProtocol = conn, data: bytes = data) -> float:
            feed = conn.data_received
            started = time.perf_counter()
            for _ in range(n):
                feed(data)
            return (time.perf_counter() - started) / n * 1e6

        # Every bench handler finishes without suspending: each feed is answered at once.
        figure = best_of(run, 20000)
        if not transport.last.startswith(b"HTTP/1.1 %d " % STATUS.get(name, 200)):
            status = transport.last[:40]
            raise SystemExit(f"{name}: {status!r}")
        print(f"wire     {name:14s} {figure:7.2f} us", flush=True)


def measure_orm() -> None:
    from asgiref.sync import sync_to_async
    from benchproject.api import orm_async, orm_sync
    from django.db import connection

    from django_bolt.concurrency import SyncPool

    def timed(fn: Any, n: int = 1000) -> float:
        def run(n: int) -> float:
            started = time.perf_counter()
            for _ in range(n):
                fn()
            return (time.perf_counter() - started) / n * 1e6

        return best_of(run, n)

    def reconnect_and_query() -> None:
        orm_sync()
        connection.close()  # what CONN_MAX_AGE = 0 does after every request

    print(f"orm  sync handler, persistent connection      {timed(orm_sync):7.1f} us")
    print(f"orm  sync handler, closed after each request  {timed(reconnect_and_query):7.1f} us")

    async def hops() -> None:
        async def atimed(make: Any, n: int = 1000) -> float:
            best = float("inf")
            for _ in range(ROUNDS):
                started = time.perf_counter()
                for _ in range(n):
                    await make()
                best = min(best, (time.perf_counter() - started) / n * 1e6)
            return best

        pool = SyncPool(4)
        noop = sync_to_async(lambda: None)
        print(f"orm  asgiref sync_to_async hop                {await atimed(noop):7.1f} us")
        print(
            f"orm  SyncPool hop                             "
            f"{await atimed(lambda: pool.submit(lambda: None)):7.1f} us"
        )
        print(f"orm  async handler (one sync_to_async hop)    {await atimed(orm_async):7.1f} us")
        print(
            f"orm  sync handler through SyncPool            "
            f"{await atimed(lambda: pool.submit(orm_sync)):7.1f} us"
        )

    loop = new_event_loop()
    try:
        loop.run_until_complete(hops())
    finally:
        loop.close()


def _new_request(request_class: Any, name: str) -> Any:
    method, target, headers, body = CASES[name]
    return request_class(
        method, target, headers, body, ("127.0.0.1", 1), "http", ("127.0.0.1", 8000), "1.1"
    )


def _timed(step: Any, n: int = 20000) -> float:
    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            step()
        return (time.perf_counter() - started) / n * 1e6

    return best_of(run, n)


def _finish(value: Any) -> Any:
    """Return a coroutine's value when it finishes without suspending (as the handlers here do)."""
    if hasattr(value, "send"):
        try:
            value.send(None)
        except StopIteration as done:
            return done.value
        raise SystemExit("a handler suspended: stages measures handlers that do not")
    return value


def measure_stages(names: list[str]) -> None:
    app = discover_application(config=ServerConfig())
    table = app.compile()
    request_class = app.request_class
    print("| case | request object | route | bind | call | encode | rest of dispatch | server |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        method, target, _, _ = CASES[name]
        raw_path = target.partition(b"?")[0].decode("latin-1")
        request = _new_request(request_class, name)

        def route(raw_path: str = raw_path, method: str = method) -> Any:
            entry = table.static.get(raw_path)
            if entry is None:
                found = table.match_dynamic(raw_path)
                return None if found is None else found[0].methods.get(method)
            return entry.methods.get(method)

        endpoint = route()
        costs = {"request": _timed(lambda name=name: _new_request(request_class, name))}
        costs["route"] = _timed(route)
        bind = call = encode = 0.0
        if endpoint is not None and endpoint.call is None and endpoint.guard is None:
            found = table.match_dynamic(raw_path)
            values = found[1] if found is not None else ()
            params = dict(zip(endpoint.path_names, values, strict=True)) if values else None
            if params:
                request.set_path_params(params)
            if endpoint.has_params:
                bind = _timed(lambda e=endpoint, r=request, p=params: e.bind(r, p))
                kwargs = endpoint.bind(request, params)
            else:
                kwargs = {}
            call = _timed(lambda e=endpoint, k=kwargs: _finish(e.fn(**k)))
            result = _finish(endpoint.fn(**kwargs))
            encode = _timed(lambda e=endpoint, r=result: e.convert(r))
        costs.update(bind=bind, call=call, encode=encode)
        # What the server calls: dispatch_nowait (an answer, or dispatch's coroutine).
        dispatch_total = _timed(
            lambda name=name: _finish(app.dispatch_nowait(_new_request(request_class, name)))
        )
        wire_total = asyncio_run_wire(name)
        parts = sum(costs.values())
        row = [costs["request"], costs["route"], bind, call, encode]
        row += [max(0.0, dispatch_total - parts), max(0.0, wire_total - dispatch_total)]
        print(f"| {name} | " + " | ".join(f"{x:.2f}" for x in row) + " |", flush=True)


def asyncio_run_wire(name: str) -> float:
    """Return the ``wire`` figure of one case (us per request)."""
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_wire_figure(name))
    finally:
        loop.close()


async def _wire_figure(name: str) -> float:
    app = discover_application(config=ServerConfig())
    await app.startup()
    state = ServerState(app, ServerConfig())
    data = _wire_bytes(name)
    conn = HttpProtocol(state)
    conn.connection_made(_Transport())
    return _timed(lambda: conn.data_received(data))


def measure_routes(counts: list[int]) -> None:
    from django_bolt._dispatch.table import PathTemplate, RouteTable

    print("| dynamic routes | first (us) | last (us) | none (us) |")
    print("|---:|---:|---:|---:|")
    for count in counts:
        table: RouteTable[int] = RouteTable()
        for index in range(count):
            table.add("GET", PathTemplate(f"/api/v1/r{index}/{{item}}"), index, f"r{index}")
        table.compile()
        figures = []
        for path in ("/api/v1/r0/42", f"/api/v1/r{count - 1}/42", "/api/v1/none/42"):
            found = table.match_dynamic(path)
            assert (found is None) == (path.endswith("none/42")), path
            match = table.match_dynamic
            figures.append(_timed(lambda match=match, path=path: match(path), 50000))
        print(f"| {count} | " + " | ".join(f"{f:.3f}" for f in figures) + " |")


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "dispatch"
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else list(CASES)
    if what == "dispatch":
        measure_dispatch(names)
    elif what == "wire":
        loop = new_event_loop()
        try:
            loop.run_until_complete(_measure_wire(names))
        finally:
            loop.close()
    elif what == "orm":
        measure_orm()
    elif what == "stages":
        measure_stages(names)
    elif what == "routes":
        given = sys.argv[2] if len(sys.argv) > 2 else "4,20,50,200"
        measure_routes([int(count) for count in given.split(",")])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
