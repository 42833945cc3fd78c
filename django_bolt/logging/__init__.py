"""Request logging and the log plumbing, at Django-Bolt 0.13's import path.

- :class:`LoggingConfig`: what the logging middleware logs (fields, obfuscation, body, sampling).
- :class:`LoggingMiddleware` and :func:`create_logging_middleware`: the middleware itself.
- :func:`setup_django_logging`: bounded, queued handlers for the ``django_bolt`` and
  ``django.server`` loggers (``runbolt`` calls it).
- :class:`JSONFormatter`: JSON lines for log shippers, for ``LOGGING``'s formatters.

The package is named after the standard library's ``logging``; its modules import that one
with absolute imports, which is what ``import logging`` means here.
"""

from __future__ import annotations

from django_bolt.logging.config import BoundedQueueHandler, LoggingConfig, setup_django_logging
from django_bolt.logging.formatters import JSONFormatter
from django_bolt.logging.middleware import LoggingMiddleware, create_logging_middleware

__all__ = (
    "BoundedQueueHandler",
    "JSONFormatter",
    "LoggingConfig",
    "LoggingMiddleware",
    "create_logging_middleware",
    "setup_django_logging",
)
