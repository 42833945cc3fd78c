"""supervisor (PyPI) running runbolt with the deployment guide's [program:django-bolt] block.

Paths are adapted (the venv's python, the test project, log files in a temp dir) and the port
is a free one; every other line is the guide's. supervisord runs in the foreground with its own
config and unix socket, so the test never touches a system supervisor.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import find_program
from tests.integration.conftest import PROJECT_DIR, bolt_env, free_port, http_get

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_18fbebdde3631585.txt"
SEED_PROGRAM = """[program:django-bolt]
command=/path/to/venv/bin/python manage.py runbolt --host 127.0.0.1 --port 8000 --processes 4
directory=/path/to/your/project
user=www-data
autostart=true
autorestart=true
redirect_stderr=true
stdout_logfile=/var/log/django-bolt.log"""


def adapted_program(tmp: Path, port: int) -> str:
    return (
        SEED_PROGRAM.replace("/path/to/venv/bin/python", sys.executable)
        .replace("--port 8000", f"--port {port}")
        .replace("/path/to/your/project", str(PROJECT_DIR))
        .replace("user=www-data", f"user={getpass.getuser()}")
        .replace("/var/log/django-bolt.log", str(tmp / "django-bolt.log"))
    )


class Supervisor:
    def __init__(self, tmp: Path, port: int) -> None:
        self.tmp = tmp
        self.port = port
        self.conf = tmp / "supervisord.conf"
        self.log = tmp / "supervisord.log"
        socket_path = tmp / "supervisor.sock"
        self.conf.write_text(
            f"""[unix_http_server]
file={socket_path}

[supervisord]
nodaemon=true
logfile={self.log}
pidfile={tmp / "supervisord.pid"}
childlogdir={tmp}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{socket_path}

{adapted_program(tmp, port)}
"""
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen_pids: set[int] = set()

    def start(self) -> None:
        supervisord = find_program("supervisord", "the test extra installs supervisor")
        self.proc = subprocess.Popen(
            [supervisord, "-c", str(self.conf)],
            env=bolt_env(None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def ctl(self, *args: str, timeout: float = 60) -> str:
        supervisorctl = find_program("supervisorctl", "the test extra installs supervisor")
        result = subprocess.run(
            [supervisorctl, "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return result.stdout + result.stderr

    def program_pid(self) -> int:
        text = self.ctl("pid", "django-bolt").strip()
        return int(text) if text.isdigit() else 0

    def wait_running(self, timeout: float = 30, *, other_than: int = 0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.ctl("status", "django-bolt")
            pid = self.program_pid()
            if "RUNNING" in status and pid not in (0, other_than) and self._answers():
                self._remember(pid)
                return pid
            time.sleep(0.2)
        pytest.fail(f"django-bolt not RUNNING after {timeout} s:\n{self.describe()}")

    def _answers(self) -> bool:
        try:
            return http_get("127.0.0.1", self.port, "/hello", timeout=2).status == 200
        except OSError:
            return False

    def _remember(self, pid: int) -> None:
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(pid)
            self.seen_pids.add(pid)
            self.seen_pids.update(child.pid for child in parent.children(recursive=True))

    def describe(self) -> str:
        program_log = self.tmp / "django-bolt.log"
        parts = [self.log, program_log]
        return "\n".join(f"--- {p.name} ---\n{p.read_text()[-4000:]}" for p in parts if p.exists())

    def shutdown(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # runbolt and its workers run in supervisord's session; kill any we saw that outlived it.
        for pid in self.seen_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    find_program("supervisord", "the test extra installs supervisor")
    sup = Supervisor(tmp_path, free_port())
    sup.start()
    try:
        yield sup
    finally:
        sup.shutdown()


def test_seed_program_block_is_quoted_verbatim() -> None:
    if not SEED.exists():
        pytest.skip(f"the deployment guide is not beside the checkout ({SEED})")
    assert SEED_PROGRAM in SEED.read_text()


def test_supervisor_starts_runbolt_with_four_processes(supervisor: Supervisor) -> None:
    import psutil

    pid = supervisor.wait_running()
    parent = psutil.Process(pid)
    assert parent.cmdline()[-8:] == [
        "manage.py",
        "runbolt",
        "--host",
        "127.0.0.1",
        "--port",
        str(supervisor.port),
        "--processes",
        "4",
    ]
    deadline = time.monotonic() + 20
    while len(parent.children()) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(parent.children()) == 4
    assert http_get("127.0.0.1", supervisor.port, "/hello").json() == {"hello": "world"}


def test_supervisorctl_stop_drains_in_flight_request(supervisor: Supervisor) -> None:
    supervisor.wait_running()
    outcome: dict[str, object] = {}

    def slow_request() -> None:
        try:
            response = http_get("127.0.0.1", supervisor.port, "/slow?seconds=2", timeout=30)
            outcome["status"] = response.status
            outcome["body"] = response.json()
            outcome["connection"] = response.headers.get("connection")
        except Exception as exc:  # reported below, with the logs
            outcome["error"] = repr(exc)

    client = threading.Thread(target=slow_request)
    client.start()
    time.sleep(0.5)  # let the request reach a worker before the stop
    stopped = supervisor.ctl("stop", "django-bolt")
    client.join(30)
    assert "stopped" in stopped, stopped
    assert outcome.get("status") == 200, f"{outcome}\n{supervisor.describe()}"
    assert outcome["body"] == {"slept": 2.0}
    assert outcome["connection"] == "close"
    assert re.search(r"stopped: django-bolt \(exit status 0\)", supervisor.log.read_text()), (
        supervisor.describe()
    )


def test_sigkilled_runbolt_is_restarted(supervisor: Supervisor) -> None:
    first = supervisor.wait_running()
    os.kill(first, signal.SIGKILL)
    second = supervisor.wait_running(other_than=first)
    assert second != first
    assert http_get("127.0.0.1", supervisor.port, "/hello").status == 200
    assert "exited: django-bolt (terminated by SIGKILL" in supervisor.log.read_text()


def test_supervisorctl_signal_hup_reloads_without_restarting_the_program(
    supervisor: Supervisor,
) -> None:
    import psutil

    pid = supervisor.wait_running()
    parent = psutil.Process(pid)
    deadline = time.monotonic() + 20
    while len(parent.children()) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    before = {child.pid for child in parent.children()}
    assert len(before) == 4
    signalled = supervisor.ctl("signal", "HUP", "django-bolt")
    assert "signalled" in signalled, signalled
    program_log = supervisor.tmp / "django-bolt.log"
    deadline = time.monotonic() + 60
    while "Reload complete" not in program_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Reload complete" in program_log.read_text(), supervisor.describe()
    # The same program (supervisor saw no restart), four new worker processes.
    assert supervisor.program_pid() == pid
    deadline = time.monotonic() + 30
    while {child.pid for child in parent.children()} & before and time.monotonic() < deadline:
        time.sleep(0.1)
    after = {child.pid for child in parent.children()}
    supervisor.seen_pids.update(after)
    assert len(after) == 4
    assert not after & before
    assert http_get("127.0.0.1", supervisor.port, "/hello").json() == {"hello": "world"}
