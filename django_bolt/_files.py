"""Kept for the modules not yet moved to ``django_bolt._http.files``, where this now lives."""

from django_bolt._http.files import (
    CHUNK_BYTES,
    INLINE_READ_MAX_BYTES,
    FileWire,
    configure_allowed_paths,
    file_wire,
    open_file_response,
)

__all__ = (
    "CHUNK_BYTES",
    "INLINE_READ_MAX_BYTES",
    "FileWire",
    "configure_allowed_paths",
    "file_wire",
    "open_file_response",
)
