"""The bytes-level response object and pre-encoded header pairs shared by the framework."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import msgspec

from django_bolt.server.contract import WireResponse

__all__ = (
    "CT_HTML",
    "CT_JSON",
    "CT_OCTET",
    "CT_TEXT",
    "JSON_ENCODER",
    "VARY",
    "VARY_ORIGIN",
    "JsonConverter",
    "WireResponse",
    "add_vary",
    "encode_headers",
    "encode_json",
    "json_response",
)

# One encoder for the process: msgspec encoders are reusable and keep an internal buffer.
JSON_ENCODER: Final = msgspec.json.Encoder()
# JSON_ENCODER.encode bound once, for every module that encodes JSON: called as a method,
# compiled code would look ``encode`` up on each call.
encode_json: Final = JSON_ENCODER.encode

CT_JSON: Final = (b"content-type", b"application/json")
CT_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
CT_HTML: Final = (b"content-type", b"text/html; charset=utf-8")
CT_OCTET: Final = (b"content-type", b"application/octet-stream")
VARY: Final = b"vary"
# Spelled as Django-Bolt 0.13 spells it (Vary tokens are case-insensitive).
VARY_ORIGIN: Final = (VARY, b"Origin")

# RFC 9110 section 5.1: a field name is a token.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9110 section 5.5: no CR, LF or NUL may appear in a field value (response splitting).
_BAD_VALUE: Final = re.compile(r"[\r\n\x00]")


def add_vary(headers: list[tuple[bytes, bytes]], token: bytes) -> None:
    """Name the field ``token`` in the response's one ``Vary`` field.

    The field is added when absent; a field that already names it (in any case), or says
    ``*``, is kept.
    """
    for index, (name, value) in enumerate(headers):
        if name == VARY:
            named = [item.strip().lower() for item in value.split(b",")]
            if token.lower() not in named and b"*" not in named:
                headers[index] = (VARY, value + b", " + token)
            return
    headers.append((VARY, token))


def encode_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> list[tuple[bytes, bytes]]:
    """User-given headers → lower-case byte pairs, refusing names or values that could split."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: list[tuple[bytes, bytes]] = []
    for name, value in items:
        name = str(name)
        value = str(value)
        if not _TOKEN.match(name):
            raise ValueError(f"invalid header name {name!r}")
        if _BAD_VALUE.search(value):
            raise ValueError(f"invalid character in value of header {name!r}")
        out.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return out


def json_response(
    status_code: int, payload: object, extra: list[tuple[bytes, bytes]] | None = None
) -> WireResponse:
    """Return a JSON response from framework code (errors, defaults)."""
    headers = [CT_JSON]
    if extra:
        headers.extend(extra)
    return WireResponse(status_code, headers, encode_json(payload))


class JsonConverter:
    """A route's result converter, compiled, for the results most handlers return.

    A ``dict`` or ``list`` result of a route that validates nothing is sent as JSON as it is,
    here; any other result (and one msgspec cannot encode) goes to ``other``, the converter
    ``results.build_result_converter`` made for the route, which decides as before. Called
    from the compiled lane (``_dispatch/lane.py``), it costs no interpreted frame.
    """

    __slots__ = ("fields", "other", "status")

    def __init__(
        self,
        status: int,
        fields: tuple[tuple[bytes, bytes], ...],
        other: Callable[[Any], WireResponse],
    ) -> None:
        self.status = status
        self.fields = fields
        self.other = other

    def __call__(self, result: Any) -> WireResponse:
        kind = type(result)
        if kind is dict or kind is list:
            try:
                body = encode_json(result)
            except TypeError:
                return self.other(result)  # decides what an unencodable list is
            return WireResponse(self.status, list(self.fields), body)
        return self.other(result)
