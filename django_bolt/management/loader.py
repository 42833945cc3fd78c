"""How a worker started as a fresh interpreter loads the project: ``runbolt`` names this loader
to the server (which imports the application only by that name).

It lives apart from the ``runbolt`` command so that each worker imports what it serves with and
no more: not the command's machinery, the ``--dev`` watcher (watchfiles) or the supervisor.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Final

import django

from django_bolt.discovery import discover_application
from django_bolt.logging import setup_django_logging

if TYPE_CHECKING:
    from django_bolt.server.config import ServerConfig
    from django_bolt.server.contract import Application

__all__ = ("FRESH_WORKER_LOADER", "configure_logging", "load_fresh_application")


def configure_logging(level: str) -> None:
    """Send the ``django_bolt`` loggers to stderr at ``level`` (unless a handler is set).

    Then the ``django_bolt`` and ``django.server`` loggers write through a bounded queue
    (``BOLT_LOG_QUEUE_SIZE``) and a thread of their own, unless ``LOGGING`` names them.
    """
    logger = logging.getLogger("django_bolt")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[django-bolt %(process)d] %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    setup_django_logging()


def load_fresh_application(config: ServerConfig) -> Application:
    """Set Django up and load the project's APIs in a worker started as a fresh interpreter.

    The server calls this by name (:data:`FRESH_WORKER_LOADER`) for every worker it starts as a
    new interpreter, so that it loads the code now on disk exactly as ``runbolt`` did at start.
    """
    django.setup()
    configure_logging(config.log_level)
    return discover_application(config=config)


# The name the server imports the loader by in a fresh interpreter (it imports no framework).
FRESH_WORKER_LOADER: Final = f"{__name__}:{load_fresh_application.__name__}"
