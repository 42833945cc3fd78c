"""A real runbolt's access log follows the ``django.server`` logger's level, as 0.13's did.

Each test writes a settings module (the integration project's settings plus a ``LOGGING``) and a
small API with a 500 route into its own directory, starts ``runbolt`` with them, sends a 200, a
404 and a 500, then stops the server: a worker writes every queued line at shutdown, so what
stderr holds once the process has exited is all it will ever log.
"""

from __future__ import annotations

import os
import re
import signal
from typing import TYPE_CHECKING

import pytest

from tests.integration.conftest import bolt_processes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

API = """
from django_bolt import BoltAPI
from django_bolt.exceptions import HTTPException

api = BoltAPI()


@api.get("/hello")  # what run_bolt asks until the server answers
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@api.get("/ok")
async def ok() -> dict[str, str]:
    return {"ok": "yes"}


@api.get("/boom")
async def boom() -> None:
    raise HTTPException(500, "on purpose")
"""

SETTINGS = """
from testproject.settings import *  # noqa: F403

BOLT_API = ["level_api:api"]
"""
# The formatter shows each record's level: only the --access-log-logger lines go through it.
LOGGING = """
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {{"levels": {{"format": "RECORD %(levelname)s %(message)s"}}}},
    "handlers": {{"levels": {{"class": "logging.StreamHandler", "formatter": "levels"}}}},
    "loggers": {{"django.server": {{"handlers": ["levels"], "level": "{level}"}}}},
}}
"""

# The three responses each test asks for, by status.
PATHS = {200: "/ok", 404: "/nowhere-at-all", 500: "/boom"}


@pytest.fixture
def run_bolt() -> Iterator[Callable[..., BoltProcess]]:
    with bolt_processes() as start:
        yield start


def project_env(directory: Path, level: str | None) -> dict[str, str | None]:
    """Write the API and settings (with LOGGING unless ``level`` is None) into ``directory``."""
    (directory / "level_api.py").write_text(API)
    logging = "" if level is None else LOGGING.format(level=level)
    (directory / "level_settings.py").write_text(SETTINGS + logging)
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "DJANGO_SETTINGS_MODULE": "level_settings"}


def logged_statuses(bolt: BoltProcess) -> dict[int, str]:
    """Send a 200, a 404 and a 500, stop the server; return each status's line (if any)."""
    for status, path in PATHS.items():
        assert bolt.get(path).status == status, bolt.describe()
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0, bolt.describe()
    lines = {}
    for status, path in PATHS.items():
        found = [line for line in bolt.stderr.splitlines() if f'"GET {path} HTTP/1.1"' in line]
        assert len(found) <= 1, bolt.describe()
        if found:
            assert f'HTTP/1.1" {status} ' in found[0], found[0]
            lines[status] = found[0]
    return lines


@pytest.mark.parametrize("processes", ["1", "2"])  # a fresh worker, and a forked (preload) one
def test_warning_keeps_only_the_4xx_and_5xx_lines(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path, processes: str
) -> None:
    bolt = run_bolt("--processes", processes, env=project_env(tmp_path, "WARNING"))
    assert sorted(logged_statuses(bolt)) == [404, 500], bolt.describe()


@pytest.mark.parametrize("level", ["ERROR", "CRITICAL"])
def test_above_warning_there_is_no_access_log(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path, level: str
) -> None:
    bolt = run_bolt(env=project_env(tmp_path, level))
    assert logged_statuses(bolt) == {}, bolt.describe()


def test_an_explicit_access_log_flag_does_not_override_the_level(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    bolt = run_bolt("--processes", "2", "--access-log", env=project_env(tmp_path, "ERROR"))
    assert logged_statuses(bolt) == {}, bolt.describe()


def test_without_logging_every_response_is_logged(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    # Django's DEFAULT_LOGGING sets django.server to INFO.
    bolt = run_bolt(env=project_env(tmp_path, None))
    assert sorted(logged_statuses(bolt)) == [200, 404, 500], bolt.describe()


def test_records_through_django_server_take_the_status_level(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    env = project_env(tmp_path, "INFO")
    bolt = run_bolt("--access-log-logger", "django.server", env=env)
    lines = logged_statuses(bolt)
    levels = {status: re.match(r"RECORD (\w+) ", line) for status, line in lines.items()}
    assert {status: m and m.group(1) for status, m in levels.items()} == {
        200: "INFO",
        404: "WARNING",
        500: "ERROR",
    }, bolt.describe()


def test_records_through_django_server_above_warning_are_none(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> None:
    # Even the 500, an ERROR record the logger would let through: the log is off, as in 0.13.
    env = project_env(tmp_path, "ERROR")
    bolt = run_bolt("--access-log-logger", "django.server", env=env)
    assert logged_statuses(bolt) == {}, bolt.describe()
