"""Two runbolt hosts of one project sharing PostgreSQL and Redis, on two loopback addresses.

``shared_state`` (one per test session) creates a PostgreSQL database of its own, migrates it,
adds the user ``ada`` (password ``lovelace``) and picks a Redis key prefix of its own; it yields
the environment a host needs, and drops the database and deletes the keys afterwards. Host
``a`` listens on ``HOST_ADDRESSES["a"]``, host ``b`` on ``HOST_ADDRESSES["b"]``; the variable
``BOLT_TEST_HOST`` tells each its name, which its answers carry.

The two hosts listen on 127.0.0.2 and 127.0.0.3 in the machine's network namespace. Separate
network namespaces would need veth pairs and routes back to PostgreSQL and Redis, which listen
on 127.0.0.1 only: a namespace's 127.0.0.1 is its own. Distinct addresses and processes are what
the tests rely on (nothing is shared but the database and the cache).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import POSTGRES_ADDRESS, REDIS_ADDRESS, require_service
from tests.integration.conftest import Response, run_bolt

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import BoltProcess

__all__ = ("call", "run_bolt", "shared_state")

PROJECT = Path(__file__).parent / "project"
ROOT = Path(__file__).resolve().parents[2]
HOST_ADDRESSES = {"a": "127.0.0.2", "b": "127.0.0.3"}
USERNAME = "ada"
PASSWORD = "lovelace"  # a test user in a throw-away database
CREATE_USER = (
    "from django.contrib.auth.models import User; "
    f"User.objects.create_user({USERNAME!r}, password={PASSWORD!r})"
)


def call(
    bolt: BoltProcess,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request to ``bolt`` on a fresh connection, with a JSON body when ``body`` is given."""
    conn = http.client.HTTPConnection(bolt.host, bolt.port, timeout=10)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if payload is not None:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=sent)
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def _admin(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": "sharedproject.settings"},
        check=True,
        timeout=120,
    )


def _delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture(scope="session")
def shared_state() -> Iterator[dict[str, str]]:
    require_service("PostgreSQL", POSTGRES_ADDRESS)
    require_service("Redis", REDIS_ADDRESS)
    pg_host, pg_port = POSTGRES_ADDRESS
    dsn = f"postgresql://{os.environ.get('PGUSER', 'postgres')}@{pg_host}:{pg_port}/test"
    redis_host, redis_port = REDIS_ADDRESS
    redis_url = f"redis://{redis_host}:{redis_port}/15"
    token = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    name = f"bolt_scaling_{token}"
    pythonpath = os.environ.get("PYTHONPATH")
    env = {
        "BOLT_TEST_PG_NAME": name,
        "BOLT_TEST_REDIS_URL": redis_url,
        "BOLT_TEST_REDIS_PREFIX": f"bolt-scaling-{token}",
        "PYTHONPATH": str(ROOT) if not pythonpath else f"{ROOT}{os.pathsep}{pythonpath}",
    }
    _admin(dsn, f'CREATE DATABASE "{name}"')
    try:
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "shell", "-c", CREATE_USER)
        yield env
    finally:
        _admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _delete_keys(redis_url, env["BOLT_TEST_REDIS_PREFIX"])
