"""WebSocket echo round trips per second: ours, Django-Bolt 0.13 and uvicorn + websockets.

    python bench/ws_echo.py --ours PYTHON --theirs PYTHON --uvicorn PYTHON [--seconds 10]
    python bench/ws_echo.py --idle 10000 --ours PYTHON

Each server runs bench/wsapp (one echo route, the same api.py for ours and Django-Bolt 0.13; a
bare ASGI echo for uvicorn, ``--ws websockets``) as one process pinned to CPU 0. The load
generator (``--client``, here too) is one uvloop process pinned to CPU 1: 64 connections, each
sending a 12-byte text message and waiting for its echo before the next, for ``--seconds``
after a 2 s warm-up. ``PYTHON`` is an interpreter whose environment has that server installed
(ours: this checkout; theirs: ``django-bolt==0.13.0``; uvicorn: ``uvicorn[standard]``).

``--idle N`` opens N WebSockets to ours and leaves them idle: the server's RSS before and after
gives the memory per connection, and an HTTP request is still answered meanwhile.

``--callgrind`` counts instead of timing: each server runs under ``valgrind --tool=callgrind``
(every process and thread of it), the 64 connections each send one message and the client
reads the 64 echoes, round after round; the counters are zeroed after a warm-up, dumped after
``--first`` rounds and again after ``--then`` more, and the figure is the second dump divided by
the messages it covers: user-space instructions per echoed message, which the machine's load
does not move (bench/instructions.py does the same for HTTP requests). ``--base-tree DIR`` adds
``ours-base``, the checkout in DIR, for before/after figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
APP: Final = BENCH / "wsapp"
START_TIMEOUT_S: Final = 60.0
CALLGRIND_START_TIMEOUT_S: Final = 600.0  # Django's import alone takes a minute under valgrind
MESSAGE: Final = b"hello world!"
MASK: Final = b"\x12\x34\x56\x78"
FRAME: Final = (
    bytes([0x81, 0x80 | len(MESSAGE)])
    + MASK
    + bytes(b ^ MASK[i % 4] for i, b in enumerate(MESSAGE))
)


def _handshake(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
        % (port, key)
    )


class _Echo(asyncio.Protocol):
    """One client connection: handshake, then one message in flight at a time."""

    def __init__(self, port: int, counter: list[int]) -> None:
        self.port = port
        self.counter = counter
        self.buffer = b""
        self.open = False
        self.transport: Any = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(_handshake(self.port))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(RuntimeError(buffer[:200].decode("latin-1")))
                return
            self.open = True
            buffer = buffer[end + 4 :]
            self.ready.set_result(None)
        while len(buffer) >= 2:
            size = buffer[1] & 0x7F
            head = 2 if size < 126 else 4 if size == 126 else 10
            if size >= 126:
                if len(buffer) < head:
                    break
                size = int.from_bytes(buffer[2:head], "big")
            if len(buffer) < head + size:
                break
            buffer = buffer[head + size :]
            self.counter[0] += 1
            self.transport.write(FRAME)
        self.buffer = buffer

    def start(self) -> None:
        self.transport.write(FRAME)


async def _client(port: int, connections: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    counter = [0]
    peers = []
    for _ in range(connections):
        _, peer = await loop.create_connection(lambda: _Echo(port, counter), "127.0.0.1", port)
        peers.append(peer)
    await asyncio.gather(*(p.ready for p in peers))
    for peer in peers:
        peer.start()
    await asyncio.sleep(2.0)  # warm-up
    start_count, start = counter[0], time.perf_counter()
    await asyncio.sleep(seconds)
    count, elapsed = counter[0] - start_count, time.perf_counter() - start
    for peer in peers:
        peer.transport.abort()
    return {"round_trips_per_s": count / elapsed, "connections": connections}


async def _idle(port: int, connections: int) -> list[Any]:
    loop = asyncio.get_running_loop()
    peers = []
    for index in range(connections):
        _, peer = await loop.create_connection(lambda: _Echo(port, [0]), "127.0.0.1", port)
        peers.append(peer)
        if index % 500 == 499:
            await asyncio.gather(*(p.ready for p in peers[-500:]))
    await asyncio.gather(*(p.ready for p in peers))
    return peers


def _rss_kib(pid: int) -> int:
    total = 0
    for child in [pid, *_children(pid)]:
        with open(f"/proc/{child}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            found = [int(p) for p in handle.read().split()]
    except OSError:
        return []
    return found + [g for c in found for g in _children(c)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(
    name: str,
    python: str,
    port: int,
    wrapper: tuple[str, ...] = ("taskset", "-c", "0"),
    timeout: float = START_TIMEOUT_S,
    tree: Path = ROOT,
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("PYTHONPATH", None)
    if name.startswith("ours"):
        env["PYTHONPATH"] = str(tree)  # the bench venv's own copy may be another checkout
    if name == "uvicorn":
        argv = [python, "-m", "uvicorn", "asgi_echo:app", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
        argv += ["--ws", "websockets", "--no-access-log", "--log-level", "warning"]
    else:
        argv = [python, "manage.py", "runbolt", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--processes", "1"]
        if name.startswith("ours"):
            argv.append("--no-access-log")
    proc = subprocess.Popen(
        [*wrapper, *argv],
        cwd=APP,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: callgrind_control finds its processes
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        try:
            # Ready once a worker completes a handshake (workers start after the parent listens).
            _BlockingEcho(port).close()
            return proc
        except OSError:
            time.sleep(0.5)
    _stop(proc)
    raise SystemExit(f"{name} did not listen")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 15)
    except ProcessLookupError:
        return
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(5)


class _BlockingEcho:
    """One blocking client connection for the counted runs: handshake, then echo by echo."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.sendall(_handshake(port))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            self.sock.close()
            raise ConnectionError(head[:200].decode("latin-1"))
        self.pending = head.partition(b"\r\n\r\n")[2]

    def send(self) -> None:
        self.sock.sendall(FRAME)

    def receive(self) -> None:
        """Read one echo; answer the server's pings on the way (servers ping idle clients)."""
        while True:
            opcode, payload = self._frame()
            if opcode == 0x9:
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            elif opcode != 0xA:
                break
        if (opcode, payload) != (0x1, MESSAGE):
            raise SystemExit(f"not an echo: {opcode} {payload[:100]!r}")

    def _frame(self) -> tuple[int, bytes]:
        """Read one unmasked frame of at most 125 bytes: its opcode and payload."""
        data = self._fill(self.pending, 2)
        size = data[1] & 0x7F
        if size > 125:
            raise SystemExit(f"unexpected frame: {data[:16]!r}")
        data = self._fill(data, 2 + size)
        self.pending = data[2 + size :]
        return data[0] & 0x0F, data[2 : 2 + size]

    def _fill(self, data: bytes, want: int) -> bytes:
        while len(data) < want:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def _rounds(clients: list[_BlockingEcho], rounds: int) -> None:
    """Each client sends one message, then each reads its echo; ``rounds`` times."""
    for _ in range(rounds):
        for client in clients:
            client.send()
        for client in clients:
            client.receive()


def _count(name: str, python: str, connections: int, first: int, then: int, tree: Path) -> float:
    """User-space instructions of the server per echoed message, under callgrind."""
    import instructions  # bench/instructions.py: callgrind_control for one process group

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bolt-ws-cg-") as tmp:
        out_dir = Path(tmp)
        wrapper = ("valgrind", "--tool=callgrind", "--trace-children=yes")
        wrapper += (f"--callgrind-out-file={out_dir}/cg.%p",)
        proc = _start(name, python, port, wrapper, CALLGRIND_START_TIMEOUT_S, tree)
        try:
            clients = [_BlockingEcho(port) for _ in range(connections)]
            _rounds(clients, 100)  # warm-up
            seen: set[str] = set()
            instructions._control("-z", proc.pid)
            _rounds(clients, first)
            instructions._dump(proc.pid, out_dir, seen)
            _rounds(clients, then)
            total = instructions._dump(proc.pid, out_dir, seen)
            for client in clients:
                client.close()
        finally:
            _stop(proc)
    return total / (then * connections)


def _count_report(
    servers: list[tuple[str, str]], connections: int, first: int, then: int, base: Path | None
) -> None:
    figures: dict[str, float] = {}
    for name, python in servers:
        tree = base if name == "ours-base" and base is not None else ROOT
        figures[name] = _count(name, python, connections, first, then, tree)
        print(f"[callgrind] {name:10} {figures[name]:10,.0f} instructions per echoed message")
    print(
        f"\nuser-space instructions per echoed message ({connections} connections, "
        f"12-byte text, {then} rounds measured after {first})"
    )
    for name, figure in figures.items():
        ratio = (
            f" ({figures['theirs'] / figure:.2f}x Django-Bolt 0.13)" if "theirs" in figures else ""
        )
        print(f"  {name:10} {figure:10,.0f}{ratio}")


def _measure(name: str, python: str, seconds: float, connections: int, tree: Path) -> float:
    port = _free_port()
    proc = _start(name, python, port, tree=tree)
    try:
        out = subprocess.run(
            [
                *("taskset", "-c", "1", sys.executable, __file__, "--client", str(port)),
                *("--seconds", str(seconds), "--connections", str(connections)),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        _stop(proc)
    rate: float = json.loads(out)["round_trips_per_s"]
    return rate


def _idle_report(python: str, connections: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = _free_port()
    proc = _start("ours", python, port)
    try:
        before = _rss_kib(proc.pid)

        async def main() -> tuple[int, bytes]:
            peers = await _idle(port, connections)
            await asyncio.sleep(1.0)
            after = _rss_kib(proc.pid)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            for peer in peers:
                peer.transport.abort()
            return after, answer.split(b"\r\n", 1)[0]

        after, status = _uvloop().run_until_complete(main())
    finally:
        _stop(proc)
    per = (after - before) * 1024 / connections
    print(f"{connections} idle WebSockets: RSS {before} KiB -> {after} KiB, {per:.0f} B each;")
    print(f"HTTP meanwhile: {status.decode()}")


def _uvloop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ours")
    parser.add_argument("--theirs")
    parser.add_argument("--uvicorn")
    parser.add_argument("--idle", type=int, default=0)
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--first", type=int, default=20, help="rounds before the measured dump")
    parser.add_argument("--then", type=int, default=100, help="rounds measured (x connections)")
    parser.add_argument("--base-tree", type=Path, help="another checkout, counted as ours-base")
    args = parser.parse_args()
    if args.client:
        result = _uvloop().run_until_complete(_client(args.client, args.connections, args.seconds))
        print(json.dumps(result))
        return
    if args.idle:
        _idle_report(args.ours, args.idle)
        return
    candidates = [("ours", args.ours), ("theirs", args.theirs), ("uvicorn", args.uvicorn)]
    if args.base_tree is not None:
        candidates.insert(1, ("ours-base", args.ours))
    servers = [(n, p) for n, p in candidates if p]
    if args.callgrind:
        _count_report(servers, args.connections, args.first, args.then, args.base_tree)
        return
    rates: dict[str, list[float]] = {name: [] for name, _ in servers}
    for _ in range(args.rounds):
        for name, python in servers:
            tree = args.base_tree if name == "ours-base" else ROOT
            rates[name].append(_measure(name, python, args.seconds, args.connections, tree))
    best = {name: max(values) for name, values in rates.items()}
    print(
        f"echo round trips/s, {args.connections} connections, 12-byte text, best of {args.rounds}"
    )
    for name, value in best.items():
        ratio = f" ({value / best['theirs']:.2f}x Django-Bolt 0.13)" if "theirs" in best else ""
        rounds = ", ".join(f"{v:,.0f}" for v in rates[name])
        print(f"  {name:8s} {value:10,.0f}{ratio}   rounds: {rounds}")


if __name__ == "__main__":
    main()
