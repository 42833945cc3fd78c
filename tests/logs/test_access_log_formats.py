"""The access log's JSON lines and logger destination, and the bounded log queue."""

from __future__ import annotations

import json
import logging
import os
import threading

import pytest

from django_bolt.logging import BoundedQueueHandler, setup_django_logging
from django_bolt.server.accesslog import AccessLog, format_json, level_for_status
from django_bolt.server.config import ServerConfigError, load_server_config
from tests.server.test_accesslog import read_all


def test_json_line_is_one_object_with_every_field() -> None:
    entry = ("10.0.0.1", "POST", b'/items?x=1&y="2"', "1.1", 201, 42, 0.0125)
    line = format_json(entry, now=0.5)
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {
        "time": "1970-01-01T00:00:00.500Z",
        "client": "10.0.0.1",
        "method": "POST",
        "path": "/items",
        "query": 'x=1&y="2"',
        "http_version": "1.1",
        "status": 201,
        "bytes": 42,
        "duration_ms": 12.5,
    }


def test_json_line_cannot_be_forged_by_the_target() -> None:
    line = format_json(("c", "GET", b'/a"b\\\xff', "1.1", 200, 0, 0.0))
    assert line.count("\n") == 1
    assert json.loads(line)["path"] == '/a"b\\\\xff'


def test_json_access_log_writes_json_lines() -> None:
    read_fd, write_fd = os.pipe()
    try:
        log = AccessLog(write_fd, json=True)
        log.add("127.0.0.1", "GET", b"/a", "1.1", 200, 3, 0.001)
        log.add("127.0.0.1", "GET", b"/b", "1.1", 503, 0, 0.002)
        log.flush()
        lines = read_all(read_fd).decode().splitlines()
        assert [json.loads(line)["status"] for line in lines] == [200, 503]
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_logger_destination_uses_the_status_level_and_attributes(caplog) -> None:
    logger = logging.getLogger("tests.access")
    caplog.set_level(logging.WARNING, "tests.access")
    log = AccessLog(logger=logger)
    log.add("1.2.3.4", "GET", b"/ok", "1.1", 200, 1, 0.001)
    log.add("1.2.3.4", "GET", b"/gone", "1.1", 404, 1, 0.001)
    log.add("1.2.3.4", "GET", b"/bad", "1.1", 500, 1, 0.001)
    log.flush()
    seen = [(r.levelno, r.getMessage().split('"')[1]) for r in caplog.records]
    # INFO is below the logger's level: the 200 is not formatted at all.
    assert seen == [(logging.WARNING, "GET /gone HTTP/1.1"), (logging.ERROR, "GET /bad HTTP/1.1")]
    assert caplog.records[0].status_code == 404  # type: ignore[attr-defined]
    assert caplog.records[0].client_ip == "1.2.3.4"  # type: ignore[attr-defined]


def test_level_for_status() -> None:
    assert level_for_status(101) == logging.INFO
    assert level_for_status(302) == logging.INFO
    assert level_for_status(499) == logging.WARNING
    assert level_for_status(500) == logging.ERROR


def test_access_log_format_is_checked() -> None:
    assert load_server_config({"access_log_format": "json"}, {}).access_log_format == "json"
    with pytest.raises(ServerConfigError, match="access_log_format"):
        load_server_config({"access_log_format": "xml"}, {})


class _Blocked(logging.Handler):
    """A handler stuck in its write until released (a full pipe, a stalled disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.unblock = threading.Event()
        self.written: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.unblock.wait(10)
        self.written.append(record.getMessage())


def test_queue_drops_past_its_size_and_never_blocks_the_caller(capfd) -> None:
    blocked = _Blocked()
    handler = BoundedQueueHandler(2, [blocked])
    logger = logging.getLogger("tests.queued")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(50):
            logger.warning("record %d", i)  # would hang here if the queue blocked
        assert handler.dropped >= 47
        assert "log queue full" in capfd.readouterr().err
    finally:
        blocked.unblock.set()
        logger.removeHandler(handler)
        handler.close()
    # What was queued is written on close.
    assert blocked.written[0] == "record 0"
    assert 1 <= len(blocked.written) <= 3


def test_setup_moves_handlers_behind_the_queue_and_respects_logging() -> None:
    name_bolt, name_server = "django_bolt", "django.server"
    saved = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate)
        for n in (name_bolt, name_server)
    }
    original = logging.StreamHandler()
    logging.getLogger(name_server).handlers[:] = [original]
    logging.getLogger(name_bolt).handlers[:] = []
    try:
        installed = setup_django_logging(
            100, logging_setting={"loggers": {"django_bolt": {"level": "INFO"}}}
        )
        assert [h.targets for h in installed] == [[original]]
        assert isinstance(logging.getLogger(name_server).handlers[0], BoundedQueueHandler)
        assert logging.getLogger(name_bolt).handlers == []  # LOGGING names it: left alone
        # Twice is once.
        assert setup_django_logging(100, logging_setting={}) != []  # django_bolt now
        assert setup_django_logging(100, logging_setting={}) == []
    finally:
        for n, (handlers, propagate) in saved.items():
            for h in logging.getLogger(n).handlers:
                if isinstance(h, BoundedQueueHandler):
                    h.close()
            logging.getLogger(n).handlers[:] = handlers
            logging.getLogger(n).propagate = propagate


def test_a_forked_child_writes_through_a_queue_of_its_own(tmp_path) -> None:
    out = tmp_path / "child.log"
    target = logging.FileHandler(out)
    handler = BoundedQueueHandler(10, [target])
    logger = logging.getLogger("tests.forked")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                logger.warning("from the child")
                handler.close()
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert "from the child" in out.read_text()
    finally:
        logger.removeHandler(handler)
        handler.close()
        target.close()
