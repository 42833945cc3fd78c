"""Kept for the modules not yet moved to ``django_bolt._django.bridge``, where this now lives."""

from django_bolt._django.bridge import DjangoBridge, _environ, fallthrough_enabled

__all__ = ("DjangoBridge", "_environ", "fallthrough_enabled")
