"""Schemathesis against real ``runbolt`` servers: the example project and the every-kind API.

Hypothesis-generated requests (valid and invalid) for every documented operation: no answer
may be a 5xx, and every answer must match the document (status schema, content type,
headers). The example runs from a copy, with its own SQLite file, so the repository's
example/ is left as it was; the every-kind API (tests/openapi/everykind.py) exercises every
parameter source and body kind of the framework's own validation.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest

from tests.integration.conftest import BANNER, PROJECT_DIR, BoltProcess, bolt_env
from tests.openapi.everykind import JWT_SECRET

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


def _serve(project: Path, env: dict[str, str]) -> Iterator[BoltProcess]:
    """``runbolt`` in ``project`` with one worker, until GET /openapi.json answers."""
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
    yield from _serve(project, env)


@pytest.fixture
def everykind_server() -> Iterator[BoltProcess]:
    env = bolt_env(
        {"PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "testproject.everykind_settings"}
    )
    yield from _serve(PROJECT_DIR, env)


def _answers(bolt: BoltProcess) -> bool:
    try:
        return bolt.get("/openapi.json", timeout=2).status == 200
    except OSError:
        return False


def _schemathesis(server: BoltProcess, tmp_path: Path, *extra: str) -> str:
    """Run the CLI against ``server``; fails the test on any failure; returns its output."""
    url = f"http://{server.host}:{server.port}/openapi.json"
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
        *extra,
    ]
    if not Path(command[0]).exists():
        command[0:1] = [sys.executable, "-m", "schemathesis.cli"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=240, check=False, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output + "\n" + server.describe()
    return output


def _operation_count(server: BoltProcess) -> int:
    """How many operations the server's document lists."""
    url = f"http://{server.host}:{server.port}/openapi.json"
    with urllib.request.urlopen(url, timeout=10) as response:
        paths = json.load(response)["paths"]
    return sum(len(methods) for methods in paths.values())


def test_example_project_no_server_error_and_no_schema_mismatch(
    example_server: BoltProcess, tmp_path: Path
) -> None:
    output = _schemathesis(example_server, tmp_path)
    # It really ran: every operation the example documents was exercised.
    operations = _operation_count(example_server)
    assert operations >= 5
    assert f"Selected: {operations}/{operations}" in output, output
    assert f"Tested: {operations}" in output, output


def test_every_kind_api_no_server_error_and_no_schema_mismatch(
    everykind_server: BoltProcess, tmp_path: Path
) -> None:
    token = jwt.encode({"sub": "7", "exp": int(time.time()) + 600}, JWT_SECRET, "HS256")
    output = _schemathesis(
        everykind_server,
        tmp_path,
        "--header",
        f"Authorization: Bearer {token}",
        "--header",
        "x-api-key: k1",
    )
    assert f"Tested: {_operation_count(everykind_server)}" in output, output  # every one
    # With credentials, the protected operations answered something else than 401/403.
    assert "Authentication failed" not in output, output
