"""OpenAPI 3.1 for every BoltAPI, and documentation pages that work without internet access.

``BoltAPI(openapi_config=OpenAPIConfig(...))`` configures it (on by default); the document is
served at ``/openapi.json`` and ``/docs/openapi.json`` (and ``.yaml``), Swagger UI at ``/docs``,
ReDoc at ``/docs/redoc``, Scalar at ``/docs/scalar``, RapiDoc at ``/docs/rapidoc`` and Stoplight
Elements at ``/docs/stoplight``.
"""

from __future__ import annotations

from django_bolt.openapi.config import OpenAPIConfig
from django_bolt.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    RapidocRenderPlugin,
    RedocRenderPlugin,
    ScalarRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
    YamlRenderPlugin,
)
from django_bolt.openapi.schema import OpenAPIStrictError, SchemaGenerator, generate_schema

__all__ = (
    "JsonRenderPlugin",
    "OpenAPIConfig",
    "OpenAPIRenderPlugin",
    "OpenAPIStrictError",
    "RapidocRenderPlugin",
    "RedocRenderPlugin",
    "ScalarRenderPlugin",
    "SchemaGenerator",
    "StoplightRenderPlugin",
    "SwaggerRenderPlugin",
    "YamlRenderPlugin",
    "generate_schema",
)
