"""docs/scaling.md's rolling deploy, run: nginx with the page's block, two hosts, new code.

nginx runs the page's ``upstream`` and ``server`` blocks with only the addresses and the listen
port changed; the hosts run the flags and environment of the page's systemd units (addresses
and port changed, one process each), each from its own copy of the project, like two machines.
The deploy is the page's script: the same ``sed`` edits of the nginx config and ``nginx -s
reload``, then a restart of the host on a new version of the code (SIGTERM, as ``systemctl
restart`` sends), a wait for its ``/ready``, and the host put back. Client threads send GETs and
POSTs through nginx the whole time: none fails, and the answers move from version 1 to 2.

The other tests check the numbers the page's units and manifests must agree on.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.integration.balancing import Clients, nginx, probe_ready
from tests.integration.projects import Project
from tests.integration.test_nginx import http_conf
from tests.scaling.conftest import HOST_ADDRESSES, PROJECT
from tests.scaling.docs_config import (
    DOC_HOSTS,
    NGINX_ADDRESS,
    PORT,
    deploy_sed_lines,
    exec_start_flags,
    manifests,
    nginx_site,
    runbolt_flags,
    server_config,
    unit_environment,
    unit_texts,
    units,
    with_values,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess
    from tests.integration.test_nginx import Nginx

__all__ = ("nginx",)

NEW_VERSION = "2"
# Seconds a reaped worker may add to the kill timeout before the parent exits.
REAP_S = 5


def free_port_on(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


class Site:
    """The page's nginx block for the test's hosts, and the deploy script's edits of it."""

    def __init__(self, nginx: Nginx, ports: dict[str, int]) -> None:
        self.nginx = nginx
        self.upstream = {name: f"{HOST_ADDRESSES[name]}:{ports[name]}" for name in ports}
        site = nginx_site()
        for doc_host, name in zip(DOC_HOSTS, ("a", "b"), strict=True):
            assert site.count(f"server {doc_host}:{PORT} ") == 1
            site = site.replace(f"server {doc_host}:{PORT} ", f"server {self.upstream[name]} ")
        assert site.count("listen 80;") == 1
        site = site.replace("listen 80;", f"listen 127.0.0.1:{nginx.port};")
        nginx.conf.write_text(http_conf(nginx.prefix, site))

    def server_line(self, name: str) -> str:
        (line,) = [
            line.strip()
            for line in self.nginx.conf.read_text().splitlines()
            if f"server {self.upstream[name]} " in line
        ]
        return line

    def edit(self, name: str, *, take_out: bool) -> None:
        """Run the script's ``sed`` line on the config, then ``nginx -s reload``."""
        line = deploy_sed_lines()[0 if take_out else 1]
        command = (
            line.removeprefix("sudo ")
            .replace(f"$host:{PORT}", self.upstream[name])
            .replace("/etc/nginx/conf.d/django-bolt.conf", str(self.nginx.conf))
        )
        subprocess.run(["bash", "-c", command], check=True, timeout=10)
        assert self.server_line(name).endswith(" down;") == take_out, self.server_line(name)
        reload = [self.nginx.binary, "-p", str(self.nginx.prefix), "-c", str(self.nginx.conf)]
        subprocess.run([*reload, "-s", "reload"], check=True, timeout=10, capture_output=True)


def answered(clients: Clients, start: int = 0) -> list[tuple[str, str]]:
    """(host, version) of each answer from index ``start`` on."""
    return [(a["host"], a["version"]) for a in map(json.loads, clients.answers[start:])]


def test_a_rolling_deploy_behind_nginx_fails_no_request_and_switches_version(
    run_bolt: Callable[..., BoltProcess],
    shared_state: dict[str, str],
    nginx: Nginx,
    tmp_path: Path,
) -> None:
    host_units = dict(zip(("a", "b"), units(), strict=True))
    projects = {
        name: Project(tmp_path / name, source=PROJECT, package="sharedproject") for name in "ab"
    }
    ports = {name: free_port_on(HOST_ADDRESSES[name]) for name in "ab"}

    def start(name: str) -> BoltProcess:
        unit = host_units[name]
        flags = with_values(
            exec_start_flags(unit), host=HOST_ADDRESSES[name], port=str(ports[name]), processes="1"
        )
        # The unit trusts nginx's address; here nginx reaches the hosts from 127.0.0.1.
        env = {k: v.replace(NGINX_ADDRESS, "127.0.0.1") for k, v in unit_environment(unit).items()}
        return run_bolt(
            *flags, env={**shared_state, **env, "BOLT_TEST_HOST": name}, cwd=projects[name].root
        )

    hosts = {name: start(name) for name in "ab"}
    site = Site(nginx, ports)
    checked = nginx.test_config()
    assert checked.returncode == 0, checked.stderr
    nginx.start()
    requests = (("GET", "/version"), ("POST", "/version"))
    with Clients(nginx.port, requests=requests) as clients:
        first = hosts["a"]
        first.wait_for(lambda: {"a", "b"} <= {h for h, _ in answered(clients)}, 15, "both hosts")
        for name in "ab":
            site.edit(name, take_out=True)
            projects[name].deploy(NEW_VERSION)
            old = hosts[name]
            old.send_signal(signal.SIGTERM)
            assert old.wait(40) == 0, old.describe()
            hosts[name] = start(name)
            address = HOST_ADDRESSES[name]
            old.wait_for(
                lambda name=name, address=address: probe_ready(ports[name], address)[0] == 200,
                30,
                f"host {name}'s /ready",
            )
            site.edit(name, take_out=False)
            seen = len(clients.answers)
            old.wait_for(
                lambda name=name, seen=seen: (name, NEW_VERSION) in answered(clients, seen),
                15,
                f"host {name} to answer with version {NEW_VERSION} through nginx",
            )
        done = len(clients.answers)
        first.wait_for(lambda: len(clients.answers) > done + 20, 15, "more answers")
    assert clients.failures == []
    assert {("a", "1"), ("b", "1"), ("a", "2"), ("b", "2")} <= set(answered(clients))
    # Each host switched once: no version 1 from it after its first version 2.
    for name in "ab":
        versions = [version for host, version in answered(clients) if host == name]
        switch = versions.index(NEW_VERSION)
        assert set(versions[switch:]) == {NEW_VERSION}, (name, versions)
    assert {version for _, version in answered(clients, done)} == {NEW_VERSION}


def test_the_units_differ_by_host_only_and_outlast_the_kill_timeout() -> None:
    texts = unit_texts()
    assert len(texts) == 2
    a, b = units()
    assert texts[1] == texts[0].replace(DOC_HOSTS[0], DOC_HOSTS[1]).replace("host A", "host B")
    for unit, address in ((a, DOC_HOSTS[0]), (b, DOC_HOSTS[1])):
        config = server_config(exec_start_flags(unit), unit_environment(unit))
        assert (config.host, config.port) == (address, PORT)
        assert config.forwarded_allow_ips == NGINX_ADDRESS
        assert 0 < config.drain_delay_s < config.workers_kill_timeout_s
        stop_timeout = int(a["Service"]["TimeoutStopSec"])
        assert stop_timeout >= config.workers_kill_timeout_s + REAP_S


def test_systemd_analyze_verifies_both_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for index, text in enumerate(unit_texts()):
        unit = tmp_path / f"django-bolt-{index}.service"
        # This machine's paths: verify checks that ExecStart's program exists.
        unit.write_text(
            text.replace("/srv/app/venv/bin/python", sys.executable).replace(
                "/srv/app", str(PROJECT)
            )
        )
        result = subprocess.run(
            [analyze, "verify", "--man=no", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        complaints = [line for line in result.stderr.splitlines() if unit.name in line]
        assert complaints == [], result.stderr
        assert result.returncode == 0, result.stderr


def test_the_deployment_probes_ready_and_gives_the_drain_its_time() -> None:
    objects = manifests()
    deployment, service = objects["Deployment"], objects["Service"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    argv = [*container["command"], *container["args"]]
    env = {item["name"]: item["value"] for item in container["env"]}
    config = server_config(runbolt_flags(argv), env)
    (port,) = container["ports"]
    assert port["containerPort"] == config.port
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["spec"]["selector"] == deployment["spec"]["template"]["metadata"]["labels"]

    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"] == {"path": "/ready", "port": port["name"]}
    assert liveness["httpGet"] == {"path": "/health", "port": port["name"]}
    # The probe sees a draining pod (503) while the drain delay still keeps it serving.
    assert readiness["periodSeconds"] * readiness["failureThreshold"] < config.drain_delay_s
    assert 0 < config.drain_delay_s < config.workers_kill_timeout_s

    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # The grace period runs from preStop: the sleep, the whole kill timeout, the reaping.
    needed = int(pre_stop[1]) + config.workers_kill_timeout_s + REAP_S
    assert pod["terminationGracePeriodSeconds"] >= needed
