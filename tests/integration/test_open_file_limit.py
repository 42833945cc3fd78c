"""runbolt raises its soft open-file limit to the hard one before it starts any worker.

Every connection costs a descriptor: a worker left at a distribution's soft limit (often 1024)
refuses clients long before the machine runs short. The test starts runbolt under a low soft
limit and reads the limits of the real processes from /proc.
"""

from __future__ import annotations

import resource
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/limits"),
]

LOW_SOFT_LIMIT = 256


def open_file_limits(pid: int) -> tuple[int, int]:
    """(soft, hard) RLIMIT_NOFILE of process ``pid``."""
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError(f"no open-file limit for {pid}")


@pytest.mark.parametrize(
    "flags",
    [pytest.param(("--processes", "2"), id="workers"), pytest.param(("--dev",), id="dev")],
)
def test_soft_open_file_limit_is_raised_to_the_hard_limit(
    run_bolt: Callable[..., BoltProcess], flags: tuple[str, ...]
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= LOW_SOFT_LIMIT:
        pytest.skip(f"the hard limit here ({hard}) leaves nothing to raise")
    # Inherited by runbolt, as from a shell or a unit without LimitNOFILE.
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_SOFT_LIMIT, hard))
    try:
        bolt = run_bolt(*flags, "--skip-checks", "--log-level", "debug")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    workers = bolt.worker_pids()
    assert workers
    for pid in [bolt.pid, *workers]:
        assert open_file_limits(pid) == (hard, hard), pid
    assert f"open-file limit raised from {LOW_SOFT_LIMIT} to {hard}" in bolt.stderr
