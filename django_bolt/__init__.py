"""django-bolt: a fast typed API framework for Django, with its own HTTP server."""

from __future__ import annotations

from django_bolt.api import BoltAPI, Router
from django_bolt.datastructures import UploadFile
from django_bolt.exceptions import HTTPException
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
    "Body",
    "BoltAPI",
    "Cookie",
    "Depends",
    "File",
    "FileResponse",
    "Form",
    "HTTPException",
    "Header",
    "Path",
    "PlainText",
    "Query",
    "Redirect",
    "Request",
    "Response",
    "Router",
    "StreamingResponse",
    "UploadFile",
    "__version__",
)
