"""Request and response policies compiled into a route's pipeline at start-up."""

from __future__ import annotations

from django_bolt.middleware.compression import CompressionConfig, no_compress
from django_bolt.middleware.cors import CORSConfig, cors

__all__ = ("CORSConfig", "CompressionConfig", "cors", "no_compress")
