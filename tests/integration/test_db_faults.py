"""runbolt under load while PostgreSQL drops its connections or restarts.

The server is started once per test and never restarted: after the database is back, requests
succeed again on their own (the broken connections are dropped at the next request boundary),
and while it is away every answer is a prompt JSON 500/503, never a hang. No database connection
of the parent process crosses the fork into the workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import skip_or_fail
from tests.integration.conftest import http_get

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.integration.conftest import BoltProcess

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.slow]

PROJECT = Path(__file__).parent / "dbproject"
PATHS = ("/db/async", "/db/sync")
# A client waits this long for an answer; longer counts as a hang.
ANSWER_WITHIN_S = 10.0
# How long the server gets to answer 200 again once the database is back.
RECOVER_WITHIN_S = 30.0


class DatabaseLoad:
    """Client threads hitting the database endpoints on fresh connections; every outcome kept."""

    def __init__(self, bolt: BoltProcess, threads_per_path: int = 2) -> None:
        self.bolt = bolt
        self.stop = threading.Event()
        self._lock = threading.Lock()
        # (monotonic time, path, status or -1 for no answer, body or error text)
        self.outcomes: list[tuple[float, str, int, str]] = []
        self._threads = [
            threading.Thread(target=self._run, args=(path,), daemon=True)
            for path in PATHS
            for _ in range(threads_per_path)
        ]

    def _run(self, path: str) -> None:
        while not self.stop.is_set():
            try:
                response = http_get(self.bolt.host, self.bolt.port, path, timeout=ANSWER_WITHIN_S)
                outcome = (time.monotonic(), path, response.status, response.body.decode())
            except OSError as exc:
                outcome = (time.monotonic(), path, -1, repr(exc))
            with self._lock:
                self.outcomes.append(outcome)
            time.sleep(0.01)

    def since(self, start: float) -> list[tuple[float, str, int, str]]:
        with self._lock:
            return [o for o in self.outcomes if o[0] >= start]

    def wait_for_success(self, start: float, timeout: float) -> None:
        """Until every path answered 200 after ``start``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = {path for _, path, status, _ in self.since(start) if status == 200}
            if ok == set(PATHS):
                return
            time.sleep(0.1)
        summary = Counter((p, s) for _, p, s, _ in self.since(start))
        pytest.fail(f"no 200 from every path within {timeout} s: {summary}\n{self.bolt.describe()}")

    def __enter__(self) -> DatabaseLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(ANSWER_WITHIN_S + 5)


def _admin(dsn: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description is not None else []


def _backends(dsn: str, database: str) -> int:
    rows = _admin(
        dsn,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        database,
    )
    return int(rows[0][0])


def _postgres_is_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


def _wait_postgres(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _postgres_is_up():
        if time.monotonic() > deadline:
            pytest.fail("PostgreSQL did not come back")
        time.sleep(0.2)


@pytest.fixture
def pg_database(postgres_dsn: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh database with the auth tables migrated; (name, the environment runbolt needs)."""
    name = f"bolt_faults_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(postgres_dsn, f'CREATE DATABASE "{name}"')
    env = {"BOLT_TEST_PG_NAME": name, "PYTHONPATH": _pythonpath()}
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=PROJECT,
            env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "dbproject.settings"},
            check=True,
            timeout=120,
        )
        yield name, env
    finally:
        if not _postgres_is_up():
            _start_postgres()
        _admin(postgres_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pythonpath() -> str:
    root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return root if not existing else f"{root}{os.pathsep}{existing}"


def _cluster() -> tuple[str, str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    for version in reversed(versions):
        if os.path.isdir(f"/etc/postgresql/{version}/main"):
            return version, "main"
    skip_or_fail("no Debian PostgreSQL cluster to restart (/etc/postgresql/<version>/main)")
    raise AssertionError("unreachable")  # pragma: no cover - skip_or_fail raises


def _start_postgres() -> None:
    version, cluster = _cluster()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "start"],
        timeout=60,
        check=False,
    )
    _wait_postgres(60)


def _check_outage_answers(outcomes: list[tuple[float, str, int, str]]) -> Counter[int]:
    """Every answer a 200, or a JSON 500/503 with a detail; no hang, no dropped connection."""
    statuses: Counter[int] = Counter()
    for _, path, status, body in outcomes:
        statuses[status] += 1
        assert status in (200, 500, 503), f"{path}: {status} {body}"
        payload = json.loads(body)
        if status == 200:
            assert payload["groups"] == 0
        else:
            assert payload == {"detail": "Internal Server Error"} or "detail" in payload
    return statuses


def test_no_connection_crosses_the_fork(
    run_bolt: Callable[..., BoltProcess],
    pg_database: tuple[str, dict[str, str]],
    postgres_dsn: str,
) -> None:
    name, env = pg_database
    # The system checks and the migration check open a connection in the parent.
    bolt = run_bolt("--processes", "2", env=env, cwd=PROJECT)
    assert "unapplied migration" not in bolt.stdout
    # Only /hello (no query) was asked: any connection now would be the parent's.
    assert _backends(postgres_dsn, name) == 0
    for path in PATHS:
        assert bolt.get(path).json()["groups"] == 0


def test_requests_recover_after_terminated_connections_and_a_restart(
    run_bolt: Callable[..., BoltProcess],
    pg_database: tuple[str, dict[str, str]],
    postgres_dsn: str,
) -> None:
    name, env = pg_database
    bolt = run_bolt("--processes", "2", env=env, cwd=PROJECT)
    workers = bolt.worker_pids()
    version, cluster = _cluster()
    with DatabaseLoad(bolt) as load:
        load.wait_for_success(0.0, RECOVER_WITHIN_S)

        # 1. Every connection of the server killed from under it (persistent: CONN_MAX_AGE=60).
        killed_at = time.monotonic()
        assert _backends(postgres_dsn, name) >= 1
        _admin(
            postgres_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            name,
        )
        time.sleep(0.5)
        load.wait_for_success(time.monotonic(), RECOVER_WITHIN_S)
        after_kill = _check_outage_answers(load.since(killed_at))
        # Without health checks the first query on each dead connection fails (cleanly), and
        # the connection is dropped after it: that path, not a ping, brought the 200s back.
        assert after_kill[500] + after_kill[503] >= 1

        # 2. PostgreSQL itself restarted.
        restarted_at = time.monotonic()
        try:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
                timeout=60,
                check=True,
            )
        finally:
            _wait_postgres(60)
        back_at = time.monotonic()
        load.wait_for_success(back_at, RECOVER_WITHIN_S)
        time.sleep(0.5)
    statuses = _check_outage_answers(load.since(restarted_at))
    assert statuses[200] > 0
    # The same processes served throughout: nothing was restarted to recover.
    assert bolt.worker_pids() == workers
    assert bolt.proc.poll() is None
