"""SIGHUP reloads the code: real runbolt processes serving a copy of the test project whose
``api.py`` the tests edit on disk, as a deploy would."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import pytest

from tests.integration.projects import Project
from tests.integration.test_signals import ClientLoop

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

THREADS = 4


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def versions(answers: list[dict[str, object]]) -> list[object]:
    return [answer["version"] for answer in answers]


def wait_gone(bolt: BoltProcess, pids: set[int]) -> None:
    """Until the old workers have drained (answering what they accepted) and exited."""
    bolt.wait_for(lambda: not set(bolt.worker_pids()) & pids, 30, "the old workers to exit")


def test_sighup_serves_the_new_code_without_a_failed_request(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks", cwd=project.root)
    before = set(bolt.worker_pids())
    with ClientLoop(bolt, threads=THREADS, path="/version") as load:
        bolt.wait_for(lambda: load.ok > 20, 10, "the client loop to run")
        project.deploy("2")
        bolt.send_signal(signal.SIGHUP)
        bolt.wait_output("Reload complete", 60)
        wait_gone(bolt, before)
        done = len(load.answers)
        bolt.wait_for(lambda: load.ok > done + 40, 10, "the new workers to serve")
    assert load.failures == []
    seen = versions(load.answers)
    assert seen[0] == "1"
    assert "2" in seen[:done]  # the first new worker served while the second slot rolled
    # At most one answer per client thread was on its way from an old worker as it exited;
    # every later one comes from the new code.
    assert set(seen[done + THREADS :]) == {"2"}
    assert len(bolt.worker_pids()) == 2
    assert bolt.proc.poll() is None


def test_new_code_that_fails_to_import_leaves_the_old_workers_serving(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks", cwd=project.root)
    before = set(bolt.worker_pids())
    with ClientLoop(bolt, threads=THREADS, path="/version") as load:
        bolt.wait_for(lambda: load.ok > 20, 10, "the client loop to run")
        project.deploy_syntax_error()
        bolt.send_signal(signal.SIGHUP)
        bolt.wait_output("reload abandoned", 60)
        served = load.ok
        bolt.wait_for(lambda: load.ok > served + 20, 10, "the old workers to go on serving")
    assert load.failures == []
    assert set(versions(load.answers)) == {"1"}
    assert set(bolt.worker_pids()) == before
    stderr = bolt.stderr
    assert "SyntaxError" in stderr
    assert "could not load the application" in stderr
    assert stderr.count("failed to start (exit code 3)") == 1  # the round stopped at once
    assert "Reload complete" not in stderr
    # Once the deploy is fixed, the next SIGHUP reloads.
    project.deploy("3")
    bolt.send_signal(signal.SIGHUP)
    bolt.wait_output("Reload complete", 60)
    wait_gone(bolt, before)
    assert {bolt.get("/version").json()["version"] for _ in range(10)} == {"3"}
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0


def test_recycling_forks_the_loaded_code_until_a_reload_then_keeps_the_new_code(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt(
        "--preload", "--processes", "1", "--max-requests", "10", "--skip-checks",
        cwd=project.root,
    )  # fmt: skip
    # Code on disk changes without a SIGHUP: recycled workers are forks of the parent, so they
    # go on serving the code the server started with.
    project.deploy("2")
    with ClientLoop(bolt, threads=2, path="/version") as load:
        bolt.wait_for(lambda: bolt.stderr.count("Recycling worker") >= 2, 30, "two recyclings")
    assert load.failures == []
    assert set(versions(load.answers)) == {"1"}
    before = set(bolt.worker_pids())
    bolt.send_signal(signal.SIGHUP)
    bolt.wait_output("Reload complete", 60)
    wait_gone(bolt, before)
    # A replacement forked for a recycling that was under way at the SIGHUP is not in
    # ``before``; it drains (answering what it accepted, with the old code) once the fresh
    # worker serves. Only the fresh worker may be left before the code is checked.
    bolt.wait_for(lambda: len(bolt.worker_pids()) == 1, 30, "the one fresh worker alone")
    recycled = bolt.stderr.count("Recycling worker")
    # After the reload a fork would bring version 1 back: replacements are fresh interpreters.
    with ClientLoop(bolt, threads=2, path="/version") as load:
        bolt.wait_for(
            lambda: bolt.stderr.count("Recycling worker") >= recycled + 2, 30, "two recyclings"
        )
    assert load.failures == []
    assert set(versions(load.answers)) == {"2"}


def test_without_preload_a_recycled_worker_runs_the_code_on_disk(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    # The default with one process: the parent imported no project, so every worker, a recycled
    # one too, is a fresh interpreter that imports what is on disk when it starts.
    bolt = run_bolt("--processes", "1", "--max-requests", "10", "--skip-checks", cwd=project.root)
    assert bolt.get("/version").json()["version"] == "1"
    project.deploy("2")
    with ClientLoop(bolt, threads=2, path="/version") as load:
        bolt.wait_for(lambda: bolt.stderr.count("Recycling worker") >= 1, 30, "a recycling")
        bolt.wait_for(lambda: "2" in versions(load.answers), 30, "the new code to serve")
    assert load.failures == []
    assert set(versions(load.answers)) == {"1", "2"}
    # Once the first worker has drained, only the new code answers (a later recycling starts
    # from disk again, so it too serves version 2).
    bolt.wait_for(lambda: len(bolt.worker_pids()) == 1, 30, "the old worker to exit")
    assert {bolt.get("/version").json()["version"] for _ in range(5)} == {"2"}
