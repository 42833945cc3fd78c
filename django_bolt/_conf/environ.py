"""Django-Bolt 0.13's ``DJANGO_BOLT_*`` runtime variables, read at start-up.

An unset or empty variable gives the default; any other value that is not an int in range stops
start-up with ``ImproperlyConfigured``, naming the variable and the value, as 0.13 does.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("EXECUTOR_THREADS", "env_int", "sync_pool_size")

# Threads of the pool that runs blocking def handlers and sync_to_thread (BOLT_SYNC_POOL_SIZE).
EXECUTOR_THREADS: Final = "DJANGO_BOLT_EXECUTOR_THREADS"


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
