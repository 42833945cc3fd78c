"""The access log of a real runbolt: JSON lines, and lines handed to Django's logger."""

from __future__ import annotations

import json
import re
import signal
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


def test_json_lines_on_stderr(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--processes", "2", "--access-log-format", "json")
    assert bolt.get("/hello?x=1").status == 200
    bolt.wait_output('"query":"x=1"')
    lines = [json.loads(line) for line in bolt.stderr.splitlines() if line.startswith("{")]
    hello = [line for line in lines if line["path"] == "/hello" and line["query"] == "x=1"]
    assert hello, bolt.describe()
    assert hello[0]["status"] == 200
    assert hello[0]["method"] == "GET"
    assert hello[0]["client"] == "127.0.0.1"
    assert hello[0]["bytes"] > 0


def test_lines_through_django_server_logger(run_bolt: Callable[..., BoltProcess]) -> None:
    # Django's own handler for django.server (its default LOGGING) writes them, behind the
    # bounded queue runbolt puts in front of it.
    bolt = run_bolt("--access-log-logger", "django.server")
    assert bolt.get("/nowhere-at-all").status == 404
    bolt.wait_output('"GET /nowhere-at-all HTTP/1.1" 404')
    line = next(line for line in bolt.stderr.splitlines() if "/nowhere-at-all" in line)
    # Django's server formatter: "[date] message".
    assert re.match(r"\[[^\]]+\] 127\.0\.0\.1 \"GET /nowhere-at-all HTTP/1\.1\" 404 ", line), line
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0


def test_a_line_queued_at_shutdown_is_written(run_bolt: Callable[..., BoltProcess]) -> None:
    bolt = run_bolt("--access-log-logger", "django.server", "--no-admin")
    assert bolt.get("/version").status == 200
    bolt.send_signal(signal.SIGTERM)
    assert bolt.wait(30) == 0
    assert '"GET /version HTTP/1.1" 200' in bolt.stderr, bolt.describe()
