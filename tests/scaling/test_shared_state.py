"""State written through one host is seen by the other: sessions, JWT revocations, rate limits.

Host A (127.0.0.2) and host B (127.0.0.3) are two runbolt processes of the same project
(tests/scaling/project) whose only common ground is PostgreSQL (sessions, users) and Redis
(the rate-limit buckets and the revoked JWT ids, through Django's cache).
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import bolt_processes
from tests.scaling.conftest import HOST_ADDRESSES, PASSWORD, PROJECT, USERNAME, call

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import BoltProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

# tests/scaling/project/sharedproject/api.py
RPS = 1
BURST = 6


@pytest.fixture(scope="module")
def hosts(shared_state: dict[str, str]) -> Iterator[tuple[BoltProcess, BoltProcess]]:
    """Host A and host B, for every test of the module (each test uses state of its own)."""
    with bolt_processes() as start:
        a, b = (
            start(
                *("--host", HOST_ADDRESSES[name], "--processes", "1"),
                env={**shared_state, "BOLT_TEST_HOST": name},
                cwd=PROJECT,
            )
            for name in "ab"
        )
        assert (a.host, b.host) == ("127.0.0.2", "127.0.0.3")
        assert call(a, "GET", "/version").json()["host"] == "a"
        assert call(b, "GET", "/version").json()["host"] == "b"
        yield a, b


def test_a_session_written_through_one_host_is_read_through_the_other(
    hosts: tuple[BoltProcess, BoltProcess],
) -> None:
    a, b = hosts
    written = call(a, "PUT", "/cart", {"items": ["tea", "scones"]})
    assert written.status == 200, written.body
    morsel = SimpleCookie(written.headers["set-cookie"])["sessionid"]
    cookie = {"Cookie": f"sessionid={morsel.value}"}

    read = call(b, "GET", "/cart", headers=cookie)
    assert read.json() == {"items": ["tea", "scones"], "host": "b"}
    # B changes it, A sees the change: one session, wherever the request lands.
    assert call(b, "PUT", "/cart", {"items": ["jam"]}, headers=cookie).status == 200
    assert call(a, "GET", "/cart", headers=cookie).json() == {"items": ["jam"], "host": "a"}
    # Without the cookie, each host starts an empty session (the state is the cookie's).
    assert call(b, "GET", "/cart").json() == {"items": [], "host": "b"}


def test_a_token_revoked_through_one_host_is_refused_by_the_other(
    hosts: tuple[BoltProcess, BoltProcess],
) -> None:
    a, b = hosts
    login = call(a, "POST", "/login", {"username": USERNAME, "password": PASSWORD})
    assert login.status == 200, login.body
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    other = call(b, "POST", "/login", {"username": USERNAME, "password": PASSWORD}).json()
    other_bearer = {"Authorization": f"Bearer {other['access_token']}"}

    # A token A issued is good on B (same secret, the user is in the shared database).
    assert call(b, "GET", "/me", headers=bearer).json() == {"username": USERNAME, "host": "b"}
    assert call(a, "POST", "/logout", headers=bearer).status == 200

    refused = call(b, "GET", "/me", headers=bearer)
    assert refused.status == 401, refused.body
    assert call(a, "GET", "/me", headers=bearer).status == 401
    # Only that token: the other one is still accepted by both hosts.
    assert call(b, "GET", "/me", headers=other_bearer).status == 200
    assert call(a, "GET", "/me", headers=other_bearer).status == 200
    assert call(b, "POST", "/login", {"username": USERNAME, "password": "wrong"}).status == 401


def test_requests_spread_over_both_hosts_share_one_rate_limit(
    hosts: tuple[BoltProcess, BoltProcess],
) -> None:
    admitted = {"a": 0, "b": 0}
    limited = {"a": 0, "b": 0}
    started = time.monotonic()
    # Twice the burst, alternating: per-host buckets would admit all of them.
    for i in range(4 * BURST):
        name, host = ("a", hosts[0]) if i % 2 == 0 else ("b", hosts[1])
        response = call(host, "GET", "/limited")
        if response.status == 200:
            assert response.json() == {"host": name}
            admitted[name] += 1
        else:
            assert response.status == 429, response.body
            assert response.headers["x-ratelimit-limit"] == str(RPS)
            limited[name] += 1
    elapsed = time.monotonic() - started

    assert admitted["a"] > 0 and admitted["b"] > 0, admitted
    assert limited["a"] > 0 and limited["b"] > 0, limited
    # One bucket: the burst plus what refilled meanwhile (the test's own duration).
    assert BURST <= sum(admitted.values()) <= BURST + RPS * elapsed + 1, (admitted, elapsed)
