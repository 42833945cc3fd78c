"""Signals and worker lifecycle, as systemd and supervisor see them: real processes and sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import Response, http_get
from tests.server.test_protocol import parse

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


class ClientLoop:
    """Requests on fresh connections from a few threads until stopped; counts every failure.

    ``answers`` holds every 200 answer's JSON in arrival order, ``pids`` the ``pid`` fields seen.
    """

    def __init__(self, bolt: BoltProcess, threads: int = 4, path: str = "/pid") -> None:
        self.bolt = bolt
        self.path = path
        self.stop = threading.Event()
        self.pids: set[int] = set()
        self.answers: list[dict[str, object]] = []
        self.ok = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        for _ in range(100_000):
            if self.stop.is_set():
                return
            try:
                resp = http_get(self.bolt.host, self.bolt.port, self.path, timeout=10)
            except OSError as exc:
                with self._lock:
                    self.failures.append(repr(exc))
                continue
            with self._lock:
                if resp.status == 200:
                    self.ok += 1
                    answer = resp.json()
                    self.answers.append(answer)
                    if "pid" in answer:
                        self.pids.add(answer["pid"])
                else:
                    self.failures.append(f"status {resp.status}")

    def __enter__(self) -> ClientLoop:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(15)


def in_background(fn: Callable[[], Response]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(fn())
        except Exception as exc:
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_lets_in_flight_requests_finish_with_connection_close(
    run_bolt: Callable[..., BoltProcess], sig: int, tmp_path: Path
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks")
    marks = [tmp_path / f"in-flight-{n}" for n in range(4)]
    calls = [
        in_background(lambda mark=mark: bolt.get(f"/slow?seconds=1&mark={mark}")) for mark in marks
    ]
    for mark in marks:  # each request is in a handler now
        bolt.wait_for(mark.exists, 10, f"{mark.name} to reach a worker")
    bolt.send_signal(sig)
    assert bolt.wait(20) == 0
    for thread, result in calls:
        thread.join(10)
        (resp,) = result
        assert isinstance(resp, Response), resp
        assert resp.status == 200
        assert resp.json() == {"slept": 1}
        assert resp.headers["connection"] == "close"
    assert f"Received {signal.Signals(sig).name}: stopping" in bolt.stderr


PIPELINED = (
    b"GET /slow?seconds=%d HTTP/1.1\r\nHost: t\r\n\r\n"
    b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
    b"GET /version HTTP/1.1\r\nHost: t\r\n\r\n"
)


# SIGHUP drains the old worker only once its replacement (a fresh interpreter importing Django)
# serves: the first request must outlast that start-up, or all three are answered before the
# drain begins, as ordinary keep-alive answers.
@pytest.mark.parametrize(("sig", "seconds"), [(signal.SIGTERM, 1), (signal.SIGHUP, 8)])
def test_a_drain_answers_requests_pipelined_behind_the_one_in_progress(
    run_bolt: Callable[..., BoltProcess], sig: int, seconds: int
) -> None:
    """SIGTERM stops the server, SIGHUP replaces the worker: either way the old worker drains,
    and the requests the client pipelined before the signal are all answered."""
    bolt = run_bolt("--skip-checks")
    with socket.create_connection((bolt.host, bolt.port), timeout=seconds + 10) as sock:
        sock.sendall(PIPELINED % seconds)
        time.sleep(0.4)  # the first request is in its handler, the other two are queued
        bolt.send_signal(sig)
        data = b""
        while chunk := sock.recv(65536):  # until the server closes
            data += chunk
    responses = parse(data)
    assert [status for status, _, _ in responses] == [b"HTTP/1.1 200 OK"] * 3, data
    assert [body for _, _, body in responses] == [
        b'{"slept":%d.0}' % seconds,
        b'{"hello":"world"}',
        b'{"version":"1"}',
    ]
    # Only the last answer closes the connection.
    assert [(b"connection", b"close") in headers for _, headers, _ in responses] == [
        False,
        False,
        True,
    ]
    if sig == signal.SIGTERM:
        assert bolt.wait(20) == 0
    else:
        assert bolt.get("/hello").status == 200


def test_kill_timeout_bounds_a_handler_that_sleeps_too_long(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--workers-kill-timeout", "1", "--skip-checks")
    thread, result = in_background(lambda: bolt.get("/slow?seconds=60", timeout=30))
    time.sleep(0.3)
    bolt.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert bolt.wait(15) == 0
    assert time.monotonic() - started < 10
    thread.join(10)
    (outcome,) = result
    assert isinstance(outcome, Exception)  # the connection was cut, not answered


def test_second_sigint_exits_at_once(run_bolt: Callable[..., BoltProcess], tmp_path: Path) -> None:
    bolt = run_bolt("--workers-kill-timeout", "60", "--skip-checks")
    mark = tmp_path / "in-flight"
    thread, _ = in_background(lambda: bolt.get(f"/slow?seconds=60&mark={mark}", timeout=30))
    # Without a request in flight the first SIGINT's drain would end at once, with status 0.
    bolt.wait_for(mark.exists, 10, "the slow request to reach a worker")
    bolt.send_signal(signal.SIGINT)
    bolt.wait_output("Received SIGINT")
    workers = bolt.worker_pids()
    bolt.send_signal(signal.SIGINT)
    assert bolt.wait(10) == 128 + signal.SIGINT, bolt.describe()
    for pid in workers:  # the workers went with it
        bolt.wait_for(lambda p=pid: not _alive(p), 5, f"worker {pid} to be gone")
    thread.join(10)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sighup_rolling_restart_refuses_no_connection(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks")
    before = set(bolt.worker_pids())
    with ClientLoop(bolt) as load:
        bolt.wait_for(lambda: load.ok > 20, 10, "the client loop to run")
        bolt.send_signal(signal.SIGHUP)

        def replaced() -> bool:
            now = set(bolt.worker_pids())
            return len(now) == 2 and not now & before

        bolt.wait_for(replaced, 20, "both workers to be replaced")
        served = load.ok
        bolt.wait_for(lambda: load.ok > served + 20, 10, "the new workers to serve")
    assert load.failures == []
    assert load.pids - before  # new workers answered
    assert bolt.proc.poll() is None


def test_killed_worker_without_respawn_shrinks_then_exits_nonzero(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks")
    first, second = bolt.worker_pids()
    os.kill(first, signal.SIGKILL)
    bolt.wait_output(f"Worker {first} died (killed by SIGKILL); not respawning. 1 worker(s) left.")
    # The dead slot's socket is closed, so every new connection reaches the survivor.
    assert {bolt.get("/pid").json()["pid"] for _ in range(30)} == {second}
    os.kill(second, signal.SIGKILL)
    assert bolt.wait(20) != 0
    assert "no worker left" in bolt.stderr


def test_respawn_failed_workers_replaces_a_killed_worker_and_stops_a_crash_loop(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--respawn-failed-workers", "--skip-checks")
    (first,) = bolt.worker_pids()
    os.kill(first, signal.SIGKILL)

    def new_worker_serves() -> bool:
        with contextlib.suppress(OSError):
            return bool(bolt.get("/pid", timeout=2).json()["pid"] not in (first,))
        return False

    bolt.wait_for(new_worker_serves, 20, "the respawned worker to serve")
    (second,) = bolt.worker_pids()
    assert second != first
    # Dying again right after its start is a crash loop: the server stops with the error.
    os.kill(second, signal.SIGKILL)
    assert bolt.wait(20) != 0
    assert "crash loop" in bolt.stderr


def test_sigterm_under_load_answers_every_request_sent_before_it(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks")
    sent_before: list[tuple[float, object]] = []
    lock = threading.Lock()
    signalled = threading.Event()
    signal_time = [0.0]

    def client() -> None:
        for _ in range(10_000):
            if signalled.is_set() and time.monotonic() > signal_time[0] + 1:
                return
            t0 = time.monotonic()
            try:
                outcome: object = http_get(bolt.host, bolt.port, "/slow?seconds=0.05", timeout=10)
            except OSError as exc:
                outcome = exc
            with lock:
                sent_before.append((t0, outcome))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    signal_time[0] = time.monotonic()
    signalled.set()
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(20) == 0
    for t in threads:
        t.join(15)
    # Requests whose sending began before the signal (a margin for the connect itself).
    early = [o for t0, o in sent_before if t0 < signal_time[0] - 0.01]
    assert len(early) > 20
    failed = [o for o in early if not (isinstance(o, Response) and o.status == 200)]
    assert failed == []


@pytest.mark.parametrize("preload", ["--preload", "--no-preload"])
def test_worker_failing_at_start_up_stops_the_server_without_a_loop(
    run_bolt: Callable[..., BoltProcess], preload: str
) -> None:
    bolt = run_bolt(
        preload, "--processes", "2", "--respawn-failed-workers", "--skip-checks",
        ready=False, env={"BOLT_TEST_FAIL_STARTUP": "1"},
    )  # fmt: skip
    assert bolt.wait(30) == 1
    assert "this start-up fails on purpose" in bolt.stderr
    assert bolt.stderr.count("failed to start") == 1
    assert "Ready" not in bolt.stderr


def test_sigkilled_parent_takes_its_workers_along_and_frees_the_port(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    """What supervisor's autorestart needs: the restarted server can bind the port again."""
    bolt = run_bolt("--processes", "2", "--skip-checks")
    workers = bolt.worker_pids()
    os.kill(bolt.pid, signal.SIGKILL)
    bolt.wait(10)
    for pid in workers:
        bolt.wait_for(lambda p=pid: not _alive(p), 10, f"orphaned worker {pid} to exit")
    again = run_bolt("--port", str(bolt.port), "--skip-checks")
    assert again.get("/hello").status == 200
