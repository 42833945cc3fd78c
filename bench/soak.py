#!/usr/bin/env python3
"""Soak runbolt: normal clients beside slow and abusive ones; each worker's RSS and the normal
clients' latency, unloaded first, then under attack.

    python3 bench/soak.py                          # 10 minutes under attack, 2.5 unloaded before
    python3 bench/soak.py --minutes 2 --processes 2
    python3 bench/soak.py --minutes 2 --attacks pipeline,slowloris

bench/app is served by ``manage.py runbolt`` from this checkout (PYTHONPATH is set to it), run
by ``--python`` (default: this interpreter, whose environment must have the package's
dependencies), pinned to ``--server-cores`` (core 0) as bench/run.py pins its servers; the
clients run pinned to ``--load-cores`` (core 1). The normal clients are two wrk processes at a
fixed pace (each connection waits ``--pace-ms`` between requests, so the server is loaded but
not saturated and latency measures the server, not a queue): ``GET /json-async`` (hello) and
``GET /items/42?q=bolt`` (path + query). wrk comes from Debian (``apt-get install wrk``).

Phases: a short warm-up, then the unloaded baseline (``--baseline-fraction`` of the attack's
length, normal clients only), then the attack (``--minutes``): the normal clients again, beside
a process (``soak.py _attack``) that runs the abusive clients:

- ``slowloris``: connections that send a header one byte every few seconds, and reconnect;
- ``slow-body``: POSTs announcing 100 kB and sending a byte every few seconds;
- ``pipeline``: connections that pipeline GET /document (10 kB answers) and never read;
- ``idle``: keep-alive connections that send one request, then sit idle until closed;
- ``chunk-size``: chunked POSTs whose first chunk size is far beyond any body limit;
- ``drop``: connections that send part of a request and go away (half with a reset).

Each worker's RSS (``/proc/<pid>/status``) and open descriptors are sampled every
``--sample-every`` seconds. The verdict: RSS flat per worker (max - min over the unloaded and
attack phases within ``--rss-range`` MiB, and the slope over the attack's second half within
``--rss-slope`` MiB/min), and each normal endpoint's p99 under attack within 2x of its
unloaded p99, without errors. A summary is printed and written to
bench/results/soak-<stamp>.json (small); the raw samples and wrk outputs go to bench/.work/.
The exit status is 0 when every verdict holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import run as bench  # bench/run.py: how servers are started, pinned and stopped

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
WORK: Final = BENCH / ".work"
RESULTS: Final = BENCH / "results"

HELLO: Final = "/json-async"
PATH_QUERY: Final = "/items/42?q=bolt"
NORMAL: Final = {"hello": HELLO, "path-query": PATH_QUERY}
ATTACKS: Final = ("slowloris", "slow-body", "pipeline", "idle", "chunk-size", "drop")
# Attack connections of each kind (the pipeline ones each hold a lot of output; idle ones none).
DEFAULT_COUNTS: Final = {
    "slowloris": 50,
    "slow-body": 50,
    "pipeline": 4,
    "idle": 200,
    "chunk-size": 2,
    "drop": 2,
}
# Seconds between two bytes of a slowloris header or a slow body.
TRICKLE_S: Final = 3.0
WARMUP_S: Final = 5
# The attack runs alone this long before the normal clients are measured beside it.
RAMP_S: Final = 5
P99_FACTOR: Final = 2.0


# --------------------------------------------------------------------------------------------
# The server


@dataclass(frozen=True, slots=True)
class SoakServer(bench.Server):
    """bench/run.py's "ours" server, with a chosen interpreter and number of processes."""

    interpreter: str = sys.executable
    processes: int = 1

    @property
    def python(self) -> Path:
        return Path(self.interpreter)

    def env(self) -> dict[str, str]:
        env = bench.Server.env(self)
        # This checkout's package, whatever the interpreter has installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
        return env

    def command(self) -> tuple[list[str], Path]:
        argv, cwd = bench.Server.command(self)
        index = argv.index("--processes")
        argv[index + 1] = str(self.processes)
        # The soak's endpoints never touch the catalogue, which bench/run.py makes before its
        # servers start; without the checks runbolt does not open it either.
        return [*argv, "--skip-checks"], cwd


def worker_pids(parent: int) -> list[int]:
    """The runbolt parent's child processes (its workers)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            # The command name may hold spaces; the fields after its ")" are fixed.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                children.append(int(entry))
    return sorted(children)


def rss_mib(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def fds(pid: int) -> int:
    """Open file descriptors of ``pid`` (its connections, mostly)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class RssSampler(threading.Thread):
    """Samples every worker's RSS every ``every`` seconds into ``samples``."""

    def __init__(self, parent: int, every: float) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.parent = parent
        self.every = every
        self.samples: list[dict[str, Any]] = []
        self.phase = "warmup"
        self._stop_event = threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self._stop_event.is_set():
            now = round(time.monotonic() - self.started_at, 2)
            for pid in worker_pids(self.parent):
                rss = rss_mib(pid)
                if rss is not None:
                    self.samples.append(
                        {"t": now, "phase": self.phase, "pid": pid, "rss": rss, "fds": fds(pid)}
                    )
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(self.every + 5)


# --------------------------------------------------------------------------------------------
# Normal clients: wrk at a fixed pace


@dataclass(slots=True)
class Latency:
    endpoint: str
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    raw: str = ""


_UNITS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"cannot read latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(endpoint: str, text: str) -> Latency:
    """Requests, rate, p50, p99 and errors from ``wrk --latency`` output."""
    found = Latency(endpoint, raw=text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.MULTILINE)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if p50 is None or p99 is None or rps is None or total is None:
        raise SystemExit(f"cannot read wrk output:\n{text}")
    found.p50_ms, found.p99_ms = _ms(p50.group(1)), _ms(p99.group(1))
    found.rps, found.requests = float(rps.group(1)), int(total.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    found.errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(x) for x in sock.groups()) if sock else 0
    )
    return found


def pace_script(pace_ms: int) -> Path:
    path = WORK / f"soak-pace-{pace_ms}.lua"
    path.write_text(f"function delay()\n  return {pace_ms}\nend\n")
    return path


def start_wrk(
    port: int, path: str, seconds: int, args: argparse.Namespace
) -> subprocess.Popen[str]:
    argv = ["taskset", "-c", args.load_cores, "wrk", "-t1", f"-c{args.connections}"]
    argv += [f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", str(pace_script(args.pace_ms))]
    argv.append(f"http://127.0.0.1:{port}{path}")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def measure(port: int, seconds: int, args: argparse.Namespace) -> dict[str, Latency]:
    """Both normal endpoints loaded at once for ``seconds``."""
    procs = {name: start_wrk(port, path, seconds, args) for name, path in NORMAL.items()}
    return {
        name: parse_wrk(name, proc.communicate(timeout=seconds + 60)[0])
        for name, proc in procs.items()
    }


# --------------------------------------------------------------------------------------------
# Abusive clients (``soak.py _attack``, in their own process)


@dataclass(slots=True)
class AttackStats:
    connections: int = 0
    closed_by_server: int = 0
    errors: int = 0
    bytes_sent: int = 0
    answers: dict[str, int] = field(default_factory=dict)

    def answered(self, data: bytes) -> None:
        status = data[9:12].decode("latin-1", "replace") if data.startswith(b"HTTP/") else "?"
        self.answers[status] = self.answers.get(status, 0) + 1


class Attacker:
    def __init__(self, port: int, deadline: float) -> None:
        self.port = port
        self.deadline = deadline
        self.stats = {kind: AttackStats() for kind in ATTACKS}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    async def connect(
        self, kind: str, rcvbuf: int = 0
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        self.stats[kind].connections += 1
        return await asyncio.open_connection(sock=sock)

    async def send(self, kind: str, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.stats[kind].bytes_sent += len(data)

    async def trickle(self, kind: str, start: bytes, step: bytes) -> None:
        """Send ``start``, then ``step`` a byte at a time, TRICKLE_S apart, until closed."""
        while self.left() > 0:
            try:
                reader, writer = await self.connect(kind)
                await self.send(kind, writer, start)
                index = 0
                while self.left() > 0:
                    try:
                        data = await asyncio.wait_for(reader.read(65536), TRICKLE_S)
                    except TimeoutError:
                        await self.send(
                            kind, writer, step[index % len(step) : index % len(step) + 1]
                        )
                        index += 1
                        continue
                    if data:
                        self.stats[kind].answered(data)
                    self.stats[kind].closed_by_server += 1
                    break
                writer.close()
            except OSError:
                self.stats[kind].errors += 1
                await asyncio.sleep(0.5)

    async def slowloris(self) -> None:
        await self.trickle(
            "slowloris", b"GET /json-async HTTP/1.1\r\nHost: soak\r\nX-Slow: ", b"abcdefgh"
        )

    async def slow_body(self) -> None:
        head = b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
        await self.trickle("slow-body", head + b"Content-Length: 100000\r\n\r\n", b"[1,2,3]")

    async def pipeline(self) -> None:
        """Pipeline requests with big answers and never read; reconnect if the server closes."""
        batch = b"GET /document HTTP/1.1\r\nHost: soak\r\n\r\n" * 100
        while self.left() > 0:
            try:
                _, writer = await self.connect("pipeline", rcvbuf=4096)
                while self.left() > 0:
                    await asyncio.wait_for(self.send("pipeline", writer, batch), self.left())
            except TimeoutError:
                return  # stuck in a full send buffer until the end: the server holds on too
            except OSError:
                self.stats["pipeline"].closed_by_server += 1
                await asyncio.sleep(0.5)

    async def idle(self) -> None:
        while self.left() > 0:
            try:
                reader, writer = await self.connect("idle")
                await self.send("idle", writer, b"GET /json-async HTTP/1.1\r\nHost: soak\r\n\r\n")
                self.stats["idle"].answered(await reader.read(65536))
                while await asyncio.wait_for(reader.read(65536), max(0.1, self.left())):
                    pass
                self.stats["idle"].closed_by_server += 1
                writer.close()
            except TimeoutError:
                return
            except OSError:
                self.stats["idle"].errors += 1
                await asyncio.sleep(0.5)

    async def chunk_size(self) -> None:
        head = b"POST /echo HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n"
        while self.left() > 0:
            try:
                reader, writer = await self.connect("chunk-size")
                await self.send("chunk-size", writer, head + b"fffffffffff\r\n" + b"x" * 1024)
                data = await asyncio.wait_for(reader.read(65536), 2.0)
                if data:
                    self.stats["chunk-size"].answered(data)
                writer.close()
            except TimeoutError:
                self.stats["chunk-size"].answers["none in 2 s"] = (
                    self.stats["chunk-size"].answers.get("none in 2 s", 0) + 1
                )
                writer.close()
            except OSError:
                self.stats["chunk-size"].errors += 1
            await asyncio.sleep(0.1)

    async def drop(self) -> None:
        request = (
            b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
            b"Content-Length: 64\r\n\r\n" + b"[" + b"1," * 30 + b"1]"
        )
        rng = random.Random(0)
        while self.left() > 0:
            try:
                _, writer = await self.connect("drop")
                await self.send("drop", writer, request[: rng.randrange(1, len(request))])
                sock = writer.get_extra_info("socket")
                if rng.random() < 0.5 and sock is not None:
                    # SO_LINGER 0: the close is a reset, as from a client that crashed.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
                writer.close()
            except OSError:
                self.stats["drop"].errors += 1
            await asyncio.sleep(0.05)

    async def run(self, counts: dict[str, int]) -> None:
        kinds = {
            "slowloris": self.slowloris,
            "slow-body": self.slow_body,
            "pipeline": self.pipeline,
            "idle": self.idle,
            "chunk-size": self.chunk_size,
            "drop": self.drop,
        }
        tasks = [
            asyncio.create_task(kinds[kind]())
            for kind, count in counts.items()
            for _ in range(count)
        ]
        await asyncio.sleep(max(0.0, self.left()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def attack_main(argv: list[str]) -> int:
    """``soak.py _attack PORT SECONDS COUNTS_JSON``: run the abusive clients, print their stats."""
    port, seconds, counts = int(argv[0]), float(argv[1]), json.loads(argv[2])
    attacker = Attacker(port, time.monotonic() + seconds)
    asyncio.run(attacker.run(counts))
    print(json.dumps({kind: dataclasses.asdict(s) for kind, s in attacker.stats.items()}))
    return 0


def start_attack(port: int, seconds: float, args: argparse.Namespace) -> subprocess.Popen[str]:
    counts = {kind: DEFAULT_COUNTS[kind] for kind in args.attacks}
    argv = ["taskset", "-c", args.load_cores, sys.executable, str(Path(__file__).resolve())]
    argv += ["_attack", str(port), str(seconds), json.dumps(counts)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# --------------------------------------------------------------------------------------------
# Verdicts


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _ in points)
    mean_v = statistics.fmean(v for _, v in points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def rss_verdicts(samples: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per worker: flat when it grew little from the unloaded baseline to the end of the attack
    (max - min over both phases) and no longer grows (slope over the attack's second half)."""
    out = []
    for pid in sorted({s["pid"] for s in samples}):
        mine = [s for s in samples if s["pid"] == pid]
        baseline = [s["rss"] for s in mine if s["phase"] == "baseline"]
        attack = [(s["t"], s["rss"]) for s in mine if s["phase"] == "attack"]
        if not attack:
            continue
        values = [v for _, v in attack]
        both = baseline + values
        slope = slope_per_min(attack[len(attack) // 2 :])
        spread = max(both) - min(both)
        out.append(
            {
                "pid": pid,
                "baseline_mib": round(statistics.fmean(baseline), 1) if baseline else None,
                "attack_start_mib": round(values[0], 1),
                "attack_end_mib": round(values[-1], 1),
                "attack_max_mib": round(max(values), 1),
                "max_minus_min_mib": round(spread, 1),
                "slope_second_half_mib_per_min": round(slope, 2),
                "max_fds": max(s["fds"] for s in mine),
                "flat": slope <= args.rss_slope and spread <= args.rss_range,
            }
        )
    return out


def latency_verdicts(
    baseline: dict[str, Latency], attack: dict[str, Latency]
) -> list[dict[str, Any]]:
    out = []
    for name in NORMAL:
        before, under = baseline[name], attack[name]
        ratio = under.p99_ms / before.p99_ms if before.p99_ms else float("inf")
        out.append(
            {
                "endpoint": name,
                "path": NORMAL[name],
                "unloaded": {
                    k: getattr(before, k) for k in ("requests", "rps", "p50_ms", "p99_ms", "errors")
                },
                "under_attack": {
                    k: getattr(under, k) for k in ("requests", "rps", "p50_ms", "p99_ms", "errors")
                },
                "p99_ratio": round(ratio, 2),
                "within_2x": ratio <= P99_FACTOR and under.errors == 0,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# The run


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the attack phase")
    parser.add_argument(
        "--baseline-fraction",
        type=float,
        default=0.25,
        help="the unloaded baseline lasts this fraction of the attack phase (default 0.25)",
    )
    parser.add_argument("--processes", type=int, default=1, help="runbolt --processes")
    parser.add_argument("--python", default=sys.executable, help="interpreter to run runbolt")
    parser.add_argument("--server-cores", default=bench.SERVER_CORE, help="taskset list")
    parser.add_argument("--load-cores", default=bench.LOAD_CORE, help="taskset list")
    parser.add_argument("--connections", type=int, default=8, help="per normal wrk")
    parser.add_argument(
        "--pace-ms", type=int, default=5, help="wait between a connection's requests"
    )
    parser.add_argument(
        "--attacks", default=",".join(ATTACKS), help=f"comma-separated, of {', '.join(ATTACKS)}"
    )
    parser.add_argument("--sample-every", type=float, default=2.0, help="RSS sampling, seconds")
    parser.add_argument("--rss-slope", type=float, default=1.0, help="flat: MiB/min at most")
    parser.add_argument("--rss-range", type=float, default=32.0, help="flat: max-min MiB at most")
    parser.add_argument("--no-save", action="store_true", help="print only, write no files")
    args = parser.parse_args(argv)
    args.attacks = [a for a in args.attacks.split(",") if a]
    unknown = set(args.attacks) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attacks {sorted(unknown)}; choose from {', '.join(ATTACKS)}")
    return args


def check_tools() -> None:
    for tool, hint in (("wrk", "apt-get install wrk"), ("taskset", "apt-get install util-linux")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed ({hint})")


def print_verdicts(summary: dict[str, Any]) -> bool:
    ok = True
    for row in summary["rss"]:
        ok &= row["flat"]
        print(
            f"RSS  worker {row['pid']}: unloaded {row['baseline_mib']} MiB; under attack"
            f" {row['attack_start_mib']} -> {row['attack_end_mib']} MiB (max"
            f" {row['attack_max_mib']}); max-min {row['max_minus_min_mib']} MiB, slope"
            f" {row['slope_second_half_mib_per_min']} MiB/min over the attack's second half;"
            f" up to {row['max_fds']} fds: {'FLAT' if row['flat'] else 'NOT FLAT'}"
        )
    for row in summary["latency"]:
        ok &= row["within_2x"]
        before, under = row["unloaded"], row["under_attack"]
        print(
            f"p99  {row['endpoint']} ({row['path']}): unloaded p50 {before['p50_ms']:.2f} /"
            f" p99 {before['p99_ms']:.2f} ms ({before['rps']:.0f} req/s, {before['errors']}"
            f" errors); under attack p50 {under['p50_ms']:.2f} / p99 {under['p99_ms']:.2f} ms"
            f" ({under['rps']:.0f} req/s, {under['errors']} errors): {row['p99_ratio']}x"
            f" {'WITHIN 2x' if row['within_2x'] else 'OVER 2x (or errors)'}"
        )
    if summary["workers_replaced"]:
        ok = False
        print(f"WORKERS replaced during the run: {summary['workers_replaced']}")
    print(f"AFTER  GET {HELLO}: {summary['after']}")
    for kind, stats in summary["attackers"].items():
        if isinstance(stats, dict):
            print(
                f"ATTACK {kind}: {stats['connections']} connections, {stats['closed_by_server']}"
                f" closed by the server, {stats['bytes_sent']} bytes sent, answers"
                f" {stats['answers']}, {stats['errors']} errors"
            )
    return ok


def main(argv: list[str]) -> int:
    if argv[:1] == ["_attack"]:
        return attack_main(argv[1:])
    args = parse_args(argv)
    check_tools()
    WORK.mkdir(exist_ok=True)
    attack_s = max(10, round(args.minutes * 60))
    baseline_s = max(5, round(attack_s * args.baseline_fraction))
    server = SoakServer(
        "ours",
        "ours (django_bolt, pure Python)",
        Path(args.python).parent.parent,
        (),
        bench._free_port(),
        interpreter=args.python,
        processes=args.processes,
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    wrapper = ("taskset", "-c", args.server_cores)
    print(
        f"[soak] runbolt --processes {args.processes} on cores {args.server_cores}; clients"
        f" on {args.load_cores}; {baseline_s} s unloaded, then {attack_s} s of"
        f" {', '.join(args.attacks)}",
        file=sys.stderr,
    )
    with bench.running(server, wrapper, log_name=f"soak-{stamp}.log") as proc:
        first_workers = worker_pids(proc.pid)
        sampler = RssSampler(proc.pid, args.sample_every)
        sampler.start()
        measure(server.port, WARMUP_S, args)
        sampler.phase = "baseline"
        baseline = measure(server.port, baseline_s, args)
        sampler.phase = "attack"
        attacker = start_attack(server.port, attack_s, args)
        time.sleep(RAMP_S)
        under = measure(server.port, attack_s - RAMP_S, args)
        out, err = attacker.communicate(timeout=120)
        sampler.phase = "after"
        started = time.monotonic()
        status, _, _ = bench.request(server.port, bench.ENDPOINTS[0])
        after = f"{status} in {1000 * (time.monotonic() - started):.1f} ms"
        sampler.stop()
        last_workers = worker_pids(proc.pid)
    attack_stats = json.loads(out) if out.strip() else {"error": err[-2000:]}
    summary = {
        "stamp": stamp,
        "machine": bench.machine_info(),
        "settings": {
            "processes": args.processes,
            "server_cores": args.server_cores,
            "load_cores": args.load_cores,
            "baseline_s": baseline_s,
            "attack_s": attack_s,
            "normal_connections": args.connections,
            "pace_ms": args.pace_ms,
            "attacks": {kind: DEFAULT_COUNTS[kind] for kind in args.attacks},
            "rss_flat": {"slope_mib_per_min": args.rss_slope, "range_mib": args.rss_range},
        },
        "rss": rss_verdicts(sampler.samples, args),
        "latency": latency_verdicts(baseline, under),
        "attackers": attack_stats,
        "workers_replaced": sorted(set(first_workers) - set(last_workers)),
        "after": after,
    }
    ok = print_verdicts(summary)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"soak-{stamp}.json").write_text(json.dumps(summary, indent=2) + "\n")
        raw = {
            "rss_samples": sampler.samples,
            "wrk": {
                f"{phase}-{name}": lat.raw
                for phase, run in (("baseline", baseline), ("attack", under))
                for name, lat in run.items()
            },
        }
        (WORK / f"soak-{stamp}-raw.json").write_text(json.dumps(raw) + "\n")
        print(f"[soak] bench/results/soak-{stamp}.json, raw: bench/.work/", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
