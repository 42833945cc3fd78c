"""django-bolt: a fast typed API framework for Django, with its own HTTP server."""

from __future__ import annotations

from django_bolt.api import BoltAPI, Router
from django_bolt.datastructures import UploadFile
from django_bolt.exceptions import HTTPException
from django_bolt.middleware import (
    BaseMiddleware,
    CompressionConfig,
    DjangoMiddleware,
    ErrorHandlerMiddleware,
    LoggingMiddleware,
    Middleware,
    MiddlewareProtocol,
    TimingMiddleware,
    cors,
    middleware,
    no_compress,
    rate_limit,
    skip_middleware,
)
from django_bolt.params import Body, Cookie, Depends, File, Form, Header, Path, Query
from django_bolt.request import Request
from django_bolt.responses import (
    HTML,
    JSON,
    FileResponse,
    PlainText,
    Redirect,
    Response,
    StreamingResponse,
)

__version__ = "0.1.0"

__all__ = (
    "HTML",
    "JSON",
    "BaseMiddleware",
    "Body",
    "BoltAPI",
    "CompressionConfig",
    "Cookie",
    "Depends",
    "DjangoMiddleware",
    "ErrorHandlerMiddleware",
    "File",
    "FileResponse",
    "Form",
    "HTTPException",
    "Header",
    "LoggingMiddleware",
    "Middleware",
    "MiddlewareProtocol",
    "Path",
    "PlainText",
    "Query",
    "Redirect",
    "Request",
    "Response",
    "Router",
    "StreamingResponse",
    "TimingMiddleware",
    "UploadFile",
    "__version__",
    "cors",
    "middleware",
    "no_compress",
    "rate_limit",
    "skip_middleware",
)
