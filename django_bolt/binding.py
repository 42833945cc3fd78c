"""Kept for the modules not yet moved to ``django_bolt._binding`` and ``django_bolt.concurrency``.

The binder, its plan and ``describe_parameters`` live in :mod:`django_bolt._binding`; the sync
pool in :mod:`django_bolt.concurrency`.
"""

from django_bolt._binding.binder import Binder, compile_binder, describe_parameters
from django_bolt._binding.dependencies import run_exits
from django_bolt._binding.plan import ParameterInfo
from django_bolt.concurrency import configure_sync_pool, reset_sync_pool, run_in_pool

__all__ = (
    "Binder",
    "ParameterInfo",
    "compile_binder",
    "configure_sync_pool",
    "describe_parameters",
    "reset_sync_pool",
    "run_exits",
    "run_in_pool",
)
