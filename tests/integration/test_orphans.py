"""A worker whose parent died exits promptly instead of serving on as an orphan.

The parent is SIGKILLed (an operator's ``kill -9``, the OOM killer, a process manager without
``killasgroup``) while a slow request is in flight: the worker drains only briefly (nobody is
left to SIGKILL it after ``--workers-kill-timeout``), then exits, and the port is free for the
server that replaces it.
"""

from __future__ import annotations

import os
import signal
import socket
from typing import TYPE_CHECKING

import pytest

from tests.integration.test_signals import _alive, in_background

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

# Well under the 29 s an ordinary drain may last with the default --workers-kill-timeout (30 s),
# well over the orphan's drain (a few seconds).
ORPHAN_GONE_WITHIN_S = 15


def refuses_connections(bolt: BoltProcess) -> bool:
    try:
        socket.create_connection((bolt.host, bolt.port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def kill_parent_with_a_request_in_flight(bolt: BoltProcess, tmp_path: Path) -> list[int]:
    """SIGKILL runbolt's parent while a 60 s request runs in a worker; return the workers."""
    workers = bolt.worker_pids()
    assert workers
    mark = tmp_path / "in-flight"
    thread, result = in_background(lambda: bolt.get(f"/slow?seconds=60&mark={mark}", timeout=70))
    bolt.wait_for(mark.exists, 10, "the slow request to reach a worker")
    os.kill(bolt.pid, signal.SIGKILL)
    bolt.wait(10)
    for pid in workers:
        bolt.wait_for(lambda p=pid: not _alive(p), ORPHAN_GONE_WITHIN_S, f"orphan {pid} to exit")
    thread.join(10)
    (outcome,) = result
    assert isinstance(outcome, Exception)  # cut after the brief drain, never answered
    assert refuses_connections(bolt)
    return workers


@pytest.mark.parametrize(
    ("preload", "reloaded"),
    [("--preload", False), ("--preload", True), ("--no-preload", False)],
    ids=["forked", "fresh-interpreter", "fresh-from-the-start"],
)
def test_orphaned_worker_drains_briefly_and_frees_the_port(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path, preload: str, reloaded: bool
) -> None:
    # Without --preload the parent is the small supervisor interpreter runbolt execs into.
    bolt = run_bolt(preload, "--processes", "2", "--skip-checks")
    if reloaded:
        # Workers started on SIGHUP are exec'd interpreters: the parent-death signal and the
        # parent's pid must survive the exec.
        bolt.send_signal(signal.SIGHUP)
        bolt.wait_output("Reload complete", 60)
        bolt.wait_for(lambda: len(bolt.worker_pids()) == 2, 30, "the old workers to drain")
    kill_parent_with_a_request_in_flight(bolt, tmp_path)
    again = run_bolt("--port", str(bolt.port), "--skip-checks")
    assert again.get("/hello").status == 200


def test_dev_server_exits_when_its_watcher_dies(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    bolt = run_bolt("--dev", "--skip-checks")
    kill_parent_with_a_request_in_flight(bolt, tmp_path)
