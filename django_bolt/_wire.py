"""Kept for the modules not yet moved to ``django_bolt._http.wire``, where this now lives."""

from django_bolt._http.wire import (
    CT_HTML,
    CT_JSON,
    CT_OCTET,
    CT_TEXT,
    JSON_ENCODER,
    VARY,
    VARY_ORIGIN,
    WireResponse,
    add_vary,
    encode_headers,
    json_response,
)

__all__ = (
    "CT_HTML",
    "CT_JSON",
    "CT_OCTET",
    "CT_TEXT",
    "JSON_ENCODER",
    "VARY",
    "VARY_ORIGIN",
    "WireResponse",
    "add_vary",
    "encode_headers",
    "json_response",
)
