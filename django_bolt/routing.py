"""The route table at its public path, ``django_bolt.routing``.

It lives in :mod:`django_bolt._dispatch.table`; this module names it for code that imports it here.
"""

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
