"""Django-Bolt 0.13's ``DJANGO_BOLT_*`` runtime variables, read at start-up.

An unset or empty variable gives the default; any other value that is not an int in range stops
start-up with ``ImproperlyConfigured``, naming the variable and the value, as 0.13 does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from django.core.exceptions import ImproperlyConfigured

from django_bolt._http.limits import DEFAULT_PARAM_LENGTH, MAX_PARAM_LENGTH_CAP

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = (
    "EXECUTOR_THREADS",
    "MAX_PARAM_LENGTH",
    "ORM_THREADS",
    "env_int",
    "max_param_length",
    "orm_pool_size",
    "sync_pool_size",
)

# Threads of the pool that runs blocking def handlers and sync_to_thread (BOLT_SYNC_POOL_SIZE).
EXECUTOR_THREADS: Final = "DJANGO_BOLT_EXECUTOR_THREADS"
# Threads of the ORM pool: QuerySets async handlers return, auser(), Django's async ORM API.
ORM_THREADS: Final = "DJANGO_BOLT_ORM_THREADS"
# The longest path, query or form value, in bytes (a 422 beyond; _http/limits.py).
MAX_PARAM_LENGTH: Final = "DJANGO_BOLT_MAX_PARAM_LENGTH"


def env_int(
    name: str,
    minimum: int,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int | None:
    """Return the int in the variable ``name``, or None when it is unset or empty."""
    raw = (os.environ if environ is None else environ).get(name, "")
    if not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        expected = f"an int of {minimum} or more"
        if maximum is not None:
            expected = f"an int from {minimum} to {maximum}"
        raise ImproperlyConfigured(f"{name} must be {expected}, got {raw!r}.")
    return value


def sync_pool_size(setting: int, environ: Mapping[str, str] | None = None) -> int:
    """Return the sync pool's size: ``DJANGO_BOLT_EXECUTOR_THREADS`` if set, else the setting."""
    from_env = env_int(EXECUTOR_THREADS, 1, None, environ)
    return setting if from_env is None else from_env


def max_param_length(environ: Mapping[str, str] | None = None) -> int:
    """Return ``DJANGO_BOLT_MAX_PARAM_LENGTH`` (1 to 1 MiB), or the default 8192."""
    from_env = env_int(MAX_PARAM_LENGTH, 1, MAX_PARAM_LENGTH_CAP, environ)
    return DEFAULT_PARAM_LENGTH if from_env is None else from_env


def orm_pool_size(
    databases: Mapping[str, Mapping[str, object]], environ: Mapping[str, str] | None = None
) -> int:
    """Return the ORM pool's size: ``DJANGO_BOLT_ORM_THREADS`` if set, else 0.13's default.

    The default is one thread when every database in ``databases`` (Django's ``DATABASES``) is
    SQLite, where more connections only contend for the file's lock, and four otherwise.
    """
    from_env = env_int(ORM_THREADS, 1, None, environ)
    if from_env is not None:
        return from_env
    engines = [str(db.get("ENGINE", "")) for db in databases.values()]
    return 1 if engines and all("sqlite" in engine for engine in engines) else 4
