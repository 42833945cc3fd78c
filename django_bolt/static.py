"""Kept for the modules not yet moved to ``django_bolt._django.static``, where this now lives."""

from django_bolt._django.static import (
    CACHE_HASHED,
    CACHE_REVALIDATE,
    FileMount,
    StaticFiles,
    static_files_from_settings,
)

__all__ = (
    "CACHE_HASHED",
    "CACHE_REVALIDATE",
    "FileMount",
    "StaticFiles",
    "static_files_from_settings",
)
