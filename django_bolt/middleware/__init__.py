"""Request and response policies compiled into a route's pipeline at start-up."""

from __future__ import annotations

from django_bolt.middleware.base import (
    BaseMiddleware,
    ErrorHandlerMiddleware,
    LoggingMiddleware,
    Middleware,
    MiddlewareProtocol,
    TimingMiddleware,
    middleware,
    skip_middleware,
)
from django_bolt.middleware.compression import CompressionConfig, no_compress
from django_bolt.middleware.cors import CORSConfig, cors
from django_bolt.middleware.django import DjangoMiddleware, DjangoMiddlewareStack
from django_bolt.middleware.django_loader import (
    DEFAULT_EXCLUDED_MIDDLEWARE,
    get_django_middleware_setting,
    load_django_middleware,
)
from django_bolt.middleware.rate_limit import rate_limit

__all__ = (
    "DEFAULT_EXCLUDED_MIDDLEWARE",
    "BaseMiddleware",
    "CORSConfig",
    "CompressionConfig",
    "DjangoMiddleware",
    "DjangoMiddlewareStack",
    "ErrorHandlerMiddleware",
    "LoggingMiddleware",
    "Middleware",
    "MiddlewareProtocol",
    "TimingMiddleware",
    "cors",
    "get_django_middleware_setting",
    "load_django_middleware",
    "middleware",
    "no_compress",
    "rate_limit",
    "skip_middleware",
)
