"""Kept for the modules not yet moved to ``django_bolt._binding.fast``, where this now lives."""

from django_bolt._binding.fast import canonical_int, compile_fast_bind

__all__ = ("canonical_int", "compile_fast_bind")
