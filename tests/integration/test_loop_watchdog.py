"""A handler that blocks its event loop is reported, with its stack, by a real runbolt."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.integration.projects import Project

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

# The mistake the watchdog is there to catch: a blocking call in an async handler.
BLOCKING_ROUTE = """
import time


@api.get("/block")
async def block_the_loop(seconds: float = 2.0) -> dict[str, float]:
    time.sleep(seconds)
    return {"blocked": seconds}
"""
STALL = re.compile(r"worker \d+, django-bolt-loop-0: the event loop has been blocked for")
RECOVERY = re.compile(r"the event loop runs again after being blocked for about (\d+\.\d) s")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project", extra_api=BLOCKING_ROUTE)


def test_a_blocked_loop_is_logged_once_with_the_blocking_function(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt("--skip-checks", cwd=project.root)
    assert bolt.get("/block?seconds=2").json() == {"blocked": 2.0}
    bolt.wait_for(lambda: RECOVERY.search(bolt.stderr) is not None, 10, "the recovery line")
    log = bolt.stderr
    assert len(STALL.findall(log)) == 1, log
    # The stack names the handler and the line that blocks, once: one report per stall.
    assert log.count(", in block_the_loop\n") == 1, log
    assert "    time.sleep(seconds)\n" in log
    match = RECOVERY.search(log)
    assert match is not None
    assert 1.0 <= float(match.group(1)) <= 4.0
    # Ordinary requests stamp nothing.
    assert bolt.get("/hello").status == 200
    assert len(STALL.findall(bolt.stderr)) == 1


def test_threshold_zero_turns_the_watchdog_off(
    run_bolt: Callable[..., BoltProcess], project: Project
) -> None:
    bolt = run_bolt("--skip-checks", "--loop-stall-threshold", "0", cwd=project.root)
    assert bolt.get("/block?seconds=2").json() == {"blocked": 2.0}
    assert bolt.get("/hello").status == 200
    assert STALL.search(bolt.stderr) is None
    assert RECOVERY.search(bolt.stderr) is None
