"""Which responses the access log keeps: its logger's level, read once as a worker starts.

Without ``--access-log-logger`` that logger is ``django.server`` (0.13 logged there): above
WARNING there is no access log, at WARNING only statuses of 400 or more, at INFO every one.
"""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from django_bolt.conf import ServerConfig
from django_bolt.server.accesslog import LEVEL_LOGGER, AccessLog, lowest_status, make_access_log
from django_bolt.server.worker import Worker
from tests.server.test_accesslog import read_all

if TYPE_CHECKING:
    from collections.abc import Iterator

STATUSES = (200, 302, 404, 500)


@pytest.fixture
def server_level() -> Iterator[logging.Logger]:
    """The ``django.server`` logger, its level put back after the test."""
    logger = logging.getLogger(LEVEL_LOGGER)
    saved = logger.level
    yield logger
    logger.setLevel(saved)


def _request(path: str) -> Any:
    return SimpleNamespace(
        client=("127.0.0.1", 5000), method="GET", target=path.encode(), http_version="1.1"
    )


def _worker(config: ServerConfig) -> Worker:
    """A worker given the access log ``config`` asks for (made, never run)."""
    app: Any = SimpleNamespace()
    return Worker(app, config, [], access_log=make_access_log(config))


def _written_statuses(log: AccessLog, read_fd: int) -> list[int]:
    """Send one response of each status through the hook; return the statuses written."""
    for status in STATUSES:
        log.record(_request(f"/{status}"), status, 0, 0.0)
    log.flush()
    return [int(line.split()[4]) for line in read_all(read_fd).decode().splitlines()]


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    os.close(read_fd)
    os.close(write_fd)


def test_lowest_status_by_level() -> None:
    assert lowest_status(logging.DEBUG) == 0
    assert lowest_status(logging.INFO) == 0
    assert lowest_status(logging.INFO + 5) == 400
    assert lowest_status(logging.WARNING) == 400
    assert lowest_status(logging.WARNING + 1) is None
    assert lowest_status(logging.ERROR) is None
    assert lowest_status(logging.CRITICAL) is None


def test_django_server_at_warning_keeps_4xx_and_5xx_on_stderr(
    server_level: logging.Logger, pipe: tuple[int, int]
) -> None:
    server_level.setLevel(logging.WARNING)
    log = AccessLog(pipe[1]).at_logger_level()
    assert log is not None
    assert _written_statuses(log, pipe[0]) == [404, 500]
    # The lines added from their fields (no request) are kept the same way.
    log.add("c", "GET", b"/a", "1.1", 204, 0, 0.0)
    log.add("c", "GET", b"/b", "1.1", 429, 0, 0.0)
    assert log.pending() == 1


@pytest.mark.parametrize("level", [logging.ERROR, logging.CRITICAL])
def test_django_server_above_warning_means_no_access_log(
    server_level: logging.Logger, level: int
) -> None:
    server_level.setLevel(level)
    assert AccessLog().at_logger_level() is None


def test_django_server_at_info_keeps_every_line_with_the_same_hook(
    server_level: logging.Logger, pipe: tuple[int, int]
) -> None:
    server_level.setLevel(logging.INFO)
    log = AccessLog(pipe[1])
    hook = log.record
    assert log.at_logger_level() is log
    assert log.record is hook
    assert _written_statuses(log, pipe[0]) == list(STATUSES)


def test_a_named_logger_decides_by_its_own_level(server_level: logging.Logger) -> None:
    server_level.setLevel(logging.INFO)
    named = logging.getLogger("tests.access.level")
    named.setLevel(logging.ERROR)
    try:
        assert AccessLog(logger=named).at_logger_level() is None
    finally:
        named.setLevel(logging.NOTSET)


def test_a_worker_reads_the_level_once_as_it_is_made(server_level: logging.Logger) -> None:
    config = ServerConfig()
    server_level.setLevel(logging.ERROR)
    worker = _worker(config)
    assert worker.access_log is None
    server_level.setLevel(logging.WARNING)
    worker = _worker(config)
    assert worker.access_log is not None
    server_level.setLevel(logging.INFO)
    worker = _worker(config)
    assert worker.access_log is not None


def test_records_through_django_server_take_the_status_level(
    server_level: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LEVEL_LOGGER)
    config = ServerConfig(access_log_logger=LEVEL_LOGGER)
    worker = _worker(config)
    log = worker.access_log
    assert log is not None
    for status in STATUSES:
        log.record(_request(f"/{status}"), status, 0, 0.0)
    log.flush()
    records: list[Any] = [r for r in caplog.records if r.name == LEVEL_LOGGER]
    levels = [(r.status_code, r.levelname) for r in records]
    assert levels == [(200, "INFO"), (302, "INFO"), (404, "WARNING"), (500, "ERROR")]
