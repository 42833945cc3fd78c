"""The route table's old import path: it lives in :mod:`django_bolt._dispatch.table`."""

from __future__ import annotations

from django_bolt._dispatch.table import (
    HTTP_METHODS,
    PathTemplate,
    RouteMatch,
    RouteTable,
    TrailingSlash,
    normalize_path,
    params_for,
)

__all__ = (
    "HTTP_METHODS",
    "PathTemplate",
    "RouteMatch",
    "RouteTable",
    "TrailingSlash",
    "normalize_path",
    "params_for",
)
