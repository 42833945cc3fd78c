"""Fixtures that run the real ``runbolt`` in a real process, on a free port.

``run_bolt(*args, env=None, cwd=None, ready=True, timeout=30.0) -> BoltProcess`` starts
``python manage.py runbolt --port 0 <args>`` in the test project (``tests/integration/project``
unless ``cwd`` names a copy), in its own session, reads the bound port from the banner and, with
``ready=True``, waits until ``GET /hello`` answers 200 and (except with ``--dev``) the parent
logged that every worker is ready. Every process it started has its whole
process group SIGKILLed at teardown, whatever the test did. ``args`` may hold ``--port N`` to
override the default ``--port 0``. ``env`` entries are added to (or, with value ``None``,
removed from) the environment; ``DJANGO_SETTINGS_MODULE`` of the test run is never passed on.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PROJECT_DIR = Path(__file__).parent / "project"
BANNER = re.compile(r"Listening on http://(\[[^\]]+\]|[^:/\s]+):(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Response:
    """A response read on its own connection (status, lower-case headers, body)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(host: str, port: int, path: str, timeout: float = 10.0) -> Response:
    """One GET on a fresh connection (so SO_REUSEPORT picks a socket anew each time)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return Response(resp.status, headers, body)
    finally:
        conn.close()


class BoltProcess:
    """A running ``runbolt`` and what it printed so far."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Lock()
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(proc.stderr, self._err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream: Any, into: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._lock:
                into.append(raw.decode("utf-8", "replace"))

    @property
    def stdout(self) -> str:
        with self._lock:
            return "".join(self._out)

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._err)

    def get(self, path: str, timeout: float = 10.0) -> Response:
        return http_get(self.host, self.port, path, timeout)

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The exit code; fails the test if the process is still running after ``timeout``."""
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def worker_pids(self) -> list[int]:
        import psutil

        try:
            return sorted(c.pid for c in psutil.Process(self.pid).children())
        except psutil.NoSuchProcess:
            return []

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        pytest.fail(f"timed out after {timeout} s waiting for {what}\n{self.describe()}")

    def wait_output(self, text: str, timeout: float = 10.0, *, stream: str = "stderr") -> None:
        self.wait_for(lambda: text in getattr(self, stream), timeout, f"{text!r} on {stream}")

    def describe(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def listening_sockets(port: int) -> list[str]:
    """``ss -ltn`` lines of the sockets listening on ``port``."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def bolt_command(*args: str) -> list[str]:
    port_args: tuple[str, ...] = () if "--port" in args else ("--port", "0")
    return [sys.executable, "manage.py", "runbolt", *port_args, *args]


def bolt_env(env: dict[str, str | None] | None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    full["PYTHONUNBUFFERED"] = "1"
    full.pop("DJANGO_BOLT_WORKERS", None)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return full


@contextlib.contextmanager
def bolt_processes() -> Iterator[Callable[..., BoltProcess]]:
    """``run_bolt``'s starter for any scope: every process started is killed on exit."""
    started: list[BoltProcess] = []

    def start(
        *args: str,
        env: dict[str, str | None] | None = None,
        cwd: Path | str | None = None,
        ready: bool = True,
        timeout: float = 30.0,
    ) -> BoltProcess:
        proc = subprocess.Popen(
            bolt_command(*args),
            cwd=cwd or PROJECT_DIR,
            env=bolt_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        bolt = BoltProcess(proc)
        started.append(bolt)
        if not ready:
            return bolt

        def bound() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"runbolt exited with {proc.returncode}\n{bolt.describe()}")
            return BANNER.search(bolt.stdout) is not None

        bolt.wait_for(bound, timeout, "the banner")
        match = BANNER.search(bolt.stdout)
        assert match is not None
        bolt.host = match.group(1).strip("[]")
        bolt.port = int(match.group(2))

        def answers() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"runbolt exited with {proc.returncode}\n{bolt.describe()}")
            try:
                return bolt.get("/hello", timeout=2).status == 200
            except OSError:
                return False

        bolt.wait_for(answers, timeout, "GET /hello to answer 200")
        if "--dev" not in args:
            # Every worker process listens, not only the first one that answered.
            bolt.wait_output("] Ready: ", timeout)
        return bolt

    try:
        yield start
    finally:
        for bolt in started:
            bolt.kill_group()


@pytest.fixture
def run_bolt() -> Iterator[Callable[..., BoltProcess]]:
    with bolt_processes() as start:
        yield start
