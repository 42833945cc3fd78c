"""Build the OpenAPI 3.1 document from an API's routes.

The parameters come from the binder's own classification (:func:`describe_parameters`), so
the document describes exactly what is bound; the schemas come from msgspec's JSON Schema
generation (``msgspec.json.schema_components``), whose dialect is the one OpenAPI 3.1 uses.
Built once per process, on the first request for the document.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from typing import TYPE_CHECKING, Any, Final

import msgspec

from django_bolt._binding.binder import describe_parameters
from django_bolt._dispatch.settings import auth_defaults, resolve_entries
from django_bolt._dispatch.table import PathTemplate
from django_bolt.auth import APIKeyAuthentication, JWTAuthentication, SessionAuthentication
from django_bolt.auth.guards import AllowAny
from django_bolt.conf import framework_config
from django_bolt.error_handlers import ERROR_SCHEMA_ATTRIBUTE
from django_bolt.openapi.config import DocumentedAPI, OpenAPIConfig, effective_config
from django_bolt.openapi.plugins import to_yaml as to_yaml  # its home before plugins.py
from django_bolt.openapi.spec import merge_components, to_json_value
from django_bolt.openapi.websocket import (
    EXTENSION,
    OPERATION_ID_PREFIX,
    upgrade_parameters,
    websocket_responses,
    websocket_texts,
)
from django_bolt.params import UNSET
from django_bolt.responses import (
    HTML,
    JSON,
    EventSourceResponse,
    FileResponse,
    PlainText,
    Redirect,
    Response,
    StreamingResponse,
    stream_item_type,
)
from django_bolt.router import ANNOTATED
from django_bolt.serializers.output import output_type
from django_bolt.server.contract import REASON_PHRASES

if TYPE_CHECKING:
    from django_bolt._binding.plan import ParameterInfo
    from django_bolt.router import RouteInfo

__all__ = ("OPENAPI_VERSION", "OpenAPIStrictError", "SchemaGenerator", "generate_schema", "to_yaml")

OPENAPI_VERSION: Final = "3.1.0"
REF_TEMPLATE: Final = "#/components/schemas/{name}"
# QUERY goes under the key ``query``, as 0.13 emits it: the OpenAPI 3.2 draft's key, though the
# document says 3.1. A strict 3.1 validator rejects it; of the vendored UIs Scalar shows it and
# the others pass over it.
_OPERATION_METHODS: Final = frozenset(
    ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "QUERY")
)
_CONVERTER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[A-Za-z_]+\}")
_UNSAFE_ID: Final = re.compile(r"[^A-Za-z0-9_]+")

# The 422 body exceptions.RequestValidationError produces, and the {"detail": ...} of the rest.
_ERROR_COMPONENTS: Final[dict[str, Any]] = {
    "ValidationError": {
        "title": "ValidationError",
        "type": "object",
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
            "ctx": {"type": "object"},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "properties": {
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}
        },
        "required": ["detail"],
    },
    "ErrorResponse": {
        "title": "ErrorResponse",
        "type": "object",
        "properties": {"detail": {}, "extra": {}},
        "required": ["detail"],
    },
}

_BINARY: Final = {"type": "string", "format": "binary"}


def _json_default(value: Any) -> Any:
    """Return a default value as JSON, or UNSET when it has no JSON form (a callable, an object)."""
    try:
        return msgspec.to_builtins(value)
    except (TypeError, msgspec.EncodeError):
        return UNSET


def _return_model(fn: Any) -> Any:
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return inspect.Signature.empty
    return hints.get("return", inspect.Signature.empty)


@dataclasses.dataclass(slots=True)
class _Plan:
    """One route's facts gathered before any schema is made (schemas are made in one batch)."""

    info: RouteInfo
    path: str
    path_names: tuple[str, ...]
    params: list[ParameterInfo]
    model: Any
    auth: list[Any]
    guards: list[Any]


class SchemaGenerator:
    """Turns an API's routes into an OpenAPI 3.1 document (a plain dict)."""

    def __init__(self, api: DocumentedAPI, config: OpenAPIConfig) -> None:
        self.api = api
        self.config = config
        self._types: list[Any] = []
        self._type_index: dict[Any, int] = {}
        self._schemas: list[dict[str, Any]] = []
        self._components: dict[str, Any] = {}
        self._security_schemes: dict[str, Any] = {}
        self._operation_ids: set[str] = set()

    # -- the batch of types ---------------------------------------------------------------------
    def _want(self, tp: Any) -> None:
        """Queue a type for the one schema_components call; unschemable types are left out."""
        try:
            if tp in self._type_index:
                return
        except TypeError:  # an unhashable annotation (Annotated with an odd extra)
            return
        try:
            msgspec.json.schema(tp)
        except Exception:
            return
        self._type_index[tp] = len(self._types)
        self._types.append(tp)

    def _schema(self, tp: Any) -> dict[str, Any]:
        try:
            index = self._type_index.get(tp)
        except TypeError:
            index = None
        if index is None:
            return {}
        return dict(self._schemas[index])

    # -- document -------------------------------------------------------------------------------
    def generate(self) -> dict[str, Any]:
        """Generate the document, as a dict of plain JSON values."""
        # The same precedence compile() uses: route/router declarations, then the settings.
        auth_default, guards_default = auth_defaults()
        plans = [self._plan(info, auth_default, guards_default) for info in self._routes()]
        if self.config.strict:
            _check_strict(plans)
        for plan in plans:
            for param in plan.params:
                if param.source != "file":
                    self._want(param.group if param.group is not None else param.annotation)
            for model in _response_types(plan.model):
                self._want(model)
        declared = getattr(getattr(self.api, "error_formatter", None), ERROR_SCHEMA_ATTRIBUTE, None)
        if declared is not None:
            self._want(declared[0])
        if self._types:
            schemas, components = msgspec.json.schema_components(
                self._types, ref_template=REF_TEMPLATE
            )
            self._schemas = list(schemas)
            self._components = dict(components)
        return self._document(self._paths(plans))

    def _paths(self, plans: list[_Plan]) -> dict[str, dict[str, Any]]:
        paths: dict[str, dict[str, Any]] = {}
        for plan in plans:
            if plan.info.websocket is None:
                for method in plan.info.methods:
                    if method in _OPERATION_METHODS:
                        operation = self._operation(plan, method)
                        paths.setdefault(plan.path, {})[method.lower()] = operation
        for plan in plans:
            # A WebSocket is documented by its handshake, a GET (openapi/websocket.py); an HTTP
            # GET route of the same path keeps the operation, as it answers plain GETs.
            if plan.info.websocket is not None and "get" not in paths.get(plan.path, {}):
                item = paths.setdefault(plan.path, {})
                item["get"] = self._websocket_operation(plan)
                item[EXTENSION] = True
        return paths

    def _document(self, paths: dict[str, Any]) -> dict[str, Any]:
        config = self.config
        info: dict[str, Any] = {"title": config.title, "version": config.version}
        if config.summary:
            info["summary"] = config.summary
        if config.description:
            info["description"] = config.description
        if config.terms_of_service:
            info["termsOfService"] = config.terms_of_service
        if config.contact:
            info["contact"] = to_json_value(config.contact)
        if config.license:
            info["license"] = to_json_value(config.license)
        document: dict[str, Any] = {"openapi": OPENAPI_VERSION, "info": info}
        if config.servers:
            document["servers"] = [
                {"url": s} if isinstance(s, str) else to_json_value(s) for s in config.servers
            ]
        document["paths"] = paths
        components: dict[str, Any] = {}
        schemas = dict(sorted(self._components.items()))
        if config.include_error_responses:
            for name, schema in _ERROR_COMPONENTS.items():
                schemas.setdefault(name, schema)
        # A Struct that only groups query or header values is documented as those values: its
        # own component (and anything else nobody points at) would be noise for generators.
        schemas = _reachable(paths, schemas)
        if schemas:
            components["schemas"] = schemas
        if self._security_schemes:
            components["securitySchemes"] = dict(sorted(self._security_schemes.items()))
        merge_components(components, config.components)
        if components:
            document["components"] = components
        _add_top_level(document, config)
        return document

    # -- routes ---------------------------------------------------------------------------------
    def _routes(self) -> list[RouteInfo]:
        return [
            info
            for info in self.api.routes()
            if info.include_in_schema and not self.config.is_excluded(info.path)
        ]

    def _plan(self, info: RouteInfo, auth_default: list[Any], guards_default: list[Any]) -> _Plan:
        template = PathTemplate(info.path)
        # A WebSocket handshake is a GET: its values are bound as a GET request's are.
        methods = frozenset(info.methods) if info.websocket is None else frozenset({"GET"})
        params = describe_parameters(info.endpoint, template.names, methods)
        model = info.response_model
        if info.websocket is not None:
            model = inspect.Signature.empty  # messages, not a response body: nothing to document
        elif model is ANNOTATED:
            model = _return_model(info.endpoint)
        elif model is None:
            # response_model=None: no declared type, any JSON (as an unannotated handler).
            model = inspect.Signature.empty
        # A serializer is documented by what it sends (serializers/output.py).
        if isinstance(model, dict):
            model = {code: output_type(tp) for code, tp in model.items()}
        elif model is not inspect.Signature.empty:
            model = output_type(model)
        auth = resolve_entries(info.auth) if info.auth is not None else auth_default
        guards = resolve_entries(info.guards) if info.guards is not None else guards_default
        path = _CONVERTER.sub(r"{\1}", info.path)
        return _Plan(info, path, template.names, params, model, auth, guards)

    def _operation(self, plan: _Plan, method: str) -> dict[str, Any]:
        info = plan.info
        operation: dict[str, Any] = {}
        if info.tags:
            operation["tags"] = list(info.tags)
        summary, description = self._texts(info)
        operation["summary"] = summary
        if description:
            operation["description"] = description
        operation["operationId"] = self._operation_id(info, method)
        parameters = self._parameters(plan)
        if parameters:
            operation["parameters"] = parameters
        body = self._request_body(plan.params)
        if body is not None:
            operation["requestBody"] = body
        operation["responses"] = self._responses(plan)
        security = self._security(plan)
        if security is not None:
            operation["security"] = security
        return operation

    def _websocket_operation(self, plan: _Plan) -> dict[str, Any]:
        info = plan.info
        operation: dict[str, Any] = {}
        if info.tags:
            operation["tags"] = list(info.tags)
        summary, description = self._texts(info, named=False)
        operation["summary"], operation["description"] = websocket_texts(summary, description)
        operation["operationId"] = self._operation_id(info, "GET", OPERATION_ID_PREFIX)
        operation["parameters"] = [*self._parameters(plan), *upgrade_parameters()]
        refusing = any(not _allows_all(g) for g in plan.guards)
        entry = self._error_entry if self.config.include_error_responses else _description_only
        operation["responses"] = websocket_responses(refusing, entry)
        security = self._security(plan)
        if security is not None:
            operation["security"] = security
        return operation

    def _texts(self, info: RouteInfo, named: bool = True) -> tuple[str | None, str | None]:
        """Return the summary and description (``named=False``: no summary made of the name)."""
        doc = info.description if self.config.use_handler_docstrings else None
        explicit = info.description is not None and info.description != inspect.getdoc(
            info.endpoint
        )
        if not self.config.use_handler_docstrings and explicit:
            doc = info.description
        if info.summary:
            return info.summary, doc
        if doc and not explicit:
            first, _, rest = doc.strip().partition("\n")
            return first.strip(), rest.strip() or None
        if not named:
            return None, doc
        name = (info.name or "operation").replace("_", " ").strip()
        return name[:1].upper() + name[1:], doc

    def _operation_id(self, info: RouteInfo, method: str, prefix: str = "") -> str:
        """Return ``<method>_<function>`` (``get_list_items``), as Django-Bolt 0.13 names
        operations, so clients generated from either document have the same method names; a
        WebSocket's is ``prefix`` and the name. One already taken (the same function name on
        two paths) gets the path, then a number: operationIds must be unique."""
        base = _UNSAFE_ID.sub("_", info.name or "operation").strip("_") or "operation"
        base = prefix + base if prefix else f"{method.lower()}_{base}"
        candidate = base
        if candidate in self._operation_ids:
            slug = _UNSAFE_ID.sub("_", info.path).strip("_")
            candidate = f"{base}_{slug}".rstrip("_")
        number = 2
        unique = candidate
        while unique in self._operation_ids:
            unique = f"{candidate}_{number}"
            number += 1
        self._operation_ids.add(unique)
        return unique

    # -- parameters -----------------------------------------------------------------------------
    def _parameters(self, plan: _Plan) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        declared_path: set[str] = set()
        for param in plan.params:
            if param.source not in ("path", "query", "header", "cookie"):
                continue
            if param.group is not None:
                out.extend(self._group_parameters(param))
                continue
            if param.source == "path":
                declared_path.add(param.wire)
            out.append(self._parameter(param))
        # A template name the handler does not take is still part of the URL.
        out.extend(
            {"name": name, "in": "path", "required": True, "schema": {}}
            for name in plan.path_names
            if name not in declared_path
        )
        return out

    def _parameter(self, param: ParameterInfo) -> dict[str, Any]:
        schema = self._schema(param.annotation)
        default = _json_default(param.default) if not param.required else UNSET
        if default is not UNSET and default is not None:
            schema["default"] = default
        entry: dict[str, Any] = {
            "name": param.wire,
            "in": param.source,
            "required": param.source == "path" or param.required,
            "schema": schema,
        }
        if param.description:
            entry["description"] = param.description
        if param.deprecated:
            entry["deprecated"] = True
        example = _json_default(param.example) if param.example is not None else UNSET
        if example is not UNSET:
            entry["example"] = example
        return entry

    def _group_properties(self, group: type) -> tuple[dict[str, Any], list[str]]:
        """Return a grouping Struct's fields as (properties, required), from its component
        schema."""
        schema = self._schema(group)
        ref = schema.get("$ref", "")
        component = self._components.get(ref.rpartition("/")[2], schema)
        properties = dict(component.get("properties", {}))
        return properties, list(component.get("required", []))

    def _group_parameters(self, param: ParameterInfo) -> list[dict[str, Any]]:
        assert param.group is not None  # noqa: S101 - callers check; narrows the type for mypy
        properties, required = self._group_properties(param.group)
        out: list[dict[str, Any]] = []
        for key, schema in properties.items():
            name = key.replace("_", "-").lower() if param.source == "header" else key
            out.append(
                {
                    "name": name,
                    "in": param.source,
                    "required": param.source == "path" or key in required,
                    "schema": schema,
                }
            )
        return out

    # -- request body ---------------------------------------------------------------------------
    def _request_body(self, params: list[ParameterInfo]) -> dict[str, Any] | None:
        bodies = [p for p in params if p.source == "body"]
        if bodies and bodies[0].embedded:
            # Several body arguments (or embed=True): one JSON object, a key per argument.
            members: dict[str, Any] = {}
            wanted: list[str] = []
            for member in bodies:
                member_schema = self._schema(member.annotation)
                if not member.required:
                    default = _json_default(member.default)
                    if default is not UNSET and default is not None:
                        member_schema["default"] = default
                if member.description:
                    member_schema["description"] = member.description
                members[member.wire] = member_schema
                if member.required:
                    wanted.append(member.wire)
            object_schema: dict[str, Any] = {"type": "object", "properties": members}
            if wanted:
                object_schema["required"] = wanted
            return {
                "required": bool(wanted),
                "content": {"application/json": {"schema": object_schema}},
            }
        body = bodies[0] if bodies else None
        if body is not None:
            entry: dict[str, Any] = {
                "required": body.required,
                "content": {"application/json": {"schema": self._schema(body.annotation)}},
            }
            if body.description:
                entry["description"] = body.description
            return entry
        form = [p for p in params if p.source in ("form", "file")]
        if not form:
            return None
        properties: dict[str, Any] = {}
        required: list[str] = []
        has_files = False
        for param in form:
            if param.source == "file":
                has_files = True
                schema: dict[str, Any] = (
                    {"type": "array", "items": dict(_BINARY)} if param.is_list else dict(_BINARY)
                )
                limits = param.file_limits
                if param.is_list and limits is not None and limits.max_files is not None:
                    schema["maxItems"] = limits.max_files
                if param.description:
                    schema["description"] = param.description
                properties[param.wire] = schema
                if param.required:
                    required.append(param.wire)
                continue
            if param.group is not None:
                group_properties, group_required = self._group_properties(param.group)
                properties.update(group_properties)
                required.extend(group_required)
                continue
            schema = self._schema(param.annotation)
            default = _json_default(param.default) if not param.required else UNSET
            if default is not UNSET and default is not None:
                schema["default"] = default
            if param.description:
                schema["description"] = param.description
            properties[param.wire] = schema
            if param.required:
                required.append(param.wire)
        form_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            form_schema["required"] = required
        content: dict[str, Any] = {"multipart/form-data": {"schema": form_schema}}
        if not has_files:
            content = {"application/x-www-form-urlencoded": {"schema": form_schema}, **content}
        return {"required": bool(required), "content": content}

    # -- responses ------------------------------------------------------------------------------
    def _responses(self, plan: _Plan) -> dict[str, Any]:
        responses: dict[str, Any] = self._success_responses(plan)
        if not self.config.include_error_responses:
            return responses
        errors: dict[str, Any] = {}
        # Only a route whose every value is a path string can never fail validation.
        if any(not (p.source == "path" and p.annotation is str) for p in plan.params):
            errors["422"] = self._error_entry(
                "Validation Error", "#/components/schemas/HTTPValidationError"
            )
        # Auth classes only attempt; a guard is what refuses (401 anonymous, 403 not allowed).
        if any(not _allows_all(g) for g in plan.guards):
            errors["401"] = self._error_entry("Unauthorized", "#/components/schemas/ErrorResponse")
            errors["403"] = self._error_entry("Forbidden", "#/components/schemas/ErrorResponse")
        for status, entry in errors.items():
            declared = responses.get(status)
            responses[status] = entry if declared is None else _join_bodies(declared, entry)
        return responses

    def _error_entry(self, description: str, ref: str) -> dict[str, Any]:
        """Return an error response as the API's error formatter writes it (error_schema)."""
        formatter = getattr(self.api, "error_formatter", None)
        if formatter is None:
            return _error_response(description, ref)
        declared = getattr(formatter, ERROR_SCHEMA_ATTRIBUTE, None)
        if declared is None:
            # The formatter's body is unknown: no claim beats a wrong one.
            return {"description": description}
        schema_type, media_type = declared
        return {
            "description": description,
            "content": {media_type: {"schema": self._schema(schema_type)}},
        }

    def _success_responses(self, plan: _Plan) -> dict[str, Any]:
        info = plan.info
        if isinstance(plan.model, dict):
            # response_model={status: type}: one documented response per status.
            documented: dict[str, Any] = {}
            for code, model in plan.model.items():
                key = "default" if code is Ellipsis else str(code)
                status = code if isinstance(code, int) else info.status_code
                entry: dict[str, Any] = {"description": REASON_PHRASES.get(status, "Response")}
                content = None if model is None else self._content(model, status)
                if content:
                    entry["content"] = content
                documented[key] = entry
            return documented
        cls = info.response_class
        if cls is not None and issubclass(cls, Redirect):
            status = info.status_code if info.status_code != 200 else 307
            return {
                str(status): {
                    "description": REASON_PHRASES.get(status, "Redirect"),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                }
            }
        success: dict[str, Any] = {"description": REASON_PHRASES.get(info.status_code, "Success")}
        content = self._content(plan.model, info.status_code)
        if cls is not None and content is not None:
            # The class names the media type; a declared item/body type still gives the schema.
            by_class = _response_class_content(cls) or {}
            declared = plan.model not in (None, inspect.Signature.empty, Any) and not (
                isinstance(plan.model, type) and issubclass(plan.model, Response)
            )
            if declared and by_class:
                schema = next(iter(content.values()))["schema"]
                content = {media: {"schema": schema} for media in by_class}
            else:
                content = by_class
        if content:
            success["content"] = content
        return {str(info.status_code): success}

    def _content(self, model: Any, status_code: int) -> dict[str, Any] | None:
        if status_code in (204, 304) or status_code < 200:
            return None
        if model is inspect.Signature.empty or model is Any:
            return {"application/json": {"schema": {}}}
        is_stream, item = stream_item_type(model)
        if is_stream:
            if item is None or item in (str, bytes, Any):
                return {"application/octet-stream": {"schema": dict(_BINARY)}}
            return {"application/x-ndjson": {"schema": self._schema(item)}}
        if isinstance(model, type) and issubclass(model, Response):
            return _response_class_content(model)
        if model is str:
            return {"text/plain": {"schema": {"type": "string"}}}
        if model is bytes:
            return {"application/octet-stream": {"schema": dict(_BINARY)}}
        return {"application/json": {"schema": self._schema(model)}}

    # -- security -------------------------------------------------------------------------------
    def _security(self, plan: _Plan) -> list[dict[str, list[str]]] | None:
        names = [name for name in map(self._scheme_for, plan.auth) if name is not None]
        if not names:
            return None
        requirements: list[dict[str, list[str]]] = [{name: []} for name in dict.fromkeys(names)]
        if not any(not _allows_all(g) for g in plan.guards):
            # Auth classes only attempt: without a refusing guard, anonymous requests pass too.
            requirements.append({})
        return requirements

    def _scheme_for(self, backend: Any) -> str | None:
        """Return the securitySchemes entry for one auth class (registered on first use)."""
        custom = getattr(backend, "openapi_security_scheme", None)
        if callable(custom):
            name, scheme = custom()
        elif isinstance(backend, JWTAuthentication):
            header = backend.header.decode("latin-1")
            if backend.cookie is not None:
                # The token travels in a cookie; the header is not read at all then.
                name = f"JWTCookie_{_UNSAFE_ID.sub('_', backend.cookie)}"
                scheme = {"type": "apiKey", "in": "cookie", "name": backend.cookie}
            elif header == "authorization":
                name = "BearerAuth"
                scheme = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            else:
                name = f"JWTHeader_{_UNSAFE_ID.sub('_', header)}"
                scheme = {"type": "apiKey", "in": "header", "name": header}
        elif isinstance(backend, APIKeyAuthentication):
            header = backend.header.decode("latin-1")
            name = (
                # 0.13's name for the default header's scheme.
                "ApiKeyAuth" if header == "x-api-key" else f"APIKey_{_UNSAFE_ID.sub('_', header)}"
            )
            scheme = {"type": "apiKey", "in": "header", "name": header}
        elif isinstance(backend, SessionAuthentication):
            name = "SessionAuth"
            scheme = {"type": "apiKey", "in": "cookie", "name": _session_cookie_name()}
        else:
            return None
        self._security_schemes.setdefault(name, scheme)
        return str(name)


_SCHEMA_REF: Final = "#/components/schemas/"


def _refs(value: Any, found: set[str]) -> None:
    """Collect the component names ``value`` refers to, at any depth."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
            found.add(ref[len(_SCHEMA_REF) :])
        for item in value.values():
            _refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _refs(item, found)


def _reachable(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Return the components the operations use, directly or through other components."""
    wanted: set[str] = set()
    _refs(paths, wanted)
    done: set[str] = set()
    while wanted - done:
        name = (wanted - done).pop()
        done.add(name)
        _refs(schemas.get(name), wanted)
    return {name: schema for name, schema in schemas.items() if name in done}


def _join_bodies(declared: dict[str, Any], framework: dict[str, Any]) -> dict[str, Any]:
    """Return a status the route declares in ``response_model`` that the framework sends too.

    The route's own 422 (or 401, 403) stays, with its description: the framework's body is
    added beside it, joined with ``anyOf`` under a media type both use. A formatter without
    ``error_schema`` adds nothing, its body being unknown.
    """
    content = dict(declared.get("content") or {})
    for media_type, entry in (framework.get("content") or {}).items():
        own = content.get(media_type)
        if own is None:
            content[media_type] = entry
        elif own["schema"] != entry["schema"]:
            content[media_type] = {"schema": {"anyOf": [own["schema"], entry["schema"]]}}
    joined = dict(declared)
    if content:
        joined["content"] = content
    return joined


def _description_only(description: str, ref: str) -> dict[str, Any]:
    return {"description": description}


def _error_response(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _allows_all(guard: Any) -> bool:
    return isinstance(guard, AllowAny) or guard is AllowAny


def _session_cookie_name() -> str:
    return framework_config().session_cookie_name


def _response_types(model: Any) -> list[Any]:
    """Return the types a response declaration documents: each status's, a stream's items, or
    itself."""
    if isinstance(model, dict):
        return [tp for tp in model.values() if tp is not None]
    if model is inspect.Signature.empty:
        return []
    is_stream, item = stream_item_type(model)
    if is_stream:
        return [] if item is None else [item]
    return [model]


def _response_class_content(cls: type[Response]) -> dict[str, Any] | None:
    if issubclass(cls, Redirect):
        return None
    if issubclass(cls, EventSourceResponse):
        return {"text/event-stream": {"schema": {"type": "string"}}}
    if issubclass(cls, FileResponse):
        # The media type is guessed from the file name at run time: any type may come back.
        return {"*/*": {"schema": dict(_BINARY)}}
    if issubclass(cls, HTML):
        return {"text/html": {"schema": {"type": "string"}}}
    if issubclass(cls, PlainText | StreamingResponse):
        return {cls.media_type_default: {"schema": {"type": "string"}}}
    if issubclass(cls, JSON):
        return {"application/json": {"schema": {}}}
    return {cls.media_type_default: {"schema": {}}}


def _add_top_level(document: dict[str, Any], config: OpenAPIConfig) -> None:
    """Add the config's ``security``, ``tags``, ``externalDocs`` and ``webhooks`` objects."""
    if config.security is not None:
        document["security"] = [dict(s) for s in config.security]
    if config.tags:
        document["tags"] = [
            {"name": t} if isinstance(t, str) else to_json_value(t) for t in config.tags
        ]
    if config.external_docs is not None:
        document["externalDocs"] = to_json_value(config.external_docs)
    if config.webhooks:
        document["webhooks"] = to_json_value(config.webhooks)


class OpenAPIStrictError(ValueError):
    """``OpenAPIConfig(strict=True)``: routes whose JSON response has no declared type."""


def _check_strict(plans: list[_Plan]) -> None:
    """Raise :class:`OpenAPIStrictError` naming every route documented as untyped JSON."""
    offenders = [
        f"{'/'.join(plan.info.methods)} {plan.path}"
        for plan in plans
        if plan.info.websocket is None
        and plan.model in (inspect.Signature.empty, Any)
        and plan.info.response_class is None
        and plan.info.status_code not in (204, 304)
    ]
    if offenders:
        raise OpenAPIStrictError(
            "OpenAPIConfig(strict=True): no response type declared (a return annotation or "
            "response_model) for: " + ", ".join(offenders)
        )


def generate_schema(api: DocumentedAPI, config: OpenAPIConfig | None = None) -> dict[str, Any]:
    """Generate ``api``'s OpenAPI document (its effective config when ``config`` is not given)."""
    if config is None:
        config = effective_config(api) or OpenAPIConfig()
    return SchemaGenerator(api, config).generate()
