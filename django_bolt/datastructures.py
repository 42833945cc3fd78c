"""Form bodies: urlencoded fields and multipart uploads (``UploadFile``, ``FormData``).

Multipart is parsed by python-multipart (the parser Starlette and FastAPI use), fed in chunks; each
file part is written into a ``SpooledTemporaryFile`` that stays in memory up to
``SPOOL_MAX_BYTES`` and moves to disk beyond. TODO(#3): the server hands the framework a fully
buffered body (bounded by ``BOLT_MAX_UPLOAD_SIZE``); streaming parts straight from the socket
needs a streaming body in the server contract.
"""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING, Any, Final

from django_bolt.exceptions import BadRequest
from django_bolt.request import QueryParams, parse_query

if TYPE_CHECKING:
    from django_bolt.request import Request

__all__ = ("FormData", "UploadFile", "parse_form")

# 1 MiB: typical form uploads (avatars, CSVs) stay in memory; larger ones go to disk.
SPOOL_MAX_BYTES: Final = 1024 * 1024
# Feed the parser in slices so a part's data reaches its file in bounded pieces.
_FEED_BYTES: Final = 64 * 1024
_MAX_PART_HEADERS: Final = 16


class UploadFile:
    """One uploaded file. Methods are async so large (disk-spooled) files can use the pool."""

    __slots__ = ("content_type", "file", "filename", "headers", "size")

    def __init__(self, filename: str, content_type: str, headers: dict[str, str]) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = headers
        # Owned by this object and closed by close() (or when it is collected).
        self.file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=SPOOL_MAX_BYTES
        )
        self.size = 0

    @property
    def _in_memory(self) -> bool:
        return not getattr(self.file, "_rolled", True)

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._in_memory:
            return fn(*args)
        from django_bolt.binding import run_in_pool

        return await run_in_pool(lambda: fn(*args), {})

    async def read(self, size: int = -1) -> bytes:
        data: bytes = await self._run(self.file.read, size)
        return data

    async def seek(self, offset: int) -> int:
        position: int = await self._run(self.file.seek, offset)
        return position

    async def write(self, data: bytes) -> None:
        await self._run(self.file.write, data)
        self.size += len(data)

    async def close(self) -> None:
        await self._run(self.file.close)

    def __del__(self) -> None:
        # An upload nobody closed is closed with its owner, not left to warn on collection.
        file = getattr(self, "file", None)
        if file is not None and not file.closed:
            file.close()

    def __repr__(self) -> str:
        name, size, kind = self.filename, self.size, self.content_type
        return f"UploadFile(filename={name!r}, size={size}, content_type={kind!r})"


class FormData:
    """The fields (``fields``, multi-valued strings) and files (``files``) of a form body."""

    __slots__ = ("fields", "files")

    def __init__(self, fields: QueryParams, files: dict[str, list[UploadFile]]) -> None:
        self.fields = fields
        self.files = files


def _multipart(body: bytes, boundary: bytes) -> FormData:
    from python_multipart.multipart import MultipartParser, parse_options_header

    fields: list[tuple[str, str]] = []
    files: dict[str, list[UploadFile]] = {}
    state: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "part": None, "data": []}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        headers = state["headers"]
        if len(headers) >= _MAX_PART_HEADERS:
            raise BadRequest("Too many headers in a multipart part")
        headers[state["field"].decode("latin-1").lower()] = state["value"].decode("latin-1")
        state["field"] = state["value"] = b""

    def on_headers_finished() -> None:
        headers = state["headers"]
        _, options = parse_options_header(headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode()
        if b"filename" in options:
            upload = UploadFile(
                options[b"filename"].decode(),
                headers.get("content-type", "application/octet-stream"),
                headers,
            )
            files.setdefault(name, []).append(upload)
            state["part"] = upload
        else:
            state["part"] = name
            state["data"] = []

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state["part"]
        if isinstance(part, UploadFile):
            part.file.write(data[start:end])
            part.size += end - start
        else:
            state["data"].append(data[start:end])

    def on_part_end() -> None:
        part = state["part"]
        if isinstance(part, UploadFile):
            part.file.seek(0)
        elif part is not None:
            fields.append((part, b"".join(state["data"]).decode("utf-8", "replace")))
        state["part"] = None
        state["headers"] = {}

    callbacks: Any = {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        view = memoryview(body)
        for offset in range(0, len(body), _FEED_BYTES):
            parser.write(bytes(view[offset : offset + _FEED_BYTES]))
        parser.finalize()
    except BadRequest:
        raise
    except Exception as exc:
        raise BadRequest(f"Invalid multipart body: {exc}") from None
    return FormData(QueryParams(fields), files)


def parse_form(request: Request) -> FormData:
    """The request's form, parsed once (urlencoded or multipart; anything else is empty)."""
    content_type = request.content_type
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type == "multipart/form-data":
        boundary = b""
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "boundary":
                boundary = value.strip('"').encode("latin-1")
        if not boundary:
            raise BadRequest("Multipart body without a boundary")
        return _multipart(request.body, boundary)
    return FormData(QueryParams(parse_query(request.body.decode("latin-1"))), {})
