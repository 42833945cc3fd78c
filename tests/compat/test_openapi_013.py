"""Django-Bolt 0.13's OpenAPI names: the spec objects of ``django_bolt.openapi.spec`` in
``OpenAPIConfig``, its ``external_docs``, ``components``, ``webhooks`` and ``strict`` options, the
``ApiKeyAuth`` scheme, and ``/docs`` served by the first of custom ``render_plugins``.
"""

from __future__ import annotations

import msgspec
import pytest
from openapi_spec_validator import validate

from django_bolt import BoltAPI
from django_bolt.auth import APIKeyAuthentication, IsAuthenticated
from django_bolt.openapi import (
    OpenAPIConfig,
    OpenAPIStrictError,
    RedocRenderPlugin,
    ScalarRenderPlugin,
)
from django_bolt.openapi.spec import (
    Components,
    Contact,
    ExternalDocumentation,
    License,
    MediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    RequestBody,
    Schema,
    SecurityScheme,
    Server,
    ServerVariable,
    Tag,
)
from django_bolt.testing import TestClient


class Item(msgspec.Struct):
    name: str


def spec_api(config: OpenAPIConfig) -> BoltAPI:
    api = BoltAPI(openapi_config=config)

    @api.get("/items", tags=["items"])
    async def items() -> list[Item]:
        return []

    @api.get("/keyed", auth=[APIKeyAuthentication(api_keys={"k"})], guards=[IsAuthenticated()])
    async def keyed() -> Item:
        return Item("k")

    return api


def spec_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Spec API",
        version="3.0.0",
        contact=Contact(name="Bolt", email="bolt@example.com"),
        license=License(name="MIT", identifier="MIT"),
        servers=[
            Server(
                url="https://{region}.example.com",
                description="regional",
                variables={"region": ServerVariable(default="eu", enum=["eu", "us"])},
            ),
            "/",
        ],
        tags=[
            Tag(
                name="items",
                description="The items",
                external_docs=ExternalDocumentation(url="https://docs.example.com/items"),
            ),
            "other",
        ],
        external_docs=ExternalDocumentation(url="https://docs.example.com", description="Guide"),
        components=Components(
            schemas={"Extra": Schema(type="object", properties={"n": Schema(type="integer")})},
            security_schemes={
                "OAuth": SecurityScheme(type="http", scheme="bearer", bearer_format="opaque")
            },
        ),
        webhooks={
            "itemCreated": PathItem(
                post=Operation(
                    summary="An item was created",
                    request_body=RequestBody(
                        content={
                            "application/json": MediaType(
                                schema={"$ref": "#/components/schemas/Item"}
                            )
                        }
                    ),
                    responses={"200": OpenAPIResponse(description="Received")},
                )
            )
        },
    )


def test_spec_objects_and_013_options_reach_the_document():
    with TestClient(spec_api(spec_config())) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    assert document["info"]["contact"] == {"name": "Bolt", "email": "bolt@example.com"}
    assert document["info"]["license"] == {"name": "MIT", "identifier": "MIT"}
    assert document["servers"] == [
        {
            "url": "https://{region}.example.com",
            "description": "regional",
            "variables": {"region": {"default": "eu", "enum": ["eu", "us"]}},
        },
        {"url": "/"},
    ]
    assert document["tags"] == [
        {
            "name": "items",
            "description": "The items",
            "externalDocs": {"url": "https://docs.example.com/items"},
        },
        {"name": "other"},
    ]
    assert document["externalDocs"] == {"url": "https://docs.example.com", "description": "Guide"}
    schemas = document["components"]["schemas"]
    assert schemas["Extra"] == {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert "Item" in schemas  # the generated components are kept alongside
    schemes = document["components"]["securitySchemes"]
    assert schemes["OAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
    webhook = document["webhooks"]["itemCreated"]["post"]
    assert webhook["summary"] == "An item was created"
    assert webhook["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"
    }


def test_plain_dicts_are_accepted_where_spec_objects_are():
    config = OpenAPIConfig(
        title="Dicts",
        external_docs={"url": "https://docs.example.com"},
        components={"schemas": {"Item": {"type": "string"}, "Other": {"type": "integer"}}},
    )
    with TestClient(spec_api(config)) as client:
        document = client.get("/openapi.json").json()
    assert document["externalDocs"] == {"url": "https://docs.example.com"}
    # A name the routes use keeps the generated component (operations refer to it).
    assert document["components"]["schemas"]["Item"]["type"] == "object"
    assert document["components"]["schemas"]["Other"] == {"type": "integer"}


def test_the_default_api_key_scheme_is_named_as_in_013():
    with TestClient(spec_api(OpenAPIConfig(title="Keys"))) as client:
        document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert document["paths"]["/keyed"]["get"]["security"] == [{"ApiKeyAuth": []}]


def test_strict_refuses_untyped_json_responses():
    api = BoltAPI(openapi_config=OpenAPIConfig(title="Strict", strict=True))

    @api.get("/typed")
    async def typed() -> Item:
        return Item("a")

    @api.get("/untyped")
    async def untyped():
        return {"a": 1}

    @api.delete("/gone", status_code=204)
    async def gone():
        return None

    with TestClient(api) as client, pytest.raises(OpenAPIStrictError, match="GET /untyped"):
        client.get("/openapi.json")

    relaxed = BoltAPI(openapi_config=OpenAPIConfig(title="Strict", strict=True))

    @relaxed.get("/typed")
    async def typed_only() -> Item:
        return Item("a")

    with TestClient(relaxed) as client:
        assert client.get("/openapi.json").status_code == 200


def test_docs_path_is_served_by_the_first_custom_plugin():
    config = OpenAPIConfig(
        title="Plugins", render_plugins=[RedocRenderPlugin(), ScalarRenderPlugin()]
    )
    with TestClient(spec_api(config)) as client:
        root = client.get("/docs")
        redoc = client.get("/docs/redoc")
        scalar = client.get("/docs/scalar")
    assert root.status_code == 200
    assert root.text == redoc.text
    assert "redoc" in root.text.lower()
    assert scalar.status_code == 200
    assert scalar.text != root.text
