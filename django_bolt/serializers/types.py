"""Ready-made constrained types for serializer fields: ``Annotated`` types checked by msgspec.

Each is ``Annotated[<base>, msgspec.Meta(...)]``: the constraint is enforced in C when data is
parsed (``model_validate``, a request body, ``msgspec.convert``) and appears in the OpenAPI
schema. Direct instantiation does not check them (msgspec's rule for ``Meta``).
"""

from __future__ import annotations

from typing import Annotated, Final

from msgspec import Meta

__all__ = (
    "IP",
    "URL",
    "UUID",
    "BigInt",
    "Char50",
    "Char100",
    "Char150",
    "Char200",
    "Char255",
    "Char500",
    "Char1000",
    "CountryCode",
    "CurrencyCode",
    "Email",
    "FilePath",
    "Float",
    "HexColor",
    "HttpStatus",
    "HttpsURL",
    "IPv4",
    "IPv6",
    "Int",
    "LanguageCode",
    "Latitude",
    "Longitude",
    "NonEmptyStr",
    "NonNegativeInt",
    "Password",
    "Percentage",
    "Phone",
    "Port",
    "PositiveBigInt",
    "PositiveFloat",
    "PositiveInt",
    "PositiveSmallInt",
    "Rating",
    "Rating10",
    "Slug",
    "Slug100",
    "Slug200",
    "SmallInt",
    "Text",
    "Timezone",
    "Username",
)

_INT16: Final = 2**15
_INT32: Final = 2**31
_INT64: Final = 2**63

# --- strings by length ----------------------------------------------------------------------------
Char50 = Annotated[str, Meta(max_length=50, description="At most 50 characters")]
Char100 = Annotated[str, Meta(max_length=100, description="At most 100 characters")]
Char150 = Annotated[str, Meta(max_length=150, description="At most 150 characters")]
Char200 = Annotated[str, Meta(max_length=200, description="At most 200 characters")]
Char255 = Annotated[str, Meta(max_length=255, description="At most 255 characters")]
Char500 = Annotated[str, Meta(max_length=500, description="At most 500 characters")]
Char1000 = Annotated[str, Meta(max_length=1000, description="At most 1000 characters")]
Text = Annotated[str, Meta(description="Text of any length")]
NonEmptyStr = Annotated[str, Meta(min_length=1, description="At least one character")]

# --- strings with a shape -------------------------------------------------------------------------
# One "@", no spaces, a dot in the domain; the length limit is RFC 5321's.
Email = Annotated[
    str,
    Meta(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        max_length=254,
        description="Email address",
        examples=["ann@example.com"],
    ),
]
URL = Annotated[
    str,
    Meta(
        pattern=r"^https?://[^\s/$.?#][^\s]*$",
        max_length=2048,
        description="http or https URL",
        examples=["https://example.com/"],
    ),
]
HttpsURL = Annotated[
    str,
    Meta(
        pattern=r"^https://[^\s/$.?#][^\s]*$",
        max_length=2048,
        description="https URL",
        examples=["https://example.com/"],
    ),
]
Slug = Annotated[
    str,
    Meta(pattern=r"^[-a-zA-Z0-9_]+$", max_length=50, description="Letters, digits, - and _"),
]
Slug100 = Annotated[
    str,
    Meta(pattern=r"^[-a-zA-Z0-9_]+$", max_length=100, description="Letters, digits, - and _"),
]
Slug200 = Annotated[
    str,
    Meta(pattern=r"^[-a-zA-Z0-9_]+$", max_length=200, description="Letters, digits, - and _"),
]
UUID = Annotated[
    str,
    Meta(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="UUID in its hyphenated text form",
    ),
]
FilePath = Annotated[
    str,
    Meta(pattern=r"^[^\x00]+$", max_length=4096, description="File path (no NUL byte)"),
]
Username = Annotated[
    str,
    Meta(
        pattern=r"^[\w.@+-]+$",
        min_length=1,
        max_length=150,
        description="Letters, digits and @ . + - _ (Django's username rule)",
    ),
]
Password = Annotated[str, Meta(min_length=8, max_length=128, description="8 to 128 characters")]
Phone = Annotated[
    str,
    Meta(pattern=r"^\+?[0-9][0-9 ()\-]{5,18}$", max_length=20, description="Phone number"),
]
HexColor = Annotated[
    str,
    Meta(pattern=r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", description="#rgb or #rrggbb"),
]
CurrencyCode = Annotated[
    str, Meta(pattern=r"^[A-Z]{3}$", min_length=3, max_length=3, description="ISO 4217 code")
]
CountryCode = Annotated[
    str,
    Meta(pattern=r"^[A-Z]{2}$", min_length=2, max_length=2, description="ISO 3166-1 alpha-2"),
]
LanguageCode = Annotated[
    str,
    Meta(pattern=r"^[a-z]{2}(?:-[A-Z]{2})?$", max_length=5, description="Language (en, en-US)"),
]
Timezone = Annotated[
    str,
    Meta(pattern=r"^[A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*$", max_length=50, description="IANA zone"),
]

# --- network --------------------------------------------------------------------------------------
_OCTET: Final = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPv4 = Annotated[str, Meta(pattern=rf"^{_OCTET}(?:\.{_OCTET}){{3}}$", description="IPv4 address")]
IPv6 = Annotated[
    str,
    Meta(pattern=r"^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$", max_length=45, description="IPv6 address"),
]
IP = Annotated[
    str,
    Meta(
        pattern=rf"^(?:{_OCTET}(?:\.{_OCTET}){{3}}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$",
        max_length=45,
        description="IPv4 or IPv6 address",
    ),
]
Port = Annotated[int, Meta(ge=1, le=65535, description="TCP/UDP port")]
HttpStatus = Annotated[int, Meta(ge=100, le=599, description="HTTP status code")]

# --- numbers (the integer ranges are the database columns') ---------------------------------------
SmallInt = Annotated[int, Meta(ge=-_INT16, le=_INT16 - 1, description="16-bit integer")]
Int = Annotated[int, Meta(ge=-_INT32, le=_INT32 - 1, description="32-bit integer")]
BigInt = Annotated[int, Meta(ge=-_INT64, le=_INT64 - 1, description="64-bit integer")]
PositiveSmallInt = Annotated[int, Meta(ge=0, le=_INT16 - 1, description="0 to 32767")]
PositiveInt = Annotated[int, Meta(gt=0, description="Integer > 0")]
PositiveBigInt = Annotated[int, Meta(ge=0, le=_INT64 - 1, description="64-bit integer >= 0")]
NonNegativeInt = Annotated[int, Meta(ge=0, description="Integer >= 0")]
Float = Annotated[float, Meta(description="Floating point number")]
PositiveFloat = Annotated[float, Meta(ge=0, description="Number >= 0")]
Latitude = Annotated[float, Meta(ge=-90, le=90, description="Latitude in degrees")]
Longitude = Annotated[float, Meta(ge=-180, le=180, description="Longitude in degrees")]
Percentage = Annotated[float, Meta(ge=0, le=100, description="0 to 100")]
Rating = Annotated[float, Meta(ge=0, le=5, description="0 to 5")]
Rating10 = Annotated[float, Meta(ge=0, le=10, description="0 to 10")]
