"""OpenAPI 3.1 objects as dataclasses, for ``OpenAPIConfig``: Django-Bolt 0.13's
``django_bolt.openapi.spec`` names (``Tag``, ``Server``, ``Components``, ``PathItem``...).

Each object turns into its JSON form with :meth:`SpecObject.to_schema`: fields left ``None`` are
left out, snake_case names become the specification's camelCase (``external_docs`` →
``externalDocs``, ``param_in`` → ``in``, ``ref`` → ``$ref``), and nested objects, lists and
dicts are converted the same way. Wherever ``OpenAPIConfig`` takes one of these, a plain dict
written as the specification spells it is accepted too.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

__all__ = (
    "Callback",
    "Components",
    "Contact",
    "Example",
    "ExternalDocumentation",
    "Header",
    "Info",
    "License",
    "Link",
    "MediaType",
    "OAuthFlow",
    "OAuthFlows",
    "OpenAPIResponse",
    "Operation",
    "Parameter",
    "PathItem",
    "Reference",
    "RequestBody",
    "Schema",
    "SecurityRequirement",
    "SecurityScheme",
    "Server",
    "ServerVariable",
    "SpecObject",
    "Tag",
    "merge_components",
    "to_json_value",
)

# A security requirement: scheme name -> the scopes it needs.
SecurityRequirement = dict[str, list[str]]
# A callback: expression -> path item.
Callback = dict[str, Any]


def _key(name: str) -> str:
    """Return the specification's name for a dataclass field name."""
    if name == "ref":
        return "$ref"
    if name.endswith("_in") or name == "in_":
        return "in"
    if name.startswith("schema_"):
        return name[len("schema_") :]
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_json_value(value: Any) -> Any:
    """Return ``value`` with every spec object (at any depth) as its JSON form."""
    if isinstance(value, SpecObject):
        return value.to_schema()
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


@dataclasses.dataclass
class SpecObject:
    """Base of the OpenAPI objects: :meth:`to_schema` gives the JSON form."""

    def to_schema(self) -> dict[str, Any]:
        """Return this object as the specification spells it, fields left ``None`` omitted."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            out[field.metadata.get("alias", _key(field.name))] = to_json_value(value)
        return out


@dataclasses.dataclass
class ExternalDocumentation(SpecObject):
    """A link to documentation elsewhere."""

    url: str
    description: str | None = None


@dataclasses.dataclass
class Tag(SpecObject):
    """A tag's description (operations name tags by ``name``)."""

    name: str
    description: str | None = None
    external_docs: ExternalDocumentation | None = None


@dataclasses.dataclass
class Contact(SpecObject):
    """Who to contact about the API."""

    name: str | None = None
    url: str | None = None
    email: str | None = None


@dataclasses.dataclass
class License(SpecObject):
    """The API's license: a name, and an SPDX ``identifier`` or a ``url``."""

    name: str
    identifier: str | None = None
    url: str | None = None


@dataclasses.dataclass
class ServerVariable(SpecObject):
    """A variable of a server URL template."""

    default: str
    enum: list[str] | None = None
    description: str | None = None


@dataclasses.dataclass
class Server(SpecObject):
    """Where the API is served."""

    url: str
    description: str | None = None
    variables: dict[str, ServerVariable] | None = None


@dataclasses.dataclass
class Info(SpecObject):
    """The document's ``info`` object."""

    title: str
    version: str
    summary: str | None = None
    description: str | None = None
    terms_of_service: str | None = None
    contact: Contact | None = None
    license: License | None = None


@dataclasses.dataclass
class Reference(SpecObject):
    """A ``$ref`` to another part of the document."""

    ref: str
    summary: str | None = None
    description: str | None = None


@dataclasses.dataclass
class Schema(SpecObject):
    """A JSON Schema (the commonest keywords; ``extra`` holds any other, as written)."""

    type: str | list[str] | None = None
    format: str | None = None
    title: str | None = None
    description: str | None = None
    properties: dict[str, Schema | Reference] | None = None
    required: list[str] | None = None
    items: Schema | Reference | None = None
    enum: list[Any] | None = None
    const: Any = None
    default: Any = None
    examples: list[Any] | None = None
    one_of: list[Schema | Reference] | None = None
    any_of: list[Schema | Reference] | None = None
    all_of: list[Schema | Reference] | None = None
    additional_properties: Schema | Reference | bool | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    extra: dict[str, Any] | None = None

    def to_schema(self) -> dict[str, Any]:
        """Return the schema, ``extra``'s keywords merged in."""
        out = super().to_schema()
        extra = out.pop("extra", None)
        if extra:
            out.update(extra)
        return out


@dataclasses.dataclass
class Example(SpecObject):
    """A named example value."""

    summary: str | None = None
    description: str | None = None
    value: Any = None
    external_value: str | None = None


@dataclasses.dataclass
class Header(SpecObject):
    """A response (or encoding) header."""

    schema: Schema | Reference | dict[str, Any] | None = None
    description: str | None = None
    required: bool | None = None
    deprecated: bool | None = None


@dataclasses.dataclass
class MediaType(SpecObject):
    """One media type of a body: its schema and examples."""

    schema: Schema | Reference | dict[str, Any] | None = None
    example: Any = None
    examples: dict[str, Example | Reference] | None = None


@dataclasses.dataclass
class Parameter(SpecObject):
    """A parameter of an operation (``param_in``: query, header, path or cookie)."""

    name: str
    param_in: str
    description: str | None = None
    required: bool | None = None
    deprecated: bool | None = None
    schema: Schema | Reference | dict[str, Any] | None = None
    example: Any = None


@dataclasses.dataclass
class RequestBody(SpecObject):
    """An operation's request body, by media type."""

    content: dict[str, MediaType]
    description: str | None = None
    required: bool | None = None


@dataclasses.dataclass
class Link(SpecObject):
    """A design-time link from a response to another operation."""

    operation_ref: str | None = None
    operation_id: str | None = None
    parameters: dict[str, Any] | None = None
    request_body: Any = None
    description: str | None = None
    server: Server | None = None


@dataclasses.dataclass
class OpenAPIResponse(SpecObject):
    """One response of an operation."""

    description: str
    headers: dict[str, Header | Reference] | None = None
    content: dict[str, MediaType] | None = None
    links: dict[str, Link | Reference] | None = None


@dataclasses.dataclass
class Operation(SpecObject):
    """One method of a path item."""

    tags: list[str] | None = None
    summary: str | None = None
    description: str | None = None
    external_docs: ExternalDocumentation | None = None
    operation_id: str | None = None
    parameters: list[Parameter | Reference] | None = None
    request_body: RequestBody | Reference | None = None
    responses: dict[str, OpenAPIResponse | Reference] | None = None
    callbacks: dict[str, Callback | Reference] | None = None
    deprecated: bool | None = None
    security: list[SecurityRequirement] | None = None
    servers: list[Server] | None = None


@dataclasses.dataclass
class PathItem(SpecObject):
    """The operations of one path (or of a webhook)."""

    ref: str | None = None
    summary: str | None = None
    description: str | None = None
    get: Operation | None = None
    put: Operation | None = None
    post: Operation | None = None
    delete: Operation | None = None
    options: Operation | None = None
    head: Operation | None = None
    patch: Operation | None = None
    trace: Operation | None = None
    servers: list[Server] | None = None
    parameters: list[Parameter | Reference] | None = None
    # Last, so that positional arguments keep their meaning: the OpenAPI 3.2 draft's QUERY.
    query: Operation | None = None


@dataclasses.dataclass
class OAuthFlow(SpecObject):
    """One OAuth 2 flow."""

    authorization_url: str | None = None
    token_url: str | None = None
    refresh_url: str | None = None
    scopes: dict[str, str] | None = None


@dataclasses.dataclass
class OAuthFlows(SpecObject):
    """The OAuth 2 flows a scheme supports."""

    implicit: OAuthFlow | None = None
    password: OAuthFlow | None = None
    client_credentials: OAuthFlow | None = None
    authorization_code: OAuthFlow | None = None


@dataclasses.dataclass
class SecurityScheme(SpecObject):
    """A security scheme (``type``: apiKey, http, mutualTLS, oauth2 or openIdConnect)."""

    type: str
    description: str | None = None
    name: str | None = None
    security_scheme_in: str | None = None
    scheme: str | None = None
    bearer_format: str | None = None
    flows: OAuthFlows | None = None
    open_id_connect_url: str | None = None


@dataclasses.dataclass
class Components(SpecObject):
    """Reusable objects; merged with the components the routes produce."""

    schemas: dict[str, Schema | Reference | dict[str, Any]] | None = None
    responses: dict[str, OpenAPIResponse | Reference] | None = None
    parameters: dict[str, Parameter | Reference] | None = None
    examples: dict[str, Example | Reference] | None = None
    request_bodies: dict[str, RequestBody | Reference] | None = None
    headers: dict[str, Header | Reference] | None = None
    security_schemes: dict[str, SecurityScheme | Reference | dict[str, Any]] | None = None
    links: dict[str, Link | Reference] | None = None
    callbacks: dict[str, Callback | Reference] | None = None
    path_items: dict[str, PathItem | Reference] | None = None


def merge_components(generated: dict[str, Any], given: Components | dict[str, Any] | None) -> None:
    """Add the user's ``components`` to those generated from the routes, section by section.

    A name the routes already use keeps the generated entry: the operations refer to it.
    """
    if given is None:
        return
    extra = to_json_value(given)
    for section, entries in extra.items():
        if not isinstance(entries, dict):
            raise TypeError(f"OpenAPIConfig.components[{section!r}] must be a mapping")
        target = generated.setdefault(section, {})
        for name, entry in entries.items():
            target.setdefault(name, entry)
