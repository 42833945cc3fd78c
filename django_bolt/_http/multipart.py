"""Form bodies: urlencoded fields and multipart uploads (``UploadFile``, ``FormData``).

Multipart is parsed by python-multipart (the parser Starlette and FastAPI use), fed the body in
pieces: from memory for a small body, from the server's spooled temporary file for a large one,
so a large upload is never held whole in memory. Each file part is written into a
``SpooledTemporaryFile`` as the parser produces it. Where the body itself was spooled, a part
moves to disk once it outgrows ``BOLT_MEMORY_SPOOL_THRESHOLD`` (the part files are closed with
the body after the response); a body small enough to be kept in memory keeps its parts there
too, since moving them to disk would not free anything.

Limits, applied while parsing (Django's own settings and defaults):

- ``DATA_UPLOAD_MAX_MEMORY_SIZE``: an urlencoded body, or the non-file fields of a multipart
  body, larger than this is refused with 413 before it is decoded.
- ``DATA_UPLOAD_MAX_NUMBER_FIELDS``: more fields than this (a repeated key counts once for each
  field; in a multipart body, each part that is not a file) is a 422 of type
  ``too_many_fields``, as Django-Bolt 0.13 answers it.
- ``DATA_UPLOAD_MAX_NUMBER_FILES``: more file parts than this is a 400.
- ``File(max_size=..., max_files=...)`` on a handler parameter: a part that grows past
  ``max_size`` (or a part beyond ``max_files``) stops being stored as soon as it does; its size
  is still counted, and binding answers the usual 422.
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from django.core.files.uploadedfile import UploadedFile
from python_multipart.multipart import MultipartParser, parse_options_header

from django_bolt._http.limits import check_values as check_param_values, limit as param_limit
from django_bolt._http.parse import QueryParams, parse_query
from django_bolt.concurrency import run_in_pool
from django_bolt.conf import cache_until_settings_change, framework_config
from django_bolt.exceptions import BadRequest, PayloadTooLarge, RequestValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from django_bolt.params import File
    from django_bolt.server.contract import SpooledBody

__all__ = (
    "SPOOL_MAX_BYTES",
    "FormData",
    "FormSource",
    "UploadFile",
    "UploadSettings",
    "parse_form",
    "upload_settings",
)

# 1 MiB: typical form uploads (avatars, CSVs) stay in memory; larger ones go to disk.
SPOOL_MAX_BYTES: Final = 1024 * 1024
# Feed the parser in slices so a part's data reaches its file in bounded pieces.
_FEED_BYTES: Final = 64 * 1024
# Per part: RFC 7578 parts carry two or three header fields; these bounds leave ample room.
_MAX_PART_HEADERS: Final = 16
_MAX_PART_HEADER_BYTES: Final = 8 * 1024


@dataclass(frozen=True, slots=True)
class UploadSettings:
    """The form and upload limits, read from Django's settings once (and again if they change)."""

    memory_spool_bytes: int
    temp_dir: str | None
    max_form_memory_bytes: int | None
    max_fields: int | None
    max_files: int | None


@cache_until_settings_change
def upload_settings() -> UploadSettings:
    """Return the current :class:`UploadSettings` (kept until a setting changes)."""
    config = framework_config()
    return UploadSettings(
        memory_spool_bytes=config.bolt_memory_spool_threshold,
        temp_dir=config.file_upload_temp_dir or None,
        max_form_memory_bytes=config.data_upload_max_memory_size,
        max_fields=config.data_upload_max_number_fields,
        max_files=config.data_upload_max_number_files,
    )


class FormSource(Protocol):
    """What parsing a form reads of a request (``Request`` is one)."""

    body_file: SpooledBody | None

    @property
    def body(self) -> bytes: ...

    @property
    def content_type(self) -> str: ...


def storage_name(filename: str) -> str | None:
    """Return the name to give a storage for a client's file name, derived as Django's multipart
    parser does: the last segment of a Unix or Windows path, without control characters; None
    for a name with nothing usable left ("", ".", "..").  Storages check it again on save."""
    name = filename.rsplit("/")[-1].rsplit("\\")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return None if name in {"", ".", ".."} else name


class UploadFile:
    """One uploaded file. Methods are async so large (disk-spooled) files can use the pool.

    ``file`` is a Django ``UploadedFile`` named after the client's file name (its last path
    segment), so it can be given to a storage or assigned to a ``FileField``. It wraps a
    ``SpooledTemporaryFile`` (``spool``): in memory up to ``max_memory`` bytes (0: always in
    memory), on disk (in ``directory``) beyond.
    """

    __slots__ = ("content_type", "file", "filename", "headers", "spool")

    def __init__(
        self,
        filename: str,
        content_type: str = "application/octet-stream",
        size: int = 0,
        headers: dict[str, str] | None = None,
        file_data: bytes | None = None,
        max_spool_size: int | None = None,
        *,
        max_memory: int = SPOOL_MAX_BYTES,
        directory: str | None = None,
    ) -> None:
        # Django-Bolt 0.13's signature: (filename, content_type, size, headers, file_data,
        # max_spool_size); ``max_memory`` is this framework's name for the spool threshold.
        self.filename = filename
        self.content_type = content_type
        self.headers = headers if headers is not None else {}
        if max_spool_size is not None:
            max_memory = max_spool_size
        # Owned by this object and closed by close(), with the request's spooled body, or
        # when it is collected.
        self.spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=max_memory, dir=directory
        )
        self.file = UploadedFile(self.spool, storage_name(filename), content_type, size)
        if file_data:
            self.spool.write(file_data)
            self.spool.seek(0)
            if not size:
                self.size = len(file_data)

    @property
    def size(self) -> int:
        """The size in bytes (kept on ``file``, so the Django file reports it too)."""
        size: int = self.file.size
        return size

    @size.setter
    def size(self, value: int) -> None:
        self.file.size = value

    @classmethod
    def from_file_info(
        cls, file_info: Mapping[str, Any], max_spool_size: int | None = None
    ) -> UploadFile:
        """Return an upload built from a file-info dict (Django-Bolt 0.13's shape).

        The keys are ``filename``, ``content_type``, ``size``, ``headers`` and either
        ``content`` (the bytes) or ``temp_path`` (a file on disk, copied into this upload's
        spool so the upload owns what it closes).
        """
        upload = cls(
            str(file_info.get("filename", "")),
            str(file_info.get("content_type", "application/octet-stream")),
            int(file_info.get("size", 0) or 0),
            dict(file_info.get("headers") or {}),
            file_info.get("content"),
            max_spool_size,
        )
        temp_path = file_info.get("temp_path")
        if temp_path and not file_info.get("content"):
            with open(temp_path, "rb") as source:
                shutil.copyfileobj(source, upload.spool)
            upload.spool.seek(0)
            if not upload.size:
                upload.size = upload.spool.seek(0, 2)
                upload.spool.seek(0)
        return upload

    def file_info(self) -> dict[str, Any]:
        """Return this upload as a file-info dict (the shape ``File()`` gives a ``dict``
        parameter, as Django-Bolt 0.13 does): ``filename``, ``content_type``, ``size``,
        ``headers``, ``content`` (the bytes) and ``temp_path`` (``None``: the content is
        in ``content``)."""
        self.spool.seek(0)
        content = self.spool.read()
        self.spool.seek(0)
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "headers": dict(self.headers),
            "content": content,
            "temp_path": None,
        }

    @property
    def rolled_to_disk(self) -> bool:
        """Whether the content outgrew memory and lives in a temporary file."""
        return bool(getattr(self.spool, "_rolled", False))

    async def _run(self, fn: Any, *args: Any) -> Any:
        if not self.rolled_to_disk:
            return fn(*args)
        return await run_in_pool(lambda: fn(*args), {})

    async def read(self, size: int = -1) -> bytes:
        data: bytes = await self._run(self.spool.read, size)
        return data

    async def seek(self, offset: int) -> int:
        position: int = await self._run(self.spool.seek, offset)
        return position

    async def write(self, data: bytes) -> None:
        await self._run(self.spool.write, data)
        self.size += len(data)

    async def close(self) -> None:
        await self._run(self.spool.close)

    def __del__(self) -> None:
        # An upload nobody closed is closed with its owner, not left to warn on collection.
        file = getattr(self, "spool", None)
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


def _body_pieces(request: FormSource) -> Iterator[bytes]:
    """Return the body in pieces of at most ``_FEED_BYTES``, without loading a spooled one."""
    body_file = request.body_file
    if body_file is not None:
        yield from body_file.chunks(_FEED_BYTES)
        return
    body = request.body
    if len(body) <= _FEED_BYTES:
        if body:
            yield body
        return
    view = memoryview(body)
    for offset in range(0, len(body), _FEED_BYTES):
        yield bytes(view[offset : offset + _FEED_BYTES])


class _MultipartReader:
    """python-multipart callbacks that build a :class:`FormData` as the parts stream by."""

    __slots__ = (
        "body_file",
        "ended",
        "field_bytes",
        "fields",
        "files",
        "header_bytes",
        "header_name",
        "header_value",
        "headers",
        "limits",
        "max_memory",
        "part",
        "part_data",
        "part_limit",
        "settings",
        "upload_count",
    )

    def __init__(self, request: FormSource, limits: Mapping[str, File] | None) -> None:
        self.settings = settings = upload_settings()
        self.body_file = request.body_file
        # Parts of a body kept in memory stay in memory (see the module docstring).
        self.max_memory = settings.memory_spool_bytes if self.body_file is not None else 0
        self.limits = limits or {}
        self.fields: list[tuple[str, str]] = []
        self.files: dict[str, list[UploadFile]] = {}
        self.headers: dict[str, str] = {}
        self.header_name = b""
        self.header_value = b""
        self.header_bytes = 0
        self.part: UploadFile | str | None = None
        self.part_data: list[bytes] = []
        # The File(max_size) of the current file part, or -1 when its data is being dropped.
        self.part_limit: int | None = None
        self.field_bytes = 0
        self.upload_count = 0
        self.ended = False

    def callbacks(self) -> Any:
        # Any: python-multipart types these as a TypedDict that a plain dict cannot satisfy.
        return {
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def _count_header(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > _MAX_PART_HEADER_BYTES:
            raise BadRequest("Multipart part headers too large")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        headers = self.headers
        if len(headers) >= _MAX_PART_HEADERS:
            raise BadRequest("Too many headers in a multipart part")
        headers[self.header_name.decode("latin-1").lower()] = self.header_value.decode("latin-1")
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        headers = self.headers
        _, options = parse_options_header(headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        settings = self.settings
        if b"filename" in options:
            self.upload_count += 1
            if settings.max_files is not None and self.upload_count > settings.max_files:
                raise BadRequest(
                    f"Too many files: more than {settings.max_files} (DATA_UPLOAD_MAX_NUMBER_FILES)"
                )
            upload = UploadFile(
                options[b"filename"].decode("utf-8", "replace"),
                headers.get("content-type", "application/octet-stream"),
                headers=headers,
                max_memory=self.max_memory,
                directory=settings.temp_dir,
            )
            if self.body_file is not None:
                self.body_file.attach(upload.spool)
                if not self.max_memory:
                    upload.spool.rollover()  # a threshold of 0 means straight to disk
            same_field = self.files.setdefault(name, [])
            same_field.append(upload)
            self.part = upload
            limit = self.limits.get(name)
            self.part_limit = None
            if limit is not None:
                if limit.max_files is not None and len(same_field) > limit.max_files:
                    self.part_limit = -1  # binding refuses the field: keep only the count
                else:
                    self.part_limit = limit.max_size
        else:
            if settings.max_fields is not None and len(self.fields) >= settings.max_fields:
                raise _too_many_fields(settings.max_fields)
            self.part = name
            self.part_data = []

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        size = end - start
        if isinstance(part, UploadFile):
            limit = self.part_limit
            part.size += size
            if limit is None:
                part.spool.write(data[start:end])
            elif limit >= 0:
                if part.size <= limit:
                    part.spool.write(data[start:end])
                else:
                    # Past File(max_size): drop what was stored and store no more.
                    part.spool.seek(0)
                    part.spool.truncate()
                    self.part_limit = -1
        elif part is not None:
            self.field_bytes += size
            cap = self.settings.max_form_memory_bytes
            if cap is not None and self.field_bytes > cap:
                raise PayloadTooLarge(
                    f"Form fields exceed {cap} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"
                )
            self.part_data.append(data[start:end])

    def on_part_end(self) -> None:
        part = self.part
        if isinstance(part, UploadFile):
            part.spool.seek(0)
        elif part is not None:
            self.fields.append((part, b"".join(self.part_data).decode("utf-8", "replace")))
        self.part = None
        self.part_data = []
        self.headers = {}
        self.header_bytes = 0

    def on_end(self) -> None:
        self.ended = True


def _too_many_fields(most: int) -> RequestValidationError:
    """Return the 422 for a form with more than ``most`` fields (0.13's error type)."""
    return RequestValidationError(
        [
            {
                "loc": ["body"],
                "msg": f"Too many fields: more than {most} (DATA_UPLOAD_MAX_NUMBER_FIELDS)",
                "type": "too_many_fields",
                "ctx": {"max_fields": most},
            }
        ]
    )


def _multipart(request: FormSource, boundary: bytes, limits: Mapping[str, File] | None) -> FormData:
    reader = _MultipartReader(request, limits)
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        for piece in _body_pieces(request):
            parser.write(piece)
        parser.finalize()
    except (BadRequest, PayloadTooLarge, RequestValidationError):
        raise
    except Exception as exc:
        raise BadRequest(f"Invalid multipart body: {exc}") from None
    if not reader.ended:
        raise BadRequest("Invalid multipart body: it ends before its closing boundary")
    if reader.field_bytes > param_limit():
        check_param_values(reader.fields, "form")
    return FormData(QueryParams(reader.fields), reader.files)


def _urlencoded(request: FormSource) -> FormData:
    settings = upload_settings()
    body_file = request.body_file
    size = body_file.size if body_file is not None else len(request.body)
    cap = settings.max_form_memory_bytes
    if cap is not None and size > cap:
        raise PayloadTooLarge(f"Form body exceeds {cap} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)")
    pairs = parse_query(request.body.decode("latin-1"))
    if settings.max_fields is not None and len(pairs) > settings.max_fields:
        raise _too_many_fields(settings.max_fields)
    if size > param_limit():
        check_param_values(pairs, "form")
    return FormData(QueryParams(pairs), {})


def parse_form(request: FormSource, limits: Mapping[str, File] | None = None) -> FormData:
    """Return the request's form (urlencoded or multipart; any other body gives an empty form).

    ``limits`` maps a file field's name to its ``File()`` marker, so that ``max_size`` and
    ``max_files`` stop storing a part as soon as it breaks them.
    """
    content_type = request.content_type
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type == "multipart/form-data":
        boundary = b""
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "boundary":
                boundary = value.strip().strip('"').encode("latin-1")
        if not boundary:
            raise BadRequest("Multipart body without a boundary")
        return _multipart(request, boundary, limits)
    if media_type in ("application/x-www-form-urlencoded", ""):
        return _urlencoded(request)
    return FormData(QueryParams([]), {})
