"""Which process holds what: real ``runbolt`` trees, read from ``/proc``.

With one process (the default) ``runbolt`` execs, once it has checked and bound everything, into
a supervisor interpreter that imports neither Django nor the project, with the same pid, and
every worker is a fresh interpreter. With ``--preload`` (the default from two processes on) the
parent holds the project and the workers are its forks.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import BANNER

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

_PAGE = os.sysconf("SC_PAGE_SIZE")


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]


def maps(pid: int, library: str) -> bool:
    """Whether ``pid`` has a file whose path holds ``library`` mapped (an imported C module)."""
    return library in Path(f"/proc/{pid}/maps").read_text()


def resident_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


# C modules the framework and the worker import and the supervisor must not.
WORKER_ONLY = ("msgspec/_core", "uvloop/loop", "httptools/parser")
# The standard library's archive modules: tempfile and shutil import them, and they come into
# an interpreter through such imports as importlib.abc's. The supervisor uses none of them.
NOT_IN_SUPERVISOR = ("_lzma", "_bz2")


def test_one_process_runs_under_a_supervisor_that_holds_no_project(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--skip-checks")
    # The same pid as the banner's: signals, systemd and process managers address it as before.
    assert f"pid {bolt.pid}\n" in bolt.stdout
    parent = cmdline(bolt.pid)
    assert parent[1] == "-S"
    assert parent[2].endswith(os.path.join("django_bolt", "server", "bootstrap.py"))
    assert parent[3:5] == ["manage.py", "runbolt"]  # ps still shows what was started
    (worker,) = bolt.worker_pids()
    assert cmdline(worker)[-2:] == ["-m", "django_bolt.server.handover"]
    for library in WORKER_ONLY:
        assert maps(worker, library), library
        assert not maps(bolt.pid, library), library
    for library in NOT_IN_SUPERVISOR:
        assert not maps(bolt.pid, library), library
    # About 15 MiB against 60 on this project: the parent is an interpreter and a few modules.
    assert resident_bytes(bolt.pid) < resident_bytes(worker) / 2
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0


def test_preloaded_workers_are_forks_of_the_parent_that_imported_the_project(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks")
    workers = bolt.worker_pids()
    assert len(workers) == 2
    assert all(cmdline(pid) == cmdline(bolt.pid) for pid in workers)
    assert maps(bolt.pid, "msgspec/_core")
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0


def test_no_preload_with_several_processes_starts_each_worker_fresh(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "2", "--no-preload", "--respawn-failed-workers", "--skip-checks")
    workers = bolt.worker_pids()
    assert len(workers) == 2
    assert {cmdline(pid)[-1] for pid in workers} == {"django_bolt.server.handover"}
    # A crashed worker's replacement is fresh too: there is no project in the parent to fork.
    os.kill(workers[0], signal.SIGKILL)
    bolt.wait_output(f"Worker {workers[0]} died (killed by SIGKILL); respawning it.")
    bolt.wait_for(lambda: len(bolt.worker_pids()) == 2, 30, "the replacement")
    (new,) = set(bolt.worker_pids()) - set(workers)
    assert cmdline(new)[-1] == "django_bolt.server.handover"
    bolt.wait_for(lambda: bolt.get("/hello").status == 200, 10, "service")
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0


@pytest.mark.parametrize("preload", ["--preload", "--no-preload"])
def test_a_hangup_right_after_the_banner_does_not_kill_the_server(
    run_bolt: Callable[..., BoltProcess], preload: str
) -> None:
    """``systemctl reload`` during a start: the hang-up's default action would kill the server.

    Sent as soon as the banner is out, it reaches ``runbolt`` before it starts the workers
    (ignored there) or the supervisor interpreter before its handlers are set (blocked across
    the exec, then handled as a reload).
    """
    bolt = run_bolt(preload, "--processes", "1", "--skip-checks", ready=False)
    bolt.wait_output("Listening on", 30, stream="stdout")
    bolt.send_signal(signal.SIGHUP)
    match = BANNER.search(bolt.stdout)
    assert match is not None
    bolt.port = int(match.group(2))
    bolt.wait_output("] Ready: ", 60)
    assert bolt.get("/hello").status == 200
    assert bolt.proc.poll() is None
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0
