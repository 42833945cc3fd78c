"""A rolling restart behind nginx with no failed request, thanks to readiness while draining.

Two runbolt backends sit in one nginx ``upstream``, with ``proxy_next_upstream off``: nginx
never retries, so a request it sends to a backend that no longer accepts is a 502 for the
client. A health checker (what a load balancer's active checks do) probes each backend's
``/ready`` and keeps nginx's upstream to the ready ones (rewriting it and reloading nginx).
Each backend in turn gets SIGTERM and is started again; with ``--drain-delay`` it keeps
serving while its ``/ready`` answers ``503 draining``, so the checker takes it out before it
stops accepting. A client loop through nginx sees no failure.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from typing import TYPE_CHECKING

import pytest

from tests.integration.balancing import Clients, nginx, probe_ready
from tests.integration.conftest import free_port
from tests.integration.projects import Project
from tests.integration.test_nginx import Nginx, render_conf

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ("nginx",)

EXTRA_API = """

from django_bolt.health import register_health_checks as _register_health_checks

_register_health_checks(api)
"""
DRAIN_DELAY = "4"


class Balancer:
    """nginx plus an active health checker that keeps only ready backends in the upstream."""

    def __init__(self, nginx: Nginx, ports: list[int]) -> None:
        self.nginx = nginx
        self.ports = ports
        self.up = set(ports)
        self.seen: dict[int, list[str]] = {port: [] for port in ports}
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def write_conf(self) -> None:
        text = render_conf(self.nginx.prefix, self.ports[0], self.nginx.port, keepalive=True)
        servers = "\n".join(
            f"    server 127.0.0.1:{port}{'' if port in self.up else ' down'};"
            for port in self.ports
        )
        text = text.replace(f"    server 127.0.0.1:{self.ports[0]};", servers)
        text = text.replace(
            "        proxy_pass http://django_bolt;",
            "        proxy_pass http://django_bolt;\n        proxy_next_upstream off;",
        )
        self.nginx.conf.write_text(text)

    def _run(self) -> None:
        while not self.stop.is_set():
            ready = set()
            for port in self.ports:
                status, state = probe_ready(port)
                self.seen[port].append(state)
                if status == 200:
                    ready.add(port)
            if ready and ready != self.up:
                self.up = ready
                self.write_conf()
                assert self.nginx.proc is not None
                os.kill(self.nginx.proc.pid, signal.SIGHUP)  # nginx re-reads its upstream
            self.stop.wait(0.1)

    def __enter__(self) -> Balancer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(10)


def test_a_rolling_restart_behind_nginx_fails_no_request(
    run_bolt: Callable[..., BoltProcess], nginx: Nginx, tmp_path: Path
) -> None:
    project = Project(tmp_path / "project", extra_api=EXTRA_API)
    ports = [free_port(), free_port()]
    args = ("--processes", "1", "--skip-checks", "--drain-delay", DRAIN_DELAY)

    def start(port: int) -> BoltProcess:
        return run_bolt(*args, "--port", str(port), cwd=project.root)

    backends = {port: start(port) for port in ports}
    balancer = Balancer(nginx, ports)
    balancer.write_conf()
    nginx.start()
    with balancer, Clients(nginx.port) as clients:
        first = backends[ports[0]]
        first.wait_for(lambda: clients.ok > 20, 15, "the clients to run")
        for port in ports:
            old = backends[port]
            old.send_signal(signal.SIGTERM)
            old.wait_for(lambda port=port: port not in balancer.up, 10, "the checker to drop it")
            assert old.wait(30) == 0
            backends[port] = start(port)
            old.wait_for(lambda port=port: port in balancer.up, 15, "the checker to take it back")
            served = clients.ok
            old.wait_for(lambda served=served: clients.ok > served + 20, 15, "more requests")
    assert clients.failures == []
    for port in ports:
        # Each backend was seen ready, then draining (503, still answering), then ready again.
        states = [state for state, _ in itertools.groupby(balancer.seen[port])]
        assert "draining" in states, states
        assert states.index("draining") > states.index("healthy")
        assert states[-1] == "healthy"
