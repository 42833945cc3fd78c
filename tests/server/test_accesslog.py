"""The access log: cheap appends, one batched write, one line per request."""

from __future__ import annotations

import os
import threading

from django_bolt.server import accesslog
from django_bolt.server.accesslog import AccessLog, format_line


def read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _batched(entries: list[tuple[object, ...]], json: bool = False) -> list[str]:
    """Return the lines one batch of ``entries`` is written as (through a pipe)."""
    read_fd, write_fd = os.pipe()
    try:
        log = AccessLog(write_fd, json=json)
        for entry in entries:
            log.add(*entry)
        log.flush()
        return read_all(read_fd).decode().splitlines()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_format_line_has_client_method_path_status_bytes_and_milliseconds() -> None:
    line = format_line(("10.0.0.1", "POST", b"/items?x=1", "1.1", 201, 42, 0.0125))
    assert line == '10.0.0.1 "POST /items?x=1 HTTP/1.1" 201 42 12.50ms\n'


def test_non_ascii_target_is_escaped_not_written_raw() -> None:
    line = format_line(("::1", "GET", b"/caf\xc3\xa9", "1.0", 200, 0, 0.0))
    assert "\\xc3\\xa9" in line
    assert line.count("\n") == 1


def test_appends_are_buffered_until_flush_then_written_in_one_write() -> None:
    read_fd, write_fd = os.pipe()
    try:
        log = AccessLog(write_fd)
        for i in range(3):
            log.add("127.0.0.1", "GET", f"/{i}".encode(), "1.1", 200, i, 0.001)
        assert read_all(read_fd) == b""
        assert log.pending() == 3
        log.flush()
        lines = read_all(read_fd).decode().splitlines()
        assert [line.split()[2] for line in lines] == ["/0", "/1", "/2"]
        assert log.pending() == 0
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_passing_the_bound_wakes_the_flusher() -> None:
    read_fd, write_fd = os.pipe()
    try:
        log = AccessLog(write_fd, bound=2)
        log.add("c", "GET", b"/", "1.1", 200, 0, 0.0)
        log.add("c", "GET", b"/", "1.1", 200, 0, 0.0)
        assert not log.wake.is_set()
        log.add("c", "GET", b"/", "1.1", 200, 0, 0.0)
        assert log.wake.is_set()
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_flusher_thread_writes_everything_appended_by_other_threads() -> None:
    read_fd, write_fd = os.pipe()
    try:
        log = AccessLog(write_fd, bound=50)
        stop = threading.Event()
        flusher = threading.Thread(target=log.run_flusher, args=(stop,))
        flusher.start()
        received = bytearray()

        def drain() -> None:
            while not stop.is_set() or log.pending():
                received.extend(read_all(read_fd))

        def produce(tag: str) -> None:
            for i in range(200):
                log.add("c", "GET", f"/{tag}/{i}".encode(), "1.1", 200, 1, 0.0)

        reader = threading.Thread(target=drain)
        reader.start()
        producers = [threading.Thread(target=produce, args=(t,)) for t in "abc"]
        for p in producers:
            p.start()
        for p in producers:
            p.join(10)
        stop.set()
        flusher.join(10)
        reader.join(10)
        received.extend(read_all(read_fd))
        lines = received.decode().splitlines()
        assert len(lines) == 600
        assert len(set(lines)) == 600
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_periodic_flush_holds_a_small_batch_for_at_most_a_second(monkeypatch) -> None:
    read_fd, write_fd = os.pipe()
    clock = [100.0]
    monkeypatch.setattr(accesslog.time, "monotonic", lambda: clock[0])
    try:
        log = AccessLog(write_fd, bound=1024)
        log.add("c", "GET", b"/a", "1.1", 200, 0, 0.0)
        log.flush(force=False)
        assert read_all(read_fd) == b""
        clock[0] += accesslog.MAX_DELAY_S / 2
        log.flush(force=False)
        assert read_all(read_fd) == b""
        clock[0] += accesslog.MAX_DELAY_S / 2
        log.flush(force=False)
        assert b"/a" in read_all(read_fd)
        for _ in range(1024 // 8):
            log.add("c", "GET", b"/b", "1.1", 200, 0, 0.0)
        log.flush(force=False)  # a batch this size goes at once
        assert read_all(read_fd).count(b"/b") == 128
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_the_per_response_hook_queues_until_flush_and_a_stop_writes_everything() -> None:
    read_fd, write_fd = os.pipe()

    class Request:
        client = ("10.1.2.3", 4567)
        method = "GET"
        target = b"/hook?q=1"
        http_version = "1.1"

    try:
        log = AccessLog(write_fd, json=False)
        for _ in range(5):
            log.record(Request(), 200, 7, 0.0)  # type: ignore[arg-type]
        log.add("10.9.9.9", "GET", b"/added", "1.0", 404, 0, 0.0)
        assert log.pending() == 6
        assert read_all(read_fd) == b""
        stop = threading.Event()
        stop.set()  # a worker that stops: run_flusher's last flush writes what is queued
        log.run_flusher(stop)
        lines = read_all(read_fd).decode().splitlines()
        assert len(lines) == 6
        assert lines[0].startswith('10.1.2.3 "GET /hook?q=1 HTTP/1.1" 200 7 ')
        assert lines[-1] == '10.9.9.9 "GET /added HTTP/1.0" 404 0 0.00ms'
        assert log.pending() == 0
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_batched_lines_equal_format_line_and_format_json_line_for_line() -> None:
    import json as jsonlib

    entries = [
        (
            f"10.0.0.{i % 3}",
            "GET",
            b"/p/%d?x=%d" % (i % 4, i),
            "1.1",
            200 + i % 2,
            i * 10,
            i / 7000,
        )
        for i in range(40)
    ]
    for as_json in (False, True):
        lines = _batched(entries, json=as_json)
        if as_json:
            got = [{k: v for k, v in jsonlib.loads(line).items() if k != "time"} for line in lines]
            want = [
                {k: v for k, v in jsonlib.loads(accesslog.format_json(e)).items() if k != "time"}
                for e in entries
            ]
        else:
            got, want = lines, [format_line(e).rstrip("\n") for e in entries]
        assert got == want


def test_consecutive_lines_differing_in_one_field_each_get_their_own_text() -> None:
    # The formatter reuses the request part of the line before when method, target, version
    # and status all match: a change in any one of them must show.
    entries = [
        ("10.0.0.1", "GET", b"/a", "1.1", 200, 1, 0.001),
        ("10.0.0.1", "GET", b"/a", "1.1", 200, 1, 0.001),
        ("10.0.0.1", "GET", b"/a", "1.1", 404, 1, 0.001),
        ("10.0.0.1", "HEAD", b"/a", "1.1", 404, 1, 0.001),
        ("10.0.0.1", "HEAD", b"/a", "1.0", 404, 1, 0.001),
        ("10.0.0.1", "HEAD", b"/b", "1.0", 404, 1, 0.001),
        ("10.0.0.2", "HEAD", b"/b", "1.0", 404, 2, 0.0025),
    ]
    lines = _batched(entries)
    assert lines == [format_line(e).rstrip("\n") for e in entries]
    assert lines[-1] == '10.0.0.2 "HEAD /b HTTP/1.0" 404 2 2.50ms'
