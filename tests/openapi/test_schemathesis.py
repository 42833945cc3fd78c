"""Schemathesis against the example project, served by a real ``runbolt``.

Hypothesis-generated requests (valid and invalid) for every documented operation: no answer
may be a 5xx, and every answer must match the document (status schema, content type,
headers). The example runs from a copy, with its own SQLite file, so the repository's
example/ is left as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import BANNER, BoltProcess, bolt_env

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ",".join(
    (
        "not_a_server_error",
        "response_schema_conformance",
        "content_type_conformance",
        "response_headers_conformance",
    )
)


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[BoltProcess]:
    project = tmp_path / "example"
    shutil.copytree(
        ROOT / "example", project, ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__")
    )
    env = bolt_env({"PYTHONPATH": str(ROOT)})
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=project,
        env=env,
        check=True,
        timeout=120,
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runbolt", "--port", "0", "--workers", "1"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    bolt = BoltProcess(proc)
    try:

        def bound() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"runbolt exited with {proc.returncode}\n{bolt.describe()}")
            return BANNER.search(bolt.stdout) is not None

        bolt.wait_for(bound, 60, "the banner")
        match = BANNER.search(bolt.stdout)
        assert match is not None
        bolt.host = match.group(1).strip("[]")
        bolt.port = int(match.group(2))
        bolt.wait_for(lambda: _answers(bolt), 30, "GET /openapi.json to answer 200")
        yield bolt
    finally:
        bolt.kill_group()


def _answers(bolt: BoltProcess) -> bool:
    try:
        return bolt.get("/openapi.json", timeout=2).status == 200
    except OSError:
        return False


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    example_server: BoltProcess, tmp_path: Path
) -> None:
    url = f"http://{example_server.host}:{example_server.port}/openapi.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        url,
        "--checks",
        CHECKS,
        "--max-examples",
        "30",
        "--seed",
        "20261125",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    if not Path(command[0]).exists():
        command[0:1] = [sys.executable, "-m", "schemathesis.cli"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output + "\n" + example_server.describe()
    # It really ran: every operation of the example was exercised.
    assert "Selected: 5/5" in output, output
    assert "Tested: 5" in output, output
