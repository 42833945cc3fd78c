"""``OpenAPIConfig``: what the generated document says about the API, and where it is served."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

from django_bolt.openapi.plugins import (
    OpenAPIRenderPlugin,
    RapidocRenderPlugin,
    RedocRenderPlugin,
    ScalarRenderPlugin,
    StoplightRenderPlugin,
    SwaggerRenderPlugin,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django_bolt.openapi.spec import (
        Components,
        Contact,
        ExternalDocumentation,
        License,
        PathItem,
        Reference,
        Server,
        Tag,
    )
    from django_bolt.router import RouteInfo

__all__ = ("DocumentedAPI", "OpenAPIConfig", "effective_config")


def _default_excludes() -> list[str]:
    return ["/admin", "/static"]


def _default_servers() -> list[Server | dict[str, Any] | str]:
    return [{"url": "/"}]


@dataclasses.dataclass
class OpenAPIConfig:
    """Configure the OpenAPI document and the documentation pages: ``BoltAPI(openapi_config=...)``.

    ``path`` is where the UIs live (``/docs`` Swagger UI, ``/docs/redoc``, ``/docs/scalar``,
    ``/docs/rapidoc``, ``/docs/stoplight``)
    and the document is served at ``<path>/openapi.json`` and ``.yaml``, and also at
    ``openapi_url`` (``/openapi.json`` and ``/openapi.yaml``; ``None`` serves it only under
    ``path``). ``render_plugins`` chooses the UIs; each plugin's paths are relative to
    ``path``. ``exclude_paths`` are path prefixes left out of the document (the docs' own paths
    always are). ``auth`` and ``guards`` protect every documentation route like a route's own.
    ``servers``, ``contact``, ``license``, ``tags``, ``security``, ``external_docs``,
    ``components`` and ``webhooks`` are OpenAPI objects: the dataclasses of
    :mod:`django_bolt.openapi.spec` or dicts as the specification spells them (a server may be
    a plain URL string, a tag a plain name). ``components`` are merged with those the routes
    produce (a name the routes use keeps the generated entry). ``strict=True`` makes generating
    the document raise :class:`~django_bolt.openapi.schema.OpenAPIStrictError` when a route's
    JSON response has no declared type (no return annotation or ``response_model``).
    """

    title: str = "API"
    version: str = "1.0.0"
    description: str | None = None
    summary: str | None = None
    path: str = "/docs"
    openapi_url: str | None = "/openapi.json"
    enabled: bool = True
    servers: list[Server | dict[str, Any] | str] = dataclasses.field(
        default_factory=_default_servers
    )
    exclude_paths: list[str] = dataclasses.field(default_factory=_default_excludes)
    render_plugins: list[OpenAPIRenderPlugin] = dataclasses.field(default_factory=list)
    include_error_responses: bool = True
    use_handler_docstrings: bool = True
    tags: list[Tag | dict[str, Any] | str] | None = None
    contact: Contact | dict[str, Any] | None = None
    license: License | dict[str, Any] | None = None
    terms_of_service: str | None = None
    security: list[dict[str, list[str]]] | None = None
    auth: list[Any] | None = None
    guards: list[Any] | None = None
    # Django-Bolt 0.13's options (keyword arguments here).
    external_docs: ExternalDocumentation | dict[str, Any] | None = None
    components: Components | dict[str, Any] | None = None
    webhooks: dict[str, PathItem | Reference | dict[str, Any]] | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        if not self.render_plugins:
            self.render_plugins = [
                SwaggerRenderPlugin(path=["/", "/swagger"]),
                RedocRenderPlugin(path="/redoc"),
                ScalarRenderPlugin(path="/scalar"),
                RapidocRenderPlugin(path="/rapidoc"),
                StoplightRenderPlugin(path="/stoplight"),
            ]
        self.path = "/" + self.path.strip("/")
        if self.path == "/":
            raise ValueError("OpenAPIConfig.path cannot be '/': the docs need a prefix")
        if self.openapi_url is not None:
            if not self.openapi_url.endswith(".json"):
                raise ValueError("OpenAPIConfig.openapi_url must end with '.json'")
            self.openapi_url = "/" + self.openapi_url.lstrip("/")
        for plugin in self.render_plugins:
            if not isinstance(plugin, OpenAPIRenderPlugin):
                raise TypeError(f"{plugin!r} is not an OpenAPIRenderPlugin")

    @property
    def default_plugin(self) -> OpenAPIRenderPlugin | None:
        """The UI served at ``path`` itself: the plugin with path ``/``, else the first one."""
        for plugin in self.render_plugins:
            if plugin.has_path("/"):
                return plugin
        return self.render_plugins[0] if self.render_plugins else None

    def schema_paths(self) -> list[str]:
        """Every path the document itself is served at (JSON first)."""
        paths = [f"{self.path}/openapi.json", f"{self.path}/openapi.yaml"]
        if self.openapi_url is not None:
            paths += [self.openapi_url, self.openapi_url[: -len(".json")] + ".yaml"]
        return paths

    def is_excluded(self, path: str) -> bool:
        """Whether ``path`` is left out of the document (a docs path or an excluded prefix)."""
        prefixes = [*self.exclude_paths, self.path]
        if path in self.schema_paths():
            return True
        for prefix in prefixes:
            bare = prefix.rstrip("/")
            if not bare:
                continue
            if path == bare or path.startswith(bare + "/"):
                return True
        return False


class DocumentedAPI(Protocol):
    """What the docs read of a ``BoltAPI`` (typed here: django_bolt.api imports this package)."""

    @property
    def openapi_config(self) -> OpenAPIConfig | None: ...

    @property
    def openapi_config_given(self) -> bool: ...

    def routes(self) -> list[RouteInfo]: ...

    def _all_apis(self) -> Iterator[DocumentedAPI]: ...


def effective_config(api: DocumentedAPI) -> OpenAPIConfig | None:
    """Return the config that governs ``api``'s docs, or None when they are off.

    An API given no ``openapi_config`` takes the first one set explicitly on an API it mounts
    (runbolt merges a project's APIs under a new, unconfigured one); otherwise the defaults.
    """
    chosen: Any = api.openapi_config
    if not api.openapi_config_given:
        for other in api._all_apis():
            if other.openapi_config_given:
                chosen = other.openapi_config
                break
    if not isinstance(chosen, OpenAPIConfig) or not chosen.enabled:
        return None
    return chosen
