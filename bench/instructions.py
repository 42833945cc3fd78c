#!/usr/bin/env python3
"""User-space instructions per request of a real server, counted by valgrind's callgrind.

wrk's requests per second on a small shared machine swing by a quarter from one second to the
next, more than the few per cent some goals are about. An instruction count does not swing: the
same server, code and request give the same count whatever else the machine is doing. This
script starts each server as bench/run.py does (same app, settings and command line), but under
``valgrind --tool=callgrind``, sends requests over a real keep-alive connection on loopback, and
reads the counts of every process of the server (the supervisor and its worker):

    python3 bench/instructions.py                              # ours vs ours-policies, json-async
    python3 bench/instructions.py --servers ours,theirs --endpoints json-async,jwt
    python3 bench/instructions.py --servers ours,ours-base --base-tree ../base   # before/after
    python3 bench/instructions.py --servers ours,ours-base --base-tree ../base \
        --server-args="--access-log --access-log-format json"    # the price of a feature

Counters are zeroed after a warm-up, dumped after ``--first`` requests and again after ``--then``
more; the figure is the second dump divided by ``--then``, so start-up and warm-up are not in it.
What it leaves out is the kernel's share (the socket calls), the same for every server of one
endpoint except for the bytes sent; quote it beside wrk's figures, never instead of them.
Needs the venvs bench/run.py builds (run that first) and valgrind.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # bench/run.py: servers, endpoints, the catalogue

START_TIMEOUT_S: Final = 600.0  # Django's import alone takes a minute under valgrind
_LENGTH: Final = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CHUNKED: Final = re.compile(rb"\r\ntransfer-encoding:\s*chunked", re.IGNORECASE)
_TOTALS: Final = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def _request_bytes(endpoint: bench.Endpoint) -> bytes:
    lines = [f"{endpoint.method} {endpoint.path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in endpoint.headers.items()]
    body = endpoint.body or b""
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Client:
    """One keep-alive connection, one request at a time (Content-Length or chunked bodies)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""

    def send(self, data: bytes, status: int = 200) -> bytes:
        self.sock.sendall(data)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(f"HTTP/1.1 {status} ".encode()):
            raise SystemExit(f"unexpected answer: {head[:200]!r}")
        found = _LENGTH.search(head)
        if found is not None:
            size = int(found.group(1))
            while len(rest) < size:
                rest += self._read_more()
            self.buffer = rest[size:]
        elif _CHUNKED.search(head):
            self.buffer = self._skip_chunks(rest)
        else:
            raise SystemExit(f"a response of unknown length: {head[:200]!r}")
        return head

    def _skip_chunks(self, data: bytes) -> bytes:
        """Read past a chunked body (no trailers); what follows it is returned."""
        while True:
            while b"\r\n" not in data:
                data += self._read_more()
            line, _, data = data.partition(b"\r\n")
            size = int(line.split(b";", 1)[0], 16)
            while len(data) < size + 2:
                data += self._read_more()
            data = data[size + 2 :]
            if size == 0:
                return data

    def _read(self) -> None:
        self.buffer += self._read_more()

    def _read_more(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def _group(pgid: int) -> list[str]:
    """The pids of the server's processes (it runs in a session of its own)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry)) == pgid:
                    pids.append(entry)
    return pids


def _control(option: str, pgid: int) -> None:
    """``callgrind_control <option>`` for this server's processes only."""
    for pid in _group(pgid):
        subprocess.run(["callgrind_control", option, pid], check=False, capture_output=True)


def _dump(pgid: int, out_dir: Path, seen: set[str]) -> int:
    """Dump every counted process of the server and sum what the new dump files hold."""
    _control("-d", pgid)
    total = 0
    for path in sorted(glob.glob(str(out_dir / "cg.*"))):
        if path in seen:
            continue
        seen.add(path)
        found = _TOTALS.search(Path(path).read_text(errors="replace"))
        if found is not None:
            total += int(found.group(1))
    return total


def count(
    server: bench.Server,
    endpoints: list[bench.Endpoint],
    first: int,
    then: int,
    keep: str = "",
) -> dict[str, float]:
    """Instructions per request of ``server`` answering each of ``endpoints``.

    With ``keep``, callgrind's files stay in ``keep/<server>`` for ``callgrind_annotate``.
    """
    figures: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        if keep:
            out_dir = Path(keep).resolve() / server.name
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
        else:
            out_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bolt-cg-")))
        valgrind = ("valgrind", "--tool=callgrind", "--trace-children=yes")
        valgrind += (f"--callgrind-out-file={out_dir}/cg.%p",)
        log_name = f"{server.name}.cg.log"
        with bench.running(server, valgrind, START_TIMEOUT_S, log_name) as proc:
            seen: set[str] = set()
            for endpoint in endpoints:
                data = _request_bytes(endpoint)
                client = Client(server.port)
                for _ in range(500):
                    client.send(data, endpoint.status)
                _control("-z", proc.pid)
                for _ in range(first):
                    client.send(data, endpoint.status)
                _dump(proc.pid, out_dir, seen)
                for _ in range(then):
                    client.send(data, endpoint.status)
                figures[endpoint.name] = _dump(proc.pid, out_dir, seen) / then
                client.close()
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="ours,ours-policies")
    parser.add_argument("--endpoints", default="json-async")
    parser.add_argument("--first", type=int, default=500, help="requests before the measured dump")
    parser.add_argument("--then", type=int, default=3000, help="requests measured")
    parser.add_argument(
        "--base-tree", default="", help="a checkout of another commit, counted as ours-base"
    )
    parser.add_argument(
        "--server-args",
        default="",
        help="more runbolt flags for ours and ours-base (e.g. '--metrics-path /metrics')",
    )
    parser.add_argument("--keep", default="", help="a folder to keep callgrind's files in")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("valgrind (with callgrind_control) is needed")
    servers = bench.make_servers(args.servers.split(","), args.base_tree)
    if args.server_args:
        extra = tuple(shlex.split(args.server_args))
        servers = [
            dataclasses.replace(s, extra_args=extra) if s.name.startswith("ours") else s
            for s in servers
        ]
    endpoints = bench.select_endpoints(args.endpoints)
    for server in servers:
        if not server.python.exists():
            raise SystemExit(f"{server.venv} is missing: run bench/run.py once first")
    bench.WORK.mkdir(exist_ok=True)
    bench.prepare_database(servers)
    if any(e.postgres for e in endpoints):
        bench.prepare_postgres(servers)
    figures: dict[tuple[str, str], float] = {}
    for server in servers:
        served = [e for e in endpoints if bench.serves(server.name, e)]
        if not served:
            continue
        for name, figure in count(server, served, args.first, args.then, args.keep).items():
            figures[name, server.name] = figure
            print(f"[instructions] {name:14} {server.name:16} {figure:10,.0f} per request")
    names = [s.name for s in servers]
    print("\n| endpoint | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for endpoint in endpoints:
        cells = [
            f"{figures[endpoint.name, n]:,.0f}" if (endpoint.name, n) in figures else "n/a"
            for n in names
        ]
        print(f"| {endpoint.name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
