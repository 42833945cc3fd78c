"""django-bolt: a fast typed API framework for Django, with its own HTTP server."""

from __future__ import annotations

from django_bolt import status_codes as status
from django_bolt.api import BoltAPI, Router
from django_bolt.auth import (
    AllowAny,
    APIKeyAuthentication,
    IsAuthenticated,
    JWTAuthentication,
    SessionAuthentication,
    create_jwt_for_user,
)
from django_bolt.datastructures import UploadFile
from django_bolt.enums import FileSize, MediaType
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
from django_bolt.openapi import (
    JsonRenderPlugin,
    OpenAPIConfig,
    RapidocRenderPlugin,
    RedocRenderPlugin,
    ScalarRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from django_bolt.params import Body, Cookie, Depends, File, Form, Header, Path, Query
from django_bolt.request import Request, Request as RequestProtocol
from django_bolt.responses import (
    HTML,
    JSON,
    EventSourceResponse,
    FileResponse,
    PlainText,
    Redirect,
    Response,
    ServerSentEvent,
    StreamingResponse,
    format_sse_event,
)
from django_bolt.types import (
    APIKeyAuth,
    DjangoModel,
    JWTClaims,
    TimingState,
    TracingState,
    UserType,
)

__version__ = "0.1.0"

__all__ = (
    "HTML",
    "JSON",
    "APIKeyAuth",
    "APIKeyAuthentication",
    "AllowAny",
    "BaseMiddleware",
    "Body",
    "BoltAPI",
    "CompressionConfig",
    "Cookie",
    "Depends",
    "DjangoMiddleware",
    "DjangoModel",
    "ErrorHandlerMiddleware",
    "EventSourceResponse",
    "File",
    "FileResponse",
    "FileSize",
    "Form",
    "HTTPException",
    "Header",
    "IsAuthenticated",
    "JWTAuthentication",
    "JWTClaims",
    "JsonRenderPlugin",
    "LoggingMiddleware",
    "MediaType",
    "Middleware",
    "MiddlewareProtocol",
    "OpenAPIConfig",
    "Path",
    "PlainText",
    "Query",
    "RapidocRenderPlugin",
    "Redirect",
    "RedocRenderPlugin",
    "Request",
    "RequestProtocol",
    "Response",
    "Router",
    "ScalarRenderPlugin",
    "ServerSentEvent",
    "SessionAuthentication",
    "StoplightRenderPlugin",
    "StreamingResponse",
    "SwaggerRenderPlugin",
    "TimingMiddleware",
    "TimingState",
    "TracingState",
    "UploadFile",
    "UserType",
    "YamlRenderPlugin",
    "__version__",
    "cors",
    "create_jwt_for_user",
    "format_sse_event",
    "middleware",
    "no_compress",
    "rate_limit",
    "skip_middleware",
    "status",
)
