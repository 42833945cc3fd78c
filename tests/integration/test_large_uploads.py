"""Large uploads through a real ``runbolt``: worker memory stays flat, the bytes arrive intact.

Each test sends tens of MiB over a socket, generated piece by piece (the test never holds the
body either), and reads the worker's peak resident memory (``VmHWM``) before and after. A
server that buffered the body would grow by at least the body's size; spooling keeps the growth
to a few socket reads and parser pieces.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
SEED = 64
BOUNDARY = b"bolt-large-upload-boundary"
# Far below the bodies sent (32-64 MiB), far above what spooling needs (socket reads, parser
# pieces, a 1 MiB read buffer in the handler, allocator slack).
MAX_GROWTH = 16 * MIB


class Payload:
    """``size`` pseudo-random bytes, produced in 1 MiB pieces; ``sha256`` once consumed."""

    def __init__(self, size: int, seed: int = SEED) -> None:
        self.size = size
        self._random = random.Random(seed)
        self._sha = hashlib.sha256()

    def pieces(self) -> Iterator[bytes]:
        left = self.size
        while left:
            piece = self._random.randbytes(min(MIB, left))
            self._sha.update(piece)
            left -= len(piece)
            yield piece

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def multipart(payload: Payload, *, close: bool = True) -> tuple[int, Iterator[bytes]]:
    """(Content-Length, pieces) of a one-file multipart body around ``payload``."""
    head = (
        b'--%s\r\nContent-Disposition: form-data; name="blob"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" % BOUNDARY
    )
    tail = b"\r\n--%s--\r\n" % BOUNDARY if close else b""

    def pieces() -> Iterator[bytes]:
        yield head
        yield from payload.pieces()
        if tail:
            yield tail

    return len(head) + payload.size + len(tail), pieces()


def post(
    bolt: BoltProcess,
    path: str,
    body: Iterator[bytes],
    length: int | None,
    content_type: str,
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(bolt.host, bolt.port, timeout=120)
    try:
        headers = {"Content-Type": content_type}
        if length is not None:
            headers["Content-Length"] = str(length)
        conn.request("POST", path, body=body, headers=headers, encode_chunked=length is None)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def peak_rss(pid: int) -> int:
    """The process's resident-memory high-water mark (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")  # pragma: no cover - Linux always has it


def reset_peak_rss(pid: int) -> None:
    """Start the high-water mark afresh from the current RSS (Linux 4.0+), where permitted."""
    # Where it is refused, the peak since start-up is the baseline (a weaker but valid check).
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def open_files_under(pid: int, *dirs: Path) -> list[str]:
    """The worker's file descriptors that point into ``dirs`` (anonymous files included)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if any(target.startswith(str(d) + "/") for d in dirs):
            found.append(target)
    return found


@pytest.fixture
def upload_server(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path
) -> tuple[BoltProcess, int, Path, Path]:
    spool_dir, upload_dir = tmp_path / "spool", tmp_path / "uploads"
    spool_dir.mkdir()
    upload_dir.mkdir()
    bolt = run_bolt(
        "--processes",
        "1",
        "--no-access-log",
        "--body-spool-dir",
        str(spool_dir),
        env={"BOLT_TEST_MAX_UPLOAD_SIZE": str(128 * MIB), "BOLT_TEST_UPLOAD_DIR": str(upload_dir)},
    )
    (worker,) = bolt.worker_pids()
    return bolt, worker, spool_dir, upload_dir


def test_a_64_mib_multipart_upload_keeps_the_worker_flat(upload_server) -> None:
    bolt, worker, spool_dir, upload_dir = upload_server
    reset_peak_rss(worker)
    before = peak_rss(worker)
    payload = Payload(64 * MIB)
    length, body = multipart(payload)
    status, answer = post(
        bolt,
        "/upload/digest",
        body,
        length,
        f"multipart/form-data; boundary={BOUNDARY.decode()}",
    )
    growth = peak_rss(worker) - before
    assert status == 200, answer
    assert answer["pid"] == worker
    assert (answer["size"], answer["sha256"]) == (payload.size, payload.sha256)
    # The body went to an anonymous file in --body-spool-dir, the part to FILE_UPLOAD_TEMP_DIR.
    assert answer["body_path"].startswith(f"{spool_dir}/")
    assert answer["part_on_disk"] is True
    assert answer["part_path"].startswith(f"{upload_dir}/")
    assert growth < MAX_GROWTH, f"peak RSS grew by {growth / MIB:.1f} MiB"
    bolt.wait_for(
        lambda: open_files_under(worker, spool_dir, upload_dir) == [],
        10,
        "the worker to close the spooled body and the part's file",
    )
    assert list(spool_dir.iterdir()) == list(upload_dir.iterdir()) == []


def test_a_chunked_raw_body_streams_through_request_stream(upload_server) -> None:
    bolt, worker, spool_dir, _ = upload_server
    reset_peak_rss(worker)
    before = peak_rss(worker)
    payload = Payload(48 * MIB, seed=SEED + 1)
    status, answer = post(
        bolt, "/upload/stream", payload.pieces(), None, "application/octet-stream"
    )
    growth = peak_rss(worker) - before
    assert status == 200, answer
    assert answer == {"size": payload.size, "sha256": payload.sha256, "spooled": True}
    assert growth < MAX_GROWTH, f"peak RSS grew by {growth / MIB:.1f} MiB"
    bolt.wait_for(
        lambda: open_files_under(worker, spool_dir) == [], 10, "the spooled body to be closed"
    )


def test_file_max_size_refuses_a_large_part_without_storing_it(upload_server) -> None:
    bolt, worker, spool_dir, upload_dir = upload_server
    reset_peak_rss(worker)
    before = peak_rss(worker)
    length, body = multipart(Payload(48 * MIB))
    status, answer = post(
        bolt,
        "/upload/capped",
        body,
        length,
        f"multipart/form-data; boundary={BOUNDARY.decode()}",
    )
    growth = peak_rss(worker) - before
    assert status == 422
    assert answer["detail"] == [
        {
            "loc": ["body", "blob"],
            "msg": f"File exceeds maximum size of {MIB} bytes",
            "type": "file_too_large",
            "ctx": {"max_size": MIB, "actual_size": answer["detail"][0]["ctx"]["actual_size"]},
        }
    ]
    assert growth < MAX_GROWTH, f"peak RSS grew by {growth / MIB:.1f} MiB"
    bolt.wait_for(
        lambda: open_files_under(worker, spool_dir, upload_dir) == [],
        10,
        "the worker to close the spooled body",
    )


def test_a_truncated_large_multipart_body_is_400(upload_server) -> None:
    bolt, worker, spool_dir, upload_dir = upload_server
    length, body = multipart(Payload(16 * MIB), close=False)
    status, answer = post(
        bolt,
        "/upload/digest",
        body,
        length,
        f"multipart/form-data; boundary={BOUNDARY.decode()}",
    )
    assert status == 400
    assert answer["detail"].startswith("Invalid multipart body")
    bolt.wait_for(
        lambda: open_files_under(worker, spool_dir, upload_dir) == [],
        10,
        "the worker to close the spooled body and the part's file",
    )
    # The worker is still serving.
    assert bolt.get("/hello").status == 200
