"""supervisor (PyPI) running runbolt with docs/deployment.md's [program:django-bolt] block.

That block is the deployment guide's, word for word, with lines added after it. Paths are
adapted (the venv's python, the test project, log files in a temp dir) and the port is a free
one; every other line is the docs'. supervisord runs in the foreground with its own config and
unix socket, so the test never touches a system supervisor.
"""

from __future__ import annotations

import configparser
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

from django_bolt.conf import ServerConfig
from tests.conftest import find_program
from tests.integration.conftest import PROJECT_DIR, bolt_env, free_port, http_get
from tests.integration.projects import Project
from tests.integration.test_signals import _alive

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


DOCS = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
# How long the parent may still take after the kill timeout: it reaps the killed workers.
REAP_GRACE_S = 5


def docs_program() -> str:
    """The ``[program:django-bolt]`` block of docs/deployment.md."""
    text = DOCS.read_text()
    start = text.index("[program:django-bolt]")
    return text[start : text.index("```", start)].strip()


def adapted_program(tmp: Path, port: int, project: Path = PROJECT_DIR, **overrides: str) -> str:
    """The docs' block for this machine; ``overrides`` replace (or add) ``key=value`` lines."""
    program = docs_program()
    for key, value in overrides.items():
        program, count = re.subn(rf"(?m)^{key}=.*$", f"{key}={value}", program)
        if not count:
            program += f"\n{key}={value}"
    return (
        program.replace("/path/to/venv/bin/python", sys.executable)
        .replace("--port 8000", f"--port {port}")
        .replace("/path/to/your/project", str(project))
        .replace("user=www-data", f"user={getpass.getuser()}")
        .replace("/var/log/django-bolt.log", str(tmp / "django-bolt.log"))
    )


class Supervisor:
    def __init__(self, tmp: Path, port: int, project: Path = PROJECT_DIR, **overrides: str) -> None:
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

{adapted_program(tmp, port, project, **overrides)}
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

    def processes(self) -> set[int]:
        """The program's process and its workers, as they are now."""
        pid = self.program_pid()
        self._remember(pid)
        return {pid, *self._children(pid)}

    @staticmethod
    def _children(pid: int) -> set[int]:
        import psutil

        try:
            return {child.pid for child in psutil.Process(pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def wait_workers(self, pid: int, count: int) -> None:
        deadline = time.monotonic() + 20
        while len(self._children(pid)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self._children(pid)) == count, self.describe()

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


@contextlib.contextmanager
def running_supervisor(
    tmp: Path, project: Path = PROJECT_DIR, **overrides: str
) -> Iterator[Supervisor]:
    find_program("supervisord", "the test extra installs supervisor")
    sup = Supervisor(tmp, free_port(), project, **overrides)
    sup.start()
    try:
        yield sup
    finally:
        sup.shutdown()


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    with running_supervisor(tmp_path) as sup:
        yield sup


def test_seed_program_block_is_quoted_verbatim() -> None:
    if not SEED.exists():
        pytest.skip(f"the deployment guide is not beside the checkout ({SEED})")
    assert SEED_PROGRAM in SEED.read_text()


def test_docs_program_block_keeps_the_guides_lines_and_stops_cleanly() -> None:
    program = docs_program()
    assert program.startswith(SEED_PROGRAM + "\n")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(program)
    section = parser["program:django-bolt"]
    # supervisor must not SIGKILL runbolt while its own kill timeout still runs.
    kill_timeout = ServerConfig().workers_kill_timeout_s
    assert section.getint("stopwaitsecs") > kill_timeout + REAP_GRACE_S
    assert section.getboolean("killasgroup") is True
    assert section.getboolean("stopasgroup", fallback=False) is False


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


def test_supervisorctl_stop_drains_a_long_request_and_leaves_no_worker(
    supervisor: Supervisor,
) -> None:
    """A request longer than supervisor's default stopwaitsecs (10 s) still finishes."""
    pid = supervisor.wait_running()
    supervisor.wait_workers(pid, 4)
    processes = supervisor.processes()
    mark = supervisor.tmp / "in-flight"
    outcome: dict[str, object] = {}

    def slow_request() -> None:
        try:
            response = http_get(
                "127.0.0.1", supervisor.port, f"/slow?seconds=12&mark={mark}", timeout=60
            )
            outcome["status"] = response.status
            outcome["body"] = response.json()
            outcome["connection"] = response.headers.get("connection")
        except Exception as exc:  # reported below, with the logs
            outcome["error"] = repr(exc)

    client = threading.Thread(target=slow_request)
    client.start()
    deadline = time.monotonic() + 10
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.exists(), supervisor.describe()
    stopped = supervisor.ctl("stop", "django-bolt")
    client.join(30)
    assert "stopped" in stopped, stopped
    assert outcome.get("status") == 200, f"{outcome}\n{supervisor.describe()}"
    assert outcome["body"] == {"slept": 12.0}
    assert outcome["connection"] == "close"
    log = supervisor.log.read_text()
    assert re.search(r"stopped: django-bolt \(exit status 0\)", log), supervisor.describe()
    assert "SIGKILL" not in log, supervisor.describe()
    assert [p for p in processes if _alive(p)] == []


# A handler that starts an external tool, which outlives it (a conversion, say).
SPAWN_ROUTE = """
import subprocess


@api.get("/spawn")
def spawn_helper() -> dict[str, int]:
    return {"pid": subprocess.Popen(["sleep", "600"]).pid}
"""


def test_hung_runbolt_is_killed_with_its_workers_and_their_children(tmp_path: Path) -> None:
    """killasgroup: supervisor's SIGKILL reaches every process of the program, not only runbolt.

    The parent is stopped (SIGSTOP) to play a server that does not stop in time, and a handler
    started a helper process. stopwaitsecs is shortened so the test need not wait the docs'
    40 s for the SIGKILL. (Workers notice a dead parent by themselves; the helper would not.)
    """
    project = Project(tmp_path / "project", extra_api=SPAWN_ROUTE)
    with running_supervisor(tmp_path, project.root, stopwaitsecs="2") as supervisor:
        pid = supervisor.wait_running()
        supervisor.wait_workers(pid, 4)
        helper = http_get("127.0.0.1", supervisor.port, "/spawn").json()["pid"]
        processes = supervisor.processes()
        assert helper in processes
        os.kill(pid, signal.SIGSTOP)
        supervisor.ctl("stop", "django-bolt")
        log = supervisor.log.read_text()
        assert "stopped: django-bolt (terminated by SIGKILL)" in log, supervisor.describe()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in processes if _alive(p)] == []


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
