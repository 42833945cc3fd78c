"""The generated OpenAPI 3.1 document: valid, and saying what each route really binds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
import yaml
from django.core.management import call_command
from django.test import override_settings
from openapi_spec_validator import validate

from django_bolt import BoltAPI, Query
from django_bolt.auth import APIKeyAuthentication, IsAuthenticated, JWTAuthentication
from django_bolt.openapi import OpenAPIConfig, SchemaGenerator, generate_schema
from django_bolt.testing import TestClient
from tests.openapi import everykind

ROOT = Path(__file__).resolve().parents[2]


class Out(msgspec.Struct):
    n: int


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with TestClient(everykind.api) as client:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return response.json()  # type: ignore[no-any-return]


def _op(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return document["paths"][path][method]  # type: ignore[no-any-return]


def _params(operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


def test_every_kind_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {
        "title": "Every Kind API",
        "version": "2.1.0",
        "description": "Uses every parameter and body kind.",
        "contact": {"name": "Bolt", "email": "bolt@example.com"},
        "license": {"name": "MIT", "identifier": "MIT"},
    }
    assert document["servers"] == [
        {"url": "http://testserver"},
        {"url": "/", "description": "same host"},
    ]
    assert document["tags"] == [{"name": "users", "description": "People"}]


def test_path_query_header_cookie_parameters_with_types_defaults_constraints(
    document: dict[str, Any],
) -> None:
    params = _params(_op(document, "/users/{user_id}"))
    assert params["path", "user_id"] == {
        "name": "user_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    assert params["query", "verbose"]["schema"] == {"type": "boolean", "default": False}
    assert params["query", "verbose"]["required"] is False
    assert params["query", "limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 500,
        "default": 50,
    }
    fields = params["query", "fields"]
    assert fields["description"] == "Fields to include"
    assert {"type": "array", "items": {"type": "string"}} in fields["schema"]["anyOf"]
    q = params["query", "q"]["schema"]["anyOf"]
    assert {"type": "string", "minLength": 2, "maxLength": 10} in q
    assert {"type": "null"} in q
    assert params["query", "sort"]["schema"] == {"enum": ["asc", "desc"], "default": "asc"}
    # Headers are documented by their wire names: kebab-case.
    assert params["header", "x-api-version"]["schema"] == {"type": "string", "default": "1"}
    # An alias is the name in the request.
    assert ("cookie", "hint") in params
    assert ("cookie", "session_hint") not in params


def test_grouped_struct_parameters_and_dependency_parameters_are_expanded(
    document: dict[str, Any],
) -> None:
    params = _params(_op(document, "/users"))
    assert params["query", "page"]["schema"] == {"type": "integer", "minimum": 1, "default": 1}
    assert params["query", "size"]["schema"]["maximum"] == 100
    assert params["query", "page"]["required"] is False
    # current_locale's own header parameter, read for every request to this route.
    assert params["header", "accept-language"]["schema"] == {"type": "string", "default": "en"}
    headers = _params(_op(document, "/headers"))
    assert headers["header", "x-request-id"]["required"] is True
    assert headers["header", "x-trace"]["required"] is False


def test_json_body_and_response_models_are_components(document: dict[str, Any]) -> None:
    create = _op(document, "/users", "post")
    assert create["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserIn"}}},
    }
    assert list(create["responses"]) == ["201", "422"]
    created = create["responses"]["201"]
    assert created["description"] == "Created"
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/User"}
    schemas = document["components"]["schemas"]
    assert schemas["UserIn"]["properties"]["email"]["pattern"] == "^[^@]+@[^@]+$"
    assert schemas["User"]["properties"]["name"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 50,
    }
    assert schemas["User"]["description"] == "A user as the API returns it."
    # A nested Struct is its own component, referenced from the others.
    assert "Address" in schemas
    # Structs that only group query or header values are not components of their own.
    assert "Paging" not in schemas
    assert "TraceHeaders" not in schemas
    # Every component is used, and every reference resolves.
    used: set[str] = set()
    text = json.dumps(document)
    used.update(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert used == set(schemas)
    # A dataclass body works the same way.
    note = _op(document, "/users/{user_id}/note", "put")
    assert note["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Note"
    }
    listed = _op(document, "/users")["responses"]["200"]["content"]["application/json"]
    assert listed["schema"] == {"type": "array", "items": {"$ref": "#/components/schemas/User"}}


def test_several_body_arguments_are_one_object_keyed_by_argument(
    document: dict[str, Any],
) -> None:
    profile = _op(document, "/users/{user_id}/profile", "put")["requestBody"]
    assert profile == {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "user": {"$ref": "#/components/schemas/UserIn"},
                        "note": {"$ref": "#/components/schemas/Note"},
                        "priority": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 9,
                            "default": 0,
                            "description": "Review priority",
                        },
                    },
                    "required": ["user", "note"],
                }
            }
        },
    }


def test_form_and_multipart_bodies(document: dict[str, Any]) -> None:
    login = _op(document, "/login", "post")["requestBody"]
    assert set(login["content"]) == {"application/x-www-form-urlencoded", "multipart/form-data"}
    form = login["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["username", "password"]
    assert form["properties"]["password"] == {"type": "string", "minLength": 8}
    assert form["properties"]["remember"] == {"type": "boolean", "default": False}
    upload = _op(document, "/upload", "post")["requestBody"]
    assert list(upload["content"]) == ["multipart/form-data"]
    schema = upload["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["document"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["extras"] == {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "maxItems": 3,
    }
    assert schema["required"] == ["title", "document"]


def test_response_kinds(document: dict[str, Any]) -> None:
    def content(path: str) -> dict[str, Any]:
        return _op(document, path)["responses"]["200"]["content"]  # type: ignore[no-any-return]

    assert content("/page") == {"text/html": {"schema": {"type": "string"}}}
    assert content("/text") == {"text/plain": {"schema": {"type": "string"}}}
    assert content("/plain") == {"text/plain": {"schema": {"type": "string"}}}
    assert content("/download") == {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    assert content("/raw") == {"application/json": {"schema": {}}}
    deleted = _op(document, "/users/{user_id}", "delete")["responses"]["204"]
    assert deleted == {"description": "No Content"}


def test_validation_error_schema_matches_a_real_422(document: dict[str, Any]) -> None:
    import jsonschema

    op = _op(document, "/users/{user_id}")
    ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/HTTPValidationError"
    with TestClient(everykind.api) as client:
        bad = client.get("/users/1?limit=0&q=x")
    assert bad.status_code == 422
    schema = {"$ref": ref, "components": document["components"]}
    jsonschema.validate(bad.json(), schema)
    # Nothing to validate on a handler without parameters: no 422.
    assert "422" not in _op(document, "/page")["responses"]


def test_security_schemes_and_auth_responses(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert schemes["SessionAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    me = _op(document, "/me")
    assert me["security"] == [{"BearerAuth": []}]
    assert {"401", "403"} <= set(me["responses"])
    assert _op(document, "/keyed")["security"] == [{"ApiKeyAuth": []}]
    # Auth without a refusing guard: anonymous requests pass too (the empty requirement).
    maybe = _op(document, "/maybe")
    assert maybe["security"] == [{"SessionAuth": []}, {"BearerAuth": []}, {}]
    assert "401" not in maybe["responses"]
    opened = _op(document, "/open")
    assert "security" not in opened
    assert "401" not in opened["responses"]


def test_tags_summaries_descriptions(document: dict[str, Any]) -> None:
    user = _op(document, "/users/{user_id}")
    assert user["tags"] == ["users"]
    assert user["summary"] == "Fetch one user."
    assert user["description"] == "The long description comes from the rest of the docstring."
    listed = _op(document, "/users")
    assert listed["summary"] == "List users"
    assert listed["description"] == "Paged list of users."
    assert _op(document, "/open")["summary"] == "Open route"
    assert _op(document, "/v1/items/{item_id}")["tags"] == ["v1"]


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete", "head", "options"}
    ]
    assert len(ids) == len(set(ids))
    assert _op(document, "/v1/items/{item_id}")["operationId"] == "get_get_item"
    assert _op(document, "/v2/items/{item_id}")["operationId"] != "get_get_item"
    assert _op(document, "/multi")["operationId"] == "get_multi"
    assert _op(document, "/multi", "post")["operationId"] == "post_multi"


def test_hidden_excluded_docs_and_mounted_routes(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    assert "/hidden" not in paths  # include_in_schema=False
    assert "/internal/stats" not in paths  # exclude_paths
    assert not any(p.startswith(("/docs", "/openapi")) for p in paths)
    assert "/extra/ping" in paths  # a mounted API's routes


def test_yaml_and_every_schema_path_serve_the_same_document(document: dict[str, Any]) -> None:
    with TestClient(everykind.api) as client:
        for path in ("/docs/openapi.json", "/openapi.json"):
            assert client.get(path).json() == document
        for path in ("/openapi.yaml", "/docs/openapi.yaml", "/docs/openapi.yml"):
            response = client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/yaml")
            assert yaml.safe_load(response.text) == document


def test_document_is_built_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = SchemaGenerator.generate

    def counting(self: SchemaGenerator) -> dict[str, Any]:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(SchemaGenerator, "generate", counting)
    api = BoltAPI()

    @api.get("/a")
    async def a() -> dict[str, int]:
        return {"a": 1}

    with TestClient(api) as client:
        assert calls == []  # not at start-up: on the first request for it
        for path in ("/openapi.json", "/openapi.yaml", "/docs", "/docs/redoc", "/openapi.json"):
            assert client.get(path).status_code == 200
    assert calls == [1]


def test_disabled_docs_serve_nothing() -> None:
    for config in (None, False, OpenAPIConfig(enabled=False)):
        api = BoltAPI(openapi_config=config)

        @api.get("/a")
        async def a() -> dict[str, int]:
            return {"a": 1}

        with TestClient(api) as client:
            for path in ("/openapi.json", "/docs", "/docs/openapi.json", "/docs/scalar"):
                assert client.get(path).status_code == 404, (config, path)
            assert client.get("/a").status_code == 200


def test_custom_path_and_no_root_document() -> None:
    api = BoltAPI(openapi_config=OpenAPIConfig(path="/api-docs/", openapi_url=None))

    @api.get("/a")
    async def a() -> dict[str, int]:
        return {"a": 1}

    with TestClient(api) as client:
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/docs").status_code == 404
        assert client.get("/api-docs/openapi.json").json()["paths"].keys() == {"/a"}
        assert "/api-docs/assets/swagger-ui/" in client.get("/api-docs").text


def test_a_route_of_the_api_wins_over_a_docs_path() -> None:
    api = BoltAPI()

    @api.get("/docs")
    async def own_docs() -> dict[str, str]:
        return {"mine": "yes"}

    with TestClient(api) as client:
        assert client.get("/docs").json() == {"mine": "yes"}
        # Everything under the docs path is left out of the document, this route too.
        assert client.get("/openapi.json").json()["paths"] == {}
        assert client.get("/docs/redoc").status_code == 200


def test_docs_protected_by_auth_and_guards() -> None:
    config = OpenAPIConfig(auth=[APIKeyAuthentication({"docs-key"})], guards=[IsAuthenticated()])
    api = BoltAPI(openapi_config=config)

    @api.get("/a")
    async def a() -> dict[str, int]:
        return {"a": 1}

    with TestClient(api) as client:
        for path in ("/openapi.json", "/docs", "/docs/openapi.yaml", "/docs/scalar"):
            assert client.get(path).status_code == 401
            assert client.get(path, headers={"x-api-key": "docs-key"}).status_code == 200
        # The API's own routes are not affected.
        assert client.get("/a").status_code == 200


def test_a_cookie_jwt_is_documented_as_a_cookie() -> None:
    api = BoltAPI()

    @api.get("/me", auth=[JWTAuthentication(cookie="access-token")], guards=[IsAuthenticated()])
    async def me() -> dict[str, int]:
        return {}

    document = generate_schema(api)
    validate(document)
    assert document["components"]["securitySchemes"] == {
        "JWTCookie_access_token": {"type": "apiKey", "in": "cookie", "name": "access-token"}
    }
    assert document["paths"]["/me"]["get"]["security"] == [{"JWTCookie_access_token": []}]


def test_optional_constrained_query_value_is_validated_not_a_server_error() -> None:
    # Found while documenting constraints: Meta on ``str | None`` used to reach msgspec as a
    # constraint on the union, which it refuses at request time (a 500).
    api = BoltAPI()

    @api.get("/search")
    async def search(q: Annotated[str | None, Query(max_length=3)] = None) -> dict[str, Any]:
        return {"q": q}

    with TestClient(api) as client:
        assert client.get("/search?q=abc").json() == {"q": "abc"}
        assert client.get("/search").json() == {"q": None}
        assert client.get("/search?q=abcd").status_code == 422


def test_generate_schema_without_serving() -> None:
    api = BoltAPI(openapi_config=OpenAPIConfig(title="Offline"))

    @api.get("/n")
    async def n() -> Out:
        return Out(1)

    document = generate_schema(api)
    validate(document)
    assert document["info"]["title"] == "Offline"
    assert document["components"]["schemas"]["Out"]["required"] == ["n"]


@override_settings(BOLT_API=["tests.openapi.everykind:api"])
def test_bolt_openapi_command_json_and_yaml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, document: dict[str, Any]
) -> None:
    call_command("bolt_openapi")
    printed = json.loads(capsys.readouterr().out)
    assert printed == document
    call_command("bolt_openapi", "--format", "yaml")
    assert yaml.safe_load(capsys.readouterr().out) == document
    target = tmp_path / "openapi.json"
    call_command("bolt_openapi", "--output", str(target), "--indent", "0")
    assert json.loads(target.read_text()) == document


def test_example_project_document_is_valid(tmp_path: Path) -> None:
    """The example project, through its own manage.py (its own settings and models)."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "manage.py", "bolt_openapi"],
        cwd=ROOT / "example",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    example = json.loads(out)
    validate(example)
    assert {"/products", "/products/{product_id}", "/hello/{name}"} <= set(example["paths"])
    create = example["paths"]["/products"]["post"]
    assert "201" in create["responses"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProductIn"
    }
    yaml_out = subprocess.run(
        [sys.executable, "manage.py", "bolt_openapi", "--format", "yaml"],
        cwd=ROOT / "example",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert yaml.safe_load(yaml_out) == example


class _HeaderTokenAuth:
    """A custom auth class that describes its own security scheme."""

    def authenticate(self, request: Any) -> None:
        return None

    def openapi_security_scheme(self) -> tuple[str, dict[str, Any]]:
        return "PartnerToken", {"type": "apiKey", "in": "header", "name": "x-partner-token"}


def test_custom_auth_class_describes_its_scheme() -> None:
    api = BoltAPI()

    @api.get("/partner", auth=[_HeaderTokenAuth()], guards=[IsAuthenticated()])
    async def partner() -> dict[str, bool]:
        return {"ok": True}

    document = generate_schema(api)
    validate(document)
    assert document["components"]["securitySchemes"] == {
        "PartnerToken": {"type": "apiKey", "in": "header", "name": "x-partner-token"}
    }
    assert document["paths"]["/partner"]["get"]["security"] == [{"PartnerToken": []}]


def test_auth_and_guards_from_settings_are_documented_not_applied_to_the_docs(
    settings: Any,
) -> None:
    settings.BOLT_AUTHENTICATION_CLASSES = ["django_bolt.auth.APIKeyAuthentication"]
    settings.BOLT_DEFAULT_PERMISSION_CLASSES = ["django_bolt.auth.IsAuthenticated"]
    api = BoltAPI()

    @api.get("/private")
    async def private() -> dict[str, bool]:
        return {"ok": True}

    @api.get("/public", auth=[], guards=[])
    async def public() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(api) as client:
        assert client.get("/private").status_code == 401
        response = client.get("/openapi.json")
        assert response.status_code == 200  # the settings' guards do not cover the docs
        assert client.get("/docs").status_code == 200
    document = response.json()
    validate(document)
    private_op = document["paths"]["/private"]["get"]
    assert private_op["security"] == [{"ApiKeyAuth": []}]
    assert {"401", "403"} <= set(private_op["responses"])
    public_op = document["paths"]["/public"]["get"]
    assert "security" not in public_op
    assert "401" not in public_op["responses"]


def test_docstrings_can_be_left_out() -> None:
    api = BoltAPI(openapi_config=OpenAPIConfig(use_handler_docstrings=False))

    @api.get("/quiet")
    async def quiet_route() -> dict[str, bool]:
        """Internal notes that should not be published."""
        return {"ok": True}

    @api.get("/told", description="Written for readers.")
    async def told() -> dict[str, bool]:
        """Internal notes."""
        return {"ok": True}

    document = generate_schema(api)
    quiet = document["paths"]["/quiet"]["get"]
    assert quiet["summary"] == "Quiet route"
    assert "description" not in quiet
    assert document["paths"]["/told"]["get"]["description"] == "Written for readers."


def test_merged_project_apis_follow_the_first_explicit_config() -> None:
    from django_bolt.discovery import discover_application

    with override_settings(
        BOLT_API=["tests.openapi.twoapis:plain", "tests.openapi.twoapis:configured"]
    ):
        app: Any = discover_application()
    with TestClient(app) as client:
        document = client.get("/reference/openapi.json").json()
        assert document["info"]["title"] == "Configured"
        assert set(document["paths"]) == {"/plain", "/configured"}
        assert client.get("/reference").status_code == 200
        assert client.get("/docs").status_code == 404
    with override_settings(
        BOLT_API=["tests.openapi.twoapis:silent", "tests.openapi.twoapis:configured"]
    ):
        app = discover_application()
    with TestClient(app) as client:
        # The first explicit choice is "no docs".
        assert client.get("/reference/openapi.json").status_code == 404
        assert client.get("/openapi.json").status_code == 404


@pytest.mark.parametrize(
    ("config", "shown"),
    [
        pytest.param(None, None, id="docs-off"),
        pytest.param(OpenAPIConfig(title="t", version="1", enabled=False), None, id="disabled"),
        pytest.param(
            OpenAPIConfig(title="t", version="1", path="/api-docs"), "/api-docs", id="path"
        ),
    ],
)
def test_runbolt_banner_shows_where_the_docs_are(config: Any, shown: str | None) -> None:
    from io import StringIO

    from django_bolt.conf import ServerConfig
    from django_bolt.management.commands.runbolt import Command

    command = Command(stdout=StringIO())
    api = BoltAPI(openapi_config=config)
    assert BoltAPI().openapi_config is not None
    assert command.docs_location(BoltAPI()) == "/docs"
    location = command.docs_location(api)
    assert location == shown
    command.print_banner(ServerConfig(), 8000, docs=location)
    banner = command.stdout.getvalue()
    if shown is None:
        assert "Docs:" not in banner
    else:
        assert f"Docs:  http://127.0.0.1:8000{shown}" in banner
