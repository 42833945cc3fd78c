"""The deployment guide's systemd unit, without systemd (which cannot run here).

What systemd relies on is checked directly: the ExecStart line's flags are accepted exactly as
written, the server they describe runs, and SIGTERM (systemd's stop signal) ends it with exit 0,
so ``Restart=always`` restarts it only after a real failure.
"""

from __future__ import annotations

import shlex
import signal
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_18fbebdde3631585.txt"
SEED_EXEC_START = (
    "ExecStart=/path/to/venv/bin/python manage.py runbolt "
    "--host 127.0.0.1 --port 8000 --processes 4"
)


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
