#!/usr/bin/env python3
"""Memory of the whole server tree: ours against Django-Bolt 0.13.0, on bench/app.

    python3 bench/memory.py                                  # ours and theirs, --processes 1 and 4
    python3 bench/memory.py --servers ours --processes 4 --ours-args=--preload
    python3 bench/memory.py --venvs /work/main/bench         # venvs made by another checkout

Each server runs ``manage.py runbolt --processes N`` in bench/app (ours from this checkout, put
first on ``PYTHONPATH``; theirs from its venv), one server at a time. Once it answers and every
worker is up, the tool sends ``--requests`` requests over fresh connections (so the kernel spreads
them across the workers' ``SO_REUSEPORT`` sockets), cycling through the API endpoints of
bench/run.py that both servers have, waits a moment, then reads ``/proc/PID/smaps_rollup`` of
every process of the tree (the started process and all its descendants):

- RSS: resident pages, counted in every process that maps them (the sum over the tree counts a
  page shared by two processes twice: what ``ps`` and most dashboards add up);
- PSS: each shared page divided among the processes that share it (the sum is what the tree
  really occupies);
- USS: pages private to the process (what ending it would give back).

CPU seconds (user + system, from ``/proc/PID/stat``) of each process are read right after start
and again at the end: the first figure is what starting cost that process (a fresh worker imports
Django and the project itself), and CPU time, unlike wall time, barely moves with the load of a
shared machine. Start-up wall time (start to first answer, and to every worker being up) is shown
as well, for what it is worth there.

Linux only (``/proc``). The servers run with no access log and read the SQLite catalogue that
bench/run.py makes (made here too when missing). Bytecode is compiled first (``compileall`` of
this checkout's ``django_bolt`` and of bench/app) and the servers may use it, as an installed
package does: with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``, every process would
compile each module at import, which costs CPU and leaves its garbage in the heap.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run

BENCH: Final = run.BENCH
ROOT: Final = run.ROOT
APP: Final = run.APP
_TICKS: Final = os.sysconf("SC_CLK_TCK")
# The rollup fields read, and the names they are shown under.
_FIELDS: Final = {"Rss": "rss", "Pss": "pss", "Private_Clean": "uss", "Private_Dirty": "uss"}


@dataclass(slots=True)
class ProcessMemory:
    pid: int
    role: str
    rss_kib: int = 0
    pss_kib: int = 0
    uss_kib: int = 0
    start_cpu_s: float = 0.0
    cpu_s: float = 0.0


@dataclass(slots=True)
class Measurement:
    server: str
    processes: int
    extra_args: list[str]
    first_answer_s: float
    all_up_s: float
    tree: list[ProcessMemory] = field(default_factory=list)

    def total(self, name: str) -> float:
        return sum(getattr(p, name) for p in self.tree) / 1024


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, parents first."""
    found = [pid]
    for parent in found:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{parent}/task"):
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{parent}/task/{task}/children").read_text()
                    found += [int(child) for child in text.split()]
    return found


def memory_of(pid: int) -> dict[str, int]:
    values = {"rss": 0, "pss": 0, "uss": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in _FIELDS:
            values[_FIELDS[key]] += int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    # Fields after the command name (which may hold spaces): utime and stime are 14th and 15th.
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def role_of(pid: int, root: int) -> str:
    if pid == root:
        return "parent"
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return "worker (fresh)" if b"django_bolt.server.handover" in argv else "worker (fork)"


def server_for(name: str, venvs: Path) -> run.Server:
    (server,) = run.make_servers([name])
    return run.Server(
        server.name,
        server.label,
        venvs / server.venv.name,
        server.requirements,
        server.port,
        str(ROOT) if name == "ours" else "",
    )


def endpoints() -> list[run.Endpoint]:
    both = ("ours", "theirs")
    return [
        e
        for e in run.ENDPOINTS
        if e.default and all(s in e.servers for s in both) and e.status == 200
    ]


def measure(
    server: run.Server, processes: int, requests: int, extra_args: list[str], timeout: float
) -> Measurement:
    argv = [str(server.python), "manage.py", "runbolt", "--host", "127.0.0.1"]
    argv += ["--port", str(server.port), "--processes", str(processes)]
    if server.name == "ours":
        argv += ["--no-access-log", *extra_args]
    env = server.env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compiled = [str(APP), *([str(ROOT / "django_bolt")] if server.name == "ours" else [])]
    subprocess.run([str(server.python), "-m", "compileall", "-q", *compiled], check=True, env=env)
    log_path = run.WORK / f"memory-{server.name}-{processes}.log"
    wanted = processes + (0 if server.name == "theirs" and processes == 1 else 1)
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, cwd=APP, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            probe = endpoints()[0]
            first = _wait(proc, log_path, timeout, lambda: _answers(server.port, probe))
            first_answer_s = first - started
            up = _wait(proc, log_path, timeout, lambda: len(descendants(proc.pid)) >= wanted)
            # A worker counts as up once it answers: give late ones time to import.
            _wait(proc, log_path, timeout, lambda: _ready(server, proc.pid, log_path))
            all_up_s = max(up, time.monotonic()) - started
            tree = [
                ProcessMemory(pid, role_of(pid, proc.pid), start_cpu_s=cpu_seconds(pid))
                for pid in descendants(proc.pid)
            ]
            errors = _load(server.port, requests)
            if errors:
                raise SystemExit(f"{server.name}: {errors} of {requests} requests failed")
            time.sleep(1.0)
            for item in tree:
                for key, value in memory_of(item.pid).items():
                    setattr(item, f"{key}_kib", value)
                item.cpu_s = cpu_seconds(item.pid)
            return Measurement(server.name, processes, extra_args, first_answer_s, all_up_s, tree)
        finally:
            run._stop(proc)


def _answers(port: int, endpoint: run.Endpoint) -> bool:
    with contextlib.suppress(OSError):
        return run.request(port, endpoint)[0] == 200
    return False


def _ready(server: run.Server, pid: int, log_path: Path) -> bool:
    if server.name != "ours":
        return True
    return "Ready:" in log_path.read_text(errors="replace")


def _wait(proc: subprocess.Popen[bytes], log_path: Path, timeout: float, done: Any) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early:\n{log_path.read_text()[-3000:]}")
        if done():
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"server not up after {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def _load(port: int, count: int) -> int:
    """Send ``count`` requests, each on a new connection; return how many failed."""
    errors = 0
    chosen = endpoints()
    for i in range(count):
        endpoint = chosen[i % len(chosen)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(
                endpoint.method, endpoint.path, body=endpoint.body, headers=endpoint.headers
            )
            response = conn.getresponse()
            response.read()
            errors += response.status != 200
        except OSError:
            errors += 1
        finally:
            conn.close()
    return errors


def report(results: list[Measurement], requests: int) -> str:
    lines = [
        f"After {requests} requests; MiB; CPU s = user + system at start-up (at the end).",
        "",
        "| server | --processes | tree RSS | tree PSS | tree USS | per process: role RSS/PSS/USS, "
        "CPU s | first answer s | all up s |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for m in results:
        label = " ".join([m.server, *m.extra_args])
        each = "; ".join(
            f"{p.role} {p.rss_kib / 1024:.1f}/{p.pss_kib / 1024:.1f}/{p.uss_kib / 1024:.1f}, "
            f"{p.start_cpu_s:.2f} ({p.cpu_s:.2f})"
            for p in m.tree
        )
        lines.append(
            f"| {label} | {m.processes} | {m.total('rss_kib'):.1f} | {m.total('pss_kib'):.1f} | "
            f"{m.total('uss_kib'):.1f} | {each} | {m.first_answer_s:.2f} | {m.all_up_s:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="ours,theirs", help="comma-separated: ours, theirs")
    parser.add_argument("--processes", default="1,4", help="comma-separated --processes values")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--ours-args", default="", help="more runbolt flags for ours (space-separated)"
    )
    parser.add_argument(
        "--venvs",
        type=Path,
        default=BENCH,
        help="directory holding .venv-ours and .venv-theirs (made by bench/run.py)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="start-up timeout, s")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run.WORK.mkdir(exist_ok=True)
    servers = [server_for(name, args.venvs.resolve()) for name in args.servers.split(",")]
    for server in servers:
        if not server.python.exists():
            raise SystemExit(f"{server.python} missing: run bench/run.py once (it makes the venvs)")
    if not run.DB_PATH.exists():
        run.prepare_database(servers)
    results = []
    for processes in (int(n) for n in args.processes.split(",")):
        for server in servers:
            extra = args.ours_args.split() if server.name == "ours" else []
            result = measure(server, processes, args.requests, extra, args.timeout)
            print(report([result], args.requests).splitlines()[-1], flush=True)
            results.append(result)
    print()
    print(report(results, args.requests))
    if args.json:
        args.json.write_text(
            json.dumps([_as_dict(m) for m in results], indent=2) + "\n", encoding="utf-8"
        )
    return 0


def _as_dict(m: Measurement) -> dict[str, Any]:
    return {
        "server": m.server,
        "processes": m.processes,
        "extra_args": m.extra_args,
        "first_answer_s": m.first_answer_s,
        "all_up_s": m.all_up_s,
        "tree_rss_mib": m.total("rss_kib"),
        "tree_pss_mib": m.total("pss_kib"),
        "tree_uss_mib": m.total("uss_kib"),
        "processes_detail": [
            {
                "pid": p.pid,
                "role": p.role,
                "rss_mib": p.rss_kib / 1024,
                "pss_mib": p.pss_kib / 1024,
                "uss_mib": p.uss_kib / 1024,
                "start_cpu_s": p.start_cpu_s,
                "cpu_s": p.cpu_s,
            }
            for p in m.tree
        ],
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
