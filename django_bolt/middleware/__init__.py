"""Request and response policies compiled into a route's pipeline at start-up."""

from __future__ import annotations

from django_bolt.middleware.compression import CompressionConfig, no_compress

__all__ = ("CompressionConfig", "no_compress")
