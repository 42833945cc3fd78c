"""Serving a file from disk: allowed roots, validators (ETag, Last-Modified) and byte ranges.

The decisions that need the request (304, 206, 416) are taken in :meth:`FileWire.finish`, which
``dispatch`` calls only for file responses, so ordinary responses pay nothing for them.
"""

from __future__ import annotations

import functools
import os
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Final

from django_bolt._http.wire import WireResponse
from django_bolt.concurrency import run_in_pool
from django_bolt.exceptions import Forbidden, NotFound

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from django_bolt.request import Request

__all__ = ("FileWire", "configure_allowed_paths", "file_wire", "open_file_response")

# RFC 9110 section 15.4.5: a 304 repeats the fields a 200 would have carried that caches use.
_KEPT_ON_304: Final = frozenset(
    {b"cache-control", b"content-location", b"expires", b"vary", b"x-content-type-options"}
)
# Small files are read in one go on the loop thread (one syscall, cheaper than a thread hop);
# larger ones are streamed in chunks read by the pool, so a slow disk never stalls the loop.
INLINE_READ_MAX_BYTES: Final = 64 * 1024
CHUNK_BYTES: Final = 64 * 1024

_allowed_roots: tuple[str, ...] = ()


def configure_allowed_paths(paths: list[str] | tuple[str, ...]) -> None:
    """Set the directories FileResponse may serve from (``BOLT_ALLOWED_FILE_PATHS``)."""
    global _allowed_roots
    _allowed_roots = tuple(os.path.realpath(os.fspath(p)) for p in paths)


def _check_allowed(real: str) -> None:
    if not _allowed_roots:
        return
    for root in _allowed_roots:
        # commonpath, not startswith: "/srv/files-secret" is not inside "/srv/files".
        if os.path.commonpath((root, real)) == root:
            return
    raise Forbidden("File access denied")


class FileWire(WireResponse):
    """A file response that still has to look at the request's validators and Range."""

    __slots__ = ("etag", "mtime", "path", "size")

    def __init__(
        self,
        status_code: int,
        raw_headers: list[tuple[bytes, bytes]],
        path: str,
        size: int,
        mtime: float,
        etag: str,
    ) -> None:
        super().__init__(status_code, raw_headers, b"")
        self.path = path
        self.size = size
        self.mtime = mtime
        self.etag = etag

    def finish(self, request: Request) -> WireResponse:
        headers = request.headers
        validators = [
            (b"etag", self.etag.encode()),
            (b"last-modified", formatdate(self.mtime, usegmt=True).encode()),
        ]
        self.raw_headers.extend(validators)
        if self._not_modified(headers.get("if-none-match"), headers.get("if-modified-since")):
            kept = [pair for pair in self.raw_headers if pair[0] in _KEPT_ON_304]
            return WireResponse(304, kept + validators if kept else validators, b"")
        self.raw_headers.append((b"accept-ranges", b"bytes"))
        wanted = headers.get("range")
        if wanted and self.status_code == 200 and self._if_range_holds(headers.get("if-range")):
            span = _parse_range(wanted, self.size)
            if span is None:
                return WireResponse(416, [(b"content-range", f"bytes */{self.size}".encode())], b"")
            if span != (0, self.size - 1):
                start, end = span
                self.status_code = 206
                self.raw_headers.append(
                    (b"content-range", f"bytes {start}-{end}/{self.size}".encode())
                )
                return self._with_body(start, end - start + 1)
        return self._with_body(0, self.size)

    def _not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        # RFC 9110 section 13.2.2: If-None-Match wins over If-Modified-Since.
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or self.etag in tags
        if if_modified_since:
            try:
                since = parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                return False
            return int(self.mtime) <= since
        return False

    def _if_range_holds(self, if_range: str | None) -> bool:
        if if_range is None:
            return True
        if if_range.startswith('"'):
            return if_range == self.etag
        return if_range == formatdate(self.mtime, usegmt=True)

    def _with_body(self, offset: int, length: int) -> WireResponse:
        if length <= INLINE_READ_MAX_BYTES:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                self.body = handle.read(length)
            return self
        self.stream = _read_chunks(self.path, offset, length)
        # Declared, so downloads show their size and go out without chunked framing.
        self.raw_headers.append((b"content-length", str(length).encode()))
        return self


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range → (first, last) inclusive; None when unsatisfiable.

    Several ranges (multipart/byteranges) are answered with the whole file, which RFC 9110
    section 14.2 allows.
    """
    unit, _, spec = value.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return (0, size - 1) if size else None
    first, sep, last = spec.strip().partition("-")
    if not sep:
        return (0, size - 1) if size else None
    try:
        if not first:  # suffix range: the last N bytes
            count = int(last)
            if count <= 0 or size == 0:
                return None
            return (max(size - count, 0), size - 1)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return (0, size - 1) if size else None
    if start >= size or end < start:
        return None
    return (start, min(end, size - 1))


async def _read_chunks(path: str, offset: int, length: int) -> AsyncIterator[bytes]:
    handle = await run_in_pool(open, {"file": path, "mode": "rb"})
    try:
        handle.seek(offset)
        remaining = length
        while remaining > 0:
            chunk = await run_in_pool(
                functools.partial(handle.read, min(CHUNK_BYTES, remaining)), {}
            )
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def open_file_response(
    path: str | os.PathLike[str], status_code: int, headers: list[tuple[bytes, bytes]]
) -> FileWire:
    """Resolve and check ``path``; the body is read later, once the request has been seen."""
    real = os.path.realpath(os.fspath(path))
    _check_allowed(real)
    try:
        info = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound("File not found") from None
    if not os.path.isfile(real):
        raise NotFound("File not found")
    return file_wire(real, info, status_code, headers)


def file_wire(
    real: str, info: os.stat_result, status_code: int, headers: list[tuple[bytes, bytes]]
) -> FileWire:
    """Return a file response for ``real``, already resolved, checked and stat()ed by the caller."""
    etag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
    return FileWire(status_code, headers, real, info.st_size, info.st_mtime, etag)
