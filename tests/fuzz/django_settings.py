"""Settings for a real ``runbolt`` serving the fuzz API (tests/integration/test_fuzz_socket.py).

The log lines start with their level, so the test can tell an ERROR from the rest; the
``[django-bolt <pid>] message`` part stays as runbolt writes it (the fixtures wait for it).
"""

from __future__ import annotations

from tests.settings import *  # noqa: F403 - the suite's project, serving another API

BOLT_API = ["tests.fuzz.app:api"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"levelled": {"format": "%(levelname)s [django-bolt %(process)d] %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "levelled"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"django_bolt": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}
