"""Each runbolt flag, observed from outside the process: real processes, sockets and ports."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import (
    PROJECT_DIR,
    Response,
    bolt_env,
    free_port,
    listening_sockets,
)
from tests.integration.projects import SYNTAX_ERROR, Project

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


def distinct(bolt: BoltProcess, key: str, want: int, tries: int = 300) -> set[int]:
    """Values of ``key`` in ``/pid`` answers, on fresh connections, until ``want`` are seen."""
    seen: set[int] = set()
    for _ in range(tries):
        seen.add(bolt.get("/pid").json()[key])
        if len(seen) >= want:
            break
    return seen


def test_host_port_and_banner(run_bolt: Callable[..., BoltProcess]) -> None:
    port = free_port()
    bolt = run_bolt("--host", "127.0.0.1", "--port", str(port), "--skip-checks")
    assert bolt.port == port
    out = bolt.stdout
    assert "django-bolt " in out
    assert f"Listening on http://127.0.0.1:{port} (1 process, 1 worker each)" in out
    assert f"http://127.0.0.1:{port}/docs" in out
    assert f"http://127.0.0.1:{port}/admin/" in out
    assert bolt.get("/hello").json() == {"hello": "world"}
    assert len(listening_sockets(port)) == 1


def test_system_checks_run_unless_skipped(run_bolt: Callable[..., BoltProcess]) -> None:
    assert "Performing system checks" in run_bolt().stdout
    assert "Performing system checks" not in run_bolt("--skip-checks").stdout


def test_unapplied_migrations_are_announced(run_bolt: Callable[..., BoltProcess]) -> None:
    # The test project's default database is a fresh in-memory SQLite: nothing is migrated.
    output = run_bolt().stdout
    assert "unapplied migration(s)" in output
    assert "python manage.py migrate" in output


@pytest.mark.parametrize("holder", ["plain socket", "another runbolt"])
def test_taken_port_is_a_one_line_error(run_bolt: Callable[..., BoltProcess], holder: str) -> None:
    if holder == "plain socket":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
    else:
        port = run_bolt("--skip-checks").port
    second = run_bolt("--port", str(port), "--skip-checks", ready=False)
    assert second.wait(30) != 0
    assert second.stderr.strip().splitlines() == [
        f"Error: That port is already in use. (127.0.0.1:{port})"
    ]
    if holder == "plain socket":
        sock.close()


def test_processes_answer_from_distinct_pids(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--processes", "2", "--skip-checks")
    pids = distinct(bolt, "pid", 2)
    assert len(pids) == 2
    assert pids == set(bolt.worker_pids())
    assert bolt.pid not in pids
    assert len(listening_sockets(bolt.port)) == 2


def test_workers_flag_threads_each_listening(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--workers", "3", "--skip-checks")
    assert len(listening_sockets(bolt.port)) == 3
    assert len(distinct(bolt, "thread", 3)) == 3
    assert len(distinct(bolt, "pid", 1)) == 1


def test_workers_env_var_and_flag_wins(run_bolt: Callable[..., BoltProcess]) -> None:
    from_env = run_bolt("--skip-checks", env={"DJANGO_BOLT_WORKERS": "2"})
    assert len(listening_sockets(from_env.port)) == 2
    assert "1 process, 2 workers each" in from_env.stdout
    flag_wins = run_bolt("--workers", "3", "--skip-checks", env={"DJANGO_BOLT_WORKERS": "2"})
    assert len(listening_sockets(flag_wins.port)) == 3


def test_seed_systemd_argv_is_accepted_exactly() -> None:
    """The deployment guide's ExecStart flags parse to what they say (no port needed)."""
    code = (
        "import django; django.setup();"
        "from django_bolt.management.commands.runbolt import Command;"
        "from django_bolt.conf import load_server_config;"
        "p = Command().create_parser('manage.py', 'runbolt');"
        "o = vars(p.parse_args(['--host', '127.0.0.1', '--port', '8000', '--processes', '4']));"
        "c = load_server_config(o, {'DJANGO_BOLT_WORKERS': '2'}, None);"
        "print(c.host, c.port, c.processes, c.effective_workers())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=bolt_env({"DJANGO_SETTINGS_MODULE": "testproject.settings"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.split() == ["127.0.0.1", "8000", "4", "2"]


def test_seed_flags_with_workers_env_run_and_stop_cleanly(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    port = free_port()
    bolt = run_bolt(
        "--host", "127.0.0.1", "--port", str(port), "--processes", "4",
        env={"DJANGO_BOLT_WORKERS": "2"},
    )  # fmt: skip
    assert len(listening_sockets(port)) == 8
    assert len(bolt.worker_pids()) == 4
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0


def test_backlog_is_the_listen_queue_size(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--backlog", "2048", "--processes", "2", "--skip-checks")
    lines = listening_sockets(bolt.port)
    assert len(lines) == 2
    # ss -ltn: State Recv-Q Send-Q Local Peer; Send-Q of a listener is its backlog.
    assert all(line.split()[2] == "2048" for line in lines)


def test_keep_alive_closes_idle_connections(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--keep-alive", "1", "--skip-checks")
    with socket.create_connection((bolt.host, bolt.port), timeout=10) as conn:
        conn.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b'{"hello":"world"}'):
            chunk = conn.recv(4096)
            assert chunk, data
            data += chunk
        answered = time.monotonic()
        assert conn.recv(4096) == b""  # the server closes; recv times out (fails) otherwise
        idle = time.monotonic() - answered
    assert 0.5 <= idle <= 5.0


def test_access_log_lines_and_no_access_log(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--skip-checks")
    bolt.get("/version?x=1")
    bolt.wait_output('127.0.0.1 "GET /version?x=1 HTTP/1.1" 200 15 ')
    line = next(x for x in bolt.stderr.splitlines() if "/version?x=1" in x)
    assert line.endswith("ms")
    quiet = run_bolt("--no-access-log", "--skip-checks")
    quiet.get("/version?x=2")
    bolt.get("/version?x=3")
    bolt.wait_output("/version?x=3")  # flushed by then in the other server too
    time.sleep(0.3)
    assert "/version" not in quiet.stderr
    assert "/hello" not in quiet.stderr


def test_log_level_warning_silences_access_lines(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--log-level", "warning", "--skip-checks")
    bolt.get("/version?x=4")
    time.sleep(0.5)
    assert "/version" not in bolt.stderr


def test_import_error_is_reported_once_and_exits_nonzero(
    run_bolt: Callable[..., BoltProcess],
) -> None:
    bolt = run_bolt("--processes", "2", ready=False, env={"BOLT_TEST_BROKEN_IMPORT": "1"})
    assert bolt.wait(30) != 0
    assert "this import fails on purpose" in bolt.stderr
    # Reported by the parent, once, before any worker exists.
    assert bolt.stderr.count("Error: could not load the application") == 1
    assert "Listening on" not in bolt.stdout


def test_unknown_option_value_is_an_error(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--processes", "0", ready=False)
    assert bolt.wait(30) != 0
    assert "processes must be at least 1" in bolt.stderr


def test_dev_reloads_on_change_and_survives_a_syntax_error(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    project = Project(tmp_path / "project")
    project.set_debug(True)
    bolt = run_bolt("--dev", "--skip-checks", cwd=project.root)
    assert "with auto-reload" in bolt.stdout
    assert bolt.get("/version").json() == {"version": "1"}

    def answer_is(check: Callable[[Response], bool]) -> Callable[[], bool]:
        def answers() -> bool:
            try:
                return check(bolt.get("/version", timeout=2))
            except (OSError, ValueError):
                return False

        return answers

    def version(v: str) -> Callable[[], bool]:
        return answer_is(lambda r: r.status == 200 and r.json() == {"version": v})

    project.deploy("2")
    bolt.wait_for(version("2"), 20, "the reload to serve version 2")
    line = project.deploy_syntax_error()
    bolt.wait_output("SyntaxError", 20)
    bolt.wait_output("waiting for a file change", 20)
    assert bolt.proc.poll() is None
    # While the project cannot load, a request gets the error at once (it used to hang).
    page = bolt.get("/version", timeout=5)
    assert page.status == 500
    assert page.headers["content-type"] == "text/plain; charset=utf-8"
    text = page.body.decode()
    assert "SyntaxError" in text
    assert f'testproject/api.py", line {line}' in text
    # DEBUG off (api.py still broken): the generic 500, no source on the page.
    project.set_debug(False)
    bolt.wait_for(
        answer_is(lambda r: r.status == 500 and r.json() == {"detail": "Internal Server Error"}),
        20,
        "the error page without DEBUG",
    )
    project.deploy("3")
    bolt.wait_for(version("3"), 20, "the reload after the syntax error")
    # One serving process under the watcher.
    assert len(bolt.worker_pids()) == 1
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(20) == 0


def test_dev_answers_500_while_the_settings_are_broken(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    """A child that dies before runbolt runs reports nothing: the watcher's DEBUG decides."""
    project = Project(tmp_path / "project")
    project.set_debug(True)
    settings = project.settings.read_text()
    bolt = run_bolt("--dev", "--skip-checks", cwd=project.root)
    project.settings.write_text(settings + SYNTAX_ERROR)
    bolt.wait_output("waiting for a file change", 20)
    page = bolt.get("/version", timeout=5)
    assert page.status == 500
    assert b"exited (exit code 1) before it loaded the project" in page.body
    project.settings.write_text(settings)
    bolt.wait_for(lambda: bolt.get("/version", timeout=5).status == 200, 20, "the fixed settings")


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_host(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--host", "::1", "--processes", "2", "--skip-checks")
    assert f"Listening on http://[::1]:{bolt.port} " in bolt.stdout
    assert bolt.host == "::1"
    assert bolt.get("/client").json()["host"] == "::1"
    assert len(listening_sockets(bolt.port)) == 2
