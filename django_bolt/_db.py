"""Kept for the modules not yet moved to ``django_bolt._django.db``, where this now lives."""

from django_bolt._django.db import (
    SHARED,
    install_connection_tracking,
    run_pooled,
    schedule_shared_settle,
    wrap_handler,
)

__all__ = (
    "SHARED",
    "install_connection_tracking",
    "run_pooled",
    "schedule_shared_settle",
    "wrap_handler",
)
