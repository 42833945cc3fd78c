"""``JSONFormatter``: one JSON object per log record and line, for log shippers."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

import msgspec

__all__ = ("JSONFormatter",)

_encode: Final = msgspec.json.Encoder(enc_hook=repr).encode
# What every LogRecord has; anything else on a record came from ``extra=`` and is written too.
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


class JSONFormatter(logging.Formatter):
    """Format a record as one line of JSON: time, level, logger, message, process, extras.

    ``time`` is UTC, ISO 8601 with milliseconds; an exception's traceback is ``exception``.
    The fields a record got through ``extra=`` (the logging middleware's ``method``,
    ``status_code``, ...) are keys of their own. Use it from ``LOGGING``:
    ``"formatters": {"json": {"()": "django_bolt.logging.JSONFormatter"}}``.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of JSON."""
        created = record.created
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
        document: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in document:
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exception"] = record.exc_text
        return _encode(document).decode("utf-8")
