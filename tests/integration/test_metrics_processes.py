"""Metrics of a real ``runbolt --processes 2``: one scrape sums both workers, restarts count."""

from __future__ import annotations

import glob
import os
import signal
import tempfile
import threading
import time
from typing import TYPE_CHECKING

import pytest

from django_bolt.server import metrics
from tests.integration.conftest import http_get
from tests.metrics.test_metrics_client import sample

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

PID_ROUTE = {"method": "GET", "route": "/pid", "status": "200"}
SLOW_ROUTE = {"method": "GET", "route": "/slow", "status": "200"}


def answers_by_pid(bolt: BoltProcess, pids: int = 2, limit: int = 400) -> dict[int, int]:
    """GET /pid on fresh connections until ``pids`` processes have answered; count by pid."""
    counts: dict[int, int] = {}
    for _ in range(limit):
        # A fresh connection each time: the kernel spreads them over both processes.
        response = http_get(bolt.host, bolt.port, "/pid")
        assert response.status == 200
        pid = response.json()["pid"]
        counts[pid] = counts.get(pid, 0) + 1
        if len(counts) >= pids and sum(counts.values()) >= 20:
            break
    assert len(counts) >= pids, f"only {counts} answered\n{bolt.describe()}"
    return counts


def scrape_until(bolt: BoltProcess, predicate: Callable[[str], bool], what: str) -> str:
    """Scrape until ``predicate`` holds (other workers write their counts once a second)."""
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        response = bolt.get("/metrics")
        assert response.status == 200
        text = response.body.decode()
        if predicate(text):
            return text
        time.sleep(0.2)
    pytest.fail(f"metrics never showed {what}:\n{text}\n{bolt.describe()}")


# Workers forked from the parent, or fresh interpreters under a supervisor that imported no
# project (and so imports prometheus_client only for this).
PRELOAD = pytest.mark.parametrize("preload", ["--preload", "--no-preload"])


@PRELOAD
def test_one_scrape_sees_both_processes(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path, preload: str
) -> None:
    stale = tmp_path / "counter_1.db"
    stale.write_bytes(b"left over by an earlier run")
    bolt = run_bolt(
        preload,
        "--processes",
        "2",
        "--metrics-path",
        "/metrics",
        "--respawn-failed-workers",
        env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
    )
    assert not stale.exists(), "the supervisor clears an earlier run's files"
    counts = answers_by_pid(bolt)
    total = sum(counts.values())
    text = scrape_until(
        bolt,
        lambda t: sample(t, "bolt_http_requests_total", **PID_ROUTE) == total,
        f"{total} GET /pid ({counts})",
    )
    assert sample(text, "bolt_http_request_duration_seconds_count", **PID_ROUTE) == total
    assert {p.name for p in tmp_path.glob("counter_*.db")} >= {
        f"counter_{pid}.db" for pid in counts
    }
    assert sample(text, "bolt_worker_restarts_total", reason="crash") == 0

    # A request in progress is in flight, whichever worker has it.
    slow = threading.Thread(target=http_get, args=(bolt.host, bolt.port, "/slow?seconds=3"))
    slow.start()
    try:
        scrape_until(
            bolt, lambda t: sample(t, "bolt_http_requests_in_flight") >= 2, "the slow request"
        )
    finally:
        slow.join(10)
    scrape_until(
        bolt, lambda t: sample(t, "bolt_http_requests_total", **SLOW_ROUTE) == 1, "/slow counted"
    )

    # A worker dies: its replacement is counted, and what the dead one served stays counted.
    victim = next(iter(counts))
    os.kill(victim, signal.SIGKILL)
    bolt.wait_output(f"Worker {victim} died (killed by SIGKILL); respawning it.")
    bolt.wait_for(lambda: len(bolt.worker_pids()) == 2, 10, "the replacement")
    assert not (tmp_path / f"gauge_livesum_{victim}.db").exists()
    text = scrape_until(
        bolt,
        lambda t: sample(t, "bolt_worker_restarts_total", reason="crash") == 1,
        "the restart",
    )
    assert sample(text, "bolt_http_requests_total", **PID_ROUTE) == total
    assert sample(text, "bolt_http_requests_total", **SLOW_ROUTE) == 1
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0
    assert tmp_path.is_dir(), "a directory the user named is kept"


@PRELOAD
def test_the_supervisor_makes_and_removes_its_own_directory(
    run_bolt: Callable[..., BoltProcess], preload: str
) -> None:
    pattern = os.path.join(tempfile.gettempdir(), "django-bolt-metrics-*")
    before = set(glob.glob(pattern))
    bolt = run_bolt(
        preload,
        "--processes",
        "2",
        "--metrics-path",
        "/metrics",
        "--no-access-log",
        env={"PROMETHEUS_MULTIPROC_DIR": None},
    )
    made = set(glob.glob(pattern)) - before
    assert len(made) == 1, made
    directory = made.pop()
    text = scrape_until(bolt, lambda t: "bolt_http_connections_open" in t, "the gauges")
    assert sample(text, "bolt_http_connections_open") >= 1
    assert glob.glob(os.path.join(directory, "counter_*.db"))
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0
    assert not os.path.exists(directory), "the directory the supervisor made is removed at exit"


def test_a_worker_that_stops_writes_its_last_counts(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    bolt = run_bolt("--metrics-path", "/metrics", env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    for _ in range(7):
        assert bolt.get("/version").status == 200
    bolt.send_signal(signal.SIGTERM)  # well within the second between two periodic writes
    assert bolt.wait(30) == 0
    text = metrics.render(str(tmp_path)).decode()
    version = {"method": "GET", "route": "/version", "status": "200"}
    assert sample(text, "bolt_http_requests_total", **version) == 7
