"""Helpers for tests that put several runbolt backends behind a real nginx.

``nginx`` (fixture): an :class:`~tests.integration.test_nginx.Nginx` with its own prefix and
port, not started, stopped at teardown. ``probe_ready(port, host=...)``: one ``/ready``.
``Clients``: threads sending requests through nginx until stopped, keeping every failure and
every answer.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from typing import TYPE_CHECKING

import pytest

from tests.conftest import find_program
from tests.integration.conftest import free_port
from tests.integration.test_nginx import Nginx

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

__all__ = ("Clients", "nginx", "probe_ready")


def probe_ready(port: int, host: str = "127.0.0.1") -> tuple[int, str]:
    """One /ready on a fresh connection: (status, the JSON's "status"), or (0, error)."""
    conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("GET", "/ready")
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body).get("status", "")
    except (OSError, ValueError) as exc:
        return 0, type(exc).__name__
    finally:
        conn.close()


class Clients:
    """Requests through nginx from a few threads until stopped; every failure is kept.

    Each thread sends ``requests`` (method, path) in turn, a fresh connection each; ``answers``
    holds the bodies of the 200s in the order they arrived.
    """

    def __init__(
        self,
        port: int,
        threads: int = 3,
        requests: Sequence[tuple[str, str]] = (("GET", "/hello"),),
    ) -> None:
        self.port = port
        self.requests = requests
        self.ok = 0
        self.failures: list[str] = []
        self.answers: list[bytes] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _one(self, method: str, path: str) -> tuple[str | None, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            body = b"ping" if method != "GET" else None
            conn.request(method, path, body=body, headers={"Host": "api.example.com"})
            response = conn.getresponse()
            data = response.read()
            return (None if response.status == 200 else f"status {response.status}"), data
        except OSError as exc:
            return f"{method} {path}: {exc!r}", b""
        finally:
            conn.close()

    def _run(self) -> None:
        for method, path in itertools.cycle(self.requests):
            if self.stop.is_set():
                return
            outcome, data = self._one(method, path)
            with self._lock:
                if outcome is None:
                    self.ok += 1
                    self.answers.append(data)
                else:
                    self.failures.append(outcome)

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(15)


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    binary = find_program("nginx", "dev.py test installs Debian's nginx-light")
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    server = Nginx(binary, prefix, prefix / "nginx.conf", free_port())
    yield server
    server.stop()
