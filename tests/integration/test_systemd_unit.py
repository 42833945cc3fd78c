"""The systemd unit of docs/deployment.md, without a running systemd (none runs here).

The unit keeps the deployment guide's lines and adds to them. What systemd relies on is checked
directly: ``systemd-analyze verify`` accepts the unit (where it is installed), the ExecStart
line's flags are accepted exactly as written, the server they describe runs, and SIGTERM
(systemd's stop signal) ends it with exit 0, so ``Restart=always`` restarts it only after a
real failure.
"""

from __future__ import annotations

import configparser
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import PROJECT_DIR

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_18fbebdde3631585.txt"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
SEED_EXEC_START = (
    "ExecStart=/path/to/venv/bin/python manage.py runbolt "
    "--host 127.0.0.1 --port 8000 --processes 4"
)
SEED_UNIT = f"""[Unit]
Description=Django-Bolt API Server
After=network.target

[Service]
User=www-data
Group=www-data
WorkingDirectory=/path/to/your/project
{SEED_EXEC_START}
Restart=always
RestartSec=3

[Install]
WantedBy=multi-user.target"""


def docs_unit() -> str:
    """The unit file of docs/deployment.md."""
    text = DOCS.read_text()
    start = text.index("[Unit]\nDescription=Django-Bolt API Server")
    return text[start : text.index("```", start)]


def parse_unit(text: str) -> configparser.ConfigParser:
    # systemd's syntax is ini-like; keys are case-sensitive and may repeat (ExecStartPre=).
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(text)
    return parser


def exec_start_flags() -> list[str]:
    argv = shlex.split(SEED_EXEC_START.removeprefix("ExecStart="))
    assert argv[1:3] == ["manage.py", "runbolt"]
    return argv[3:]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_seed_exec_start_is_quoted_verbatim() -> None:
    if not SEED.exists():
        pytest.skip(f"the deployment guide is not beside the checkout ({SEED})")
    assert SEED_EXEC_START in SEED.read_text()


def test_seed_unit_is_quoted_verbatim() -> None:
    if not SEED.exists():
        pytest.skip(f"the deployment guide is not beside the checkout ({SEED})")
    assert SEED_UNIT in SEED.read_text()


def test_docs_unit_keeps_the_guides_lines_and_sets_an_open_file_limit() -> None:
    lines = docs_unit().splitlines()
    # Every line of the guide's unit, in the guide's order, with lines added between them.
    position = 0
    for line in SEED_UNIT.splitlines():
        position = lines.index(line, position) + 1
    service = parse_unit(docs_unit())["Service"]
    assert service["ExecStart"] == SEED_EXEC_START.removeprefix("ExecStart=")
    # Well above the 1024 soft limit services otherwise start with.
    assert int(service["LimitNOFILE"]) >= 65536


def test_systemd_analyze_verifies_the_docs_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "django-bolt.service"
    # The paths of this machine; verify checks that ExecStart's program exists.
    unit.write_text(
        docs_unit()
        .replace("/path/to/venv/bin/python", sys.executable)
        .replace("/path/to/your/project", str(PROJECT_DIR))
    )
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify exits 0 even when it ignores a key or value: its complaints name the file.
    complaints = [line for line in result.stderr.splitlines() if unit.name in line]
    assert complaints == [], result.stderr
    assert result.returncode == 0, result.stderr


def test_runbolt_parser_accepts_exec_start_flags() -> None:
    from django_bolt.management.commands.runbolt import Command

    parser = Command().create_parser("manage.py", "runbolt")
    options = parser.parse_args(exec_start_flags())
    assert (options.host, options.port, options.processes) == ("127.0.0.1", 8000, 4)


def test_exec_start_runs_and_sigterm_exits_zero(run_bolt) -> None:
    flags = exec_start_flags()
    exact = port_is_free(8000)
    if not exact:
        # Same flags, only the port changed: 8000 is taken by something else on this machine.
        flags[flags.index("--port") + 1] = "0"
    bolt = run_bolt(*flags)
    assert bolt.host == "127.0.0.1"
    if exact:
        assert bolt.port == 8000
    bolt.wait_for(lambda: len(bolt.worker_pids()) == 4, 20, "four worker processes")
    assert bolt.get("/hello").json() == {"hello": "world"}
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(40) == 0, bolt.describe()
