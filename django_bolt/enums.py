"""Enums for readable arguments: ``media_type=MediaType.HTML``, ``File(max_size=FileSize.MB_5)``.

Members are ``str`` / ``int`` values, so they can be passed wherever a plain media type or a
byte count is expected.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = ("FileSize", "MediaType")

_MB = 1024 * 1024


class MediaType(StrEnum):
    """Common response media types."""

    JSON = "application/json"
    HTML = "text/html"
    TEXT = "text/plain"
    CSS = "text/css"
    XML = "application/xml"
    MESSAGEPACK = "application/vnd.msgpack"


class FileSize(IntEnum):
    """Upload size limits in bytes (binary megabytes)."""

    MB_1 = 1 * _MB
    MB_2 = 2 * _MB
    MB_3 = 3 * _MB
    MB_4 = 4 * _MB
    MB_5 = 5 * _MB
    MB_6 = 6 * _MB
    MB_7 = 7 * _MB
    MB_8 = 8 * _MB
    MB_9 = 9 * _MB
    MB_10 = 10 * _MB
    MB_20 = 20 * _MB
    MB_30 = 30 * _MB
    MB_40 = 40 * _MB
    MB_50 = 50 * _MB
    MB_60 = 60 * _MB
    MB_70 = 70 * _MB
    MB_80 = 80 * _MB
    MB_90 = 90 * _MB
    MB_100 = 100 * _MB
