"""Worker recycling (--max-requests, --workers-lifetime, --max-rss): spawn-first, no failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.integration.test_signals import ClientLoop

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


def test_max_requests_recycles_under_load_without_a_failed_request(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt(
        "--processes", "2", "--max-requests", "40", "--max-requests-jitter", "10", "--skip-checks"
    )  # fmt: skip
    first = set(bolt.worker_pids())
    with ClientLoop(bolt, threads=4) as load:
        # A worker keeps serving until its replacement listens, so the limit is a trigger, not
        # a cap; four distinct workers mean each slot was recycled at least once.
        bolt.wait_for(lambda: len(load.pids) >= 4, 30, "four distinct workers to answer")
    assert load.failures == []
    assert load.pids - first
    assert "Recycling worker" in bolt.stderr
    assert "served " in bolt.stderr


def test_max_requests_counts_requests_exactly(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--max-requests", "5", "--skip-checks")
    pids = [bolt.get("/pid").json()["pid"] for _ in range(4)]
    assert len(set(pids)) == 1  # /hello from the fixture + 4 = 5: the limit is reached now
    bolt.wait_for(lambda: bolt.get("/pid").json()["pid"] != pids[0], 15, "the replacement to serve")


def test_workers_lifetime_recycles_old_workers(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--workers-lifetime", "1", "--skip-checks")
    (first,) = bolt.worker_pids()
    with ClientLoop(bolt, threads=2) as load:
        bolt.wait_for(lambda: len(load.pids) >= 2, 20, "a recycled worker to serve")
    assert first in load.pids
    assert load.failures == []
    assert "lived " in bolt.stderr


def test_max_rss_recycles_a_worker_above_the_limit(run_bolt: Callable[..., BoltProcess]) -> None:
    # Every Python process is above 1 MiB resident, so each worker is recycled in turn.
    bolt = run_bolt("--max-rss", "1", "--skip-checks")
    (first,) = bolt.worker_pids()
    with ClientLoop(bolt, threads=2) as load:
        bolt.wait_for(lambda: len(load.pids) >= 2, 20, "a recycled worker to serve")
    assert first in load.pids
    assert load.failures == []
    assert "resident memory" in bolt.stderr
